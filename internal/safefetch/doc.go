// Package safefetch is the one HTTP client the server uses to fetch what a
// user names: a website's pages for the SEO analysis, and later uptime
// checks and webhooks.
//
//	client := safefetch.NewClient(safefetch.Options{UserAgent: "Skopos-SEO/" + version})
//	resp, err := client.Get("https://www.example.com/")
//	if errors.Is(err, safefetch.ErrForbiddenAddress) {
//		// the name resolved to 127.0.0.1, 10.0.0.5, 169.254.169.254, ...
//	}
//
// A URL typed into the dashboard is attacker-controlled: without care the
// server would fetch its own admin port, a database on the private network
// or the cloud metadata service and show the answer to whoever asked. The
// client therefore checks the address it actually connects to, at connect
// time, after DNS resolution and on every redirect hop, so a name that
// resolves to a public address at first and to 127.0.0.1 a second later
// (DNS rebinding) is refused too. It also ignores proxy settings from the
// environment (a proxy would connect on its behalf, unchecked), caps
// redirects, body size and time, and names itself with its user agent.
//
// Options.AllowPrivate (SKOPOS_FETCH_PRIVATE=on in the server) lifts the
// address check for intranets and tests; Options.Allow lifts it for a few
// ranges only.
package safefetch
