// Command skopos-load is a load generator for a Skopos-style event endpoint
// (POST /api/event of `skopos serve`, or the Handler of an app using the
// SDK). It sends realistic browser beacons and, given PocketBase
// credentials, checks that every accepted event was stored.
//
// Usage:
//
//	# 20 000 events from 2 000 visitors, 32 at a time, against `skopos serve`,
//	# verifying the demo website's stored events:
//	skopos-load -url http://127.0.0.1:8090/api/event \
//	    -events 20000 -visitors 2000 -concurrency 32 \
//	    -pb-url http://127.0.0.1:8090 -pb-email admin@example.com -pb-password secret \
//	    -site <trackingId>
//
//	# Send for one minute without verification:
//	skopos-load -url http://127.0.0.1:3000/api/event -duration 1m
//
// # Requests
//
// Each visitor is a stable triple of a public client IP (a distinct address
// of 198.18.0.0/15, the RFC 2544 benchmarking range, sent as
// X-Forwarded-For), a user agent out of a set of current desktop and mobile
// browsers (Chrome, Firefox, Safari, Edge; Windows, macOS, Linux, Android,
// iOS) and an Accept-Language. The tool connects from loopback, which Skopos
// trusts as a proxy by default, so the server believes X-Forwarded-For; an
// endpoint that does not trust the tool's address sees one visitor per user
// agent. Requests carry the headers navigator.sendBeacon sends (Accept */*,
// Accept-Language, Accept-Encoding, Sec-Fetch-*, Chromium client hints,
// Content-Type text/plain;charset=UTF-8, Origin and Referer of the page), so
// they pass the bot filter. Event j belongs to visitor j mod -visitors;
// about 85 % are page views spread over 50 paths of -domain, 15 % custom
// events with customData. Everything derives from -seed, so runs are
// reproducible. Redirects are not followed and no proxy is used: only -url
// is ever contacted (besides -pb-url for verification).
//
// # Output
//
// Progress goes to stderr: one status line rewritten a few times a second on
// a terminal, a plain line every 2 s otherwise. The last stdout line is one
// JSON object (one line; wrapped here):
//
//	{"sent":20000,"accepted":20000,"rejected":0,"errors":0,"stored":20000,"lost":0,
//	"accept_per_s":4100.5,"stored_per_s":3900.2,"p50_ms":6.1,"p99_ms":31.4,"drain_s":0.3}
//
// The fields:
//
//   - sent: requests sent; sent = accepted + rejected.
//   - accepted: 2xx answers. rejected: everything else, including transport
//     errors (timeouts, refused connections), of which errors counts the
//     transport errors alone.
//   - stored: the growth of the site's event count in PocketBase since the
//     run started; lost = accepted − stored. Both are -1 without
//     verification (-pb-url unset).
//   - accept_per_s: accepted / the time spent sending. stored_per_s: stored
//     / the time from the first request until the count reached its final
//     value (0 without verification).
//   - p50_ms, p99_ms: latency percentiles of the answered requests.
//   - drain_s: how long after the last answer the count reached its final
//     value (the backlog left when the burst ended; 0 without
//     verification), within the poll interval.
//
// After sending, the count is polled until stored = accepted, or until it has
// not grown for -settle.
//
// The exit status is 2 on bad flags and 1 when verification cannot start
// (PocketBase unreachable, wrong credentials, unknown trackingId), each with
// a one-line error on stderr. A finished run exits 0 whatever it measured:
// read "lost" and "rejected" from the JSON.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"
)

// config is the parsed command line.
type config struct {
	URL         string
	Events      int
	Duration    time.Duration
	Visitors    int
	Concurrency int
	Domain      string
	Scheme      string
	PBURL       string
	PBEmail     string
	PBPassword  string
	Site        string
	Settle      time.Duration
	Timeout     time.Duration
	Seed        uint64
}

