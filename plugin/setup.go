package plugin

import (
	"crypto/rand"
	"fmt"
	"net"

	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tools/types"
	"github.com/skopos-go/skopos/internal/superuser"
)

// ensureSuperuser creates the configured superuser, or with GenerateAdmin
// one with a random password when there is none at all.
func (p *plugin) ensureSuperuser(app core.App) error {
	email, password := p.cfg.AdminEmail, p.cfg.AdminPassword
	generated := false
	if email == "" {
		if !p.cfg.GenerateAdmin {
			return nil
		}
		n, err := app.CountRecords(core.CollectionNameSuperusers)
		if err != nil || n > 0 {
			return err
		}
		email, password, generated = "admin@example.com", rand.Text(), true
	}
	if _, err := superuser.Ensure(app, email, password); err != nil {
		return fmt.Errorf("skopos: create superuser %s: %w", email, err)
	}
	if generated {
		fmt.Fprintf(p.cfg.Out, "superuser created (shown once): email %s password %s\n", email, password)
	}
	return nil
}

// printDemo prints the demo lines; the port is the one PocketBase listens on.
// printDashboard prints where the dashboard is: PocketBase's banner names
// only its own admin UI.
func (p *plugin) printDashboard(e *core.ServeEvent) {
	fmt.Fprintf(p.cfg.Out, "dashboard: http://localhost:%s%s/\n", servePort(e), DashboardPath)
}

func servePort(e *core.ServeEvent) string {
	addr := e.Server.Addr
	if e.Listener != nil {
		addr = e.Listener.Addr().String()
	}
	_, port, err := net.SplitHostPort(addr)
	if err != nil || port == "" {
		port = "80"
	}
	return port
}

func (p *plugin) printDemo(e *core.ServeEvent) {
	port := servePort(e)
	site, err := demoWebsite(e.App)
	if err != nil {
		fmt.Fprintf(p.cfg.Out, "demo website: none (%v)\n", err)
		return
	}
	fmt.Fprintf(p.cfg.Out, "demo: http://localhost:%s/demo\n", port)
	fmt.Fprintf(p.cfg.Out, "demo website trackingId: %s\n", site.GetString("trackingId"))
}

// applySignup sets who may create accounts (Config.Signup).
func (p *plugin) applySignup(app core.App) error {
	if p.cfg.Signup == "" {
		return nil
	}
	users, err := app.FindCollectionByNameOrId("users")
	if err != nil {
		return nil // no users collection: nobody can sign up anyway
	}
	var rule *string // nil: superusers only
	if p.cfg.Signup == "on" {
		rule = types.Pointer("")
	}
	if users.CreateRule == nil && rule == nil || users.CreateRule != nil && rule != nil && *users.CreateRule == *rule {
		return nil
	}
	users.CreateRule = rule
	if err := app.Save(users); err != nil {
		return fmt.Errorf("skopos: set sign-up %s: %w", p.cfg.Signup, err)
	}
	return nil
}
