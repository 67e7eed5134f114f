package seo

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
)

// robots is what the site's robots.txt says.
type robots struct {
	found       bool
	disallowAll bool
	sitemaps    []string // Sitemap: lines, in order
}

// fetchRobots reads origin's robots.txt. A missing file is a finding; a
// failed request is also a warning, since the analysis could not tell.
func (a *Analyzer) fetchRobots(ctx context.Context, origin *url.URL, res *Result) robots {
	target := origin.JoinPath("robots.txt").String()
	resp, body, _, err := a.get(ctx, target, "")
	switch {
	case err != nil:
		res.warn("robots.txt could not be fetched: " + err.Error())
		return robots{}
	case resp.StatusCode == http.StatusNotFound || resp.StatusCode == http.StatusGone:
		return robots{}
	case resp.StatusCode >= 400:
		res.warn(fmt.Sprintf("robots.txt answered HTTP %d.", resp.StatusCode))
		return robots{}
	case looksLikeHTML(resp.Header, body):
		// Single-page apps answer every path with their index page.
		res.warn("robots.txt answered with an HTML page, not a robots file.")
		return robots{}
	}
	r := parseRobots(body)
	r.found = true
	return r
}

// parseRobots reads the groups of a robots.txt (RFC 9309): the whole site
// is disallowed when the group for every agent (*) says "Disallow: /" and
// allows nothing back.
func parseRobots(body []byte) robots {
	var r robots
	var inStar, lastWasAgent, starDisallowsRoot, starAllows bool
	sc := bufio.NewScanner(bytes.NewReader(body))
	sc.Buffer(make([]byte, 0, 64<<10), len(body)+1)
	for sc.Scan() {
		line, _, _ := strings.Cut(sc.Text(), "#")
		key, value, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		key, value = strings.ToLower(strings.TrimSpace(key)), strings.TrimSpace(value)
		switch key {
		case "user-agent":
			if !lastWasAgent {
				inStar = false
			}
			inStar = inStar || value == "*"
			lastWasAgent = true
		case "disallow", "allow":
			lastWasAgent = false
			if inStar && key == "disallow" && value == "/" {
				starDisallowsRoot = true
			}
			if inStar && key == "allow" && value != "" {
				starAllows = true
			}
		case "sitemap":
			if value != "" && !slices.Contains(r.sitemaps, value) {
				r.sitemaps = append(r.sitemaps, value)
			}
		}
	}
	r.disallowAll = starDisallowsRoot && !starAllows
	return r
}

func looksLikeHTML(h http.Header, body []byte) bool {
	if strings.Contains(strings.ToLower(h.Get("Content-Type")), "html") {
		return true
	}
	b := bytes.ToLower(bytes.TrimSpace(body[:min(len(body), 512)]))
	return bytes.HasPrefix(b, []byte("<!doctype html")) || bytes.HasPrefix(b, []byte("<html"))
}
