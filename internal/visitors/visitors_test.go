package visitors_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/pocketbase/pocketbase/core"
	"github.com/skopos-go/skopos/internal/pbtest"
	"github.com/skopos-go/skopos/internal/visitors"
	"github.com/skopos-go/skopos/schema"
)

const pbTime = "2006-01-02 15:04:05.000Z"

// fixture writes visitors, sessions and events as the intake stores them
// (records saved through PocketBase).
type fixture struct {
	t    *testing.T
	app  core.App
	site string
	seq  map[string]int
}

func newFixture(t *testing.T) (*fixture, *pbtest.Server) {
	srv := pbtest.Start(t, pbtest.Options{})
	site := srv.AddWebsite(t, "visitors.example")
	return &fixture{t: t, app: srv.App(), site: site.Id, seq: map[string]int{}}, srv
}

func (f *fixture) visitor(visitorID, userID, name, email, meta string) string {
	f.t.Helper()
	fields := map[string]any{"website": f.site, "visitorId": visitorID, "userId": userID, "name": name, "email": email}
	if meta != "" {
		fields["metadata"] = json.RawMessage(meta)
	}
	return pbtest.Save(f.t, f.app, schema.Visitors, fields).Id
}

// session stores a session of visitor (a record id) started at with
// events page views a second apart.
func (f *fixture) session(visitor string, at time.Time, country, device string, events int) string {
	f.t.Helper()
	f.seq[visitor]++
	s := pbtest.Save(f.t, f.app, schema.Sessions, map[string]any{
		"website": f.site, "visitor": visitor, "seq": f.seq[visitor], "startedAt": at.UTC().Format(pbTime),
		"lastActivity": at.Add(time.Duration(max(events-1, 0)) * time.Second).UTC().Format(pbTime),
		"country":      country, "device": device, "browser": "Firefox", "os": "Linux", "entryPath": "/", "exitPath": "/",
		"eventCount": events, "isEngaged": events > 1,
	})
	for i := range events {
		pbtest.Save(f.t, f.app, schema.Events, map[string]any{"website": f.site, "session": s.Id, "type": "pageView",
			"path": fmt.Sprintf("/p%d", i), "timestamp": at.Add(time.Duration(i) * time.Second).UTC().Format(pbTime)})
	}
	return s.Id
}

