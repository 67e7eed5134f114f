package adopt

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
	"github.com/skopos-go/skopos/schema"
	"github.com/skopos-go/skopos/schema/collections"
)

// Plan is what adopting a data dir would do (`skopos migrate --dry-run`).
type Plan struct {
	// Node: the data dir is a Skopos Node installation still to adopt.
	Node bool
	// Collections lists, per Skopos collection, what it gets.
	Collections []CollectionPlan
	// Fill counts the rows whose derived fields would be filled, by
	// what is filled.
	Fill map[string]int
	// SummaryDays counts the website-days whose summaries would be built
	// from raw rows; DailyStatsDays the daily_stats days without raw
	// rows that would become day rows.
	SummaryDays, DailyStatsDays int
}

// CollectionPlan is one collection's part of a Plan.
type CollectionPlan struct {
	Name    string
	Create  bool // it does not exist yet
	Changes collections.Changes
}

// Inspect reads the data dir's data.db without changing a byte of it
// (SQLite's immutable mode, or read-only when a write-ahead log holds
// data) and tells what adopting it would do.
func Inspect(dataDB string) (*Plan, error) {
	dsn := "file:" + dataDB + "?mode=ro&immutable=1"
	if st, err := os.Stat(dataDB + "-wal"); err == nil && st.Size() > 0 {
		dsn = "file:" + dataDB + "?mode=ro" // the log's pages count
	}
	if _, err := os.Stat(dataDB); err != nil {
		return nil, fmt.Errorf("adopt: %w", err)
	}
	db, err := dbx.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("adopt: open %s: %w", dataDB, err)
	}
	defer db.Close()
	plan := &Plan{Fill: map[string]int{}}
	if plan.Node, err = Pending(db); err != nil {
		return nil, err
	}
	existing, err := readCollections(db)
	if err != nil {
		return nil, err
	}
	resolve := func(name string) (string, error) {
		if c := existing[name]; c != nil {
			return c.Id, nil
		}
		return name, nil
	}
	for _, name := range schema.All() {
		desired, err := collections.Definition(name, resolve)
		if err != nil {
			return nil, err
		}
		cp := CollectionPlan{Name: name, Create: existing[name] == nil}
		if !cp.Create {
			cp.Changes = collections.Diff(existing[name], desired)
		}
		plan.Collections = append(plan.Collections, cp)
	}
	if plan.Node {
		if err := plan.count(db, existing); err != nil {
			return nil, err
		}
	}
	return plan, nil
}

// readCollections decodes the _collections rows as PocketBase's API
// returns them.
func readCollections(db dbx.Builder) (map[string]*core.Collection, error) {
	var rows []struct {
		ID      string `db:"id"`
		Name    string `db:"name"`
		Type    string `db:"type"`
		System  bool   `db:"system"`
		Fields  string `db:"fields"`
		Indexes string `db:"indexes"`
	}
	if err := db.NewQuery("SELECT id, name, type, system, fields, indexes FROM _collections").All(&rows); err != nil {
		return nil, fmt.Errorf("adopt: _collections: %w", err)
	}
	out := map[string]*core.Collection{}
	for _, r := range rows {
		raw := fmt.Sprintf(`{"id":%q,"name":%q,"type":%q,"system":%t,"fields":%s,"indexes":%s}`, r.ID, r.Name, r.Type, r.System,
			orEmpty(r.Fields, "[]"), orEmpty(r.Indexes, "[]"))
		c := &core.Collection{}
		if err := json.Unmarshal([]byte(raw), c); err != nil {
			return nil, fmt.Errorf("adopt: collection %s: %w", r.Name, err)
		}
		out[r.Name] = c
	}
	return out, nil
}

func orEmpty(s, empty string) string {
	if strings.TrimSpace(s) == "" {
		return empty
	}
	return s
}

