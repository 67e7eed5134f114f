package pipeline

import (
	"net/netip"
	"time"
)

// Kind is what an accepted event is.
type Kind uint8

const (
	// PageView is a browser page view (events.type "pageView").
	PageView Kind = iota
	// Custom is a browser custom event (events.type "custom").
	Custom
	// Server is a custom event tracked by the host app's own handlers
	// (events.type "custom"). It creates or continues a session and moves
	// its lastActivity, but does not move exitPath or count toward
	// engagement.
	Server
	// JSError is a browser JavaScript error: grouped into js_errors, never
	// an events row; it attaches to an open session and never opens one.
	JSError
	// Engagement is a page view's engagement beacon: it raises the engaged
	// time and scroll depth of its page view (by PID) and adds the
	// increase to that page view's session, and is nothing else: no
	// events row, no session opened or continued, no exit page moved, no
	// end of a bounce (as in Plausible, merely staying on a page does not
	// make a visit more than a bounce).
	Engagement
)

func (k Kind) String() string {
	switch k {
	case PageView:
		return "pageView"
	case Custom:
		return "custom"
	case Server:
		return "server"
	case JSError:
		return "jsError"
	case Engagement:
		return "engagement"
	}
	return "unknown"
}

// browses reports whether the event moves exitPath and counts toward
// engagement (pageView and custom events).
func (k Kind) browses() bool { return k == PageView || k == Custom }

// StoredEvent is an events row the writer created.
type StoredEvent struct {
	ID         string // events record id
	WebsiteID  string
	TrackingID string
	SessionID  string
	Kind       Kind // PageView, Custom or Server
	Path       string
	Name       string         // custom and server events
	Data       map[string]any // customData, when there was any
	Time       time.Time
	// Revenue as stored: zero when the event had none, or when its
	// order's revenue was already stored (a duplicate order).
	RevenueAmount   int64
	RevenueCurrency string
	OrderID         string
}

// Event is one accepted event on its way to the store.
type Event struct {
	ID         string    // events record id, assigned when accepted
	Kind       Kind      //
	Time       time.Time // server receive time, UTC, millisecond precision
	TrackingID string    // the website, by trackingId
	WebsiteID  string    // the website record id; empty until resolved
	Visitor    string    // visitor hash (VisitorHash)

	IP netip.Addr // stored only with StoreIP
	UA string
	// StoreIP: the website had storeRawIp when the event was accepted,
	// so the session it opens keeps IP (the setting at acceptance
	// counts, not at the write a second later).
	StoreIP bool

	Path     string
	Name     string
	Data     map[string]any
	Duration float64 // customData.duration (seconds), for engagement

	// Revenue of a custom or server event, in the minor units of the
	// ISO 4217 RevenueCurrency (validate.ParseRevenue); 0 and "" without.
	RevenueAmount   int64
	RevenueCurrency string
	// OrderID names the order a custom or server event paid for: the
	// revenue of an order is stored once per website.
	OrderID string

	// used when the event opens a session
	Referrer     string
	Language     string
	ScreenWidth  int // -1 = unknown
	ScreenHeight int
	UTM          map[string]string

	ErrorMessage string
	StackTrace   string

	// PID is the page view id the browser chose, on page views (their
	// events row id is derived from it, see PageViewID) and engagement
	// beacons; EngagedMs and Scroll are a beacon's figures so far.
	PID       string
	EngagedMs int
	Scroll    int

	// Forwarded marks an event an SDK handed to this server (Ingest): its
	// id may arrive twice (a retry after a lost answer), so the writer
	// skips ids already stored.
	Forwarded bool

	// Seq is the event's sequence number in the intake log; 0 without one.
	Seq uint64 `json:"-"`
}
