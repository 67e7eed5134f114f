package main_test

import (
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestImportPlausibleIntoADataDirShowsInTheStatsAPI: `skopos import
// plausible` into a data dir, then `skopos serve` on it answers the
// export's days from the stats API, marked imported; usage and format
// errors exit non-zero with one line.
func TestImportPlausibleIntoADataDirShowsInTheStatsAPI(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	export, err := filepath.Abs("../../internal/importer/testdata/plausible")
	if err != nil {
		t.Fatal(err)
	}
	stdout, stderr, code := run(t, "site", "add", "--domain", "example.com", "--dir", dir)
	if code != 0 {
		t.Fatalf("site add exited %d: %s", code, stderr)
	}
	tid := lastLine(stdout)

	stdout, stderr, code = run(t, "import", "plausible", export, "--site", tid, "--dir", dir)
	if code != 0 || !strings.Contains(stdout, "imported 3 days (2024-01-01 – 2024-01-03) into example.com:") ||
		!strings.Contains(stdout, "not imported: imported_locations: region, city") {
		t.Fatalf("import exited %d\nstdout: %s\nstderr: %s", code, stdout, stderr)
	}
	// the same export again writes nothing
	stdout, stderr, code = run(t, "import", "plausible", export, "--site", tid, "--dir", dir)
	if code != 0 || !strings.Contains(stdout, ": 0 summary rows written") {
		t.Fatalf("second import exited %d\nstdout: %s\nstderr: %s", code, stdout, stderr)
	}

	bad := t.TempDir()
	b, err := os.ReadFile(filepath.Join(export, "imported_visitors_20240101_20240103.csv"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(bad, "imported_visitors.csv"), []byte(strings.Replace(string(b), ",600", ",-1", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		args     []string
		code     int
		inStderr string
	}{
		{[]string{"import", "plausible", export, "--dir", dir}, 2, "--site (the website's trackingId) is required"},
		{[]string{"import", "umami", "--site", tid, "--dir", dir}, 2, "give one export"},
		{[]string{"import", "plausible", export, "--site", "nosuchsite", "--dir", dir}, 1, `no website with trackingId "nosuchsite"`},
		{[]string{"import", "plausible", bad, "--site", tid, "--dir", dir}, 1,
			`imported_visitors.csv: line 2: visit_duration: "-1" is not a whole number ≥ 0`},
	} {
		_, stderr, code := run(t, tt.args...)
		if code != tt.code || !strings.Contains(stderr, tt.inStderr) || strings.Count(strings.TrimSpace(stderr), "\n") != 0 {
			t.Errorf("%v: exit %d, stderr %q; want %d with %q on one line", tt.args, code, stderr, tt.code, tt.inStderr)
		}
	}

	s := serve(t, dir, "SKOPOS_ADMIN_EMAIL="+adminEmail, "SKOPOS_ADMIN_PASSWORD="+adminPassword)
	pb := client(t, s.URL)
	var got struct {
		PageViews, Visitors struct{ Value float64 }
		Top                 map[string][]struct {
			Key   string
			Count int
		}
		Imported struct {
			Sources, Days []string
		}
	}
	getJSON(t, pb, "/api/skopos/stats", url.Values{"site": {tid}, "from": {"2024-01-01"}, "to": {"2024-01-03"}}, &got)
	// imported_visitors: page views 30 + 12 + 7, visits 10 + 6 + 4
	if got.PageViews.Value != 49 || got.Visitors.Value != 20 {
		t.Errorf("page views %v, visitors %v; want 49, 20", got.PageViews.Value, got.Visitors.Value)
	}
	if !slices.Equal(got.Imported.Days, []string{"2024-01-01", "2024-01-02", "2024-01-03"}) || !slices.Equal(got.Imported.Sources, []string{"Plausible"}) {
		t.Errorf("imported = %+v", got.Imported)
	}
	if pages := got.Top["page"]; len(pages) != 3 || pages[0].Key != "/" || pages[0].Count != 32 {
		t.Errorf("top pages = %+v; want / with 32 first", pages)
	}
}
