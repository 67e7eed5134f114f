package seorun_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pocketbase/pocketbase/core"
	"github.com/skopos-go/skopos/internal/pbtest"
	"github.com/skopos-go/skopos/internal/seorun"
	"github.com/skopos-go/skopos/internal/testwait"
	"github.com/skopos-go/skopos/schema"
)

func status(t *testing.T, app core.App, site *core.Record) *core.Record {
	t.Helper()
	rec, err := app.FindFirstRecordByData(schema.SEOData, "website", site.Id)
	if err != nil {
		return nil
	}
	return rec
}

func TestRequestRunsStoresAndKeepsHistory(t *testing.T) {
	t.Parallel()
	srv := pbtest.Start(t, pbtest.Options{})
	app := srv.App()
	site := srv.AddWebsite(t, "seo.example")
	var runs atomic.Int32
	perf := 42
	r := seorun.New(app, seorun.Options{MinInterval: time.Hour, Run: func(ctx context.Context, j seorun.Job) (*seorun.Outcome, error) {
		if j.Website.Id != site.Id || j.Strategy != "desktop" {
			t.Errorf("job %s %q", j.Website.Id, j.Strategy)
		}
		if runs.Add(1) == 2 {
			return nil, errors.New("unreachable")
		}
		return &seorun.Outcome{Fields: map[string]any{"metaTags": map[string]any{"title": "Hi"}, "loadTime": 12},
			Score: 77, Label: "Strong", Performance: &perf, Critical: 1, High: 2}, nil
	}})
	if err := r.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = r.Close(context.Background()) })
	if _, err := r.Request(site, "tablet"); !errors.Is(err, seorun.ErrStrategy) {
		t.Fatalf("strategy tablet: %v", err)
	}
	if _, err := r.Request(site, "desktop"); err != nil {
		t.Fatal(err)
	}
	testwait.Until(t, "the analysis stored", func() bool {
		rec := status(t, app, site)
		return rec != nil && rec.GetString("status") == seorun.Done
	})
	rec := status(t, app, site)
	if rec.GetInt("score") != 77 || rec.GetString("label") != "Strong" || rec.GetInt("loadTime") != 12 || rec.GetDateTime("lastAnalyzed").IsZero() {
		t.Fatalf("stored %v", rec.FieldsData())
	}
	hist, err := app.FindAllRecords(schema.SEOHistory)
	if err != nil || len(hist) != 1 || hist[0].GetInt("score") != 77 || hist[0].GetInt("performance") != 42 || hist[0].GetInt("high") != 2 {
		t.Fatalf("history %v %v", hist, err)
	}

	// a second request within MinInterval is refused with the wait
	wait, err := r.Request(site, "desktop")
	if !errors.Is(err, seorun.ErrTooSoon) || wait <= 0 || wait > time.Hour {
		t.Fatalf("second request: %v, %v", wait, err)
	}
	// past it, a failed run keeps the last analysis and says why
	rec.Set("requestedAt", time.Now().Add(-2*time.Hour))
	if err := app.Save(rec); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Request(site, "desktop"); err != nil {
		t.Fatal(err)
	}
	testwait.Until(t, "the failure stored", func() bool {
		rec := status(t, app, site)
		return rec != nil && rec.GetString("status") == seorun.Failed
	})
	rec = status(t, app, site)
	if rec.GetString("error") != "unreachable" || rec.GetInt("score") != 77 {
		t.Fatalf("after failure %v", rec.FieldsData())
	}
	if hist, _ := app.FindAllRecords(schema.SEOHistory); len(hist) != 1 {
		t.Fatalf("a failure added history: %d rows", len(hist))
	}

	// deleting the website deletes its analysis and history
	if err := app.Delete(site); err != nil {
		t.Fatal(err)
	}
	if status(t, app, site) != nil {
		t.Fatal("seo_data outlived its website")
	}
	if hist, _ := app.FindAllRecords(schema.SEOHistory); len(hist) != 0 {
		t.Fatalf("history outlived its website: %d rows", len(hist))
	}
}

func TestAJobSurvivesARestartAndConcurrencyIsBounded(t *testing.T) {
	t.Parallel()
	srv := pbtest.Start(t, pbtest.Options{})
	app := srv.App()
	var sites []*core.Record
	for _, d := range []string{"a.example", "b.example", "c.example", "d.example"} {
		sites = append(sites, srv.AddWebsite(t, d))
	}
	// a runner that never finishes: its jobs are cut off by Close
	release := make(chan struct{})
	var running, most atomic.Int32
	var mu sync.Mutex
	started := map[string]bool{}
	block := func(ctx context.Context, j seorun.Job) (*seorun.Outcome, error) {
		n := running.Add(1)
		defer running.Add(-1)
		for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
		}
		mu.Lock()
		started[j.Website.Id] = true
		mu.Unlock()
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-release:
			return &seorun.Outcome{Score: 1, Label: "Critical"}, nil
		}
	}
	r := seorun.New(app, seorun.Options{Run: block, Concurrency: 2})
	if err := r.Start(); err != nil {
		t.Fatal(err)
	}
	for _, s := range sites {
		if _, err := r.Request(s, ""); err != nil {
			t.Fatal(err)
		}
	}
	testwait.Until(t, "two analyses running", func() bool { return running.Load() == 2 })
	if err := r.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if most.Load() != 2 {
		t.Fatalf("%d analyses ran at once, want 2", most.Load())
	}
	// the process "stops": a new runner on the same store finishes all four
	close(release)
	var done atomic.Int32
	r2 := seorun.New(app, seorun.Options{Concurrency: 2, Run: func(ctx context.Context, j seorun.Job) (*seorun.Outcome, error) {
		done.Add(1)
		return &seorun.Outcome{Score: 50, Label: "Needs work"}, nil
	}})
	if err := r2.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = r2.Close(context.Background()) })
	testwait.Until(t, "every job resumed and done", func() bool {
		for _, s := range sites {
			if rec := status(t, app, s); rec == nil || rec.GetString("status") != seorun.Done {
				return false
			}
		}
		return true
	})
	if done.Load() != 4 {
		t.Fatalf("%d runs after the restart, want 4", done.Load())
	}
}
