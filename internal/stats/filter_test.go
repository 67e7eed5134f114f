package stats_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/pocketbase/pocketbase/tools/types"
	"github.com/skopos-go/skopos/internal/pbtest"
	"github.com/skopos-go/skopos/internal/stats"
	"github.com/skopos-go/skopos/schema"
)

func TestParseFilter(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		in   string
		want stats.Filter
		err  bool
	}{
		{in: "country:DE", want: stats.Filter{Dim: "country", Value: "DE"}},
		{in: "page:!/admin", want: stats.Filter{Dim: "page", Value: "/admin", Not: true}},
		{in: "utm_campaign:a:b", want: stats.Filter{Dim: "utm_campaign", Value: "a:b"}},
		{in: "entryPage:", want: stats.Filter{Dim: "entryPage", Value: ""}},
		{in: "goal:Sign up", want: stats.Filter{Dim: "goal", Value: "Sign up"}},
		{in: "user:abc", want: stats.Filter{Dim: "user", Value: "abc"}},
		{in: "user:!a:b c", want: stats.Filter{Dim: "user", Value: "a:b c", Not: true}},
		{in: "identified:yes", want: stats.Filter{Dim: "identified", Value: "yes"}},
		{in: "identified:!no", want: stats.Filter{Dim: "identified", Value: "no", Not: true}},
		{in: "meta.plan:pro", want: stats.Filter{Dim: "meta.plan", Value: "pro"}},
		{in: "meta.plan:!pro", want: stats.Filter{Dim: "meta.plan", Value: "pro", Not: true}},
		{in: "meta.Team_2.sub-key:a b", want: stats.Filter{Dim: "meta.Team_2.sub-key", Value: "a b"}},
		{in: "meta.plan:", want: stats.Filter{Dim: "meta.plan", Value: ""}},
		{in: "meta." + strings.Repeat("k", 64) + ":1", want: stats.Filter{Dim: "meta." + strings.Repeat("k", 64), Value: "1"}},
		{in: "user:", err: true},
		{in: "user:!", err: true},
		{in: "identified:maybe", err: true},
		{in: "identified:", err: true},
		{in: "identified:!", err: true},
		{in: "identified:Yes", err: true},
		{in: "meta:pro", err: true},
		{in: "meta.:pro", err: true},
		{in: "meta." + strings.Repeat("k", 65) + ":1", err: true},
		{in: `meta.pl"an:pro`, err: true},
		{in: "meta.pl'an:pro", err: true},
		{in: "meta.a[0]:pro", err: true},
		{in: "meta.$:pro", err: true},
		{in: "meta.a b:pro", err: true},
		{in: "meta.plän:pro", err: true},
		{in: "meta.a\b:pro", err: true},
		{in: "Meta.plan:pro", err: true},
		{in: "planet:Mars", err: true},
		{in: "country", err: true},
		{in: "", err: true},
	} {
		got, err := stats.ParseFilter(tt.in)
		if tt.err {
			if !errors.Is(err, stats.ErrBadFilter) {
				t.Errorf("%q: err %v, want ErrBadFilter", tt.in, err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("%q = %+v, %v; want %+v", tt.in, got, err, tt.want)
		}
		if err == nil && got.String() != tt.in {
			t.Errorf("%q: String() = %q", tt.in, got.String())
		}
	}
	_, err := stats.ParseFilter("planet:Mars")
	if err == nil || !strings.Contains(err.Error(), `"planet"`) {
		t.Errorf("unknown dimension error %v does not name it", err)
	}
	_, err = stats.ParseFilter(`meta.a"]:x`)
	if err == nil || !strings.Contains(err.Error(), "metadata key") {
		t.Errorf("bad metadata key error %v does not say so", err)
	}
}

// Every filter dimension, negated or not, every goal type and a funnel
// run against a real store (the figures themselves are checked against
// raw rows in the analysis tests).
func TestEveryFilterRuns(t *testing.T) {
	t.Parallel()
	app := pbtest.Start(t, pbtest.Options{}).App()
	now := time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)
	site, sess := pastSession(t, app, now)
	dt := func(t time.Time) types.DateTime { d, _ := types.ParseDateTime(t); return d }
	pbtest.Save(t, app, schema.Events, map[string]any{"website": site.Id, "session": sess.Id, "type": "custom",
		"eventName": "signup", "path": "/then", "eventData": map[string]any{"plan": "pro", "seats": 3, "trial": true},
		"timestamp": dt(now.Add(-30 * time.Second))})
	pbtest.Save(t, app, schema.Goals, map[string]any{"website": site.Id, "name": "Then", "type": "page", "match": "/th*"})
	pbtest.Save(t, app, schema.Goals, map[string]any{"website": site.Id, "name": "Docs", "type": "page", "match": "/docs/**"})
	pbtest.Save(t, app, schema.Goals, map[string]any{"website": site.Id, "name": "Pro", "type": "event", "match": "signup",
		"propertyKey": "plan", "propertyValue": "pro"})
	f := pbtest.Save(t, app, schema.Funnels, map[string]any{"website": site.Id, "name": "F",
		"steps": []map[string]any{{"name": "a", "type": "page", "match": "/then"}, {"name": "b", "type": "event", "match": "signup"}}})
	ctx := context.Background()
	for _, zone := range []string{"UTC", "America/New_York", "Asia/Kolkata"} {
		loc, err := stats.Location(zone)
		if err != nil {
			t.Fatal(err)
		}
		for _, period := range []string{"today", "7d"} {
			p, err := stats.ParsePeriodIn(period, "", "", now, loc)
			if err != nil {
				t.Fatal(err)
			}
			for _, dim := range append(stats.FilterDimensions, "meta.plan", "") {
				var filters []stats.Filter
				if dim != "" {
					v := "x"
					switch dim {
					case "goal":
						v = "Then"
					case "identified":
						v = "yes"
					}
					filters = []stats.Filter{{Dim: dim, Value: v}, {Dim: dim, Value: v, Not: true}}
				}
				req := stats.Request{Period: p, Filters: filters, Now: now}
				if _, err := stats.Query(ctx, app, site.Id, req); err != nil {
					t.Fatalf("%s %s filter %s: %v", zone, period, dim, err)
				}
				if _, err := stats.Properties(ctx, app, site.Id, "signup", req); err != nil {
					t.Fatalf("%s %s filter %s: properties: %v", zone, period, dim, err)
				}
				if _, err := stats.Funnel(ctx, app, site.Id, f.Id, req); err != nil {
					t.Fatalf("%s %s filter %s: funnel: %v", zone, period, dim, err)
				}
			}
			r, err := stats.Query(ctx, app, site.Id, stats.Request{Period: p, Now: now})
			if err != nil {
				t.Fatal(err)
			}
			if len(r.Goals) != 3 || r.Goals[2].Name != "Then" || r.Goals[2].Visitors != 1 || r.Goals[1].Visitors != 1 || r.Goals[0].Visitors != 0 {
				t.Errorf("%s %s: goals %+v", zone, period, r.Goals)
			}
			props, err := stats.Properties(ctx, app, site.Id, "signup", stats.Request{Period: p, Now: now})
			if err != nil || len(props["plan"]) != 1 || props["plan"][0].Value != "pro" || props["seats"][0].Value != "3" || props["trial"][0].Value != "true" {
				t.Errorf("%s %s: properties %+v, %v", zone, period, props, err)
			}
			fr, err := stats.Funnel(ctx, app, site.Id, f.Id, stats.Request{Period: p, Now: now})
			if err != nil || fr.Steps[0].Visitors != 1 || fr.Steps[1].Visitors != 1 {
				t.Errorf("%s %s: funnel %+v, %v", zone, period, fr, err)
			}
		}
	}
	if _, err := stats.Query(ctx, app, site.Id, stats.Request{Period: mustPeriod(t, now), Filters: []stats.Filter{{Dim: "goal", Value: "nope"}}, Now: now}); !errors.Is(err, stats.ErrBadFilter) {
		t.Errorf("unknown goal: %v", err)
	}
	// a Filter built without ParseFilter is checked too: its key would
	// become part of a JSON path
	for _, f := range []stats.Filter{{Dim: `meta.x"') OR 1 --`, Value: "x"}, {Dim: "identified", Value: "x"}, {Dim: "user"}} {
		if _, err := stats.Query(ctx, app, site.Id, stats.Request{Period: mustPeriod(t, now), Filters: []stats.Filter{f}, Now: now}); !errors.Is(err, stats.ErrBadFilter) {
			t.Errorf("%+v: %v, want ErrBadFilter", f, err)
		}
	}
}

