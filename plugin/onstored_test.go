package plugin_test

import (
	"sync"
	"sync/atomic"
	"testing"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
	"github.com/skopos-go/skopos/internal/plugintest"
	"github.com/skopos-go/skopos/internal/testwait"
	"github.com/skopos-go/skopos/plugin"
	"github.com/skopos-go/skopos/schema"
)

// Skopos creates its rows without PocketBase's record layer, so record
// hooks do not see them; Config.OnStored does, once per stored event,
// after the transaction committed (the row is already readable).
func TestOnStoredReportsEveryStoredEventAfterCommit(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var got []plugin.StoredEvent
	var app core.App
	missing := 0
	srv := plugintest.Start(t, plugin.Config{OnStored: func(evs []plugin.StoredEvent) {
		mu.Lock()
		defer mu.Unlock()
		for _, e := range evs {
			if _, err := app.FindRecordById(schema.Events, e.ID); err != nil {
				missing++
			}
		}
		got = append(got, evs...)
	}}, func(a core.App) error { app = a; return nil })
	site := srv.AddWebsite(t, "hooks.example")
	var hookFired atomic.Int32
	srv.App().OnRecordCreate(schema.Events).BindFunc(func(e *core.RecordEvent) error { hookFired.Add(1); return e.Next() })

	post(t, srv, `{"type":"pageView","url":"https://hooks.example/a"}`, map[string]string{"X-Forwarded-For": "198.51.100.7"})
	post(t, srv, `{"type":"custom","name":"buy","url":"https://hooks.example/b","customData":{"sku":"x1"}}`, map[string]string{"X-Forwarded-For": "198.51.100.7"})
	testwait.Until(t, "two events reported", func() bool { mu.Lock(); defer mu.Unlock(); return len(got) == 2 })

	mu.Lock()
	defer mu.Unlock()
	if missing != 0 {
		t.Errorf("%d events reported before their row was readable", missing)
	}
	a, b := got[0], got[1]
	if a.Type != "pageView" || a.Path != "/a" || a.Website != site.Id || a.Session == "" || a.Time.IsZero() ||
		b.Type != "custom" || b.Name != "buy" || b.Data["sku"] != "x1" || b.Session != a.Session {
		t.Errorf("reported %+v, %+v", a, b)
	}
	if n := countEvents(t, srv.App(), dbx.HashExp{"website": site.Id}); n != 2 {
		t.Errorf("events rows = %d, want 2", n)
	}
	if n := hookFired.Load(); n != 0 {
		t.Errorf("OnRecordCreate fired %d times; Skopos rows are written with SQL (OnStored is the hook)", n)
	}
}
