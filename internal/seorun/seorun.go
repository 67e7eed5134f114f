// Package seorun runs SEO analyses as background jobs kept in PocketBase.
//
// A job is the state of a website's seo_data row: a request sets it to
// pending, the runner claims it (running), and the outcome replaces the
// row's analysis (done) or records why it failed (failed) while the last
// good analysis stays. Because the state lives in the store, a job asked
// for before a restart or a crash is picked up again when the runner
// starts: nothing a user asked for is forgotten. The runner itself holds
// no analysis logic; the server hands it a Run function (the analyzer,
// PageSpeed Insights and the key vault put together).
package seorun

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
	"github.com/skopos-go/skopos/schema"
)

// Job states, as stored in seo_data.status.
const (
	Pending = "pending"
	Running = "running"
	Done    = "done"
	Failed  = "failed"
)

// Strategies are the PageSpeed strategies a run can ask for; the first is
// the default.
var Strategies = []string{"mobile", "desktop"}

// DefaultMinInterval is the least time between two requests for one site
// unless Options.MinInterval says otherwise.
const DefaultMinInterval = time.Minute

// ErrTooSoon is returned by Request when the site's last request is less
// than Options.MinInterval old.
var ErrTooSoon = errors.New("seorun: an analysis of this site was requested less than a minute ago")

// ErrStrategy is returned by Request for a strategy other than Strategies.
var ErrStrategy = errors.New("seorun: strategy must be mobile or desktop")

// Job is one analysis to run.
type Job struct {
	Website  *core.Record
	Strategy string
}

// Outcome is what a finished analysis stores.
type Outcome struct {
	// Fields are set on the seo_data row (the dashboard's JSON fields,
	// loadTime, pageSize).
	Fields map[string]any
	Score  int
	Label  string
	// Performance is PageSpeed's performance score; nil when none.
	Performance *int
	// Critical and High count the recommendations of those priorities.
	Critical, High int
}

// Options configure a Runner. Run is required; the rest have defaults.
type Options struct {
	// Run analyzes one site. Its context ends after Timeout or when the
	// runner closes.
	Run func(ctx context.Context, job Job) (*Outcome, error)
	// Concurrency is how many analyses run at once. Default 2.
	Concurrency int
	// Timeout bounds one analysis. Default 3 minutes (PageSpeed alone
	// may take 45 s per try).
	Timeout time.Duration
	// MinInterval is the least time between two requests for one site.
	// Default 1 minute.
	MinInterval time.Duration
	// Poll is how often the runner looks for pending jobs besides the
	// wake-ups of Request (jobs written by another process). Default 30 s.
	Poll time.Duration
	// Now is the clock. Default time.Now.
	Now func() time.Time
	// Logger receives a line per finished or failed analysis. Default
	// slog.Default().
	Logger *slog.Logger
}

// Runner runs the pending analyses of one PocketBase app.
type Runner struct {
	app  core.App
	o    Options
	wake chan struct{}

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	loop   chan struct{} // closed when the loop ends

	mu       sync.Mutex
	inFlight map[string]bool // website ids being analyzed
	started  bool
}

