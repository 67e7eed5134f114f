package dashboard

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/pocketbase/pocketbase/core"

	"github.com/skopos-go/skopos/internal/stats"
)

// period reads ?period= (default 7d) or ?from=&to= (custom), in the
// site's time zone.
func (s *server) period(r *http.Request, site *core.Record) (stats.Period, error) {
	q := r.URL.Query()
	name := q.Get("period")
	if name == "" && q.Get("from") == "" && q.Get("to") == "" {
		name = "7d"
	}
	loc := stats.SiteLocation(site)
	if name == "all" {
		return s.allTime(site, q.Get("interval"))
	}
	p, err := stats.ParsePeriodIn(name, q.Get("from"), q.Get("to"), s.opts.Now(), loc)
	if err != nil {
		return p, err
	}
	return p.WithInterval(q.Get("interval"))
}

// allTime is the period from the site's first summary day (or its
// creation) through today, at most the 5 years a custom range may span.
func (s *server) allTime(site *core.Record, interval string) (stats.Period, error) {
	loc := stats.SiteLocation(site)
	now := s.opts.Now().In(loc)
	first := site.GetDateTime("created").Time()
	var date string
	if err := s.app.DB().NewQuery("SELECT COALESCE(MIN(date), '') FROM dash_sum WHERE website = {:w}").
		Bind(map[string]any{"w": site.Id}).Row(&date); err == nil && len(date) >= 10 {
		if t, err := time.Parse(time.DateOnly, date[:10]); err == nil && t.Before(first) {
			first = t
		}
	}
	if oldest := now.AddDate(-5, 0, 1); first.Before(oldest) {
		first = oldest
	}
	p, err := stats.ParsePeriodIn("custom", first.In(loc).Format(time.DateOnly), now.Format(time.DateOnly), now, loc)
	if err != nil {
		return p, err
	}
	p.Name = "all"
	return p.WithInterval(interval)
}

// periodQuery is the query that selects p again, for links.
func periodQuery(p stats.Period) url.Values {
	q := url.Values{"period": {p.Name}}
	if p.Name == "custom" {
		q = url.Values{"period": {"custom"}, "from": {p.From.Format(time.DateOnly)},
			"to": {p.To.AddDate(0, 0, -1).Format(time.DateOnly)}}
	}
	if p.IntervalSet {
		q.Set("interval", p.Interval)
	}
	return q
}

func with(q url.Values, k, v string) url.Values {
	out := url.Values{}
	for key, vs := range q {
		out[key] = slices.Clone(vs)
	}
	out.Set(k, v)
	return out
}

type periodView struct {
	Name, Label, From, To string
	// Zone is the time zone the days are counted in (the website's).
	Zone    string
	Options []periodOption
	// Keep are the page's own parameters the period form carries over
	// (the site page's chart metric).
	Keep []hiddenInput
}

type periodOption struct {
	Value, Label string
	Selected     bool
}

var periodNames = []struct{ value, label string }{
	{"today", "Today"}, {"yesterday", "Yesterday"}, {"24h", "Last 24 hours"}, {"7d", "Last 7 days"}, {"30d", "Last 30 days"},
	{"month", "This month"}, {"lastmonth", "Last month"}, {"ytd", "Year to date"}, {"12mo", "Last 12 months"},
	{"all", "All time"}, {"custom", "Custom range"},
}

func viewPeriod(p stats.Period) periodView {
	loc := p.Location()
	from, last := p.From.In(loc), p.To.Add(-time.Nanosecond).In(loc)
	v := periodView{Name: p.Name, From: from.Format(time.DateOnly), To: last.Format(time.DateOnly), Zone: loc.String()}
	for _, o := range periodNames {
		v.Options = append(v.Options, periodOption{o.value, o.label, o.value == p.Name})
		if o.value == p.Name {
			v.Label = o.label
		}
	}
	if p.Hourly && p.Name != "custom" {
		v.Label += " (" + from.Format("Jan 2 15:04") + " – " + p.To.In(loc).Format("Jan 2 15:04") + ")"
	} else {
		v.Label += " (" + from.Format("Jan 2, 2006") + " – " + last.Format("Jan 2, 2006") + ")"
	}
	return v
}

func badPeriod(err error) string {
	return "That period is not valid: " + strings.TrimPrefix(err.Error(), "stats: ") + "."
}
