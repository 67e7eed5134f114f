package plugin_test

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"sort"
	"time"

	"github.com/skopos-go/skopos/internal/pipeline"
	"github.com/skopos-go/skopos/internal/stats"
	"github.com/skopos-go/skopos/internal/visitorid"
)

// Random traffic for TestStatsEqualAnIndependentComputation: visitors with
// several sessions over two weeks that hold the DST ends of Europe/Berlin
// (the last Sunday of October) and America/New_York (a week later, the
// first Sunday of November), with sessions that start on, just before and
// just after the local midnights of every zone the test reads, and in the
// repeated hours of both DST days.

// trafficZones are the zones whose midnights the traffic clusters around.
var trafficZones = []string{"UTC", "America/New_York", "Europe/Berlin", "Asia/Kolkata", "Asia/Kathmandu"}

// dstDays returns the latest day on which New York's DST ended (the first
// Sunday of November) and Berlin's (the Sunday before) whose traffic, up
// to five days after New York's, lies in the past: the ingest route takes
// events up to 400 days old, so the test does not age.
func dstDays(now time.Time) (ny, berlin time.Time) {
	for y := now.UTC().Year(); ; y-- {
		d := time.Date(y, 11, 1, 0, 0, 0, 0, time.UTC)
		for d.Weekday() != time.Sunday {
			d = d.AddDate(0, 0, 1)
		}
		if d.AddDate(0, 0, 6).Before(now) {
			return d, d.AddDate(0, 0, -7)
		}
	}
}

var trafficPages = []string{"/", "/", "/pricing", "/pricing", "/blog/a", "/blog/b", "/blog", "/blogs",
	"/docs", "/docs/", "/docs/x/y", "/docsx"}

var trafficReferrers = []string{"", "", "", "https://www.google.com/search?q=skopos", "https://google.com/",
	"https://news.ycombinator.com/item?id=1", "https://www.reddit.com/r/golang/", "android-app://com.google.android.gm",
	"https://chatgpt.com/"}

var trafficLanguages = []string{"en-US", "en-US", "de-DE", "hi-IN", ""}

var trafficUAs = []string{
	"Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0",
	"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36",
	"Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
	"Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Mobile Safari/537.36",
	"Mozilla/5.0 (iPad; CPU OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
	"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15",
}

// trafficIPs (with a last byte of 1–120): the test's GeoIP database maps
// 198.51.100.0/26 to DE-BY, 198.51.100.64/26 to DE-BE, 203.0.113.0/25 to
// US-CA (and 203.0.113.128/25 to IN, no region); 192.0.2.0/24 is in none
// (country Unknown).
var trafficIPs = []string{"198.51.100.%d", "203.0.113.%d", "192.0.2.%d"}

var trafficJSErrors = []string{"TypeError: x is undefined", "ReferenceError: y is not defined", "Error: boom"}

// sentJSError is one JS error the test sent: JS errors have no row of
// their own (js_errors holds groups with lifetime counts), so their
// per-hour figures are checked against what was sent.
type sentJSError struct {
	at  time.Time
	msg string
}

type trafficGen struct {
	r     *rand.Rand
	zones []*time.Location
	// from and to bound the traffic; ny and berlin are the DST days
	// (UTC midnights of their dates)
	from, to, ny, berlin time.Time
	evs                  []pipeline.Event
	js                   []sentJSError
	// er draws the engagement and automatic events, apart from r, so
	// that the rest of the traffic is what it was before they existed
	er *rand.Rand
}

func newTrafficGen(seed uint64, ny, berlin time.Time) *trafficGen {
	g := &trafficGen{r: rand.New(rand.NewPCG(seed, seed^0x5eed)), er: rand.New(rand.NewPCG(seed, 0xe9a6e)), ny: ny, berlin: berlin,
		from: berlin.AddDate(0, 0, -2).Add(12 * time.Hour), to: ny.AddDate(0, 0, 5).Add(12 * time.Hour)}
	for _, z := range trafficZones {
		loc, err := time.LoadLocation(z)
		if err != nil {
			panic(err)
		}
		g.zones = append(g.zones, loc)
	}
	return g
}

func (g *trafficGen) pick(list []string) string { return list[g.r.IntN(len(list))] }

// ms is a random duration in [lo, hi) with millisecond precision.
func (g *trafficGen) ms(lo, hi time.Duration) time.Duration {
	return lo + time.Duration(g.r.Int64N(int64((hi-lo)/time.Millisecond)))*time.Millisecond
}

