package plugin_test

import (
	"encoding/csv"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pocketbase/dbx"
	"github.com/skopos-go/skopos/internal/export"
	"github.com/skopos-go/skopos/internal/testwait"
	"github.com/skopos-go/skopos/plugin"
)

// getExport fetches an export and parses it; rows is nil when the status
// is not 200.
func getExport(t *testing.T, base, token string, q url.Values) (int, http.Header, [][]string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, base+plugin.ExportPath+"?"+q.Encode(), nil)
	if token != "" {
		req.Header.Set("Authorization", token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		_, _ = io.Copy(io.Discard, resp.Body)
		return resp.StatusCode, resp.Header, nil
	}
	rows, err := csv.NewReader(resp.Body).ReadAll()
	if err != nil {
		t.Fatalf("parse csv: %v", err)
	}
	return resp.StatusCode, resp.Header, rows
}

// column returns the values of the named column below the header.
func column(t *testing.T, rows [][]string, name string) []string {
	t.Helper()
	i := slices.Index(rows[0], name)
	if i < 0 {
		t.Fatalf("no column %q in %v", name, rows[0])
	}
	var out []string
	for _, r := range rows[1:] {
		out = append(out, r[i])
	}
	return out
}

func TestExportCSVRoundTrip(t *testing.T) {
	t.Parallel()
	srv := startEmbedded(t)
	app := srv.App()
	site := srv.AddWebsite(t, "export.example")
	other := srv.AddWebsite(t, "other.example")
	tid := site.GetString("trackingId")

	// page views and custom events from 12 visitors, two of them with
	// names a spreadsheet would evaluate
	evil := []string{`=HYPERLINK("https://evil.example","x")`, `@SUM(1+1)`}
	const total = 60
	for i := range total {
		body := fmt.Sprintf(`{"type":"pageView","url":"https://export.example/p%d?utm_source=news"}`, i%5)
		switch {
		case i < len(evil):
			body = fmt.Sprintf(`{"type":"custom","name":%q,"url":"https://export.example/p1","data":{"k":"-1"}}`, evil[i])
		case i%7 == 0:
			body = `{"type":"custom","name":"signup","url":"https://export.example/p2","data":{"plan":"pro"}}`
		}
		post(t, srv, body, map[string]string{"X-Forwarded-For": fmt.Sprintf("198.51.100.%d", i%12+1)})
	}
	testwait.Until(t, "events stored", func() bool {
		return countEvents(t, app, dbx.HashExp{"website": site.Id}) == total
	})
	var stored []string
	if err := app.DB().NewQuery("SELECT id FROM events WHERE website = {:w} ORDER BY id").Bind(dbx.Params{"w": site.Id}).Column(&stored); err != nil {
		t.Fatal(err)
	}
	var sessions int
	if err := app.DB().NewQuery("SELECT COUNT(*) FROM sessions WHERE website = {:w}").Bind(dbx.Params{"w": site.Id}).Row(&sessions); err != nil {
		t.Fatal(err)
	}
	token := superuserToken(t, srv)

	t.Run("events", func(t *testing.T) {
		code, hdr, rows := getExport(t, srv.URL, token, url.Values{"site": {tid}, "period": {"7d"}, "kind": {"events"}})
		if code != http.StatusOK {
			t.Fatalf("status %d", code)
		}
		if ct := hdr.Get("Content-Type"); ct != "text/csv; charset=utf-8" {
			t.Errorf("Content-Type %q", ct)
		}
		today := time.Now().UTC()
		wantName := fmt.Sprintf(`attachment; filename="skopos-export.example-events-%s-%s.csv"`,
			today.AddDate(0, 0, -6).Format(time.DateOnly), today.Format(time.DateOnly))
		if cd := hdr.Get("Content-Disposition"); cd != wantName {
			t.Errorf("Content-Disposition %q, want %q", cd, wantName)
		}
		if !slices.Equal(rows[0], export.EventColumns) {
			t.Fatalf("header %v", rows[0])
		}
		ids := column(t, rows, "id")
		slices.Sort(ids)
		if !slices.Equal(ids, stored) {
			t.Fatalf("exported ids (%d) differ from the stored events (%d)", len(ids), len(stored))
		}
		for _, tm := range column(t, rows, "time") {
			if _, err := time.Parse(time.RFC3339, tm); err != nil || !strings.HasSuffix(tm, "Z") {
				t.Fatalf("time %q is not RFC 3339 UTC", tm)
			}
		}
		names := column(t, rows, "eventName")
		for _, e := range evil {
			if !slices.Contains(names, "'"+e) {
				t.Errorf("%q not neutralized in %q", e, names)
			}
		}
		if slices.ContainsFunc(names, func(n string) bool { return n != "" && strings.ContainsAny(n[:1], "=+-@\t\r") }) {
			t.Errorf("a formula cell is left: %q", names)
		}
	})

	t.Run("sessions", func(t *testing.T) {
		code, _, rows := getExport(t, srv.URL, token, url.Values{"site": {tid}, "from": {time.Now().UTC().Format(time.DateOnly)},
			"to": {time.Now().UTC().Format(time.DateOnly)}, "kind": {"sessions"}})
		if code != http.StatusOK || !slices.Equal(rows[0], export.SessionColumns) {
			t.Fatalf("status %d, header %v", code, rows[0])
		}
		if len(rows)-1 != sessions {
			t.Errorf("%d session rows, %d stored", len(rows)-1, sessions)
		}
		for _, s := range column(t, rows, "utm_source") {
			if s != "news" && s != "" {
				t.Errorf("utm_source %q", s)
			}
		}
	})

	t.Run("summary", func(t *testing.T) {
		code, _, rows := getExport(t, srv.URL, token, url.Values{"site": {tid}, "period": {"7d"}, "kind": {"summary"}})
		if code != http.StatusOK || !slices.Equal(rows[0], export.SummaryColumns) || len(rows) != 8 {
			t.Fatalf("status %d, %d rows, header %v", code, len(rows), rows[0])
		}
		var pv int
		if err := app.DB().NewQuery("SELECT COUNT(*) FROM events WHERE website = {:w} AND type = 'pageView'").Bind(dbx.Params{"w": site.Id}).Row(&pv); err != nil {
			t.Fatal(err)
		}
		last := rows[len(rows)-1]
		if last[0] != time.Now().UTC().Format(time.DateOnly) || last[3] != fmt.Sprint(pv) || last[4] != fmt.Sprint(sessions) {
			t.Errorf("today's row %v; want %d page views, %d visitors", last, pv, sessions)
		}
	})

	tokenAndID := userToken(t, srv, srv.URL, "exporter@example.com")
	userTok, userID, _ := strings.Cut(tokenAndID, " ")
	other.Set("user", userID)
	if err := app.Save(other); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, token string
		q           url.Values
		want        int
	}{
		{"no token", "", url.Values{"site": {tid}, "period": {"7d"}}, http.StatusUnauthorized},
		{"another owner's site", userTok, url.Values{"site": {tid}, "period": {"7d"}}, http.StatusNotFound},
		{"own site", userTok, url.Values{"site": {other.GetString("trackingId")}, "period": {"7d"}, "kind": {"sessions"}}, http.StatusOK},
		{"unknown kind", token, url.Values{"site": {tid}, "period": {"7d"}, "kind": {"pageviews"}}, http.StatusBadRequest},
		{"bad period", token, url.Values{"site": {tid}, "period": {"9y"}}, http.StatusBadRequest},
	} {
		if code, _, _ := getExport(t, srv.URL, tc.token, tc.q); code != tc.want {
			t.Errorf("%s: %d, want %d", tc.name, code, tc.want)
		}
	}
}
