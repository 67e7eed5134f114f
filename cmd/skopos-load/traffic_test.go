package main

import (
	"encoding/json"
	"net/http"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/skopos-go/skopos/internal/botdetect"
	"github.com/skopos-go/skopos/internal/clientip"
)

// Every user agent, with the headers the tool sends from every page and in
// every language, scores as a human; with nothing suspicious, the score is 0.
func TestEveryAgentPassesTheBotFilter(t *testing.T) {
	t.Parallel()
	d := botdetect.New(botdetect.Options{})
	origin := "http://localhost"
	for i := range agents {
		a := &agents[i]
		worst := 0
		for _, lang := range languages {
			for _, p := range paths {
				v := &visitor{IP: visitorIP(i), Agent: a, Language: lang}
				h := http.Header{}
				setHeaders(h, v, origin, origin+p)
				s := d.Score(a.UA, h)
				worst = max(worst, s)
				if s >= botdetect.Threshold {
					t.Fatalf("%q on %s (%s) scores %d, threshold %d", a.UA, p, lang, s, botdetect.Threshold)
				}
			}
		}
		if worst != 0 {
			t.Errorf("%q scores up to %d; a current browser with full headers should score 0", a.UA, worst)
		}
	}
	if len(agents) < 10 {
		t.Errorf("only %d user agents", len(agents))
	}
}

func TestVisitorsAreDistinctPublicAndStable(t *testing.T) {
	t.Parallel()
	var prefixes []netip.Prefix
	for _, s := range clientip.DefaultTrusted {
		prefixes = append(prefixes, netip.MustParsePrefix(s))
	}
	bench := netip.MustParsePrefix("198.18.0.0/15")

	seen := map[netip.Addr]bool{}
	for _, i := range []int{0, 1, 2, 255, 256, 65535, 65536, maxVisitors - 1} {
		ip := visitorIP(i)
		if !bench.Contains(ip) || seen[ip] {
			t.Fatalf("visitorIP(%d) = %s: outside %s or repeated", i, ip, bench)
		}
		seen[ip] = true
		if ip.IsPrivate() || ip.IsLoopback() || ip.IsUnspecified() {
			t.Errorf("visitorIP(%d) = %s is not public", i, ip)
		}
		for _, p := range prefixes {
			if p.Contains(ip) {
				t.Errorf("visitorIP(%d) = %s is in trusted range %s", i, ip, p)
			}
		}
	}
	if visitorIP(maxVisitors-1) == netip.MustParseAddr("198.19.255.255") {
		t.Error("the broadcast-looking last address is used")
	}

	a, b := makeVisitors(500, 9), makeVisitors(500, 9)
	if !slices.EqualFunc(a, b, func(x, y visitor) bool { return x == y }) {
		t.Error("makeVisitors is not deterministic")
	}
	ips := map[netip.Addr]bool{}
	uas, langs := map[string]bool{}, map[string]bool{}
	for _, v := range a {
		ips[v.IP] = true
		uas[v.Agent.UA] = true
		langs[v.Language] = true
	}
	if len(ips) != 500 || len(uas) != len(agents) || len(langs) != len(languages) {
		t.Errorf("500 visitors: %d IPs, %d user agents, %d languages", len(ips), len(uas), len(langs))
	}
}

func TestEventsAreValidAndSpread(t *testing.T) {
	t.Parallel()
	if n := len(slices.Compact(slices.Sorted(slices.Values(paths)))); n != len(paths) || n < 50 {
		t.Errorf("%d distinct paths of %d, want >= 50 distinct", n, len(paths))
	}
	const visitors, events = 100, 10000
	tr := traffic{visitors: makeVisitors(visitors, 1), origin: "http://localhost", seed: 1}
	perVisitor := map[netip.Addr]int{}
	custom, pages := 0, map[string]bool{}
	for j := range events {
		v, page, body := tr.event(j)
		perVisitor[v.IP]++
		var p map[string]any
		if err := json.Unmarshal(body, &p); err != nil {
			t.Fatalf("event %d: %v: %s", j, err, body)
		}
		if p["url"] != page || !strings.HasPrefix(page, "http://localhost/") {
			t.Fatalf("event %d: url %v, page %s", j, p["url"], page)
		}
		switch p["type"] {
		case "pageView":
		case "custom":
			custom++
			if p["name"] == "" || p["customData"] == nil {
				t.Fatalf("event %d: custom without name or data: %s", j, body)
			}
		default:
			t.Fatalf("event %d: type %v", j, p["type"])
		}
		for _, k := range []string{"referrer", "screenWidth", "screenHeight", "language"} {
			if _, ok := p[k]; !ok {
				t.Fatalf("event %d lacks %s: %s", j, k, body)
			}
		}
		pages[strings.SplitN(page, "?", 2)[0]] = true
		if _, _, again := tr.event(j); string(again) != string(body) {
			t.Fatalf("event %d is not deterministic", j)
		}
	}
	if share := custom * 100 / events; share < 12 || share > 18 {
		t.Errorf("custom events are %d%%, want about %d%%", share, customShare)
	}
	if len(pages) != len(paths) {
		t.Errorf("%d paths used, want %d", len(pages), len(paths))
	}
	for ip, n := range perVisitor {
		if n != events/visitors {
			t.Errorf("visitor %s sent %d events, want %d", ip, n, events/visitors)
		}
	}
}

func TestPercentile(t *testing.T) {
	t.Parallel()
	if percentile(nil, 50) != 0 {
		t.Error("empty")
	}
	var ds []time.Duration
	for i := 100; i >= 1; i-- {
		ds = append(ds, time.Duration(i)*time.Millisecond)
	}
	for p, want := range map[float64]time.Duration{50: 50 * time.Millisecond, 99: 99 * time.Millisecond, 100: 100 * time.Millisecond, 0: time.Millisecond} {
		if got := percentile(ds, p); got != want {
			t.Errorf("p%v = %v, want %v", p, got, want)
		}
	}
}

func TestDomainMatches(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		host, domain string
		want         bool
	}{
		{"localhost", "localhost", true},
		{"www.example.com", "example.com", true},
		{"example.com", "www.example.com", true},
		{"blog.example.com", "example.com", true},
		{"badexample.com", "example.com", false},
		{"example.org", "localhost", false},
		{"x", "", false},
	} {
		if got := domainMatches(c.host, c.domain); got != c.want {
			t.Errorf("domainMatches(%q, %q) = %v", c.host, c.domain, got)
		}
	}
}