// start picks a session start: anywhere, or on a local midnight (exactly,
// just before, just after), or in a repeated hour of a DST day.
func (g *trafficGen) start() time.Time {
	switch k := g.r.IntN(10); {
	case k < 4:
		return g.from.Add(g.ms(0, g.to.Sub(g.from)))
	case k < 8:
		loc := g.zones[g.r.IntN(len(g.zones))]
		day := g.from.AddDate(0, 0, 1+g.r.IntN(12)).In(loc)
		midnight := time.Date(day.Year(), day.Month(), day.Day(), 0, 0, 0, 0, loc)
		if k == 7 {
			return midnight // exactly on the boundary
		}
		return midnight.Add(g.ms(-6*time.Minute, 3*time.Minute))
	case k == 8: // New York's 01:00–02:00, twice (EDT then EST)
		return g.ny.Add(5 * time.Hour).Add(g.ms(0, 2*time.Hour))
	default: // Berlin's 02:00–03:00, twice (CEST then CET)
		return g.berlin.Add(g.ms(0, 2*time.Hour))
	}
}

func (g *trafficGen) event(kind pipeline.Kind, at time.Time, tid, visitor, ip, ua, path string) pipeline.Event {
	return pipeline.Event{ID: pipeline.NewID(), Kind: kind, Time: at, TrackingID: tid, Visitor: visitor,
		IP: netip.MustParseAddr(ip), UA: ua, Path: path, ScreenWidth: -1, ScreenHeight: -1}
}

// visitor adds one visitor's sessions; starts are its sessions' first
// events (moved later when they would continue the previous session).
func (g *trafficGen) visitor(tid string, n int, starts func() time.Time) {
	ip := fmt.Sprintf(g.pick(trafficIPs), 1+g.r.IntN(120))
	if g.r.IntN(4) == 0 {
		ip = fmt.Sprintf("203.0.113.%d", 130+g.r.IntN(120)) // IN
	}
	ua := g.pick(trafficUAs)
	vid := visitorid.Hash(tid, ip, ua, nil)
	var ts []time.Time
	for range n {
		ts = append(ts, starts())
	}
	sort.Slice(ts, func(i, j int) bool { return ts[i].Before(ts[j]) })
	var last time.Time
	for _, t := range ts {
		if !last.IsZero() && t.Sub(last) < 31*time.Minute {
			t = last.Add(g.ms(31*time.Minute, 90*time.Minute))
		}
		last = g.session(tid, vid, ip, ua, t)
	}
}

// session adds one session's events from t and returns its last event's
// time.
func (g *trafficGen) session(tid, vid, ip, ua string, t time.Time) time.Time {
	n := 1
	if g.r.IntN(10) >= 3 {
		n = 2 + g.r.IntN(7)
	}
	path := g.pick(trafficPages)
	first := g.event(pipeline.PageView, t, tid, vid, ip, ua, path)
	first.Referrer, first.Language = g.pick(trafficReferrers), g.pick(trafficLanguages)
	if g.r.IntN(4) == 0 {
		first.UTM = map[string]string{"utm_source": g.pick([]string{"google", "newsletter"})}
		if g.r.IntN(3) > 0 {
			first.UTM["utm_medium"] = g.pick([]string{"cpc", "email"})
			first.UTM["utm_campaign"] = g.pick([]string{"fall_sale", "launch"})
			if g.r.IntN(2) == 0 {
				first.UTM["utm_term"], first.UTM["utm_content"] = g.pick([]string{"shoes", "boots"}), g.pick([]string{"banner", "text"})
			}
		}
	}
	if n == 1 && g.r.IntN(3) == 0 {
		first.Duration = 15 // engaged without a second event
	}
	if g.r.IntN(5) == 0 {
		first.ScreenWidth, first.ScreenHeight = 1920, 1080
	}
	g.evs = append(g.evs, first)
	g.engage(&g.evs[len(g.evs)-1])
	g.maybeJSError(tid, vid, ip, ua, path, t)
	for i := 1; i < n; i++ {
		gap := g.ms(5*time.Second, 10*time.Minute)
		if g.r.IntN(20) == 0 {
			gap = g.ms(20*time.Minute, 29*time.Minute) // still the same session
		}
		t = t.Add(gap)
		if g.r.IntN(10) < 7 {
			path = g.pick(trafficPages)
			g.evs = append(g.evs, g.event(pipeline.PageView, t, tid, vid, ip, ua, path))
			g.engage(&g.evs[len(g.evs)-1])
		} else {
			ev := g.event(pipeline.Custom, t, tid, vid, ip, ua, path)
			switch g.r.IntN(3) {
			case 0, 1:
				ev.Name = "signup"
				ev.Data = map[string]any{"plan": g.pick([]string{"pro", "free", "free"}), "seats": 1 + g.r.IntN(4),
					"trial": g.r.IntN(2) == 0}
				if g.r.IntN(4) == 0 {
					ev.Data["coupon"] = 1.5 // a number that is not whole
				}
				// revenue from what was drawn (no draw of its own, so the
				// rest of the traffic stays as it was): a pro plan pays per
				// seat in dollars, a coupon in euros
				switch {
				case ev.Data["coupon"] != nil:
					ev.RevenueAmount, ev.RevenueCurrency = 1250, "EUR"
				case ev.Data["plan"] == "pro":
					ev.RevenueAmount, ev.RevenueCurrency = 2900*int64(ev.Data["seats"].(int)), "USD"
				}
			case 2:
				ev.Name = "cta_click"
				if g.r.IntN(3) > 0 {
					ev.Data = map[string]any{"pos": g.pick([]string{"top", "bottom"})}
				}
			}
			g.evs = append(g.evs, ev)
		}
		g.maybeJSError(tid, vid, ip, ua, path, t)
	}
	return t
}

