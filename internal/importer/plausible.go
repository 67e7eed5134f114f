package importer

import (
	"fmt"
	"io"
	"regexp"
	"strings"

	"github.com/skopos-go/skopos/internal/domain"
	"github.com/skopos-go/skopos/internal/pipeline"
)

// Plausible CE's CSV export is a zip of one CSV file per imported_*
// table ("imported_pages_20240101_20241231.csv"; Plausible's own import
// also takes the names without "imported_"), each with a header row, one
// row per day and key, dates in the site's time zone. The columns are
// those of Plausible's CSV importer (lib/plausible/imported/
// csv_importer.ex, input_structures), which its export writes
// (lib/plausible/exports.ex). Columns are found by name, in any order.

// plausibleTable says how one imported_* file becomes summary rows.
type plausibleTable struct {
	cols    []string // required
	dropped string   // what the summaries cannot hold, for Data.Dropped
	read    func(rs *rows, x *Day) error
}

// sessions is the count a session breakdown takes from a Plausible row:
// its visits (our breakdowns count sessions; Plausible's "visitors"
// are people).
func sessions(rs *rows) (int, error) { return rs.int("visits") }

// sessionDim makes the table of a session breakdown keyed by col.
func sessionDim(dim, col string, key func(string) string, dropped string) plausibleTable {
	return plausibleTable{cols: []string{"date", col, "visits"}, dropped: dropped, read: func(rs *rows, x *Day) error {
		n, err := sessions(rs)
		x.add(dim, pipeline.SessionValue(dim, key(rs.str(col))), n)
		return err
	}}
}

// counted makes the table of a breakdown keyed by col and counted by
// countCol, as it is.
func counted(dim, col, countCol, dropped string) plausibleTable {
	return plausibleTable{cols: []string{"date", col, countCol}, dropped: dropped, read: func(rs *rows, x *Day) error {
		n, err := rs.int(countCol)
		x.add(dim, rs.str(col), n)
		return err
	}}
}

var plausibleTables = map[string]plausibleTable{
	"imported_visitors": {cols: []string{"date", "visits", "pageviews", "bounces", "visit_duration"},
		dropped: "visitors (people: Skopos counts sessions; new and returning visitors stay 0)",
		read: func(rs *rows, x *Day) error {
			var v [4]int
			for i, c := range []string{"visits", "pageviews", "bounces", "visit_duration"} {
				n, err := rs.int(c)
				if err != nil {
					return err
				}
				v[i] = n
			}
			t := &x.Totals
			t.Visitors += v[0]
			t.PageViews += v[1]
			t.Bounces += v[2]
			t.Duration += v[3]
			// a visit that did not bounce had two page views or events:
			// engaged by the pipeline's rule (a bounce that stayed 10 s
			// is engaged too, which Plausible does not tell)
			t.Engaged += max(v[0]-v[2], 0)
			return nil
		}},
	"imported_pages":       counted("page", "page", "pageviews", "hostname, visitors, visits, scroll_depth, time on page"),
	"imported_entry_pages": counted("entryPage", "entry_page", "entrances", "visitors, visit_duration, bounces, pageviews"),
	"imported_exit_pages":  counted("exitPage", "exit_page", "exits", "visitors, visit_duration, bounces, pageviews"),
	"imported_sources": {cols: []string{"date", "referrer", "visits"}, dropped: "source (Skopos keys referrers by host), utm_content, utm_term",
		read: func(rs *rows, x *Day) error {
			n, err := sessions(rs)
			x.add("referrer", domain.ReferrerKey(rs.str("referrer")), n)
			for _, dim := range []string{"utm_source", "utm_medium", "utm_campaign"} {
				if v := rs.str(dim); v != "" {
					x.add(dim, v, n)
				}
			}
			return err
		}},
	"imported_locations":         sessionDim("country", "country", strings.ToUpper, "region, city"),
	"imported_devices":           sessionDim("device", "device", deviceName, ""),
	"imported_browsers":          sessionDim("browser", "browser", plausibleBrowser, "browser_version"),
	"imported_operating_systems": sessionDim("os", "operating_system", plausibleOS, "operating_system_version"),
	"imported_custom_events": {cols: []string{"date", "name", "events"}, dropped: "link_url, path, visitors",
		read: func(rs *rows, x *Day) error {
			n, err := rs.int("events")
			// Plausible's engagement pings are not custom events
			if name := rs.str("name"); name != "engagement" {
				x.add("customEvent", name, n)
			}
			return err
		}},
}

// plausibleFile matches the export's file names: the table, with or
// without "imported_", and an optional _YYYYMMDD_YYYYMMDD range.
var plausibleFile = regexp.MustCompile(`^(?:imported_)?([a-z_]+?)(?:_\d{8}_\d{8})?\.csv$`)

// plausibleTableOf names the imported_* table of a file name.
func plausibleTableOf(base string) (string, bool) {
	m := plausibleFile.FindStringSubmatch(strings.ToLower(base))
	if m == nil {
		return "", false
	}
	name := "imported_" + m[1]
	_, ok := plausibleTables[name]
	return name, ok
}

// ReadPlausible parses Plausible CE's CSV export at path: its zip, the
// directory it was unpacked into, or one imported_*.csv file. Days come
// from every file; the totals from imported_visitors, which a directory
// or zip must have.
func ReadPlausible(path string) (*Data, error) {
	d := newData(Plausible)
	seen := map[string]bool{}
	err := eachFile(path, func(name, base string, r io.Reader) error {
		table, ok := plausibleTableOf(base)
		if !ok {
			return &FormatError{File: name, Msg: "not a file of Plausible's CSV export (imported_visitors, imported_pages, … _YYYYMMDD_YYYYMMDD.csv)"}
		}
		seen[table] = true
		return readPlausibleTable(d, name, table, r)
	})
	if err != nil {
		return nil, err
	}
	if !seen["imported_visitors"] && len(seen) > 1 {
		return nil, fmt.Errorf("%s: no imported_visitors file: the export's totals are in it", path)
	}
	for _, t := range sortedKeys(seen) {
		if drop := plausibleTables[t].dropped; drop != "" {
			d.Dropped = append(d.Dropped, t+": "+drop)
		}
	}
	return d, nil
}

func readPlausibleTable(d *Data, name, table string, r io.Reader) error {
	def := plausibleTables[table]
	rs, err := newRows(name, r)
	if err != nil {
		return err
	}
	if err := rs.require(def.cols...); err != nil {
		return err
	}
	for {
		ok, err := rs.next()
		if err != nil || !ok {
			return err
		}
		t, err := rs.date("date")
		if err != nil {
			return err
		}
		if err := def.read(rs, d.day(t)); err != nil {
			return err
		}
	}
}
