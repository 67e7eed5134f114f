package pbrest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
	"math/rand/v2"
	"net/http"
	"sync"
	"time"

	sse "github.com/tmaxmax/go-sse"
)

const (
	realtimePath = "/api/realtime"

	// DefaultMinBackoff and DefaultMaxBackoff bound the delay between
	// realtime reconnect attempts unless [WithBackoff] changes them.
	DefaultMinBackoff = 100 * time.Millisecond
	DefaultMaxBackoff = 10 * time.Second

	// connectTimeout bounds the wait for PB_CONNECT on a new connection.
	connectTimeout = 30 * time.Second
	// idleTimeout drops a connection that delivered nothing for this long.
	// PocketBase itself closes connections idle for 5 minutes, so silence
	// beyond that means the connection is dead (e.g. half-open TCP).
	idleTimeout = 6 * time.Minute
	// maxEventSize is the largest SSE event (one record) accepted.
	maxEventSize = 16 << 20
)

// Message is a realtime record event.
type Message struct {
	// Topic is the subscription the event matched, e.g. "events" or
	// "events/RECORD_ID".
	Topic string
	// Action is "create", "update" or "delete".
	Action string
	// Record is the record as JSON (for delete, its last state).
	Record json.RawMessage
}

// Decode unmarshals the record into v.
func (m Message) Decode(v any) error {
	if err := json.Unmarshal(m.Record, v); err != nil {
		return fmt.Errorf("pbrest: decode %s record: %w", m.Topic, err)
	}
	return nil
}

// SubscribeOption configures [Client.Subscribe].
type SubscribeOption func(*subscribeConfig)

type subscribeConfig struct {
	onConnect  func()
	minBackoff time.Duration
	maxBackoff time.Duration
}

// WithOnConnect sets fn to be called after every successful connect and
// subscribe, the first one included. Events may have been missed while
// disconnected, so fn is the place to re-fetch state. It runs on the
// subscription's goroutine before any event of the new connection is
// delivered.
func WithOnConnect(fn func()) SubscribeOption {
	return func(c *subscribeConfig) { c.onConnect = fn }
}

// WithBackoff sets the bounds of the exponential, jittered delay between
// reconnect attempts. Defaults: [DefaultMinBackoff], [DefaultMaxBackoff].
// Non-positive values keep the defaults.
func WithBackoff(minDelay, maxDelay time.Duration) SubscribeOption {
	return func(c *subscribeConfig) {
		if minDelay > 0 {
			c.minBackoff = minDelay
		}
		if maxDelay > 0 {
			c.maxBackoff = maxDelay
		}
	}
}

// Subscription is a live realtime subscription; see [Client.Subscribe].
type Subscription struct {
	cancel context.CancelFunc
	done   chan struct{}
	once   sync.Once
}

// Close stops the subscription and waits until its goroutine has exited;
// no callback runs after Close returns. It must not be called from fn or
// the OnConnect callback. Close always returns nil; calling it again does
// nothing.
func (s *Subscription) Close() error {
	s.once.Do(s.cancel)
	<-s.done
	return nil
}

// Subscribe opens a realtime connection (GET /api/realtime), subscribes
// it to topics as the superuser and calls fn for every record event, one
// at a time on a single goroutine. A topic is a collection name ("events",
// all its records), "collection/RECORD_ID", or either with PocketBase's
// "?options=" query.
//
// Subscribe returns once the first connection is subscribed, or the error
// that prevented it. Afterwards the subscription keeps itself connected:
// after any drop (server restart, network error, PocketBase's 5-minute
// idle disconnect) it reconnects with exponential backoff and jitter and
// subscribes again, calling the [WithOnConnect] callback. It runs until
// [Subscription.Close] is called or ctx is cancelled.
func (c *Client) Subscribe(ctx context.Context, topics []string, fn func(Message), opts ...SubscribeOption) (*Subscription, error) {
	if fn == nil {
		return nil, errors.New("pbrest: Subscribe: fn is nil")
	}
	cfg := subscribeConfig{minBackoff: DefaultMinBackoff, maxBackoff: DefaultMaxBackoff}
	for _, o := range opts {
		o(&cfg)
	}
	cfg.maxBackoff = max(cfg.maxBackoff, cfg.minBackoff)
	rt := &realtime{c: c, topics: append([]string(nil), topics...), fn: fn, cfg: cfg}

	life, cancel := context.WithCancel(ctx)
	conn, err := rt.connect(life)
	if err != nil {
		cancel()
		return nil, err
	}
	s := &Subscription{cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(s.done)
		rt.run(life, conn)
	}()
	return s, nil
}

// realtime is the state of one subscription's goroutine.
type realtime struct {
	c      *Client
	topics []string
	fn     func(Message)
	cfg    subscribeConfig
}

// conn is a subscribed SSE connection whose events are yet to be read.
type conn struct {
	cancel context.CancelFunc
	body   io.ReadCloser
	next   func() (sse.Event, error, bool)
	stop   func()
	idle   *time.Timer
}

