package uptime

import (
	"context"
	"fmt"
	"hash/fnv"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/pocketbase/pocketbase/core"
	"github.com/skopos-go/skopos/internal/safefetch"
	"github.com/skopos-go/skopos/schema"
)

// Defaults of MonitorOptions.
const (
	DefaultMaxInFlight  = 4
	DefaultRetention    = 30 * 24 * time.Hour
	DefaultRecheckDelay = 15 * time.Second
)

// tick is how often the running loop looks for due checks; rollUpEvery
// how often it rolls the checks up.
const (
	tick        = time.Second
	rollUpEvery = time.Hour
)

// MonitorOptions configure a Monitor. Every field has a default.
type MonitorOptions struct {
	// Client fetches the sites. Default safefetch.NewClient with its
	// defaults (public addresses only).
	Client *http.Client
	// Check configures each check (timeouts, retries). Its Now defaults
	// to the monitor's.
	Check CheckOptions
	// Now is the clock the schedule, the checks' times and the incidents
	// use. Default time.Now.
	Now func() time.Time
	// MaxInFlight is how many checks run at once. Default 4.
	MaxInFlight int
	// MinInterval is the shortest interval a website may ask for.
	// Default MinInterval (60 s); tests lower it.
	MinInterval time.Duration
	// Retention is how long raw checks are kept; older whole days live
	// on in uptime_days. Default 30 days.
	Retention time.Duration
	// RecheckDelay is how soon a site that answers again while an
	// incident is open is checked once more to confirm the recovery.
	// Default 15 s.
	RecheckDelay time.Duration
	// OnTransition is called after a check that opened an incident
	// (down) or confirmed a recovery (up) is stored. It runs on the
	// check's goroutine: hand slow work off.
	OnTransition func(Transition)
	// OnCertExpiring is called when a check sees a certificate expiring
	// within CertWarningAhead (or expired), at most once per site and UTC
	// day of this monitor's life.
	OnCertExpiring func(site *core.Record, expiry time.Time)
	// Logger receives failures to store and transitions. Default
	// slog.Default().
	Logger *slog.Logger
}

// Statuses of a website's currentStatus and of a Transition.
const (
	StatusUp   = "up"
	StatusDown = "down"
)

// Transition is a site going down (an incident opened) or coming back (its
// incident resolved).
type Transition struct {
	Site     *core.Record // the website, its currentStatus updated
	Status   string       // StatusDown or StatusUp
	Incident *core.Record // the uptime_incidents row, as stored
	Check    *core.Record // the uptime_checks row that opened or resolved it
}

// Monitor checks the monitored websites of one PocketBase app on their
// schedule: every website with uptimeMonitoring on and not archived,
// every IntervalOf(site) seconds, at a fixed phase within the interval
// derived from its id so that sites with the same interval do not fire
// together. The websites are read again at every tick, so a change of
// settings applies at once.
//
// Start runs it on the real clock; tests call RunDue after moving their
// clock instead.
type Monitor struct {
	app core.App
	o   MonitorOptions
	sem chan struct{} // one slot per check in flight

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup // the loop's checks and roll-ups
	loop   chan struct{}  // closed when the loop ends

	mu         sync.Mutex
	sched      map[string]*schedule // by website id
	inFlight   map[string]bool
	warned     map[string]string // website id → UTC day of its last certificate warning
	started    bool
	rolling    bool
	lastRollUp time.Time
}

// schedule is when a site is next checked.
type schedule struct {
	every time.Duration
	next  time.Time
}

