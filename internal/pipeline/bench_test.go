package pipeline_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/pocketbase/pocketbase/core"
	"github.com/skopos-go/skopos/internal/browsertest"
	"github.com/skopos-go/skopos/internal/pbtest"
	"github.com/skopos-go/skopos/internal/pipeline"
	"github.com/skopos-go/skopos/internal/store"
	"github.com/skopos-go/skopos/internal/store/localstore"
	"github.com/skopos-go/skopos/internal/store/reststore"
	"github.com/skopos-go/skopos/pbrest"
	"github.com/skopos-go/skopos/schema"
)

// Fixture sizes come from SKOPOS_BENCH_EVENTS (events per iteration;
// default 2000). Every benchmark here writes into a real PocketBase and
// reports events/s, so that the pipeline's rate reads as a ratio to
// PocketBase's own create rate measured in the same run.

func benchEvents(b *testing.B) int {
	if v, err := strconv.Atoi(os.Getenv("SKOPOS_BENCH_EVENTS")); err == nil && v > 0 {
		return v
	}
	return 2000
}

func benchServer(b *testing.B) (*pbtest.Server, store.Website) {
	srv := pbtest.Start(b, pbtest.Options{})
	col, _ := srv.App().FindCollectionByNameOrId(schema.Websites)
	rec := core.NewRecord(col)
	rec.Set("name", "bench")
	rec.Set("domain", "example.com")
	if err := srv.App().Save(rec); err != nil {
		b.Fatal(err)
	}
	return srv, localstore.WebsiteFromRecord(rec)
}

// report adds events/s and allocations per event.
func report(b *testing.B, events int, elapsed time.Duration, before runtime.MemStats) {
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	total := float64(events * b.N)
	b.ReportMetric(total/elapsed.Seconds(), "events/s")
	b.ReportMetric(float64(after.Mallocs-before.Mallocs)/total, "allocs/event")
}

// benchPipeline pushes events from 2 000 visitors (10 per visitor for
// 20 000) through the whole pipeline and flushes.
func benchPipeline(b *testing.B, newStore func(*pbtest.Server) store.Store) {
	events := benchEvents(b)
	visitors := max(events/10, 1)
	srv, website := benchServer(b)
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
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	start := time.Now()
	for b.Loop() {
		sites := pipeline.NewSites()
		site, _ := sites.Put(website)
		p, err := pipeline.New(pipeline.Config{Store: newStore(srv), Sites: sites, Batch: true,
			BatchInterval: time.Second, MaxBatchSize: 2000, QueueSize: events + 1})
		if err != nil {
			b.Fatal(err)
		}
		pick := func(string) *pipeline.Site { return site }
		for i := range events {
			if err := p.TrackBrowser(reqs[i%visitors], bodies[i%len(bodies)], pick); err != nil {
				b.Fatal(err)
			}
		}
		if err := p.Close(context.Background()); err != nil {
			b.Fatal(err)
		}
		if st := p.Stats(); st.Stored != uint64(events) {
			b.Fatalf("stored %d of %d: %+v", st.Stored, events, st)
		}
	}
	report(b, events, time.Since(start), before)
}

// BenchmarkPipelineLocal: the whole pipeline per event into an in-process
// PocketBase (embedded mode).
func BenchmarkPipelineLocal(b *testing.B) {
	benchPipeline(b, func(srv *pbtest.Server) store.Store { return localstore.New(srv.App()) })
}

// BenchmarkPipelineREST: the whole pipeline per event into PocketBase over
// HTTP (SDK mode).
func BenchmarkPipelineREST(b *testing.B) {
	benchPipeline(b, func(srv *pbtest.Server) store.Store {
		pb, _ := pbrest.New(pbrest.Config{URL: srv.URL, Email: srv.Email, Password: srv.Password})
		return reststore.New(pb)
	})
}

// rawEvents creates n bare events (with their one session) as ops.
func rawEvents(b *testing.B, srv *pbtest.Server, website store.Website, n int) [][]store.Op {
	app := srv.App()
	col, _ := app.FindCollectionByNameOrId(schema.Sessions)
	sess := core.NewRecord(col)
	sess.Load(map[string]any{"website": website.ID, "seq": 1})
	if err := app.Save(sess); err != nil {
		b.Fatal(err)
	}
	var chunks [][]store.Op
	for i := 0; i < n; i += 250 {
		var ops []store.Op
		for j := i; j < min(i+250, n); j++ {
			ops = append(ops, store.Op{Action: store.Create, Collection: schema.Events, ID: pipeline.NewID(),
				Data: map[string]any{"session": sess.Id, "website": website.ID, "type": "pageView", "path": "/raw", "timestamp": time.Now()}})
		}
		chunks = append(chunks, ops)
	}
	return chunks
}

func benchRaw(b *testing.B, newStore func(*pbtest.Server) store.Store) {
	events := benchEvents(b)
	srv, website := benchServer(b)
	st := newStore(srv)
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	var elapsed time.Duration
	for b.Loop() {
		b.StopTimer()
		chunks := rawEvents(b, srv, website, events)
		b.StartTimer()
		start := time.Now()
		for _, ops := range chunks {
			if err := st.Apply(context.Background(), ops); err != nil {
				b.Fatal(err)
			}
		}
		elapsed += time.Since(start)
	}
	report(b, events, elapsed, before)
}

// BenchmarkRawBatchCreateHTTP: PocketBase's own /api/batch create rate for
// bare events in chunks of 250, no pipeline: the SDK mode's ceiling.
func BenchmarkRawBatchCreateHTTP(b *testing.B) {
	benchRaw(b, func(srv *pbtest.Server) store.Store {
		pb, _ := pbrest.New(pbrest.Config{URL: srv.URL, Email: srv.Email, Password: srv.Password})
		return reststore.New(pb)
	})
}

// BenchmarkRawCreateInProcess: PocketBase's in-process record-create rate
// (record saves through its record API in transactions of 250), no
// pipeline: what the embedded writer was bound by before it wrote SQL.
func BenchmarkRawCreateInProcess(b *testing.B) {
	benchRaw(b, func(srv *pbtest.Server) store.Store { return localstore.NewRecordAPI(srv.App()) })
}

// BenchmarkRawSQLInsertInProcess: bare events as prepared multi-row
// INSERTs in transactions of 250, no pipeline: SQLite's rate here, the
// physical limit of the embedded writer.
func BenchmarkRawSQLInsertInProcess(b *testing.B) {
	benchRaw(b, func(srv *pbtest.Server) store.Store { return localstore.New(srv.App()) })
}

// BenchmarkSessionLookup: the store read a session-cache miss costs (a
// restart, another instance's visitor), in process.
func BenchmarkSessionLookup(b *testing.B) {
	srv, website := benchServer(b)
	st := localstore.New(srv.App())
	app := srv.App()
	vcol, _ := app.FindCollectionByNameOrId(schema.Visitors)
	v := core.NewRecord(vcol)
	v.Load(map[string]any{"website": website.ID, "visitorId": "x"})
	if err := app.Save(v); err != nil {
		b.Fatal(err)
	}
	scol, _ := app.FindCollectionByNameOrId(schema.Sessions)
	for seq := 1; seq <= 20; seq++ {
		s := core.NewRecord(scol)
		s.Load(map[string]any{"website": website.ID, "visitor": v.Id, "seq": seq, "lastActivity": time.Now()})
		if err := app.Save(s); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	for b.Loop() {
		if s, err := st.LatestSession(context.Background(), v.Id); err != nil || s.Seq != 20 {
			b.Fatal(s, err)
		}
	}
}
