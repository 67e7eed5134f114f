package plugin

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
)

// exit is os.Exit; PocketBase ignores the error a command returns and
// exits 0, so a failing Skopos command reports and exits by itself.
var exit = os.Exit

// runE adapts fn so that a failure prints one line to stderr and exits
// non-zero after closing the app's databases.
func (p *plugin) runE(fn func(cmd *cobra.Command, args []string) error) func(*cobra.Command, []string) {
	return func(cmd *cobra.Command, args []string) {
		if err := fn(cmd, args); err != nil {
			p.fail(cmd, 1, err)
		}
	}
}

func (p *plugin) fail(cmd *cobra.Command, code int, err error) {
	msg := strings.Join(strings.Fields(err.Error()), " ") // one line
	// os.Stderr, not cmd.ErrOrStderr(): PocketBase's colored error writer
	// prints to stdout, where scripts read the trackingId
	fmt.Fprintf(os.Stderr, "%s: %s\n", cmd.CommandPath(), msg)
	_ = p.app.ResetBootstrapState()
	exit(code)
}

// command sets what every Skopos command shares: flag errors exit 2 with
// one line instead of being swallowed.
func (p *plugin) command(c *cobra.Command) *cobra.Command {
	c.SilenceUsage = true
	c.SilenceErrors = true
	c.SetFlagErrorFunc(func(cmd *cobra.Command, err error) error {
		p.fail(cmd, 2, err)
		return err
	})
	if c.Run == nil && c.RunE == nil { // a group: unknown subcommand is an error
		c.Args = cobra.NoArgs
		c.Run = p.runE(func(cmd *cobra.Command, _ []string) error {
			return errors.New("missing subcommand; see --help")
		})
	}
	return c
}

func (p *plugin) siteCommand() *cobra.Command {
	site := p.command(&cobra.Command{Use: "site", Short: "Manage Skopos websites"})
	var dom, name, url, email, password string
	add := p.command(&cobra.Command{
		Use:   "add --domain DOMAIN [--name NAME] [--url URL --email EMAIL --password PASSWORD]",
		Short: "Add a website and print its trackingId: in the local data dir (with the server running or not), or on a remote PocketBase with --url",
		Args:  cobra.NoArgs,
		// with --url (or POCKETBASE_URL) it talks to that server only
		Annotations: map[string]string{RemoteOnly: "url"},
		Run: p.runE(func(cmd *cobra.Command, _ []string) error {
			if strings.TrimSpace(dom) == "" {
				return errors.New("--domain is required")
			}
			if url = firstNonEmpty(url, os.Getenv("POCKETBASE_URL")); url != "" {
				ctx, cancel := context.WithTimeout(cmd.Context(), time.Minute)
				defer cancel()
				return addRemoteWebsite(ctx, cmd.OutOrStdout(), url,
					firstNonEmpty(email, os.Getenv("POCKETBASE_ADMIN_EMAIL")), firstNonEmpty(password, os.Getenv("POCKETBASE_ADMIN_PASSWORD")),
					strings.TrimSpace(name), dom)
			}
			if err := p.migrate(p.app); err != nil {
				return err
			}
			rec, err := createWebsite(p.app, strings.TrimSpace(name), dom)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "website %q added for domain %s\n", rec.GetString("name"), rec.GetString("domain"))
			fmt.Fprintln(out, rec.GetString("trackingId"))
			return nil
		}),
	})
	add.Flags().StringVar(&dom, "domain", "", "the website's domain, e.g. example.com (subdomains are included)")
	add.Flags().StringVar(&name, "name", "", "display name (default: the domain)")
	add.Flags().StringVar(&url, "url", "", "a remote PocketBase (env POCKETBASE_URL) instead of the local data dir")
	add.Flags().StringVar(&email, "email", "", "its superuser email (env POCKETBASE_ADMIN_EMAIL)")
	add.Flags().StringVar(&password, "password", "", "its superuser password (env POCKETBASE_ADMIN_PASSWORD)")
	site.AddCommand(add)
	return site
}

// RemoteOnly is the annotation of commands that only talk to a remote
// server ("true"), or do when their --url flag or POCKETBASE_URL is set
// ("url"): a main that runs them through cobra directly, not through
// PocketBase's Execute, leaves no local data dir behind (`skopos` does,
// see IsRemote).
const RemoteOnly = "skopos.remoteOnly"

// IsRemote reports whether c, with its flags parsed, will only talk to a
// remote server (RemoteOnly).
func IsRemote(c *cobra.Command) bool {
	switch c.Annotations[RemoteOnly] {
	case "true":
		return true
	case "url":
		return c.Flags().Changed("url") || os.Getenv("POCKETBASE_URL") != ""
	}
	return false
}

func (p *plugin) schemaCommand() *cobra.Command {
	group := p.command(&cobra.Command{Use: "schema", Short: "Prepare a PocketBase for the Skopos SDK"})
	var url, email, password string
	var timeout time.Duration
	apply := p.command(&cobra.Command{
		Use:   "apply --url URL --email EMAIL --password PASSWORD",
		Short: "Create or update the Skopos collections and batch settings on a remote PocketBase (idempotent)",
		Args:  cobra.NoArgs,
		// it talks to a remote server only: no local data dir
		Annotations: map[string]string{RemoteOnly: "true"},
		Run: p.runE(func(cmd *cobra.Command, _ []string) error {
			url = firstNonEmpty(url, os.Getenv("POCKETBASE_URL"))
			email = firstNonEmpty(email, os.Getenv("POCKETBASE_ADMIN_EMAIL"))
			password = firstNonEmpty(password, os.Getenv("POCKETBASE_ADMIN_PASSWORD"))
			ctx, cancel := context.WithTimeout(cmd.Context(), timeout)
			defer cancel()
			return applyRemote(ctx, cmd.OutOrStdout(), url, email, password, p.cfg.BatchMaxRequests)
		}),
	})
	apply.Flags().StringVar(&url, "url", "", "PocketBase URL (env POCKETBASE_URL)")
	apply.Flags().StringVar(&email, "email", "", "superuser email (env POCKETBASE_ADMIN_EMAIL)")
	apply.Flags().StringVar(&password, "password", "", "superuser password (env POCKETBASE_ADMIN_PASSWORD)")
	apply.Flags().DurationVar(&timeout, "timeout", time.Minute, "give up after this long")
	group.AddCommand(apply)
	return group
}

func firstNonEmpty(a, b string) string {
	if a != "" {
		return a
	}
	return b
}
