package chstore_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/skopos-go/skopos/internal/browsertest"
	"github.com/skopos-go/skopos/internal/pbtest"
	"github.com/skopos-go/skopos/internal/pipeline"
	"github.com/skopos-go/skopos/internal/store"
	"github.com/skopos-go/skopos/internal/store/chstore"
	"github.com/skopos-go/skopos/internal/store/localstore"
)

// BenchmarkWriter pushes SKOPOS_BENCH_EVENTS page views (default 2 000;
// 10 per visitor) through the whole pipeline into the SQLite store and
// into chstore, in the same run: events/s until every event is stored
// and, for chstore, shipped to ClickHouse (issue 31: ≥ 20 000 events/s).
// "pid": each page view carries the id the browser script gives it, so
// that the writer checks which are stored already (Existing: for
// chstore, ship the outbox and ask ClickHouse) before each chunk.
func BenchmarkWriter(b *testing.B) {
	events := 2000
	if v, err := strconv.Atoi(os.Getenv("SKOPOS_BENCH_EVENTS")); err == nil && v > 0 {
		events = v
	}
	for _, kind := range []string{"sqlite", "clickhouse", "sqlite/pid", "clickhouse/pid"} {
		b.Run(kind, func(b *testing.B) {
			srv := pbtest.Start(b, pbtest.Options{})
			app := srv.App()
			rec := srv.AddWebsite(b, "example.com")
			visitors := max(events/10, 1)
			reqs := make([]*http.Request, visitors)
			for i := range reqs {
				r := httptest.NewRequest(http.MethodPost, "/api/event", nil)
				r.RemoteAddr = fmt.Sprintf("198.18.%d.%d:4000", i/250, i%250+1)
				browsertest.Headers(r.Header, "")
				reqs[i] = r
			}
			bodies := make([][]byte, 50)
			for i := range bodies {
				bodies[i] = []byte(fmt.Sprintf(`{"type":"pageView","url":"https://example.com/p/%d","language":"en-GB","screenWidth":1280,"screenHeight":720}`, i))
			}
			withPID := strings.HasSuffix(kind, "/pid")
			if withPID {
				bodies = make([][]byte, events)
				for i := range bodies {
					bodies[i] = []byte(fmt.Sprintf(`{"type":"pageView","url":"https://example.com/p/%d","pid":"pv%010d","language":"en-GB"}`, i%50, i))
				}
			}
			var elapsed time.Duration
			for b.Loop() {
				var st store.Store = localstore.New(app)
				var ch *chstore.Store
				if strings.HasPrefix(kind, "clickhouse") {
					ch = chstore.New(app, localstore.New(app), server.StoreDatabase(b), chstore.Options{})
					st = ch
				}
				sites := pipeline.NewSites()
				site, _ := sites.Put(localstore.WebsiteFromRecord(rec))
				p, err := pipeline.New(pipeline.Config{Store: st, Sites: sites, Batch: true,
					BatchInterval: time.Second, MaxBatchSize: 2000, QueueSize: events + 1})
				if err != nil {
					b.Fatal(err)
				}
				pick := func(string) *pipeline.Site { return site }
				start := time.Now()
				for i := range events {
					if err := p.TrackBrowser(reqs[i%visitors], bodies[i%len(bodies)], pick); err != nil {
						b.Fatal(err)
					}
				}
				if err := p.Close(context.Background()); err != nil {
					b.Fatal(err)
				}
				if ch != nil {
					if err := ch.Ship(context.Background()); err != nil {
						b.Fatal(err)
					}
				}
				elapsed += time.Since(start)
				if s := p.Stats(); s.Stored != uint64(events) {
					b.Fatalf("stored %d of %d", s.Stored, events)
				}
			}
			b.ReportMetric(float64(events*b.N)/elapsed.Seconds(), "events/s")
		})
	}
}
