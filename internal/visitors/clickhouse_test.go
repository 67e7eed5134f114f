package visitors_test

import (
	"bytes"
	"encoding/json"
	"os"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/pocketbase/pocketbase/core"
	"github.com/skopos-go/skopos/internal/chtest"
	"github.com/skopos-go/skopos/internal/chtest/twin"
	"github.com/skopos-go/skopos/internal/pbtest"
	"github.com/skopos-go/skopos/internal/visitors"
)

// chServer is the ClickHouse of this test binary, started by the first
// test that asks for a database (TestMain closes it).
var chServer chtest.Server

func TestMain(m *testing.M) {
	code := m.Run()
	chServer.Close()
	os.Exit(code)
}

// chEqual fails t unless got (ClickHouse) equals want (SQLite), as
// values and as JSON.
func chEqual(t *testing.T, what string, got, want any) {
	t.Helper()
	g, _ := json.Marshal(got)
	w, _ := json.Marshal(want)
	if !reflect.DeepEqual(got, want) || string(g) != string(w) {
		t.Errorf("%s:\nclickhouse %s\nsqlite     %s", what, g, w)
	}
}

// TestClickHouseEqualsSQLite sends the same traffic to a SQLite-store
// site and a chstore site and asks both for the visitors list (each sort,
// identified mode and a search, in pages), user-1's page and the export
// of user-1's visitors: equal but for the record ids, which are mapped
// from the ClickHouse site's to the SQLite site's.
func TestClickHouseEqualsSQLite(t *testing.T) {
	ch := chServer.StoreDatabase(t)
	srv := pbtest.Start(t, pbtest.Options{})
	pair := twin.Send(t, srv, ch, 12, nil)
	app, a, b := pair.App, pair.SQLite, pair.ClickHouse
	from, to := pair.T0, pair.Now

	list := func(rec *core.Record, q visitors.Query) []visitors.Row {
		t.Helper()
		q.ClickHouse = pair.ClickHouseOf(rec)
		var rows []visitors.Row
		for {
			p, err := visitors.List(twin.Timeout(t), app, rec.Id, q)
			if err != nil {
				t.Fatal(err)
			}
			rows = append(rows, p.Rows...)
			if p.Next == "" {
				return rows
			}
			q = visitors.Query{Sort: q.Sort, Identified: q.Identified, Search: q.Search, Limit: q.Limit, After: p.Next, ClickHouse: q.ClickHouse}
		}
	}
	// the visitors of the two sites map by their figures over the whole
	// period (each browser's visits have their own times)
	ids := map[string]string{} // ClickHouse site's visitors record id → SQLite site's
	sign := func(r visitors.Row) string {
		r.ID, r.VisitorID = "", ""
		s, _ := json.Marshal(r)
		return string(s)
	}
	all := visitors.Query{From: from, To: to, Limit: visitors.MaxLimit}
	byFigures := map[string]visitors.Row{}
	for _, r := range list(a, all) {
		byFigures[sign(r)] = r
	}
	rowsB := list(b, all)
	for _, r := range rowsB {
		if m, ok := byFigures[sign(r)]; ok {
			ids[r.ID] = m.ID
		}
	}
	if len(ids) != len(byFigures) || len(rowsB) != len(byFigures) || len(ids) < len(twin.Browsers) {
		t.Fatalf("%d of %d visitors mapped (%d on the ClickHouse site)", len(ids), len(byFigures), len(rowsB))
	}
	mapRows := func(rows []visitors.Row, of []visitors.Row) []visitors.Row {
		visitorID := map[string]string{}
		for _, r := range of {
			visitorID[r.ID] = r.VisitorID
		}
		out := slices.Clone(rows)
		for i := range out {
			out[i].ID = ids[out[i].ID]
			out[i].VisitorID = visitorID[out[i].ID]
		}
		return out
	}
	// ties on the sort key are ordered by record id, which differ: the
	// order is compared by key, the rows by id
	sortKey := func(s visitors.Sort, ident visitors.Identified, rows []visitors.Row) []string {
		var out []string
		for _, r := range rows {
			k := map[visitors.Sort]string{visitors.SortLastSeen: r.LastSeen.String(), visitors.SortFirstSeen: r.FirstSeen.String(),
				visitors.SortSessions: strconv.Itoa(r.Sessions)}[s]
			if ident == visitors.IdentifiedFirst {
				k = strconv.FormatBool(r.UserID != "") + " " + k
			}
			out = append(out, k)
		}
		return out
	}
	byID := func(rows []visitors.Row) []visitors.Row {
		out := slices.Clone(rows)
		slices.SortFunc(out, func(x, y visitors.Row) int { return strings.Compare(x.ID, y.ID) })
		return out
	}
	n := 0
	for _, sort := range []visitors.Sort{visitors.SortLastSeen, visitors.SortFirstSeen, visitors.SortSessions} {
		for _, ident := range []visitors.Identified{visitors.AnyVisitor, visitors.OnlyIdentified, visitors.OnlyAnonymous, visitors.IdentifiedFirst} {
			for _, search := range []string{"", "user-1", "USER", "nobody"} {
				for _, span := range [][2]int{{0, 12}, {3, 7}} {
					q := visitors.Query{From: from.AddDate(0, 0, span[0]), To: from.AddDate(0, 0, span[1]),
						Sort: sort, Identified: ident, Search: search, Limit: 2}
					want := list(a, q)
					got := mapRows(list(b, q), want)
					what := string(sort) + " " + string(ident) + " " + search
					chEqual(t, what+" order", sortKey(sort, ident, got), sortKey(sort, ident, want))
					chEqual(t, what+" rows", byID(got), byID(want))
					n += len(want)
				}
			}
		}
	}
	t.Logf("%d visitors mapped, %d list rows compared", len(ids), n)

	// user-1's page
	want, err := visitors.User(twin.Timeout(t), app, a.Id, "user-1")
	if err != nil {
		t.Fatal(err)
	}
	got, err := visitors.UserClickHouse(twin.Timeout(t), app, ch, b.Id, "user-1")
	if err != nil {
		t.Fatal(err)
	}
	vidsB := slices.Clone(got.Visitors)
	for i, v := range got.Visitors {
		got.Visitors[i] = ids[v]
	}
	if len(want.Sessions) == 0 || len(got.Sessions) != len(want.Sessions) {
		t.Fatalf("user-1: %d sessions on ClickHouse, %d on SQLite", len(got.Sessions), len(want.Sessions))
	}
	for i := range got.Sessions {
		got.Sessions[i].ID, want.Sessions[i].ID = "", ""
		got.Sessions[i].Visitor = ids[got.Sessions[i].Visitor]
	}
	chEqual(t, "user-1", got, want)

	// the export of user-1's visitors
	export := func(rec *core.Record, vids []string) map[string]any {
		var buf bytes.Buffer
		if err := visitors.ExportClickHouse(twin.Timeout(t), app, pair.ClickHouseOf(rec), &buf, nil, rec.Id, vids); err != nil {
			t.Fatal(err)
		}
		var out map[string]any
		if err := json.Unmarshal(buf.Bytes(), &out); err != nil {
			t.Fatalf("%v\n%s", err, buf.String())
		}
		return blankIDs(out)
	}
	// each visitor's export, and user-1's (all its devices)
	pairs := [][2][]string{{vidsB, want.Visitors}}
	for vb, va := range ids {
		pairs = append(pairs, [2][]string{{vb}, {va}})
	}
	counts := map[string]int{}
	for _, p := range pairs {
		gotX, wantX := export(b, p[0]), export(a, p[1])
		for _, k := range []string{"visitors", "sessions", "events", "jsErrors"} {
			chEqual(t, "export "+k, gotX[k], wantX[k])
			l, _ := wantX[k].([]any)
			counts[k] += len(l)
		}
	}
	t.Logf("exports compared: %v", counts)
	if counts["jsErrors"] == 0 || counts["events"] == 0 {
		t.Error("the exports have no events or no JS errors")
	}
}

// blankIDs blanks what differs between the sites' records of the same
// visit: record ids, the website, and the times of the writes.
func blankIDs(x map[string]any) map[string]any {
	delete(x, "website")
	for _, k := range []string{"visitors", "sessions", "events", "jsErrors"} {
		l, _ := x[k].([]any)
		for _, r := range l {
			for _, c := range []string{"id", "website", "visitor", "visitorId", "session", "created", "updated"} {
				if _, ok := r.(map[string]any)[c]; ok {
					r.(map[string]any)[c] = ""
				}
			}
		}
	}
	return x
}