func list(t *testing.T, app core.App, site string, q visitors.Query) visitors.Page {
	t.Helper()
	p, err := visitors.List(context.Background(), app, site, q)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func ids(rows []visitors.Row) []string {
	var out []string
	for _, r := range rows {
		out = append(out, r.ID)
	}
	return out
}

func TestUserAcrossTwoDevicesIsOneUser(t *testing.T) {
	t.Parallel()
	f, _ := newFixture(t)
	now := time.Now().UTC().Truncate(time.Second)
	phone := f.visitor("v-phone", "u-42", "Ada", "ada@example.com", `{"plan":"free"}`)
	laptop := f.visitor("v-laptop", "u-42", "Ada L.", "ada@example.com", `{"plan":"pro","seats":3}`)
	other := f.visitor("v-other", "u-7", "Bob", "bob@example.com", "")
	s1 := f.session(phone, now.Add(-3*time.Hour), "DE", "mobile", 2)
	s2 := f.session(laptop, now.Add(-time.Hour), "FR", "desktop", 3)
	f.session(other, now.Add(-2*time.Hour), "US", "desktop", 1)

	u, err := visitors.User(context.Background(), f.app, f.site, "u-42")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, s := range u.Sessions {
		got = append(got, s.ID)
	}
	if !slices.Equal(got, []string{s1, s2}) {
		t.Fatalf("sessions %v, want %v in time order", got, []string{s1, s2})
	}
	if u.Totals.Devices != 2 || u.Totals.Sessions != 2 || u.Totals.Events != 5 || u.Totals.DurationSeconds != 3 || u.Totals.EngagedSessions != 2 {
		t.Errorf("totals %+v", u.Totals)
	}
	// the laptop's row was updated last: its identify() wins
	if u.Name != "Ada L." || !slices.Equal(u.Metadata, []visitors.Property{{"plan", "pro"}, {"seats", "3"}}) {
		t.Errorf("name %q metadata %v", u.Name, u.Metadata)
	}
	if u.Sessions[0].Country != "DE" || u.Sessions[1].Device != "desktop" || u.Sessions[1].DurationSeconds != 2 {
		t.Errorf("sessions %+v", u.Sessions)
	}
	if _, err := visitors.User(context.Background(), f.app, f.site, "u-nobody"); !errors.Is(err, visitors.ErrNotFound) {
		t.Errorf("unknown user: %v", err)
	}
}

// TestListPagesEveryVisitorOnceWhileSessionsArrive: pages of 3 over 10
// visitors, each sort, with new sessions (of listed and unlisted
// visitors, and of a new visitor) stored between the pages.
func TestListPagesEveryVisitorOnceWhileSessionsArrive(t *testing.T) {
	t.Parallel()
	f, _ := newFixture(t)
	now := time.Now().UTC().Truncate(time.Second)
	var all []string
	for i := range 10 {
		v := f.visitor(fmt.Sprintf("v%d", i), "", "", "", "")
		all = append(all, v)
		// ties on purpose: visitors 0-4 share their start, and
		// counts repeat
		for s := range 1 + i%3 {
			f.session(v, now.Add(-time.Duration(i/5*60+s)*time.Minute), "DE", "desktop", 1)
		}
	}
	from, to := now.Add(-24*time.Hour), now.Add(time.Hour)
	for _, sort := range []visitors.Sort{visitors.SortLastSeen, visitors.SortFirstSeen, visitors.SortSessions} {
		t.Run(string(sort), func(t *testing.T) {
			// the complete order of the snapshot, for comparison
			want := ids(list(t, f.app, f.site, visitors.Query{From: from, To: to, Sort: sort, Limit: 100}).Rows)
			seen := []string{}
			p := list(t, f.app, f.site, visitors.Query{From: from, To: to, Sort: sort, Limit: 3})
			for i := 0; ; i++ {
				seen = append(seen, ids(p.Rows)...)
				// new sessions between pages: for a listed visitor, an
				// unlisted one, and a new visitor
				f.session(all[i%10], now, "FR", "mobile", 1)
				f.session(all[9-i%10], now, "FR", "mobile", 1)
				f.session(f.visitor(fmt.Sprintf("new-%s-%d", sort, i), "", "", "", ""), now, "FR", "mobile", 1)
				if p.Next == "" {
					break
				}
				p = list(t, f.app, f.site, visitors.Query{Sort: sort, Limit: 3, After: p.Next})
			}
			if !slices.Equal(seen, want) {
				t.Fatalf("paged %v\nwant   %v", seen, want)
			}
		})
	}
}

func TestListSearchAndIdentified(t *testing.T) {
	t.Parallel()
	f, _ := newFixture(t)
	now := time.Now().UTC()
	pct := f.visitor("a", "100%_off", "Percent", "p@example.com", `{"b":1,"a":2}`)
	plain := f.visitor("b", "1000xoff", "Plain", "plain@example.com", "")
	anon := f.visitor("c", "", "", "", "")
	for _, v := range []string{pct, plain, anon} {
		f.session(v, now.Add(-time.Minute), "DE", "desktop", 1)
	}
	f.session(plain, now.Add(-30*time.Second), "US", "tablet", 1)
	from, to := now.Add(-time.Hour), now.Add(time.Hour)
	q := func(search string, ident visitors.Identified) []string {
		return ids(list(t, f.app, f.site, visitors.Query{From: from, To: to, Search: search, Identified: ident}).Rows)
	}
	if got := q("0%_", ""); !slices.Equal(got, []string{pct}) {
		t.Errorf("search 0%%_: %v, want only %s (%% and _ are literal)", got, pct)
	}
	if got := q("PLAIN@", ""); !slices.Equal(got, []string{plain}) {
		t.Errorf("search by email: %v", got)
	}
	if got := q("", visitors.OnlyAnonymous); !slices.Equal(got, []string{anon}) {
		t.Errorf("identified=no: %v", got)
	}
	if got := q("", visitors.OnlyIdentified); len(got) != 2 || slices.Contains(got, anon) {
		t.Errorf("identified=yes: %v", got)
	}
	// anon's session is as recent as pct's: identified first puts it last
	if got := q("", visitors.IdentifiedFirst); len(got) != 3 || got[2] != anon {
		t.Errorf("identified first: %v", got)
	}
	rows := list(t, f.app, f.site, visitors.Query{From: from, To: to, Search: "plain"}).Rows
	if r := rows[0]; r.Sessions != 2 || r.Country != "US" || r.Device != "tablet" {
		t.Errorf("row %+v: want 2 sessions, the latest from US on a tablet", r)
	}
	if r := list(t, f.app, f.site, visitors.Query{From: from, To: to, Search: "percent"}).Rows[0]; !slices.Equal(r.MetadataKeys, []string{"a", "b"}) {
		t.Errorf("metadata keys %v", r.MetadataKeys)
	}
	if _, err := visitors.List(context.Background(), f.app, f.site, visitors.Query{After: "not-a-cursor"}); !errors.Is(err, visitors.ErrBadQuery) {
		t.Errorf("bad cursor: %v", err)
	}
}

func TestExportHasTheVisitorsRowsOnly(t *testing.T) {
	t.Parallel()
	f, srv := newFixture(t)
	now := time.Now().UTC()
	mine := f.visitor("mine", "u-1", "Me", "me@example.com", `{"k":"v"}`)
	theirs := f.visitor("theirs", "u-2", "Them", "them@example.com", "")
	var mySessions []string
	for i := range 3 {
		mySessions = append(mySessions, f.session(mine, now.Add(-time.Duration(i)*time.Hour), "DE", "desktop", 2))
	}
	theirSession := f.session(theirs, now, "FR", "mobile", 4)
	pbtest.Save(t, f.app, schema.JSErrors, map[string]any{"website": f.site, "session": mySessions[0], "errorHash": "h1", "errorMessage": "boom", "count": 2})
	pbtest.Save(t, f.app, schema.JSErrors, map[string]any{"website": f.site, "session": theirSession, "errorHash": "h2", "errorMessage": "theirs", "count": 1})
	otherSite := srv.AddWebsite(t, "other.example")

	var buf bytes.Buffer
	if err := visitors.Export(context.Background(), f.app, &buf, nil, f.site, []string{mine}); err != nil {
		t.Fatal(err)
	}
	var out struct {
		Website  string           `json:"website"`
		Visitors []map[string]any `json:"visitors"`
		Sessions []map[string]any `json:"sessions"`
		Events   []map[string]any `json:"events"`
		JSErrors []map[string]any `json:"jsErrors"`
	}
	if err := json.Unmarshal(buf.Bytes(), &out); err != nil {
		t.Fatalf("%v\n%s", err, buf.String())
	}
	if len(out.Visitors) != 1 || out.Visitors[0]["id"] != mine || out.Visitors[0]["email"] != "me@example.com" {
		t.Errorf("visitors %v", out.Visitors)
	}
	if m, ok := out.Visitors[0]["metadata"].(map[string]any); !ok || m["k"] != "v" {
		t.Errorf("metadata %v is not embedded JSON", out.Visitors[0]["metadata"])
	}
	var got []string
	for _, s := range out.Sessions {
		got = append(got, s["id"].(string))
	}
	if want := slices.Clone(mySessions); !slices.Equal(got, want) {
		t.Errorf("sessions %v, want %v", got, want)
	}
	if len(out.Events) != 6 {
		t.Errorf("%d events, want 6", len(out.Events))
	}
	for _, e := range out.Events {
		if !slices.Contains(mySessions, e["session"].(string)) {
			t.Errorf("event of another session: %v", e)
		}
	}
	if len(out.JSErrors) != 1 || out.JSErrors[0]["errorMessage"] != "boom" {
		t.Errorf("js errors %v", out.JSErrors)
	}
	// another site's visitor, or an unknown id: nothing written
	buf.Reset()
	for _, q := range [][]string{{theirs, "nope"}, {}} {
		if err := visitors.Export(context.Background(), f.app, &buf, nil, f.site, q); !errors.Is(err, visitors.ErrNotFound) || buf.Len() != 0 {
			t.Errorf("export %v: %v, %d bytes", q, err, buf.Len())
		}
	}
	if err := visitors.Export(context.Background(), f.app, &buf, nil, otherSite.Id, []string{mine}); !errors.Is(err, visitors.ErrNotFound) {
		t.Errorf("export through another site: %v", err)
	}
}

// TestExportPagesLongHistories: more sessions and events than a page.
func TestExportPagesLongHistories(t *testing.T) {
	t.Parallel()
	f, _ := newFixture(t)
	v := f.visitor("long", "", "", "", "")
	at := time.Now().UTC().Add(-time.Hour)
	n := visitors.PageSize + 3
	err := f.app.RunInTransaction(func(tx core.App) error {
		for i := range n {
			_, err := tx.DB().NewQuery(fmt.Sprintf(`INSERT INTO sessions (id, website, visitor, seq, startedAt, lastActivity)
				VALUES ('s%05d', '%s', '%s', %d, '%s', '%[5]s')`, i, f.site, v, i+1, at.Format(pbTime))).Execute()
			if err != nil {
				return err
			}
		}
		for i := range n {
			// one session with every event, all at one time: the
			// keyset must page through the ties
			_, err := tx.DB().NewQuery(fmt.Sprintf(`INSERT INTO events (id, website, session, type, timestamp)
				VALUES ('e%05d', '%s', 's00000', 'pageView', '%s')`, i, f.site, at.Format(pbTime))).Execute()
			if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	flushes := 0
	if err := visitors.Export(context.Background(), f.app, &buf, func() { flushes++ }, f.site, []string{v}); err != nil {
		t.Fatal(err)
	}
	var out struct{ Sessions, Events []map[string]any }
	if err := json.Unmarshal(buf.Bytes(), &out); err != nil {
		t.Fatal(err)
	}
	ids := map[any]bool{}
	for _, e := range out.Events {
		ids[e["id"]] = true
	}
	if len(out.Sessions) != n || len(out.Events) != n || len(ids) != n {
		t.Errorf("%d sessions, %d events (%d distinct), want %d", len(out.Sessions), len(out.Events), len(ids), n)
	}
	if flushes < 4 {
		t.Errorf("%d flushes: the pages are not flushed", flushes)
	}
}
