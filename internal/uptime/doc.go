// Package uptime monitors websites' home pages: a check every interval
// (with jitter, a bounded number in flight), incidents opened by a failed
// check and resolved by a confirmed recovery, the checks rolled up per day
// and pruned, and the report the dashboard and the REST API show.
//
//	m := uptime.NewMonitor(app, uptime.MonitorOptions{
//		Client:       safefetch.NewClient(safefetch.Options{}),
//		OnTransition: func(tr uptime.Transition) { /* notify: tr.Status is "down" or "up" */ },
//	})
//	m.Start()
//	defer m.Close(ctx)
//
// A check (Check) is the reference dashboard's: a GET following
// redirects, up for a final status 200–399, timed-out attempts retried
// twice, an http URL that fails tried once over https. The monitor
// stores each in uptime_checks and sets the website's currentStatus,
// lastUptimeCheck and certExpiry. A down check opens an incident
// (uptime_incidents); an up check while one is open asks for a re-check
// 15 s later, and only a second up check resolves it, so a flapping site
// is one outage, not many. The state is the store's, so a restarted
// monitor continues the outage it finds open.
//
// RollUp (hourly in the monitor) writes one uptime_days row per website
// and UTC day and deletes the raw checks of whole days older than the
// retention; Read combines both, so the uptime of a window reads the
// same before and after the pruning.
package uptime