// NewMonitor returns a monitor of app's websites; Start starts it.
func NewMonitor(app core.App, o MonitorOptions) *Monitor {
	if o.Client == nil {
		o.Client = safefetch.NewClient(safefetch.Options{})
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Check.Now == nil {
		o.Check.Now = o.Now
	}
	if o.MaxInFlight <= 0 {
		o.MaxInFlight = DefaultMaxInFlight
	}
	if o.Retention <= 0 {
		o.Retention = DefaultRetention
	}
	if o.MinInterval < time.Second {
		o.MinInterval = MinInterval
	}
	if o.RecheckDelay <= 0 {
		o.RecheckDelay = DefaultRecheckDelay
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Monitor{app: app, o: o, sem: make(chan struct{}, o.MaxInFlight), ctx: ctx, cancel: cancel,
		loop: make(chan struct{}), sched: map[string]*schedule{}, inFlight: map[string]bool{}, warned: map[string]string{}}
}

// Start runs the monitor in the background: every second it starts the
// checks that are due (those that find all MaxInFlight slots taken wait
// for a later tick), and every hour it rolls the checks up (RollUp),
// the first time at once. Calling it again does nothing.
func (m *Monitor) Start() {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.started {
		return
	}
	m.started = true
	go m.run()
}

// Close stops the loop, cancels the checks in progress (nothing of a
// cancelled check is stored) and waits for them until ctx ends.
func (m *Monitor) Close(ctx context.Context) error {
	m.cancel()
	m.mu.Lock()
	started := m.started
	m.mu.Unlock()
	done := make(chan struct{})
	go func() {
		if started {
			<-m.loop
		}
		m.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("uptime: close: %w", ctx.Err())
	}
}

func (m *Monitor) run() {
	defer close(m.loop)
	t := time.NewTicker(tick)
	defer t.Stop()
	for {
		if err := m.dispatch(m.ctx, &m.wg, false); err != nil && m.ctx.Err() == nil {
			m.o.Logger.Error("uptime: read the websites", "error", err)
		}
		m.maybeRollUp()
		select {
		case <-m.ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (m *Monitor) maybeRollUp() {
	now := m.o.Now()
	m.mu.Lock()
	if m.rolling || (!m.lastRollUp.IsZero() && now.Sub(m.lastRollUp) < rollUpEvery) {
		m.mu.Unlock()
		return
	}
	m.rolling, m.lastRollUp = true, now
	m.mu.Unlock()
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		if err := RollUp(m.ctx, m.app, now, m.o.Retention); err != nil && m.ctx.Err() == nil {
			m.o.Logger.Error("uptime: roll up", "error", err)
		}
		m.mu.Lock()
		m.rolling = false
		m.mu.Unlock()
	}()
}

// RunDue runs every check due at Now() (MaxInFlight at a time) and
// waits for them: the loop's tick, for tests that move their clock.
func (m *Monitor) RunDue(ctx context.Context) error {
	var wg sync.WaitGroup
	err := m.dispatch(ctx, &wg, true)
	wg.Wait()
	return err
}

// Next is when site is next checked: zero before the monitor has seen
// it (a tick after it was switched on) and while it is not monitored.
func (m *Monitor) Next(siteID string) time.Time {
	m.mu.Lock()
	defer m.mu.Unlock()
	if s := m.sched[siteID]; s != nil {
		return s.next
	}
	return time.Time{}
}

// dispatch reads the monitored websites, brings the schedule up to date
// and starts the checks due. With wait it waits for free slots;
// without, a due site that finds none stays due for the next tick.
func (m *Monitor) dispatch(ctx context.Context, wg *sync.WaitGroup, wait bool) error {
	sites, err := m.app.FindRecordsByFilter(schema.Websites, "uptimeMonitoring = true && isArchived != true", "", 0, 0)
	if err != nil {
		return fmt.Errorf("uptime: websites: %w", err)
	}
	now := m.o.Now()
	var due []*core.Record
	m.mu.Lock()
	seen := make(map[string]bool, len(sites))
	for _, site := range sites {
		seen[site.Id] = true
		every := time.Duration(intervalWithin(site, m.o.MinInterval)) * time.Second
		s := m.sched[site.Id]
		if s == nil || s.every != every {
			s = &schedule{every: every, next: slotAtOrAfter(now, site.Id, every)}
			// a check another monitor made in this slot (a restart) counts
			if last := site.GetDateTime("lastUptimeCheck").Time(); !s.next.After(last) {
				s.next = slotAtOrAfter(last.Add(time.Nanosecond), site.Id, every)
			}
			m.sched[site.Id] = s
		}
		if !s.next.After(now) && !m.inFlight[site.Id] {
			m.inFlight[site.Id] = true
			due = append(due, site)
		}
	}
	for id := range m.sched {
		if !seen[id] {
			delete(m.sched, id)
			delete(m.warned, id)
		}
	}
	m.mu.Unlock()

	for i, site := range due {
		if !m.acquire(ctx, wait) {
			m.mu.Lock()
			for _, s := range due[i:] {
				delete(m.inFlight, s.Id)
			}
			m.mu.Unlock()
			return ctx.Err()
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-m.sem }()
			m.checkSite(ctx, site)
		}()
	}
	return nil
}

func (m *Monitor) acquire(ctx context.Context, wait bool) bool {
	if !wait {
		select {
		case m.sem <- struct{}{}:
			return true
		default:
			return false
		}
	}
	select {
	case m.sem <- struct{}{}:
		return true
	case <-ctx.Done():
		return false
	}
}

// checkSite checks site, stores the check and schedules the next one.
func (m *Monitor) checkSite(ctx context.Context, site *core.Record) {
	res := Check(ctx, m.o.Client, homeURL(site), m.o.Check)
	recheck := false
	if ctx.Err() == nil {
		var err error
		recheck, err = m.store(site, res)
		if err != nil {
			m.o.Logger.Error("uptime: store a check", "site", site.Id, "error", err)
		}
	}
	now := m.o.Now()
	m.mu.Lock()
	delete(m.inFlight, site.Id)
	if s := m.sched[site.Id]; s != nil {
		if recheck {
			s.next = res.Time.Add(m.o.RecheckDelay)
		} else {
			s.next = slotAtOrAfter(later(now, res.Time).Add(time.Nanosecond), site.Id, s.every)
		}
	}
	m.mu.Unlock()
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// homeURL is what a site's check fetches: its url, or its domain's home
// page over https for a site saved before url existed.
func homeURL(site *core.Record) string {
	if u := site.GetString("url"); u != "" {
		return u
	}
	return "https://" + site.GetString("domain") + "/"
}

// Offset is the phase of siteID's checks within every: its checks run at
// the Unix epoch plus Offset plus a multiple of every. It is a hash of
// the id, so it stays the same across restarts and differs between
// sites.
func Offset(siteID string, every time.Duration) time.Duration {
	ms := uint64(every / time.Millisecond)
	if ms == 0 {
		return 0
	}
	h := fnv.New64a()
	h.Write([]byte(siteID))
	return time.Duration(h.Sum64()%ms) * time.Millisecond
}

// slotAtOrAfter is the first time at or after t on siteID's schedule.
func slotAtOrAfter(t time.Time, siteID string, every time.Duration) time.Time {
	period := every.Milliseconds()
	if period <= 0 {
		return t
	}
	ms := t.UnixMilli()
	if t.After(time.UnixMilli(ms)) {
		ms++
	}
	if r := ((ms-Offset(siteID, every).Milliseconds())%period + period) % period; r != 0 {
		ms += period - r
	}
	return time.UnixMilli(ms).UTC()
}