// count fills the plan's row and day counts. Columns Skopos has not
// added yet count as empty.
func (p *Plan) count(db dbx.Builder, existing map[string]*core.Collection) error {
	has := func(collection, field string) bool {
		c := existing[collection]
		return c != nil && c.Fields.GetByName(field) != nil
	}
	q := func(key, full, partial string, ready bool) error {
		sql := full
		if ready {
			sql = partial
		}
		var n int
		if err := db.NewQuery(sql).Row(&n); err != nil {
			return fmt.Errorf("adopt: %s: %w", key, err)
		}
		p.Fill[key] = n
		return nil
	}
	steps := []struct {
		key, full, partial string
		ready              bool
	}{
		{"sessions.seq", "SELECT COUNT(*) FROM sessions", "SELECT COUNT(*) FROM sessions WHERE seq IS NULL OR seq = 0", has("sessions", "seq")},
		{"sessions.startedAt, lastActivity, eventCount, isEngaged", "SELECT COUNT(*) FROM sessions",
			"SELECT COUNT(*) FROM sessions WHERE startedAt = '' OR startedAt IS NULL", has("sessions", "startedAt")},
		{"events.website", "SELECT COUNT(*) FROM events", "SELECT COUNT(*) FROM events WHERE website = ''", has("events", "website")},
		{"events.timestamp", "SELECT COUNT(*) FROM events", "SELECT COUNT(*) FROM events WHERE timestamp = ''", has("events", "timestamp")},
	}
	for _, s := range steps {
		if err := q(s.key, s.full, s.partial, s.ready); err != nil {
			return err
		}
	}
	// days as the adoption will see them: sessions by created, events by
	// their session's website and created
	if err := db.NewQuery(`SELECT COUNT(*) FROM (SELECT website, substr(created, 1, 10) FROM sessions UNION
			SELECT s.website, substr(e.created, 1, 10) FROM events e JOIN sessions s ON s.id = e.session)`).Row(&p.SummaryDays); err != nil {
		return fmt.Errorf("adopt: days: %w", err)
	}
	return db.NewQuery(`SELECT COUNT(*) FROM daily_stats d
		WHERE NOT EXISTS (SELECT 1 FROM sessions s WHERE s.website = d.website AND substr(s.created, 1, 10) = substr(d.date, 1, 10))
			AND NOT EXISTS (SELECT 1 FROM events e JOIN sessions s ON s.id = e.session
				WHERE s.website = d.website AND substr(e.created, 1, 10) = substr(d.date, 1, 10))`).Row(&p.DailyStatsDays)
}

// Print writes the plan for a person.
func (p *Plan) Print(w io.Writer) {
	if !p.Node {
		fmt.Fprintln(w, "not a Skopos Node installation to adopt: `skopos serve` applies Skopos' schema as usual")
	} else {
		fmt.Fprintln(w, "a Skopos Node installation: `skopos serve` (or `skopos migrate`) would adopt it, after a backup of the data dir")
	}
	for _, c := range p.Collections {
		switch {
		case c.Create:
			fmt.Fprintf(w, "  %s: create\n", c.Name)
		case len(c.Changes.Fields)+len(c.Changes.Indexes)+len(c.Changes.Reused) > 0:
			fmt.Fprintf(w, "  %s: adopt", c.Name)
			if len(c.Changes.Fields) > 0 {
				fmt.Fprintf(w, "; add fields %s", strings.Join(c.Changes.Fields, ", "))
			}
			if len(c.Changes.Indexes) > 0 {
				fmt.Fprintf(w, "; add indexes %s", strings.Join(c.Changes.Indexes, ", "))
			}
			var reused []string
			for ours, theirs := range c.Changes.Reused {
				reused = append(reused, theirs+" as "+ours)
			}
			sort.Strings(reused)
			if len(reused) > 0 {
				fmt.Fprintf(w, "; reuse indexes %s", strings.Join(reused, ", "))
			}
			fmt.Fprintln(w)
		}
	}
	if !p.Node {
		return
	}
	keys := make([]string, 0, len(p.Fill))
	for k := range p.Fill {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(w, "  fill %s: %d rows\n", k, p.Fill[k])
	}
	fmt.Fprintf(w, "  summaries: %d website-days from the raw rows, %d days from daily_stats (raw rows gone)\n", p.SummaryDays, p.DailyStatsDays)
	fmt.Fprintln(w, "  the reference's own rows and values are not changed")
}
