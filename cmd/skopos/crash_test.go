package main_test

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pocketbase/dbx"
	"github.com/skopos-go/skopos/internal/browsertest"
	"github.com/skopos-go/skopos/internal/summarytest"
	"github.com/skopos-go/skopos/internal/testwait"
	_ "modernc.org/sqlite" // to read the data dir after the server stopped
)

// TestKill9MidLoadLosesNothingAcknowledged sends uniquely numbered page
// views to a real `skopos serve`, kills it with SIGKILL in the middle of
// the load, starts it again on the same data dir and checks that every
// event answered 2xx is stored exactly once and that the daily summaries
// equal the raw rows. SKOPOS_CRASH_EVENTS sets the load (default 3000).
func TestKill9MidLoadLosesNothingAcknowledged(t *testing.T) {
	t.Parallel()
	total := 3000
	if v, err := strconv.Atoi(os.Getenv("SKOPOS_CRASH_EVENTS")); err == nil && v > 0 {
		total = v
	}
	dir := t.TempDir()
	env := []string{"SKOPOS_ADMIN_EMAIL=" + adminEmail, "SKOPOS_ADMIN_PASSWORD=" + adminPassword}
	srv := serve(t, dir, env...)

	var (
		acked    sync.Map // path → true, answered 2xx
		nAcked   atomic.Int64
		refused  atomic.Int64
		next     atomic.Int64
		killOnce sync.Once
	)
	hc := &http.Client{Timeout: 10 * time.Second}
	send := func(i int) bool {
		// 40 pages (the summaries cap the distinct keys of a day), each
		// event numbered in its customData
		key := fmt.Sprintf(`{"n":%d}`, i)
		body := fmt.Sprintf(`{"type":"pageView","url":"http://localhost/p/%d","referrer":"","screenWidth":1280,"screenHeight":800,"language":"en-GB","customData":%s}`, i%40, key)
		req, _ := http.NewRequest(http.MethodPost, srv.URL+"/api/event", strings.NewReader(body))
		browsertest.Headers(req.Header, browsertest.Chrome)
		req.Header.Set("Content-Type", "text/plain;charset=UTF-8")
		req.Header.Set("X-Forwarded-For", fmt.Sprintf("198.18.%d.%d", (i%500)/250, i%250+1))
		resp, err := hc.Do(req)
		if err != nil {
			refused.Add(1)
			return false
		}
		resp.Body.Close()
		if resp.StatusCode/100 != 2 {
			refused.Add(1)
			return true
		}
		acked.Store(key, true)
		if nAcked.Add(1) == int64(total/2) {
			killOnce.Do(srv.Kill) // a crash mid-load, while requests are in flight
		}
		return true
	}
	var wg sync.WaitGroup
	for range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= total || !send(i) {
					return // sent everything, or the server is gone
				}
			}
		}()
	}
	wg.Wait()
	killOnce.Do(srv.Kill)
	t.Logf("before the crash: %d acknowledged, %d refused or unanswered", nAcked.Load(), refused.Load())
	if nAcked.Load() < int64(total/2) {
		t.Fatalf("only %d of %d events acknowledged before the kill", nAcked.Load(), total)
	}

	again := serve(t, dir, env...)
	pb := client(t, again.URL)
	want := int(nAcked.Load())
	storedCount := func() int {
		var page struct {
			TotalItems int `json:"totalItems"`
		}
		if err := pb.Do(context.Background(), http.MethodGet, "/api/collections/events/records?perPage=1", nil, &page); err != nil {
			t.Fatal(err)
		}
		return page.TotalItems
	}
	testwait.For(t, 3*time.Minute, fmt.Sprintf("the %d acknowledged events stored after the restart", want),
		func() bool { return storedCount() >= want })
	again.Stop() // a clean stop writes whatever is still in flight

	db, err := dbx.Open("sqlite", filepath.Join(dir, "data.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var rows []struct {
		Key string `db:"eventData"`
		N   int    `db:"n"`
	}
	if err := db.NewQuery(`SELECT eventData, COUNT(*) AS n FROM events GROUP BY eventData`).All(&rows); err != nil {
		t.Fatal(err)
	}
	stored := map[string]int{}
	for _, r := range rows {
		stored[r.Key] = r.N
		if r.N != 1 {
			t.Errorf("event %s stored %d times", r.Key, r.N)
		}
	}
	missing := 0
	acked.Range(func(k, _ any) bool {
		if stored[k.(string)] == 0 {
			missing++
		}
		return true
	})
	if missing > 0 {
		t.Errorf("%d of %d acknowledged events are not stored", missing, want)
	}
	t.Logf("acknowledged %d, stored %d (events the server had accepted but not yet answered may be stored too)", want, len(rows))
	summarytest.Check(t, db, "after kill -9 and restart")
}
