package skopos

import (
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/skopos-go/skopos/internal/spool"
	"github.com/skopos-go/skopos/internal/visitorid"
)

// Options configure a Client. The zero value of every optional field
// selects its documented default; invalid values make Init fail with an
// error wrapping ErrInvalidOption (never a silent fallback).
type Options struct {
	// SiteID is the trackingId of the website events are recorded for.
	// Required.
	SiteID string
	// PocketBaseURL is the base URL of the PocketBase server, e.g.
	// "http://127.0.0.1:8090". Required.
	PocketBaseURL string
	// AdminEmail and AdminPassword are superuser (_superusers)
	// credentials; Skopos' collections are superuser-only. Both required.
	AdminEmail    string
	AdminPassword string

	// Batch writes events in batches of MaxBatchSize or every
	// BatchInterval, whichever comes first. Without it the worker writes
	// as soon as it can (still in one request per burst). Default false.
	Batch bool
	// BatchInterval is the longest an event waits in batch mode.
	// Default 10s; must be > 0.
	BatchInterval time.Duration
	// MaxBatchSize is the number of events that triggers a flush in batch
	// mode. Writes are further chunked to the server's batch.maxRequests.
	// Default 100; must be >= 1.
	MaxBatchSize int
	// SessionTimeout ends a session after this long without activity.
	// Default 30m.
	SessionTimeout time.Duration
	// JSErrorBatchInterval is how often grouped JS errors are written
	// (also at FlushEvents and Shutdown). Default 5m.
	JSErrorBatchInterval time.Duration
	// QueueSize bounds the events held in memory without a SpoolDir;
	// beyond it events are refused with ErrQueueFull and counted. Default
	// 10000.
	QueueSize int

	// SpoolDir is a directory for the intake log (spool). With it, an
	// event is accepted only once it is durable on disk; the writer sends
	// from there, so events accepted while PocketBase is down, or still
	// held at Shutdown, or at a crash, are written after the next Init.
	// The tracking calls then wait for the disk (group commit, typically
	// a few milliseconds). Default none: events are held in memory only,
	// and a crash, or a Shutdown whose deadline passes while PocketBase
	// is unreachable, loses those not yet written (counted as
	// "unwritten"). One Client per directory. It needs the skopos_spool
	// collection (`skopos schema apply`).
	SpoolDir string
	// SpoolMaxBytes bounds the spool; beyond it events are refused with
	// ErrSpoolFull (the Handler answers 503) and counted as spool_full.
	// Default 1 GiB.
	SpoolMaxBytes int64
	// SpoolSync is the spool's durability policy: "always" (default: an
	// fsync starts as soon as an event waits, the events arriving
	// meanwhile share the next one, and an event is accepted after its
	// fsync: nothing accepted is lost), "batch" (an fsync every 10 ms or
	// 1000 events: the same guarantee with fewer fsyncs and up to 10 ms
	// more latency) or "off" (no fsync: a crash of the process loses
	// nothing accepted, a crash of the machine may lose what the OS had
	// not yet written, up to about 30 seconds).
	SpoolSync string

	// Debug logs every filtered or refused event at debug level. It can
	// be switched at run time with SetDebug. Errors are always logged.
	Debug bool
	// Logger receives the client's logs. Default slog.Default().
	Logger *slog.Logger

	// SettingsRefreshInterval is how often website settings are re-read
	// as a safety net; changes normally arrive at once over PocketBase
	// realtime. Default 5m.
	SettingsRefreshInterval time.Duration

	// TrustedProxies lists the CIDRs (or single IPs) whose
	// X-Forwarded-For and X-Real-IP headers are believed. Default:
	// loopback only; list a proxy on another machine by its address or
	// range ("10.0.0.5", "10.0.0.0/24"), and keep 127.0.0.0/8 and ::1 in
	// the list if a local proxy is in front too.
	TrustedProxies []string
	// GeoIPDatabase is the path of a MaxMind or DB-IP .mmdb file (City or
	// Country). New sessions then get the ISO 3166-1 country ("US") and
	// ISO 3166-2 subdivision ("US-CA"). Default none: both "Unknown".
	GeoIPDatabase string
	// RateLimit bounds the browser events (Handler, TrackAPIEvent) one
	// client address may send per second, with bursts of RateBurst:
	// beyond it they are refused (ErrRateLimited, 429) and counted as
	// rate_limited, so that one client cannot fill the queue for every
	// other visitor. Default 20 per second, bursts of 100 (a browser sends
	// a few events a minute); negative turns it off.
	RateLimit float64
	RateBurst int
	// BotPatterns are user-agent patterns treated as bots on top of the
	// built-in lists (crawlerdetect, isbot's list, the scoring rules): one
	// case-insensitive regular expression per entry, in the syntax of the
	// isbot list. An invalid one fails Init with ErrInvalidOption naming
	// it. Default none.
	BotPatterns []string
	// Route is where events go: RouteAuto (default: the Skopos server's
	// ingest route when the server is a Skopos server, else PocketBase's
	// batch API), RouteIngest (the ingest route or an Init error) or
	// RouteBatch. Stats().Route says which is in use.
	Route string
	// VisitorIDs is how cookieless visitor ids (a hash of the website, the
	// client's IP address and user agent) are keyed:
	//
	//   - VisitorIDsSalted: HMAC keyed by a secret installation salt,
	//     generated on the installation's first start and kept in
	//     PocketBase's skopos_secrets collection (superuser-only), shared
	//     by every instance. Ids cannot be reversed into IP addresses by
	//     anyone who reads them without the salt; returning visitors are
	//     recognised for as long as their address and browser stay the
	//     same.
	//   - VisitorIDsDaily: HMAC keyed by a random salt of the UTC day,
	//     deleted after two days: visitors are counted per day, nobody
	//     returns from one day to the next, and once the salt is deleted
	//     not even the database's owner can link or reverse the ids.
	//   - VisitorIDsCompatible: the Skopos Node SDK's unsalted SHA-256, so
	//     that visitors it recorded keep matching; reversible into IP
	//     addresses by anyone who reads the ids.
	//
	// Default "": the Skopos server's mode when events go through its
	// ingest route (a different explicit mode is an Init error), else
	// VisitorIDsSalted.
	VisitorIDs string
	// VisitorSalt, when set, is the salted mode's key instead of the
	// installation salt (for ids that must match another system's).
	// Default none.
	VisitorSalt string
}