// engage gives most page views a pid and one or two engagement beacons
// (the second one lower in one figure: the larger stays), a few beacons
// without their page view, and some page views an automatic event a
// second later.
func (g *trafficGen) engage(pv *pipeline.Event) {
	pick := func(list ...string) string { return list[g.er.IntN(len(list))] }
	if k := g.er.IntN(6); k < 4 {
		pv.PID = fmt.Sprintf("pid%013d", g.er.Int64N(1e13))
		pv.ID = pipeline.PageViewID(pv.TrackingID, pv.Visitor, pv.PID)
		beacon := *pv
		beacon.ID, beacon.Kind = pipeline.NewID(), pipeline.Engagement
		for range 1 + g.er.IntN(2) {
			beacon.Time = beacon.Time.Add(time.Duration(1000+g.er.IntN(19_000)) * time.Millisecond)
			beacon.EngagedMs, beacon.Scroll = g.er.IntN(120_000), 1+g.er.IntN(100)
			g.evs = append(g.evs, beacon)
		}
	} else if k == 4 {
		orphan := *pv
		orphan.ID, orphan.Kind, orphan.PID, orphan.EngagedMs, orphan.Scroll = pipeline.NewID(), pipeline.Engagement, "orphan123", 5000, 50
		g.evs = append(g.evs, orphan)
	}
	if g.er.IntN(5) > 0 {
		return
	}
	ev := *pv
	ev.ID, ev.Kind, ev.PID, ev.Time = pipeline.NewID(), pipeline.Custom, "", pv.Time.Add(time.Second)
	ev.Referrer, ev.UTM, ev.Duration = "", nil, 0
	switch g.er.IntN(4) {
	case 0:
		ev.Name, ev.Data = stats.EventOutbound, map[string]any{"url": pick("https://a.example/x", "https://b.example/"), "host": "a.example"}
	case 1:
		ev.Name, ev.Data = stats.EventDownload, map[string]any{"url": "https://shop.example/" + pick("a.pdf", "b.zip")}
	case 2:
		ev.Name = stats.Event404
	default:
		ev.Name, ev.Data = stats.EventForm, map[string]any{"form": pick("signup", "(unnamed)")}
	}
	g.evs = append(g.evs, ev)
}

func (g *trafficGen) maybeJSError(tid, vid, ip, ua, path string, t time.Time) {
	if g.r.IntN(12) != 0 {
		return
	}
	at := t.Add(g.ms(time.Second, 20*time.Second))
	ev := g.event(pipeline.JSError, at, tid, vid, ip, ua, path)
	ev.ErrorMessage = g.pick(trafficJSErrors)
	ev.StackTrace = "at f (https://shop.example/app.js:1:2)"
	g.evs = append(g.evs, ev)
	g.js = append(g.js, sentJSError{at.UTC().Truncate(time.Millisecond), ev.ErrorMessage})
}

// sorted returns the events in time order: the order an SDK accepts them.
func (g *trafficGen) sorted() []pipeline.Event {
	sort.SliceStable(g.evs, func(i, j int) bool { return g.evs[i].Time.Before(g.evs[j].Time) })
	return g.evs
}
