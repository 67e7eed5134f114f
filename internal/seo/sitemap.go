package seo

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/url"
	"slices"
)

// maxSitemapsFromRobots bounds how many robots.txt Sitemap: lines are
// followed; a site's main sitemap is among the first.
const maxSitemapsFromRobots = 3

// checkSitemaps fetches the sitemaps robots.txt names, then /sitemap.xml,
// and reports each. Failed requests are also warnings.
func (a *Analyzer) checkSitemaps(ctx context.Context, origin *url.URL, fromRobots []string, res *Result) []SitemapCheck {
	var targets []string
	for _, s := range fromRobots {
		u, err := origin.Parse(s)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") {
			continue
		}
		if len(targets) < maxSitemapsFromRobots {
			targets = append(targets, u.String())
		}
	}
	if def := origin.JoinPath("sitemap.xml").String(); !slices.Contains(targets, def) {
		targets = append(targets, def)
	}
	checks := make([]SitemapCheck, 0, len(targets))
	for _, target := range targets {
		c := SitemapCheck{URL: target}
		resp, body, _, err := a.get(ctx, target, "")
		switch {
		case err != nil:
			c.Error = err.Error()
			res.warn("Sitemap " + target + " could not be fetched: " + err.Error())
		case resp.StatusCode >= 400:
			c.StatusCode, c.Error = resp.StatusCode, fmt.Sprintf("HTTP %d", resp.StatusCode)
		default:
			c.StatusCode = resp.StatusCode
			c.Kind, c.Entries, err = parseSitemap(body, a.maxBody)
			if err != nil {
				c.Error = err.Error()
			}
		}
		checks = append(checks, c)
	}
	return checks
}

// parseSitemap reads a sitemap (gzipped or not) and counts its entries: the
// <url> children of a <urlset>, or the <sitemap> children of a
// <sitemapindex>.
func parseSitemap(body []byte, limit int) (kind string, entries int, err error) {
	if bytes.HasPrefix(body, []byte{0x1f, 0x8b}) {
		if body, _, err = gunzip(body, limit); err != nil {
			return "", 0, fmt.Errorf("gzip: %w", err)
		}
	}
	d := xml.NewDecoder(bytes.NewReader(body))
	depth := 0
	for {
		tok, err := d.Token()
		if errors.Is(err, io.EOF) {
			if kind == "" {
				return "", 0, errors.New("empty document")
			}
			return kind, entries, nil
		}
		if err != nil {
			return "", 0, fmt.Errorf("invalid XML: %w", err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			depth++
			switch {
			case depth == 1 && (t.Name.Local == "urlset" || t.Name.Local == "sitemapindex"):
				kind = t.Name.Local
			case depth == 1:
				return "", 0, fmt.Errorf("not a sitemap: root element <%s>", t.Name.Local)
			case depth == 2 && (t.Name.Local == "url" || t.Name.Local == "sitemap"):
				entries++
			}
		case xml.EndElement:
			depth--
		}
	}
}
