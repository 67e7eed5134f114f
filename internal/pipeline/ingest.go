package pipeline

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/skopos-go/skopos/internal/spool"
	"github.com/skopos-go/skopos/internal/validate"
	"github.com/skopos-go/skopos/schema"
)

// Events an SDK forwards (POST /api/skopos/ingest on a Skopos server) were
// validated, filtered and identified by the SDK; the server checks that
// they are well-formed and within the stored limits, appends them to its
// intake log and sessionizes them with its own single writer, so that
// sessions and summaries do not depend on which SDK instance saw which
// request.

// Forwarder hands events to a Skopos server (Config.Forward).
type Forwarder interface {
	// Forward sends one batch and returns nil once the server holds it
	// durably. batchID is the same on every try of the same events. An
	// error matching ErrBatchTooLarge asks for smaller batches; one
	// matching ErrForwardRefused means the server will never take these
	// events (they are dropped and counted); anything else is retried.
	Forward(ctx context.Context, batchID string, evs []Event) error
	// MaxEvents bounds one batch.
	MaxEvents() int
}

var (
	// ErrForwardRefused: the server refused a batch for good (4xx).
	ErrForwardRefused = errors.New("skopos: the server refused the batch")
	// ErrBatchTooLarge: the server wants smaller batches (413).
	ErrBatchTooLarge = errors.New("skopos: batch too large for the server")
	// ErrBatchConflict: a forwarded batch id came again with other
	// events than its first try (409); none of them was accepted.
	ErrBatchConflict = errors.New("skopos: batch id already used for other events")
)

// BatchID identifies a batch of forwarded events by its first and last
// event ids and its size: the same on every retry.
func BatchID(evs []Event) string {
	if len(evs) == 0 {
		return ""
	}
	return DeriveID("batch", evs[0].ID, evs[len(evs)-1].ID, strconv.Itoa(len(evs)))
}

// InvalidEventError names the first event of a forwarded batch that
// breaks the rules; the batch is refused whole. It matches
// ErrInvalidPayload.
type InvalidEventError struct {
	Index  int
	Reason string
}

func (e *InvalidEventError) Error() string {
	return fmt.Sprintf("event %d: %s", e.Index, e.Reason)
}

func (e *InvalidEventError) Unwrap() error { return ErrInvalidPayload }

// maxForwardedAge is how old a forwarded event may be: an SDK may send
// what its own intake log kept through an outage.
const maxForwardedAge = 400 * 24 * time.Hour

// Ingest appends events an SDK forwarded and returns once they are
// durable (with an intake log) or queued. batchID identifies the SDK's
// batch: a batch seen before (a retry after a lost answer) is answered
// again without being appended twice (dup = true); a retry after this
// server restarted is appended again, and the writer skips the event ids
// it has already stored. The same batchID with other events is refused
// with ErrBatchConflict. It is all or nothing: an error wrapping
// ErrInvalidPayload (an *InvalidEventError), ErrBatchConflict,
// ErrSpoolFull, ErrQueueFull or ErrClosed means none was accepted.
func (p *Pipeline) Ingest(ctx context.Context, batchID string, evs []Event) (dup bool, err error) {
	n := uint64(len(evs))
	if p.closed.Load() {
		p.stats.received.Add(n)
		p.stats.drop(ReasonClosed, int(n))
		return false, ErrClosed
	}
	now := p.cfg.Now()
	for i := range evs {
		if reason := checkForwarded(&evs[i], now); reason != "" {
			p.stats.received.Add(n)
			p.stats.drop(ReasonInvalid, int(n))
			return false, &InvalidEventError{Index: i, Reason: reason}
		}
		evs[i].Forwarded, evs[i].WebsiteID, evs[i].Seq = true, "", 0
		// as stored (PocketBase keeps milliseconds), so that durations
		// computed here equal those computed from the rows later
		evs[i].Time = evs[i].Time.UTC().Truncate(time.Millisecond)
	}
	sum := batchSum(evs)
	for {
		wait, err := p.batches.start(batchID, sum)
		if err != nil {
			p.stats.received.Add(n)
			p.stats.drop(ReasonInvalid, int(n))
			return false, err
		}
		if wait == nil {
			break
		}
		if wait() {
			p.stats.replayed.Add(n)
			return true, nil
		}
		// the earlier try failed: this one is appended
	}
	p.stats.received.Add(n)
	err = p.ingest(ctx, evs)
	p.batches.finish(batchID, err == nil)
	return false, err
}

