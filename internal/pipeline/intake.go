package pipeline

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/skopos-go/skopos/internal/domain"
	"github.com/skopos-go/skopos/internal/spool"
	"github.com/skopos-go/skopos/internal/validate"
)

// TrackBrowser is the intake of a browser payload (the body of POST
// /api/event). pick chooses the website from the page's host; in SDK mode
// it returns the client's site whatever the host. It returns nil for
// accepted and for filtered events (counted in Stats), an error wrapping
// ErrInvalidPayload, ErrQueueFull or ErrClosed otherwise.
func (p *Pipeline) TrackBrowser(r *http.Request, body []byte, pick func(host string) *Site) error {
	p.stats.received.Add(1)
	if p.closed.Load() {
		p.stats.drop(ReasonClosed, 1)
		return ErrClosed
	}
	ev, reason, err := p.browserEvent(r, body, pick)
	switch {
	case err != nil:
		p.stats.drop(ReasonInvalid, 1)
		p.debug("payload rejected", "error", err)
		return err
	case reason == ReasonRateLimited:
		p.stats.drop(reason, 1)
		p.recent.add(ev.TrackingID, reason, p.cfg.Now())
		p.debug("client over its event budget", "site", ev.TrackingID)
		return ErrRateLimited
	case reason != "":
		return p.filtered(reason, ev.TrackingID)
	}
	return p.enqueue(r, ev)
}

// browserEvent is the intake's hot path, top to bottom: validate, choose
// the website, check the domain, find the client IP, apply the website's
// filters, detect bots, identify the visitor. It does no I/O. A non-empty
// reason means the event is filtered.
func (p *Pipeline) browserEvent(r *http.Request, body []byte, pick func(host string) *Site) (ev Event, reason string, err error) {
	pl, err := validate.Decode(body)
	if err != nil {
		return ev, "", fmt.Errorf("%w: %w", ErrInvalidPayload, err)
	}
	site := pick(pl.Host)
	if site == nil {
		return ev, ReasonUnknownSite, nil
	}
	ev.TrackingID = site.TrackingID
	if reason := p.checkDomain(site, pl.Host, r.Header.Get("Origin")); reason != "" {
		return ev, reason, nil
	}
	ip := p.cfg.IPs.IP(r)
	if p.limiter != nil && !p.limiter.allow(ip, p.cfg.Now()) {
		return ev, ReasonRateLimited, nil
	}
	if reason := admit(site, ip); reason != "" {
		return ev, reason, nil
	}
	ua := r.UserAgent()
	if p.bots.IsBot(ua, r.Header) {
		return ev, ReasonBot, nil
	}
	return Event{
		Kind: kindOf(pl.Type), TrackingID: site.TrackingID, WebsiteID: site.ID,
		Visitor: p.visitorID(site.TrackingID, ip, ua),
		IP:      ip, UA: ua, StoreIP: site.StoreRawIP,
		Path: pl.Path, Name: pl.Name, Data: pl.CustomData, Duration: pl.Duration,
		Referrer: pl.Referrer, Language: pl.Language, ScreenWidth: pl.ScreenWidth, ScreenHeight: pl.ScreenHeight,
		UTM: pl.UTM, ErrorMessage: pl.ErrorMessage, StackTrace: pl.StackTrace,
		RevenueAmount: pl.Revenue.Amount, RevenueCurrency: pl.Revenue.Currency, OrderID: pl.OrderID,
		PID: pl.PID, EngagedMs: pl.EngagedMs, Scroll: pl.Scroll,
	}, "", nil
}

// Purchase is what a server event paid for, as the caller gave it: the
// amount as a decimal string ("29.99") in Currency (ISO 4217), and the
// order's id. Amount and Currency go together; the zero value is none.
type Purchase struct {
	Amount, Currency string
	OrderID          string
}

// check validates the purchase as the browser's revenue and orderId are.
func (pu Purchase) check() (validate.Revenue, string, error) {
	var rev validate.Revenue
	var err error
	if pu.Amount != "" || pu.Currency != "" {
		if rev, err = validate.ParseRevenue(pu.Amount, pu.Currency); err != nil {
			return rev, "", err
		}
	}
	id := pu.OrderID
	if id != "" {
		if id, err = validate.OrderID(id); err != nil {
			return rev, "", err
		}
	}
	return rev, id, nil
}