// New returns a runner for app; Start starts it.
func New(app core.App, o Options) *Runner {
	if o.Concurrency <= 0 {
		o.Concurrency = 2
	}
	if o.Timeout <= 0 {
		o.Timeout = 3 * time.Minute
	}
	if o.MinInterval <= 0 {
		o.MinInterval = DefaultMinInterval
	}
	if o.Poll <= 0 {
		o.Poll = 30 * time.Second
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Runner{app: app, o: o, wake: make(chan struct{}, 1), ctx: ctx, cancel: cancel,
		loop: make(chan struct{}), inFlight: map[string]bool{}}
}

// Start resumes the jobs a previous process left pending or running and
// starts running jobs as they are requested.
func (r *Runner) Start() error {
	// a job left running was cut off by a stop or a crash: run it again
	_, err := r.app.DB().Update(schema.SEOData, dbx.Params{"status": Pending}, dbx.HashExp{"status": Running}).Execute()
	if err != nil {
		return fmt.Errorf("seorun: resume: %w", err)
	}
	r.mu.Lock()
	r.started = true
	r.mu.Unlock()
	go r.run()
	r.poke()
	return nil
}

// Close stops claiming jobs, cancels the analyses in progress and waits
// for them (their jobs stay pending for the next start) until ctx ends.
func (r *Runner) Close(ctx context.Context) error {
	r.cancel()
	r.mu.Lock()
	started := r.started
	r.mu.Unlock()
	done := make(chan struct{})
	go func() {
		if started {
			<-r.loop
		}
		r.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("seorun: close: %w", ctx.Err())
	}
}

// Request asks for an analysis of site with strategy ("" is mobile) and
// wakes the runner. A site asked for less than MinInterval ago gets
// ErrTooSoon and how long to wait.
func (r *Runner) Request(site *core.Record, strategy string) (retryAfter time.Duration, err error) {
	retryAfter, err = Enqueue(r.app, site, strategy, r.o.Now(), r.o.MinInterval)
	if err == nil {
		r.poke()
	}
	return retryAfter, err
}

// Enqueue stores a pending analysis of site for whichever runner starts
// next on app: what a command that is not the server (`skopos site add`)
// uses. A site asked for less than minInterval before now gets ErrTooSoon
// and how long to wait.
func Enqueue(app core.App, site *core.Record, strategy string, now time.Time, minInterval time.Duration) (retryAfter time.Duration, err error) {
	if strategy == "" {
		strategy = Strategies[0]
	}
	if strategy != Strategies[0] && strategy != Strategies[1] {
		return 0, ErrStrategy
	}
	now = now.UTC()
	err = app.RunInTransaction(func(tx core.App) error {
		rec, err := tx.FindFirstRecordByData(schema.SEOData, "website", site.Id)
		if err != nil {
			col, cerr := tx.FindCollectionByNameOrId(schema.SEOData)
			if cerr != nil {
				return cerr
			}
			rec = core.NewRecord(col)
			rec.Set("website", site.Id)
		} else if last := rec.GetDateTime("requestedAt"); !last.IsZero() {
			if wait := last.Time().Add(minInterval).Sub(now); wait > 0 {
				retryAfter = wait
				return ErrTooSoon
			}
		}
		rec.Set("status", Pending)
		rec.Set("strategy", strategy)
		rec.Set("requestedAt", now)
		return tx.Save(rec)
	})
	if err != nil {
		if errors.Is(err, ErrTooSoon) {
			return retryAfter, err
		}
		return 0, fmt.Errorf("seorun: request: %w", err)
	}
	return 0, nil
}

func (r *Runner) poke() {
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

func (r *Runner) run() {
	defer close(r.loop)
	tick := time.NewTicker(r.o.Poll)
	defer tick.Stop()
	sem := make(chan struct{}, r.o.Concurrency)
	for {
		r.claim(sem)
		select {
		case <-r.ctx.Done():
			return
		case <-r.wake:
		case <-tick.C:
		}
	}
}

// claim starts as many pending jobs as there are free slots, oldest
// request first.
func (r *Runner) claim(sem chan struct{}) {
	for r.ctx.Err() == nil {
		select {
		case sem <- struct{}{}:
		default:
			return // every slot busy; a finishing job pokes
		}
		rec, err := r.next()
		if err != nil || rec == nil {
			<-sem
			if err != nil {
				r.o.Logger.Error("skopos: SEO jobs: find a pending job", "error", err)
			}
			return
		}
		r.wg.Add(1)
		go func() {
			defer r.wg.Done()
			defer func() { <-sem; r.poke() }()
			r.analyze(rec)
		}()
	}
}

// next marks the oldest pending job not in flight running and returns it.
func (r *Runner) next() (*core.Record, error) {
	recs, err := r.app.FindRecordsByFilter(schema.SEOData, "status = {:s}", "requestedAt", 20, 0, dbx.Params{"s": Pending})
	if err != nil {
		return nil, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, rec := range recs {
		id := rec.GetString("website")
		if r.inFlight[id] {
			continue
		}
		rec.Set("status", Running)
		if err := r.app.Save(rec); err != nil {
			return nil, err
		}
		r.inFlight[id] = true
		return rec, nil
	}
	return nil, nil
}

// analyze runs one claimed job and stores its outcome.
func (r *Runner) analyze(rec *core.Record) {
	siteID := rec.GetString("website")
	defer func() {
		r.mu.Lock()
		delete(r.inFlight, siteID)
		r.mu.Unlock()
	}()
	site, err := r.app.FindRecordById(schema.Websites, siteID)
	if err != nil {
		return // deleted meanwhile: its seo_data went with it
	}
	ctx, cancel := context.WithTimeout(r.ctx, r.o.Timeout)
	out, runErr := r.o.Run(ctx, Job{Website: site, Strategy: rec.GetString("strategy")})
	cancel()
	if r.ctx.Err() != nil {
		// stopping: leave the job for the next start (Start resets it)
		return
	}
	// the row may have been re-requested meanwhile: reload it so the
	// new request's time and strategy are kept
	cur, ferr := r.app.FindRecordById(schema.SEOData, rec.Id)
	if ferr != nil {
		return
	}
	now := r.o.Now().UTC()
	if runErr != nil {
		cur.Set("status", Failed)
		cur.Set("error", truncate(runErr.Error(), 2000))
		r.o.Logger.Warn("skopos: SEO analysis failed", "site", site.GetString("domain"), "url", site.GetString("url"), "error", runErr)
	} else {
		for k, v := range out.Fields {
			cur.Set(k, v)
		}
		cur.Set("status", Done)
		cur.Set("error", "")
		cur.Set("score", out.Score)
		cur.Set("label", out.Label)
		cur.Set("lastAnalyzed", now)
		r.o.Logger.Info("skopos: SEO analysis stored", "site", site.GetString("domain"), "score", out.Score, "label", out.Label)
	}
	if cur.GetDateTime("requestedAt").Time().After(rec.GetDateTime("requestedAt").Time()) {
		cur.Set("status", Pending) // asked again while it ran
	}
	serr := r.app.RunInTransaction(func(tx core.App) error {
		if err := tx.Save(cur); err != nil {
			return err
		}
		if runErr != nil {
			return nil
		}
		return saveHistory(tx, siteID, rec.GetString("strategy"), now, out)
	})
	if serr != nil {
		r.o.Logger.Error("skopos: SEO analysis: store", "site", site.GetString("domain"), "error", serr)
	}
}

func saveHistory(tx core.App, siteID, strategy string, at time.Time, out *Outcome) error {
	col, err := tx.FindCollectionByNameOrId(schema.SEOHistory)
	if err != nil {
		return err
	}
	h := core.NewRecord(col)
	h.Set("website", siteID)
	h.Set("analyzedAt", at)
	h.Set("strategy", strategy)
	h.Set("score", out.Score)
	h.Set("label", out.Label)
	if out.Performance != nil {
		h.Set("performance", *out.Performance)
		h.Set("hasPerformance", true)
	}
	h.Set("critical", out.Critical)
	h.Set("high", out.High)
	return tx.Save(h)
}

// truncate cuts s to at most n bytes without splitting a character.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n], "")
}
