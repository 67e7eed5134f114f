package plugin_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/skopos-go/skopos/internal/stats"
	"github.com/skopos-go/skopos/plugin"
)

// checkBreakdownAPI reads the pages of the site's page breakdown through
// the API: a page of 2 at offset 1 is the top list's second and third
// keys, with the JSON names the docs give; bounds answer 400.
func checkBreakdownAPI(t *testing.T, url, token, tid string, top []stats.Item) {
	t.Helper()
	get := func(query string) (int, map[string]any) {
		req, _ := http.NewRequest(http.MethodGet, url+plugin.BreakdownPath+"?site="+tid+"&period=7d&"+query, nil)
		req.Header.Set("Authorization", token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&out)
		return resp.StatusCode, out
	}
	code, page := get("dimension=page&limit=2&offset=1")
	if code != http.StatusOK || len(top) < 3 {
		t.Fatalf("breakdown: %d %v (top %v)", code, page, top)
	}
	rows, _ := page["rows"].([]any)
	if page["dimension"] != "page" || page["metric"] != "pageviews" || page["limit"] != 2.0 || page["offset"] != 1.0 ||
		page["total"] != float64(len(top)) || len(rows) != 2 {
		t.Fatalf("breakdown page: %v", page)
	}
	for i, r := range rows {
		row := r.(map[string]any)
		if row["key"] != top[i+1].Key || row["pageviews"] != float64(top[i+1].Count) || row["percent"] == nil || row["visitors"] != nil {
			t.Errorf("row %d: %v, want %+v", i, row, top[i+1])
		}
	}
	for _, q := range []string{"dimension=page&limit=0", "dimension=page&limit=101", "dimension=page&offset=-1", "dimension=page&limit=x",
		"dimension=page&search=" + strings.Repeat("x", stats.MaxBreakdownSearch+1), "dimension=page&sort=visitors",
		"dimension=nope", "dimension=page&order=up", "dimension=page&filter=nope:x"} {
		if code, body := get(q); code != http.StatusBadRequest {
			t.Errorf("%s: %d %v, want 400", q, code, body)
		}
	}
}