func (p *Pipeline) ingest(ctx context.Context, evs []Event) error {
	n := uint64(len(evs))
	if p.cfg.Spool == nil {
		// all or nothing: only when the whole batch fits
		p.ingestMu.Lock()
		defer p.ingestMu.Unlock()
		if cap(p.queue)-len(p.queue) < len(evs) {
			p.stats.drop(ReasonQueueFull, int(n))
			return ErrQueueFull
		}
		for i, ev := range evs {
			select {
			case p.queue <- ev:
			case <-ctx.Done(): // browser events took the room meanwhile
				p.stats.accepted.Add(uint64(i))
				p.stats.drop(ReasonQueueFull, len(evs)-i)
				return fmt.Errorf("%w: %d of %d events queued", ErrQueueFull, i, len(evs))
			}
		}
		p.stats.accepted.Add(n)
		return nil
	}
	recs := make([][]byte, len(evs))
	for i := range evs {
		b, err := AppendRecord(nil, &evs[i])
		if err != nil {
			p.stats.drop(ReasonInvalid, int(n))
			return &InvalidEventError{Index: i, Reason: err.Error()}
		}
		recs[i] = b
	}
	switch err := p.cfg.Spool.AppendBatch(ctx, recs); {
	case err == nil:
		p.stats.accepted.Add(n)
		return nil
	case errors.Is(err, spool.ErrFull):
		p.stats.drop(ReasonSpoolFull, int(n))
		return ErrSpoolFull
	case errors.Is(err, spool.ErrClosed):
		p.stats.drop(ReasonClosed, int(n))
		return ErrClosed
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		p.stats.accepted.Add(n) // appended; the caller left before the write
		return err
	default:
		p.stats.drop(ReasonSpoolError, int(n))
		p.cfg.Logger.Error("skopos: intake log write failed; forwarded batch refused", "error", err, "events", n)
		return fmt.Errorf("%w: %w", ErrSpoolFull, err)
	}
}

// checkForwarded returns why ev cannot be stored, or "".
func checkForwarded(ev *Event, now time.Time) string {
	switch {
	case ev.Kind > Engagement:
		return "unknown kind"
	case !validID(ev.ID):
		return "id must be 15 characters a-z0-9"
	case ev.TrackingID == "" || len(ev.TrackingID) > 255:
		return "trackingId missing or too long"
	case ev.Visitor == "" || len(ev.Visitor) > 128:
		return "visitor missing or too long"
	case ev.Time.IsZero() || ev.Time.After(now.Add(10*time.Minute)) || ev.Time.Before(now.Add(-maxForwardedAge)):
		return "time missing or out of range"
	case len(ev.UA) > 4096:
		return "user agent longer than 4096 bytes"
	case validate.UTF16Len(ev.Path) > schema.MaxPath:
		return "path too long"
	case validate.UTF16Len(ev.Name) > schema.MaxEventName:
		return "name too long"
	case (ev.Kind == Custom || ev.Kind == Server) && ev.Name == "":
		return "name required for custom events"
	case validate.UTF16Len(ev.Referrer) > schema.MaxReferrer:
		return "referrer too long"
	case validate.UTF16Len(ev.Language) > schema.MaxLanguage:
		return "language too long"
	case validate.UTF16Len(ev.ErrorMessage) > schema.MaxErrorMessage:
		return "errorMessage too long"
	case ev.Kind == JSError && ev.ErrorMessage == "":
		return "errorMessage required for jsError events"
	case validate.UTF16Len(ev.StackTrace) > schema.MaxStackTrace:
		return "stackTrace too long"
	case ev.ScreenWidth < -1 || ev.ScreenHeight < -1:
		return "screen size must be >= -1"
	case math.IsNaN(ev.Duration) || math.IsInf(ev.Duration, 0) || ev.Duration < 0:
		return "duration must be a finite number >= 0"
	case ev.PID != "" && !validate.PID(ev.PID) || ev.Kind == Engagement && ev.PID == "":
		return "pid must be 8 to 32 characters 0-9 a-z (required for engagement)"
	case ev.EngagedMs < 0 || ev.EngagedMs > validate.MaxEngagedMs || ev.Scroll < 0 || ev.Scroll > validate.MaxScroll:
		return "engagedMs or scroll out of range"
	}
	if why := checkForwardedRevenue(ev); why != "" {
		return why
	}
	utm := 0
	for k, v := range ev.UTM {
		utm += len(k) + len(v) + 6
	}
	if utm > schema.MaxUTMStored {
		return "utm too large"
	}
	if ev.Data != nil {
		b, err := json.Marshal(ev.Data)
		if err != nil || len(b) > schema.MaxEventDataStored {
			return "customData too large or not JSON"
		}
	}
	return ""
}

