package notify

import (
	"context"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/pocketbase/pocketbase/core"
	"github.com/skopos-go/skopos/internal/clickhouse"
	"github.com/skopos-go/skopos/internal/safefetch"
)

// The defaults of Options' zero fields.
const (
	DefaultHourlyLimit = 10
	// evaluateEvery is how often the periodic rules (and, should a
	// Wake be missed, the new rows) are evaluated.
	evaluateEvery = time.Minute
	// deliverEvery is how often the sender looks for deliveries due
	// for a retry or a digest.
	deliverEvery = 30 * time.Second
)

// Options configure a Notifier.
type Options struct {
	// HTTP sends the webhooks. Default: a safefetch client for public
	// addresses only.
	HTTP *http.Client
	// Now is the clock. Default time.Now.
	Now func() time.Time
	// HourlyLimit is how many messages a rule sends per channel and
	// clock hour; beyond it they are folded into one digest sent after
	// the hour. Default 10.
	HourlyLimit int
	// Window is the flood limit's window: HourlyLimit messages per rule
	// and channel within each Window of the clock. Default one hour;
	// only tests shorten it (it must divide an hour).
	Window time.Duration
	// Logger receives the background errors. Default app.Logger().
	Logger *slog.Logger
	// BaseURL is the dashboard's address, linked from the messages.
	// Default none (no link).
	BaseURL string
	// ClickHouse, when set, is the events store whose new events and
	// sessions trigger the rules (PocketBase's events and sessions
	// tables are then empty); nil reads SQLite.
	ClickHouse *clickhouse.Client
}

// Notifier evaluates the rules of one app and delivers their messages.
type Notifier struct {
	app  core.App
	opts Options

	evalWake chan struct{}
	sendWake chan struct{}

	// evalMu serialises evaluations: the loop's and a test's or a
	// pushed trigger's; sendMu does the same for delivery passes.
	evalMu sync.Mutex
	sendMu sync.Mutex

	startOnce sync.Once
	cancel    context.CancelFunc
	done      sync.WaitGroup
}

// New returns a Notifier of app. It does nothing until Start (or the
// explicit Evaluate and Deliver).
func New(app core.App, opts Options) *Notifier {
	if opts.HTTP == nil {
		opts.HTTP = safefetch.NewClient(safefetch.Options{UserAgent: userAgent})
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Window <= 0 || time.Hour%opts.Window != 0 {
		opts.Window = time.Hour
	}
	if opts.HourlyLimit <= 0 {
		opts.HourlyLimit = DefaultHourlyLimit
	}
	if opts.Logger == nil {
		opts.Logger = app.Logger()
	}
	return &Notifier{app: app, opts: opts,
		evalWake: make(chan struct{}, 1), sendWake: make(chan struct{}, 1)}
}

// Start starts the evaluating and the sending goroutines. Starting twice
// does nothing.
func (n *Notifier) Start() {
	n.startOnce.Do(func() {
		ctx, cancel := context.WithCancel(context.Background())
		n.cancel = cancel
		n.done.Add(2)
		go n.loop(ctx, n.evalWake, evaluateEvery, n.evaluateNew, n.Evaluate)
		go n.loop(ctx, n.sendWake, deliverEvery, n.Deliver, n.Deliver)
		n.Wake()
	})
}

// Close stops the goroutines and waits for them until ctx ends: a
// message being sent is finished (or times out), none is started.
func (n *Notifier) Close(ctx context.Context) error {
	if n.cancel == nil {
		return nil
	}
	n.cancel()
	stopped := make(chan struct{})
	go func() { n.done.Wait(); close(stopped) }()
	select {
	case <-stopped:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Wake asks for an evaluation of the rows stored since the last one. It
// never blocks: the writer calls it after each commit.
func (n *Notifier) Wake() { signal(n.evalWake) }

// wakeSender asks for a delivery pass.
func (n *Notifier) wakeSender() { signal(n.sendWake) }

func signal(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default: // one is already pending: it will see this one's rows too
	}
}

// loop runs onWake on each wake and onTick every interval until ctx
// ends.
func (n *Notifier) loop(ctx context.Context, wake <-chan struct{}, every time.Duration, onWake, onTick func(context.Context) error) {
	defer n.done.Done()
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		pass := onWake
		select {
		case <-ctx.Done():
			return
		case <-wake:
		case <-tick.C:
			pass = onTick
		}
		if err := pass(ctx); err != nil && ctx.Err() == nil {
			n.opts.Logger.Error("skopos: notifications", "error", err)
		}
	}
}
