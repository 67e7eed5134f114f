package main_test

import (
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	"github.com/skopos-go/skopos/internal/browsertest"
	"github.com/skopos-go/skopos/internal/testwait"
	"github.com/skopos-go/skopos/pbrest"
	"github.com/skopos-go/skopos/schema"
)

// chrome is the test binary's one headless Chromium.
var chrome browsertest.Browser

// TestServeBrowserAutomaticEventsAndEngagement is issue 32's browser
// check against skopos serve: on a page of the demo site (localhost) with
// data-auto="outbound downloads", clicking a download link and then an
// outbound link that leaves the page stores both events; a page viewed 12
// s, 5 of them with the tab hidden, stores about 7 s of engaged time,
// which the stats API reports as the page's median time.
func TestServeBrowserAutomaticEventsAndEngagement(t *testing.T) {
	t.Parallel()
	s := serve(t, t.TempDir(), "SKOPOS_ADMIN_EMAIL="+adminEmail, "SKOPOS_ADMIN_PASSWORD="+adminPassword, "SKOPOS_RATE_LIMIT=off")
	pb := client(t, s.URL)
	tid := s.Line(t, "demo website trackingId: ")

	// the site's pages, on localhost (the demo site's domain); the
	// outbound link goes to the same server by its IP, another host
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	script := fmt.Sprintf(`<script defer src="%s/skopos.js" data-auto="outbound downloads"></script>`, s.URL)
	site := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/files/report.pdf":
			w.WriteHeader(http.StatusNoContent) // a download that leaves the page where it is
		case "/away":
			fmt.Fprint(w, "<!doctype html><title>away</title>elsewhere")
		case "/links":
			fmt.Fprintf(w, `<!doctype html><title>links</title>%s<a id="dl" href="/files/report.pdf">report</a>
				<a id="out" href="http://127.0.0.1:%d/away?ref=1">away</a>`, script, port)
		case "/read":
			fmt.Fprintf(w, `<!doctype html><title>read</title>%s<div style="height:4000px">a long read</div>`, script)
		default:
			http.NotFound(w, r)
		}
	}))
	site.Listener = ln
	site.Start()
	t.Cleanup(site.Close)
	base := fmt.Sprintf("http://localhost:%d", port)

	ctx := chrome.Tab(t, 3*time.Minute)
	do := func(steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, steps...); err != nil {
			t.Fatal(err)
		}
	}
	events := func(filter string) []rawEvent {
		var out []rawEvent
		listAll(t, pb, schema.Events, filter, &out)
		return out
	}
	named := func(name string) string { return pbrest.Filter("eventName = {:n}", pbrest.Params{"n": name}) }

	do(chromedp.Navigate(base + "/links"))
	testwait.Until(t, "the page view stored", func() bool { return len(events("type = 'pageView'")) == 1 })
	do(chromedp.Click(chromedp.ID("dl")))
	testwait.Until(t, "the download stored", func() bool { return len(events(named("File Download"))) == 1 })
	do(chromedp.Click(chromedp.ID("out")))
	testwait.Until(t, "the outbound click stored after the page was left", func() bool { return len(events(named("Outbound Link: Click"))) == 1 })
	if dl := events(named("File Download"))[0]; dl.Path != "/links" || fmt.Sprint(dl.EventData["url"]) != base+"/files/report.pdf" {
		t.Errorf("download event: %s %v", dl.Path, dl.EventData)
	}
	if out := events(named("Outbound Link: Click"))[0]; out.Path != "/links" || fmt.Sprint(out.EventData["host"]) != fmt.Sprintf("127.0.0.1:%d", port) {
		t.Errorf("outbound event: %s %v", out.Path, out.EventData)
	}

	// 12 s on /read, 5 of them hidden
	if _, err := chromedp.Call(ctx, emulation.SetFocusEmulationEnabled, emulation.SetFocusEmulationEnabledParams{Enabled: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Call(ctx, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: browsertest.ControlledClock}); err != nil {
		t.Fatal(err)
	}
	do(chromedp.Navigate(base + "/read"))
	readView := pbrest.Filter("type = 'pageView' && path = '/read'", nil)
	testwait.Until(t, "the page view of /read stored", func() bool { return len(events(readView)) == 1 })
	do(chromedp.Evaluate[chromedp.Void](`advance(5000); setVisible(false); advance(5000); setVisible(true); advance(2000); setVisible(false)`))
	var engaged []struct {
		EngagedMs int `json:"engagedMs"`
	}
	testwait.Until(t, "the engagement of /read stored", func() bool {
		listAll(t, pb, schema.Events, readView, &engaged)
		return len(engaged) == 1 && engaged[0].EngagedMs > 0
	})
	if ms := engaged[0].EngagedMs; ms < 6500 || ms > 7500 {
		t.Errorf("engaged time of 12 s with 5 s hidden = %d ms, want about 7 000", ms)
	}
	day := time.Now().UTC().Format(time.DateOnly)
	var rep struct {
		PageEngagement []struct {
			Path          string  `json:"path"`
			MedianSeconds float64 `json:"medianSeconds"`
		} `json:"pageEngagement"`
	}
	getJSON(t, pb, "/api/skopos/stats", url.Values{"site": {tid}, "from": {day}, "to": {day}}, &rep)
	found := false
	for _, pe := range rep.PageEngagement {
		if pe.Path == "/read" {
			found = pe.MedianSeconds == 7
		}
	}
	if !found {
		t.Errorf("stats pageEngagement = %+v, want /read at 7 s", rep.PageEngagement)
	}
}