func (cn *conn) close() {
	cn.idle.Stop()
	cn.stop()
	cn.cancel()
	cn.body.Close()
}

// run reads events of cn, reconnecting until ctx ends.
func (rt *realtime) run(ctx context.Context, cn *conn) {
	log := rt.c.log
	for attempt := 0; ; {
		if cn != nil {
			attempt = 0
			err := rt.read(cn)
			cn.close()
			if ctx.Err() != nil {
				return
			}
			log.DebugContext(ctx, "pbrest: realtime connection lost, reconnecting", "error", err)
		}
		delay := backoff(rt.cfg.minBackoff, rt.cfg.maxBackoff, attempt)
		attempt++
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		var err error
		if cn, err = rt.connect(ctx); err != nil {
			if ctx.Err() != nil {
				return
			}
			log.WarnContext(ctx, "pbrest: realtime reconnect failed", "attempt", attempt, "error", err)
		}
	}
}

// read delivers the events of cn until its stream ends.
func (rt *realtime) read(cn *conn) error {
	for {
		ev, err, ok := cn.next()
		if !ok {
			return io.EOF
		}
		if err != nil {
			return err
		}
		cn.idle.Reset(idleTimeout)
		if ev.Type == "" || ev.Type == "PB_CONNECT" {
			continue
		}
		var d struct {
			Action string          `json:"action"`
			Record json.RawMessage `json:"record"`
		}
		if err := json.Unmarshal([]byte(ev.Data), &d); err != nil {
			rt.c.log.Warn("pbrest: undecodable realtime event", "topic", ev.Type, "error", err)
			continue
		}
		rt.fn(Message{Topic: ev.Type, Action: d.Action, Record: d.Record})
	}
}

// connect opens a connection, waits for PB_CONNECT, subscribes and calls
// the OnConnect callback.
func (rt *realtime) connect(ctx context.Context) (_ *conn, err error) {
	c := rt.c
	cctx, cancel := context.WithCancel(ctx)
	watchdog := time.AfterFunc(connectTimeout, cancel)
	defer func() {
		if err != nil {
			watchdog.Stop()
			cancel()
		}
	}()

	req, err := http.NewRequestWithContext(cctx, http.MethodGet, c.base+realtimePath, nil)
	if err != nil {
		return nil, fmt.Errorf("pbrest: realtime connect: %w", err)
	}
	req.Header.Set("Accept", "text/event-stream")
	req.Header.Set("Cache-Control", "no-store")
	resp, err := c.sse.Do(req)
	if err != nil {
		return nil, &transportError{method: http.MethodGet, path: realtimePath, err: err}
	}
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
		resp.Body.Close()
		return nil, newError(http.MethodGet, realtimePath, resp.StatusCode, b)
	}
	next, stop := iter.Pull2(sse.Read(resp.Body, &sse.ReadConfig{MaxEventSize: maxEventSize}))
	cn := &conn{cancel: cancel, body: resp.Body, next: next, stop: stop}
	defer func() {
		if err != nil {
			stop()
			resp.Body.Close()
		}
	}()

	ev, err, ok := next()
	if !ok && err == nil {
		err = io.EOF
	}
	if err != nil {
		return nil, &transportError{method: http.MethodGet, path: realtimePath, err: fmt.Errorf("waiting for PB_CONNECT: %w", err)}
	}
	var hello struct {
		ClientID string `json:"clientId"`
	}
	if ev.Type != "PB_CONNECT" || json.Unmarshal([]byte(ev.Data), &hello) != nil || hello.ClientID == "" {
		return nil, fmt.Errorf("pbrest: realtime connect: unexpected first event %q", ev.Type)
	}
	// PocketBase accepts subscriptions with an invalid token as a guest's,
	// which would silently receive nothing from superuser-only collections.
	if err := c.verifyToken(cctx); err != nil {
		return nil, fmt.Errorf("pbrest: realtime subscribe: %w", err)
	}
	body := map[string]any{"clientId": hello.ClientID, "subscriptions": rt.topics}
	if err := c.Do(cctx, http.MethodPost, realtimePath, body, nil); err != nil {
		return nil, fmt.Errorf("pbrest: realtime subscribe: %w", err)
	}
	if !watchdog.Stop() {
		return nil, fmt.Errorf("pbrest: realtime connect: %w", context.DeadlineExceeded)
	}
	cn.idle = time.AfterFunc(idleTimeout, cancel)
	c.log.DebugContext(ctx, "pbrest: realtime subscribed", "clientId", hello.ClientID, "topics", rt.topics)
	if rt.cfg.onConnect != nil {
		rt.cfg.onConnect()
	}
	return cn, nil
}

// backoff returns the delay before reconnect attempt n (0-based):
// exponential from minDelay, capped at maxDelay, with "equal jitter" (a
// random value in [d/2, d]).
func backoff(minDelay, maxDelay time.Duration, n int) time.Duration {
	d := minDelay
	for i := 0; i < n && d < maxDelay; i++ {
		d *= 2
	}
	d = min(d, maxDelay)
	half := d / 2
	return half + rand.N(d-half+1)
}
