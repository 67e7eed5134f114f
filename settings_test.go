package skopos_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/pocketbase/dbx"
	"github.com/skopos-go/skopos"
	"github.com/skopos-go/skopos/internal/browsertest"
	"github.com/skopos-go/skopos/internal/pbtest"
	"github.com/skopos-go/skopos/internal/testwait"
	"github.com/skopos-go/skopos/schema"
)

// TestSettingsChangesApplyToTheNextEvent changes each website setting in
// PocketBase and checks the next event obeys it (realtime).
func TestSettingsChangesApplyToTheNextEvent(t *testing.T) {
	t.Parallel()
	srv, site, c := startClient(t)
	app := srv.App()
	ctx := context.Background()

	send := func(ip, url string) {
		r := httptest.NewRequest(http.MethodPost, "/api/event", nil)
		r.RemoteAddr = ip + ":1000"
		browsertest.Headers(r.Header, "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0")
		if err := c.TrackAPIEvent(r, []byte(`{"type":"pageView","url":"`+url+`"}`)); err != nil {
			t.Fatal(err)
		}
	}
	change := func(field string, value any) {
		rec, err := app.FindRecordById(schema.Websites, site.Id)
		if err != nil {
			t.Fatal(err)
		}
		rec.Set(field, value)
		if err := app.Save(rec); err != nil {
			t.Fatal(err)
		}
	}
	// expectDrop sends events until one is dropped for reason (the change
	// has arrived over realtime, normally within milliseconds; the bound
	// is generous for a busy machine).
	expectDrop := func(reason, ip, url string) {
		t.Helper()
		before := c.Stats().Dropped[reason]
		testwait.Until(t, fmt.Sprintf("a %q drop after the settings change", reason), func() bool {
			send(ip, url)
			return c.Stats().Dropped[reason] > before
		})
	}

	change("isArchived", true)
	expectDrop("archived", "203.0.113.1", "https://example.com/")
	change("isArchived", false)

	change("ipBlacklist", []string{"198.51.100.0/24", "2001:db8::1"})
	expectDrop("blacklist", "198.51.100.7", "https://example.com/")

	change("disableLocalhostTracking", true)
	expectDrop("localhost", "127.0.0.1", "https://example.com/")

	change("domain", "example.org")
	expectDrop("domain", "203.0.113.1", "https://example.com/")

	change("domain", "bad domain")
	expectDrop("domain", "203.0.113.1", "https://example.org/") // unusable: refused, never open
	change("domain", "example.org")
	// the site open again before the next change: a failure below is
	// then about storeRawIp alone
	stored := func(ip, path string) bool {
		send(ip, "https://example.org"+path)
		if err := c.FlushEvents(ctx); err != nil {
			t.Fatal(err)
		}
		var n int
		_ = app.DB().Select("count(*)").From(schema.Sessions).Where(dbx.HashExp{"entryPath": path}).Row(&n)
		return n > 0
	}
	testwait.Until(t, "events of the fixed domain stored", func() bool { return stored("203.0.113.9", "/open-again") })
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("the client's counts at the end: %+v", c.Stats())
		}
	})

	change("storeRawIp", true)
	// each try is a new visitor: a session takes the setting when it opens
	try := 0
	testwait.Until(t, "storeRawIp applied to a new session", func() bool {
		try++
		ip := fmt.Sprintf("203.0.%d.%d", 114+try/250, try%250+1)
		send(ip, "https://example.org/raw")
		if err := c.FlushEvents(ctx); err != nil {
			t.Fatal(err)
		}
		var n int
		_ = app.DB().Select("count(*)").From(schema.Sessions).Where(dbx.HashExp{"ipAddress": ip}).Row(&n)
		return n > 0
	})
	var withIP int
	_ = app.DB().Select("count(*)").From(schema.Sessions).Where(dbx.NewExp("ipAddress != ''")).Row(&withIP)
	if withIP != 1 {
		t.Errorf("sessions with an IP = %d, want 1 (only after storeRawIp was set)", withIP)
	}

	if err := app.Delete(site); err != nil {
		t.Fatal(err)
	}
	expectDrop("unknown_site", "203.0.113.1", "https://example.org/")
}

func TestSettingsAreReReadAfterMissedUpdates(t *testing.T) {
	t.Parallel()
	srv := pbtest.Start(t, pbtest.Options{})
	app := srv.App()
	site := srv.AddWebsite(t, "example.com")
	ctx := context.Background()
	o := options(srv, site.GetString("trackingId"))
	o.SettingsRefreshInterval = 200 * time.Millisecond
	c, err := skopos.Init(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Shutdown(ctx)
	// change behind realtime's back: a raw SQL update fires no hooks
	if _, err := app.DB().Update(schema.Websites, dbx.Params{"isArchived": true}, dbx.HashExp{"id": site.Id}).Execute(); err != nil {
		t.Fatal(err)
	}
	testwait.Until(t, "a change missed by realtime picked up by the periodic re-read (every 200 ms)", func() bool {
		r := httptest.NewRequest(http.MethodPost, "/api/event", nil)
		browsertest.Headers(r.Header, "")
		_ = c.TrackAPIEvent(r, []byte(`{"type":"pageView","url":"https://example.com/"}`))
		return c.Stats().Dropped["archived"] > 0
	})
}