// checkForwardedRevenue applies the revenue rules to an event an SDK
// validated: a known currency and an amount within bounds, on custom and
// server events only.
func checkForwardedRevenue(ev *Event) string {
	if ev.RevenueAmount == 0 && ev.RevenueCurrency == "" && ev.OrderID == "" {
		return ""
	}
	if ev.Kind != Custom && ev.Kind != Server {
		return "revenue and orderId only on custom events"
	}
	if ev.RevenueAmount != 0 || ev.RevenueCurrency != "" {
		if _, err := validate.ParseRevenue(validate.FormatMinor(ev.RevenueAmount, ev.RevenueCurrency), ev.RevenueCurrency); err != nil ||
			strings.ToUpper(ev.RevenueCurrency) != ev.RevenueCurrency {
			return "revenue out of range or unknown currency"
		}
	}
	if ev.OrderID != "" {
		if _, err := validate.OrderID(ev.OrderID); err != nil {
			return "orderId: " + err.Error()
		}
	}
	return ""
}

func validID(id string) bool {
	if len(id) != 15 {
		return false
	}
	for i := 0; i < len(id); i++ {
		if c := id[i]; !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

// batchGate remembers recent forwarded batch ids, so that a retry of a
// batch whose answer was lost is not appended twice, and a retry that
// arrives while the first try is still being written waits for it.
type batchGate struct {
	mu    sync.Mutex
	m     map[string]*batchState
	order []string
}

type batchState struct {
	done chan struct{}
	ok   bool
	sum  [sha256.Size]byte // batchSum of the events
}

// batchSum identifies a batch's events by their ids: the writer stores an
// event id once, so a batch of the same ids is the same batch.
func batchSum(evs []Event) [sha256.Size]byte {
	h := sha256.New()
	for i := range evs {
		h.Write([]byte(evs[i].ID))
	}
	return [sha256.Size]byte(h.Sum(nil))
}

// maxRememberedBatches bounds batchGate.
const maxRememberedBatches = 4096

// start registers id with its events' sum and returns nil for a first
// try. For an id seen before with the same sum, wait reports (after
// waiting for a try in progress) whether it was stored; with another sum
// the error is ErrBatchConflict.
func (g *batchGate) start(id string, sum [sha256.Size]byte) (wait func() bool, err error) {
	if id == "" {
		return nil, nil
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.m == nil {
		g.m = map[string]*batchState{}
	}
	if st, ok := g.m[id]; ok {
		if st.sum != sum {
			return nil, fmt.Errorf("%w: batch %q", ErrBatchConflict, id)
		}
		return func() bool { <-st.done; return st.ok }, nil
	}
	g.m[id] = &batchState{done: make(chan struct{}), sum: sum}
	g.order = append(g.order, id)
	if len(g.order) > maxRememberedBatches {
		old := g.order[0]
		g.order = g.order[1:]
		if st := g.m[old]; st != nil {
			select {
			case <-st.done:
				delete(g.m, old)
			default: // still in progress: keep it
			}
		}
	}
	return nil, nil
}

// finish records the outcome of id's try; a failed try is forgotten so
// that a retry is appended.
func (g *batchGate) finish(id string, ok bool) {
	if id == "" {
		return
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	st := g.m[id]
	if st == nil {
		return
	}
	st.ok = ok
	close(st.done)
	if !ok {
		delete(g.m, id)
	}
}
