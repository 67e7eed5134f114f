package dashboard_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/pocketbase/dbx"
	"github.com/skopos-go/skopos/internal/pbtest"
	"github.com/skopos-go/skopos/internal/stats"
	"github.com/skopos-go/skopos/schema"
)

// TestSegments on one server: "Save as segment" and segment=<id> on the
// site page (figures equal the filters'); a shared link pinned to
// browser:Firefox shows Firefox traffic only, even when asked for
// browser:!Firefox, keeps doing so after the segment is deleted, and
// reaches neither JS error stacks nor the active count; the key and
// website forms pin too; in Chromium, the picker applies a segment and
// "Save as segment" creates one.
func TestSegments(t *testing.T) {
	t.Parallel()
	e := start(t)
	site := addSite(t, e.app, "Segments <b>", "segments.example", "")
	e.traffic(t, site, 12)
	oc := e.client(t)
	oc.base = e.srv.URL
	oc.mustLogin(pbtest.Email, pbtest.Password)
	sitePath := "/dashboard/sites/" + site.Id
	firefox := stats.Filter{Dim: "browser", Value: "Firefox"}
	visitors := func(fs ...stats.Filter) string { return num(report(t, e.app, site.Id, "today", fs...).Visitors.Value) }

	oc.get(sitePath + "?period=today&filter=browser:Firefox")
	r := oc.post(sitePath+"/segments?period=today", url.Values{"name": {"Firefox <i>"}, "filter": {"browser:Firefox"}, "shared": {"1"}})
	loc, _ := url.Parse(r.Header.Get("Location"))
	segID := loc.Query().Get("segment")
	if r.StatusCode != http.StatusSeeOther || segID == "" {
		t.Fatalf("save as segment: %d %s\n%s", r.StatusCode, loc, r.body)
	}
	for _, bad := range []url.Values{
		{"name": {"x"}, "filter": {"planet:Mars"}},
		{"name": {strings.Repeat("n", schema.MaxSegmentName+1)}, "filter": {"browser:Firefox"}},
		{"name": {"none"}},
	} {
		if r := oc.post(sitePath+"/segments", bad); r.StatusCode != http.StatusUnprocessableEntity {
			t.Errorf("save %v: %d, want 422", bad, r.StatusCode)
		}
	}

	page := oc.get(sitePath + "?period=today&segment=" + segID)
	if got, want := kpis(page.body)["visitors"], visitors(firefox); got != want || page.StatusCode != http.StatusOK {
		t.Errorf("segment page: %d visitors %s, want %s", page.StatusCode, got, want)
	}
	if !strings.Contains(page.body, `id="segment-chip"`) || !strings.Contains(page.body, "Firefox &lt;i&gt;") || strings.Contains(page.body, "Firefox <i>") {
		t.Errorf("the segment chip is missing or unescaped")
	}
	if r := oc.get(sitePath + "?period=today&segment=nosuchsegment00"); r.StatusCode != http.StatusNotFound {
		t.Errorf("unknown segment: %d, want 404", r.StatusCode)
	}

	link := createShare(t, oc, site.Id, url.Values{"segment": {segID}})
	if r := oc.post(sitePath+"/segments/"+segID+"/delete", url.Values{}); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("delete segment: %d", r.StatusCode)
	}
	if n := count(t, e.app, schema.Segments, dbx.HashExp{"id": segID}); n != 0 {
		t.Fatalf("segment not deleted")
	}
	anon := e.client(t)
	anon.base = e.srv.URL
	for _, tc := range []struct{ query, want string }{
		{"", visitors(firefox)},
		{"&filter=browser:Firefox", visitors(firefox)},
		{"&filter=browser:!Firefox", "0"},
		{"&filter=browser:Chrome", "0"},
	} {
		r := anon.get(link + "?period=today" + tc.query)
		if got := kpis(r.body)["visitors"]; r.StatusCode != http.StatusOK || got != tc.want {
			t.Errorf("pinned link %q: %d visitors %s, want %s", tc.query, r.StatusCode, got, tc.want)
		}
		if !strings.Contains(r.body, `id="pinned-segment"`) || strings.Contains(r.body, `id="active-users"`) {
			t.Errorf("pinned link %q: no pinned chip, or an active count", tc.query)
		}
	}
	if r := anon.get(link + "/events?period=today&name=signup"); r.StatusCode != http.StatusOK || !strings.Contains(r.body, `id="payloads-pinned"`) ||
		strings.Contains(r.body, `id="payloads"`) {
		t.Errorf("pinned link's custom event page: %d, or it lists the payloads", r.StatusCode)
	}
	for _, sub := range []string{"/active", "/errors?message=x"} {
		if r := anon.get(link + sub); r.StatusCode != http.StatusNotFound {
			t.Errorf("pinned link %s: %d, want 404", sub, r.StatusCode)
		}
	}

	// the key and the website forms pin to a segment the user may use
	seg2 := oc.post(sitePath+"/segments?period=today", url.Values{"name": {"Chrome"}, "filter": {"browser:Chrome"}})
	loc, _ = url.Parse(seg2.Header.Get("Location"))
	chrome := loc.Query().Get("segment")
	oc.get("/dashboard/keys")
	if r := oc.post("/dashboard/keys", url.Values{"name": {"pinned"}, "segment": {chrome}}); r.StatusCode != http.StatusCreated || !strings.Contains(r.body, "Segment: Chrome") {
		t.Errorf("pinned key: %d", r.StatusCode)
	}
	form := oc.get("/dashboard/websites/" + site.Id)
	if !strings.Contains(form.body, `id="reportSegment"`) {
		t.Fatalf("no report segment select")
	}
	if r := oc.post("/dashboard/websites/"+site.Id, url.Values{"name": {"Segments"}, "domain": {"segments.example"},
		"reportFrequency": {"weekly"}, "uptimeCheckInterval": {"5"}, "reportSegment": {chrome}}); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("save website with a report segment: %d\n%s", r.StatusCode, r.body)
	}
	rec, err := e.app.FindRecordById(schema.Websites, site.Id)
	if err != nil || rec.GetString("reportSegment") != "Chrome" || !strings.Contains(rec.GetString("reportFilters"), "browser:Chrome") {
		t.Errorf("report pin: %q %q %v", rec.GetString("reportSegment"), rec.GetString("reportFilters"), err)
	}

	t.Run("picker in Chromium", func(t *testing.T) {
		ctx := tab(t)
		noDialogs(t, ctx)
		browserLogin(t, ctx, e.srv.URL, pbtest.Email, pbtest.Password)
		kpi := func() string { return text(t, ctx, "#kpi-visitors .kpi-value") }
		run(t, ctx, "site page",
			chromedp.Navigate(e.srv.URL+sitePath+"?period=today"),
			until(`document.readyState === "complete" && !!document.getElementById("segment")`))
		run(t, ctx, "choose Chrome",
			chromedp.SetValue(css("#segment"), chrome),
			chromedp.Click(css("#segment-apply")),
			until(`location.search.includes("segment=`+chrome+`") && document.readyState === "complete" && !!document.getElementById("segment-chip")`))
		if got, want := kpi(), visitors(stats.Filter{Dim: "browser", Value: "Chrome"}); got != want {
			t.Errorf("Chrome segment: visitors %s, want %s", got, want)
		}
		run(t, ctx, "remove the segment",
			chromedp.Click(css("#segment-chip .chip-remove")),
			until(`!location.search.includes("segment=") && document.readyState === "complete" && !!document.querySelector(".kpis")`))
		if got, want := kpi(), visitors(); got != want {
			t.Errorf("no segment: visitors %s, want %s", got, want)
		}
		run(t, ctx, "filter by Safari",
			chromedp.Navigate(e.srv.URL+sitePath+"?period=today&filter=browser:Safari"),
			until(`document.readyState === "complete" && !!document.getElementById("segment-name")`),
			chromedp.SendKeys(css("#segment-name"), "Safari"),
			chromedp.Click(css("#segment-save-btn")),
			until(`location.search.includes("segment=") && document.readyState === "complete" && !!document.getElementById("segment-chip")`))
		if got, want := kpi(), visitors(stats.Filter{Dim: "browser", Value: "Safari"}); got != want {
			t.Errorf("saved Safari segment: visitors %s, want %s", got, want)
		}
		if n := count(t, e.app, schema.Segments, dbx.HashExp{"name": "Safari", "website": site.Id}); n != 1 {
			t.Errorf("%d Safari segments saved", n)
		}
	})
}