// usageError is a bad command line (exit status 2).
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func parseFlags(args []string, stderr io.Writer) (config, error) {
	var c config
	fs := flag.NewFlagSet("skopos-load", flag.ContinueOnError)
	fs.SetOutput(io.Discard) // errors are reported in one line by run
	fs.StringVar(&c.URL, "url", "", "event endpoint, e.g. http://127.0.0.1:8090/api/event (required); several, comma-separated, are used round-robin per visitor (each visitor's requests alternate)")
	fs.IntVar(&c.Events, "events", 20000, "total events to send (ignored with -duration)")
	fs.DurationVar(&c.Duration, "duration", 0, "send until this much time has elapsed, instead of -events")
	fs.IntVar(&c.Visitors, "visitors", 2000, "distinct visitors (IP, user agent, language)")
	fs.IntVar(&c.Concurrency, "concurrency", 32, "requests in flight")
	fs.StringVar(&c.Domain, "domain", "localhost", "host of the page URLs (the website's domain)")
	fs.StringVar(&c.Scheme, "page-scheme", "http", "scheme of the page URLs and Origin: http or https")
	fs.StringVar(&c.PBURL, "pb-url", "", "PocketBase URL; turns on verification of stored events")
	fs.StringVar(&c.PBEmail, "pb-email", "", "PocketBase superuser e-mail")
	fs.StringVar(&c.PBPassword, "pb-password", "", "PocketBase superuser password")
	fs.StringVar(&c.Site, "site", "", "trackingId of the website whose events are counted")
	fs.DurationVar(&c.Settle, "settle", 15*time.Second, "stop waiting for stored events after the count has not grown for this long")
	fs.DurationVar(&c.Timeout, "timeout", 10*time.Second, "timeout of one request")
	fs.Uint64Var(&c.Seed, "seed", 1, "seed of the generated traffic")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: skopos-load -url URL [-events N | -duration D] [-visitors N] [-concurrency N] [-pb-url U -pb-email E -pb-password P -site ID]")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fs.SetOutput(stderr)
			fs.Usage()
			return c, err
		}
		return c, usageError{err.Error()}
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	bad := func(format string, a ...any) (config, error) { return c, usageError{fmt.Sprintf(format, a...)} }

	switch {
	case fs.NArg() > 0:
		return bad("unexpected argument %q", fs.Arg(0))
	case c.URL == "":
		return bad("-url is required")
	case set["events"] && set["duration"]:
		return bad("-events and -duration are alternatives; give one")
	case c.Duration < 0:
		return bad("-duration must be positive")
	case c.Duration == 0 && c.Events < 1:
		return bad("-events must be at least 1")
	case c.Visitors < 1 || c.Visitors > maxVisitors:
		return bad("-visitors must be between 1 and %d", maxVisitors)
	case c.Concurrency < 1:
		return bad("-concurrency must be at least 1")
	case c.Timeout <= 0:
		return bad("-timeout must be positive")
	case c.Settle <= 0:
		return bad("-settle must be positive")
	case c.Scheme != "http" && c.Scheme != "https":
		return bad("-page-scheme must be http or https")
	case c.Domain == "" || strings.ContainsAny(c.Domain, "/?#@ "):
		return bad("-domain must be a host name, e.g. example.com")
	}
	for _, u := range strings.Split(c.URL, ",") {
		if err := checkURL("-url", u); err != nil {
			return c, err
		}
	}
	if c.PBURL == "" {
		for _, f := range []string{"pb-email", "pb-password", "site"} {
			if set[f] {
				return bad("-%s needs -pb-url", f)
			}
		}
		return c, nil
	}
	if err := checkURL("-pb-url", c.PBURL); err != nil {
		return c, err
	}
	switch {
	case c.Site == "":
		return bad("-site (the website's trackingId) is required with -pb-url")
	case c.PBEmail == "" || c.PBPassword == "":
		return bad("-pb-email and -pb-password are required with -pb-url")
	}
	return c, nil
}

func checkURL(name, raw string) error {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return usageError{fmt.Sprintf("%s must be an absolute http(s) URL, got %q", name, raw)}
	}
	return nil
}

// result is the final JSON line.
type result struct {
	Sent       int64   `json:"sent"`
	Accepted   int64   `json:"accepted"`
	Rejected   int64   `json:"rejected"`
	Errors     int64   `json:"errors"`
	Stored     int64   `json:"stored"`
	Lost       int64   `json:"lost"`
	AcceptPerS float64 `json:"accept_per_s"`
	StoredPerS float64 `json:"stored_per_s"`
	P50ms      float64 `json:"p50_ms"`
	P99ms      float64 `json:"p99_ms"`
	DrainS     float64 `json:"drain_s"`
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run is the whole command; it returns the exit status.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	cfg, err := parseFlags(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "skopos-load: %v\n", err)
		return 2
	}

	var v *verifier
	if cfg.PBURL != "" {
		v, err = newVerifier(ctx, cfg)
		if err != nil {
			fmt.Fprintf(stderr, "skopos-load: cannot verify: %v\n", err)
			return 1
		}
	}

	prog := newProgress(stderr)
	st := send(ctx, cfg, prog)
	prog.finish()
	if why := st.describeRejects(); why != "" {
		fmt.Fprintf(stderr, "rejected: %s\n", why)
	}

	res := result{
		Sent:     st.accepted + st.rejected,
		Accepted: st.accepted,
		Rejected: st.rejected,
		Errors:   st.errors,
		Stored:   -1,
		Lost:     -1,
		P50ms:    round(percentile(st.latencies, 50).Seconds()*1000, 3),
		P99ms:    round(percentile(st.latencies, 99).Seconds()*1000, 3),
	}
	if secs := st.elapsed.Seconds(); secs > 0 {
		res.AcceptPerS = round(float64(st.accepted)/secs, 1)
	}
	if v != nil {
		stored, reached := v.wait(ctx, st.accepted, cfg.Settle, stderr)
		res.Stored = stored
		res.Lost = st.accepted - stored
		if secs := reached.Sub(st.start).Seconds(); secs > 0 && stored > 0 {
			res.StoredPerS = round(float64(stored)/secs, 1)
		}
		res.DrainS = round(max(reached.Sub(st.start.Add(st.elapsed)).Seconds(), 0), 3)
	}
	line, _ := json.Marshal(res)
	fmt.Fprintf(stdout, "%s\n", line)
	return 0
}
