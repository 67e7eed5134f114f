// Package notify evaluates the notification rules (notyf_rules) and
// delivers what they match, by email and signed webhook, through an
// outbox (notyf_deliveries).
//
//	n := notify.New(app, notify.Options{HTTP: safefetch.NewClient(safefetch.Options{})})
//	n.Start()
//	defer n.Close(ctx)
//	// the writer, after each commit:
//	n.Wake()
//	// the uptime checker, on a change of status:
//	n.UptimeChanged(site, true, incident.Id, "HTTP 503")
//
// Rules are evaluated off the intake's hot path: Wake only signals a
// goroutine, which reads the rows stored since its persisted cursors
// (skopos_state) and inserts a delivery per matching rule, event and
// channel. The outbox's unique (rule, eventKey, channel) is what makes a
// notification exactly-once: an event read again after a restart finds
// its delivery there. A second goroutine sends the pending deliveries,
// retries failures with backoff, and folds a rule's messages beyond its
// hourly limit into one digest, so that neither a failing SMTP server
// nor a burst of events slows the evaluation or floods a recipient.
package notify
