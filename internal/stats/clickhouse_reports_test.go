package stats_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/pocketbase/pocketbase/core"
	"github.com/skopos-go/skopos/internal/chtest/twin"
	"github.com/skopos-go/skopos/internal/clickhouse"
	"github.com/skopos-go/skopos/internal/pbtest"
	"github.com/skopos-go/skopos/internal/stats"
	"github.com/skopos-go/skopos/schema"
)

// chSites are TestClickHouseReportsEqualSQLite's two sites: a written by
// the SQLite store, b by chstore into ch.
type chSites struct {
	app  core.App
	ch   *clickhouse.Client
	a, b *core.Record
	now  time.Time
}

// request is the Request for rec: reading ClickHouse for b.
func (s chSites) request(rec *core.Record, p stats.Period, filters []stats.Filter) stats.Request {
	req := stats.Request{Period: p, Filters: filters, Now: s.now}
	if rec == s.b {
		req.ClickHouse = s.ch
	}
	return req
}

// chFunnels are the funnels both sites get: page steps with a wildcard
// and a subtree, event steps (one custom event per step of a visit, so
// never two at one time), and both mixed. chTraffic sends a custom
// event half a second after its page view: at one millisecond their
// keys would tie, and fall to random ids that differ between the stores.
var chFunnels = []struct{ name, steps string }{
	{"Pages", `[{"name":"Home","type":"page","match":"/"},{"name":"Blog","type":"page","match":"/blog/*"},{"name":"Top","type":"page","match":"/*"}]`},
	{"Events", `[{"name":"Pro","type":"event","match":"signup","propertyKey":"plan","propertyValue":"pro"},{"name":"Outbound","type":"event","match":"Outbound Link: Click"}]`},
	{"Mixed", `[{"name":"Blog","type":"page","match":"/blog/**"},{"name":"Outbound","type":"event","match":"Outbound Link: Click"},{"name":"Top","type":"page","match":"/*"}]`},
}

// addFunnels saves chFunnels for rec and returns their ids.
func addFunnels(t testing.TB, app core.App, rec *core.Record) []string {
	t.Helper()
	var ids []string
	for _, f := range chFunnels {
		ids = append(ids, pbtest.Save(t, app, schema.Funnels, map[string]any{"website": rec.Id, "name": f.name, "steps": f.steps}).Id)
	}
	return ids
}

// compareFunnels asks both sites for every funnel in each period under
// each filter set.
func (s chSites) compareFunnels(t *testing.T, idsA, idsB []string, periods []stats.Period, filters [][]stats.Filter) {
	t.Helper()
	n := 0
	for i := range idsA {
		var reached []int
		for _, p := range periods {
			for _, f := range filters {
				want, err := stats.Funnel(chTimeout(t), s.app, s.a.Id, idsA[i], s.request(s.a, p, f))
				if err != nil {
					t.Fatal(err)
				}
				got, err := stats.Funnel(chTimeout(t), s.app, s.b.Id, idsB[i], s.request(s.b, p, f))
				if err != nil {
					t.Fatalf("funnel %s %s %v: %v", chFunnels[i].name, p.Name, f, err)
				}
				got.ID = want.ID
				if twin.Equal(t, "funnel "+chFunnels[i].name+" "+p.Name+" in "+p.Timezone+" "+fmt.Sprint(f), got, want) {
					n++
				}
				if reached == nil {
					reached = make([]int, len(want.Steps))
				}
				for j, st := range want.Steps {
					reached[j] += st.Visitors
				}
			}
		}
		t.Logf("funnel %s: steps reached %v times", chFunnels[i].name, reached)
		if reached[len(reached)-1] == 0 {
			t.Errorf("funnel %s: no last step reached", chFunnels[i].name)
		}
	}
	t.Logf("%d funnels equal", n)
}

// compareBreakdowns asks both sites for pages of several dimensions'
// breakdowns (searched, sorted by key, a second page) in each period
// under each filter set.
func (s chSites) compareBreakdowns(t *testing.T, periods []stats.Period, filters [][]stats.Filter) {
	t.Helper()
	shapes := []stats.BreakdownRequest{
		{Limit: 100}, {Search: "o", Limit: 100}, {Sort: "key", Order: "desc", Limit: 3}, {Limit: 2, Offset: 2},
	}
	n, rows := 0, 0
	for _, p := range periods {
		for _, f := range filters {
			dims := []string{"page", "customEvent", "country", "referrer", "utm_source", "entryPage", "browser", "channel"}
			if len(f) > 0 {
				dims = append(dims, "referrerUrl")
			}
			for _, dim := range dims {
				for _, shape := range shapes {
					var out [2]*stats.BreakdownPage
					for i, rec := range []*core.Record{s.a, s.b} {
						req := shape
						req.Request, req.Dimension = s.request(rec, p, f), dim
						var err error
						if out[i], err = stats.Breakdown(chTimeout(t), s.app, rec.Id, req); err != nil {
							t.Fatalf("breakdown %s %s %v: %v", dim, p.Name, f, err)
						}
					}
					what := fmt.Sprintf("breakdown %s %+v %s in %s %v", dim, shape, p.Name, p.Timezone, f)
					if twin.Equal(t, what, out[1], out[0]) {
						n++
					}
					rows += len(out[0].Rows)
				}
			}
		}
	}
	if rows == 0 {
		t.Error("no breakdown has rows")
	}
	t.Logf("%d breakdown pages equal (%d rows)", n, rows)
}

// compareSessions asks both sites for two pages of their sessions list
// in each period under each filter set. Session ids differ between the
// stores: they are compared as equal when the rest is.
func (s chSites) compareSessions(t *testing.T, periods []stats.Period, filters [][]stats.Filter) {
	t.Helper()
	n, rows := 0, 0
	for _, p := range periods {
		for _, f := range filters {
			for _, offset := range []int{0, 7} {
				var out [2][]stats.SessionRow
				for i, rec := range []*core.Record{s.a, s.b} {
					var err error
					if out[i], err = stats.Sessions(chTimeout(t), s.app, rec.Id, s.request(rec, p, f), 10, offset); err != nil {
						t.Fatalf("sessions %s %v: %v", p.Name, f, err)
					}
				}
				if len(out[1]) == len(out[0]) {
					for i := range out[1] {
						out[1][i].ID = out[0][i].ID
					}
				}
				if twin.Equal(t, fmt.Sprintf("sessions from %d, %s in %s %v", offset, p.Name, p.Timezone, f), out[1], out[0]) {
					n++
				}
				rows += len(out[0])
			}
		}
	}
	if rows == 0 {
		t.Error("no session listed")
	}
	t.Logf("%d session pages equal (%d rows)", n, rows)
}
