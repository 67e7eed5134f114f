// Package skopos is the Go SDK of Skopos, privacy-first web analytics that
// stores everything in PocketBase.
//
// A Client records page views, custom events and JavaScript errors sent by
// the browser script (skopos.js) to your app, and server-side events from
// your own handlers, into a PocketBase prepared with `skopos schema apply`:
//
//	client, err := skopos.Init(ctx, skopos.Options{
//		SiteID:        os.Getenv("SKOPOS_SITE_ID"), // the website's trackingId
//		PocketBaseURL: "http://127.0.0.1:8090",
//		AdminEmail:    os.Getenv("POCKETBASE_ADMIN_EMAIL"),
//		AdminPassword: os.Getenv("POCKETBASE_ADMIN_PASSWORD"),
//	})
//	if err != nil {
//		log.Fatal(err) // errors.Is(err, skopos.ErrWebsiteNotFound), ...
//	}
//	defer client.Shutdown(context.Background())
//
//	http.Handle("/api/event", client.Handler())    // the browser endpoint
//	http.Handle("/skopos.js", skopos.ScriptHandler()) // the browser script
//
// Tracking calls validate synchronously and never wait on I/O: events are
// filtered (domain, bots, IP blacklist, localhost, archived site), given a
// cookieless visitor id, queued (bounded by Options.QueueSize) and written
// by one background worker through PocketBase's batch API, one transaction
// per chunk, with retries. Every event that is not stored is counted by
// reason in Stats and in the Prometheus Collector. Sessions continue across
// restarts and several instances, and the summaries (dash_sum hourly,
// dash_sum_items daily) are written in the same transactions as the
// events.
//
// Website settings (domain, IP blacklist, localhost tracking, archived,
// storeRawIp) follow PocketBase realtime updates.
//
// To run Skopos without writing Go, use the skopos binary (cmd/skopos): the
// same pipeline inside an embedded PocketBase, with a dashboard.
package skopos