// TrackServer is the intake of a server-side custom event for the website
// with trackingID. site is that website when already known; nil makes the
// worker resolve trackingID off the caller's path (unknown ones are
// dropped and counted). purchase is its revenue and order, if any.
func (p *Pipeline) TrackServer(r *http.Request, trackingID string, site *Site, name string, data map[string]any, purchase Purchase) error {
	p.stats.received.Add(1)
	if p.closed.Load() {
		p.stats.drop(ReasonClosed, 1)
		return ErrClosed
	}
	cleanName, cleanData, err := validate.CustomEvent(name, data)
	if err != nil {
		p.stats.drop(ReasonInvalid, 1)
		return fmt.Errorf("%w: %w", ErrInvalidPayload, err)
	}
	rev, orderID, err := purchase.check()
	if err != nil {
		p.stats.drop(ReasonInvalid, 1)
		return fmt.Errorf("%w: %w", ErrInvalidPayload, err)
	}
	ip := p.cfg.IPs.IP(r)
	if site != nil {
		if reason := admit(site, ip); reason != "" {
			return p.filtered(reason, site.TrackingID)
		}
	}
	ua := r.UserAgent()
	// server events: no header heuristics, HTTP clients and webhooks are
	// legitimate; known crawlers and scanners are not
	if p.bots.IsBotServer(ua) {
		return p.filtered(ReasonBot, trackingID, "ua", ua)
	}
	ev := Event{
		Kind: Server, TrackingID: trackingID,
		Visitor: p.visitorID(trackingID, ip, ua),
		IP:      ip, UA: ua,
		Path: serverPath(r), Name: cleanName, Data: cleanData,
		RevenueAmount: rev.Amount, RevenueCurrency: rev.Currency, OrderID: orderID,
		Referrer: serverReferrer(r), ScreenWidth: -1, ScreenHeight: -1,
	}
	if site != nil {
		ev.WebsiteID, ev.StoreIP = site.ID, site.StoreRawIP
	}
	return p.enqueue(r, ev)
}

func (p *Pipeline) enqueue(r *http.Request, ev Event) error {
	ev.ID = NewID()
	if ev.Kind == PageView && ev.PID != "" {
		ev.ID = PageViewID(ev.TrackingID, ev.Visitor, ev.PID)
	}
	ev.Time = p.cfg.Now().UTC().Truncate(time.Millisecond)
	if p.cfg.Spool != nil {
		return p.append(r, ev)
	}
	select {
	case p.queue <- ev:
		p.stats.accepted.Add(1)
		return nil
	default:
		p.stats.drop(ReasonQueueFull, 1)
		p.debug("queue full, event dropped", "queue", cap(p.queue))
		return ErrQueueFull
	}
}

// recordPool holds the buffers intake log records are encoded into.
var recordPool = sync.Pool{New: func() any { b := make([]byte, 0, 1024); return &b }}

// append writes ev to the intake log and returns once it is durable.
func (p *Pipeline) append(r *http.Request, ev Event) error {
	bp := recordPool.Get().(*[]byte)
	defer recordPool.Put(bp)
	data, err := AppendRecord((*bp)[:0], &ev)
	*bp = data[:0] // Append copies the record: the buffer is ours again
	if err != nil {
		p.stats.drop(ReasonInvalid, 1)
		return fmt.Errorf("%w: %w", ErrInvalidPayload, err)
	}
	ctx := context.Background()
	if r != nil {
		ctx = r.Context()
	}
	err = p.cfg.Spool.Append(ctx, data)
	switch {
	case err == nil:
		p.stats.accepted.Add(1)
		return nil
	case errors.Is(err, spool.ErrFull):
		p.stats.drop(ReasonSpoolFull, 1)
		p.debug("intake log full, event refused")
		return ErrSpoolFull
	case errors.Is(err, spool.ErrClosed):
		p.stats.drop(ReasonClosed, 1)
		return ErrClosed
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		// the caller left while its record was being written: it will
		// most likely be stored, so it is not counted as refused
		p.stats.accepted.Add(1)
		return err
	}
	p.stats.drop(ReasonSpoolError, 1)
	p.cfg.Logger.Error("skopos: intake log write failed; event refused", "error", err)
	return fmt.Errorf("%w: %w", ErrSpoolFull, err)
}

func (p *Pipeline) filtered(reason, trackingID string, attrs ...any) error {
	p.stats.drop(reason, 1)
	p.recent.add(trackingID, reason, p.cfg.Now())
	p.debug("event filtered", append([]any{"reason", reason, "site", trackingID}, attrs...)...)
	return nil
}

// checkDomain accepts the page host and the Origin header (when present)
// only when they are the site's domain or a subdomain of it.
func (p *Pipeline) checkDomain(site *Site, host, origin string) string {
	if site.Host == "" || !domain.Match(site.Host, host) {
		return ReasonDomain
	}
	if origin != "" && origin != "null" {
		oh, err := domain.Normalize(origin)
		if err != nil || !domain.Match(site.Host, oh) {
			return ReasonDomain
		}
	}
	return ""
}

func kindOf(t string) Kind {
	switch t {
	case validate.TypeCustom:
		return Custom
	case validate.TypeJSError:
		return JSError
	case validate.TypeEngagement:
		return Engagement
	}
	return PageView
}