// Visitor id modes (Options.VisitorIDs).
const (
	VisitorIDsSalted     = string(visitorid.Salted)
	VisitorIDsDaily      = string(visitorid.Daily)
	VisitorIDsCompatible = string(visitorid.Compatible)
)

func (o *Options) validate() error {
	o.SiteID = strings.TrimSpace(o.SiteID)
	o.PocketBaseURL = strings.TrimSpace(o.PocketBaseURL)
	switch {
	case o.SiteID == "":
		return fmt.Errorf("%w: SiteID is required", ErrMissingOption)
	case o.PocketBaseURL == "":
		return fmt.Errorf("%w: PocketBaseURL is required", ErrMissingOption)
	case o.AdminEmail == "" || o.AdminPassword == "":
		return fmt.Errorf("%w: AdminEmail and AdminPassword are both required (superuser credentials)", ErrMissingOption)
	case o.BatchInterval < 0:
		return fmt.Errorf("%w: BatchInterval %v must be > 0", ErrInvalidOption, o.BatchInterval)
	case o.MaxBatchSize < 0:
		return fmt.Errorf("%w: MaxBatchSize %d must be >= 1", ErrInvalidOption, o.MaxBatchSize)
	case o.SessionTimeout < 0:
		return fmt.Errorf("%w: SessionTimeout %v must be > 0", ErrInvalidOption, o.SessionTimeout)
	case o.JSErrorBatchInterval < 0:
		return fmt.Errorf("%w: JSErrorBatchInterval %v must be > 0", ErrInvalidOption, o.JSErrorBatchInterval)
	case o.QueueSize < 0:
		return fmt.Errorf("%w: QueueSize %d must be >= 1", ErrInvalidOption, o.QueueSize)
	case o.SettingsRefreshInterval < 0:
		return fmt.Errorf("%w: SettingsRefreshInterval %v must be > 0", ErrInvalidOption, o.SettingsRefreshInterval)
	case o.SpoolMaxBytes < 0:
		return fmt.Errorf("%w: SpoolMaxBytes %d must be >= 0", ErrInvalidOption, o.SpoolMaxBytes)
	}
	switch o.Route {
	case RouteAuto, RouteIngest, RouteBatch:
	default:
		return fmt.Errorf("%w: Route %q: want %q, %q or empty (auto)", ErrInvalidOption, o.Route, RouteIngest, RouteBatch)
	}
	if o.VisitorIDs != "" {
		m, err := visitorid.ParseMode(o.VisitorIDs)
		if err != nil {
			return fmt.Errorf("%w: VisitorIDs: %w", ErrInvalidOption, err)
		}
		o.VisitorIDs = string(m)
	}
	if o.VisitorSalt != "" && o.VisitorIDs != "" && o.VisitorIDs != VisitorIDsSalted {
		return fmt.Errorf("%w: VisitorSalt is the key of VisitorIDs %q, not of %q", ErrInvalidOption, VisitorIDsSalted, o.VisitorIDs)
	}
	if _, err := spool.ParseSync(o.SpoolSync); err != nil {
		return fmt.Errorf("%w: SpoolSync: %w", ErrInvalidOption, err)
	}
	if o.SettingsRefreshInterval == 0 {
		o.SettingsRefreshInterval = 5 * time.Minute
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return nil
}