func mustPeriod(t *testing.T, now time.Time) stats.Period {
	p, err := stats.ParsePeriod("7d", "", "", now)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestParseFiltersBounds: MaxFilters filters and a value of
// MaxFilterValue bytes are taken; one more of either is ErrBadFilter.
func TestParseFiltersBounds(t *testing.T) {
	raw := make([]string, stats.MaxFilters+1)
	for i := range raw {
		raw[i] = "country:C" + strings.Repeat("x", i)
	}
	if fs, err := stats.ParseFilters(raw[:stats.MaxFilters]); err != nil || len(fs) != stats.MaxFilters {
		t.Errorf("%d filters: %v", stats.MaxFilters, err)
	}
	if _, err := stats.ParseFilters(raw); !errors.Is(err, stats.ErrBadFilter) {
		t.Errorf("%d filters: %v, want ErrBadFilter", len(raw), err)
	}
	long := "page:" + strings.Repeat("/", stats.MaxFilterValue)
	if _, err := stats.ParseFilter(long); err != nil {
		t.Errorf("value of %d bytes: %v", stats.MaxFilterValue, err)
	}
	for _, s := range []string{long + "/", "page:!" + strings.Repeat("/", stats.MaxFilterValue+1)} {
		if _, err := stats.ParseFilter(s); !errors.Is(err, stats.ErrBadFilter) {
			t.Errorf("value of %d bytes: %v, want ErrBadFilter", len(s)-5, err)
		}
	}
}

// TestGateBounds: a website takes perSite reports and a link perLink of
// them; one more is ErrBusy and counted; leaving frees the slot (once,
// however often leave is called).
func TestGateBounds(t *testing.T) {
	g := stats.NewGate(2, 1)
	a, err := g.Enter("site", "")
	if err != nil {
		t.Fatal(err)
	}
	b, err := g.Enter("site", "link")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := g.Enter("other", "link"); !errors.Is(err, stats.ErrBusy) {
		t.Errorf("link's second: %v, want ErrBusy", err)
	}
	if _, err := g.Enter("site", ""); !errors.Is(err, stats.ErrBusy) {
		t.Errorf("site's third: %v, want ErrBusy", err)
	}
	if c, err := g.Enter("other", ""); err != nil {
		t.Errorf("another site: %v", err)
	} else {
		c()
	}
	a()
	a()
	if c, err := g.Enter("site", ""); err != nil {
		t.Errorf("after one left: %v", err)
	} else {
		c()
	}
	b()
	if g.Refused() != 2 {
		t.Errorf("refused %d, want 2", g.Refused())
	}
	var none *stats.Gate
	if leave, err := none.Enter("site", "link"); err != nil {
		t.Errorf("nil gate: %v", err)
	} else {
		leave()
	}
}
