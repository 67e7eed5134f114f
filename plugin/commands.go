package plugin

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/pocketbase/pocketbase/core"
	"github.com/skopos-go/skopos/internal/adopt"
	"github.com/spf13/cobra"
)

// ExitError is the failure of a command Skopos added: the command has
// printed it to stderr as one line, and Code is the exit status it asks
// for (2 for a usage error, else 1). The library never exits the process:
// PocketBase ignores the error a command returns (app.Start and
// app.Execute return only the terminate hooks' error), so Skopos returns
// it from an OnTerminate hook, and your main decides:
//
//	if err := app.Start(); err != nil {
//		var failed *plugin.ExitError
//		if errors.As(err, &failed) {
//			os.Exit(failed.Code) // already reported
//		}
//		log.Fatal(err)
//	}
//
// A main that ends in log.Fatal(err) alone exits 1 (and prints the error
// a second time). rootCmd.Execute(), for a main that runs a command
// without PocketBase's Execute (see RemoteOnly), returns it directly.
type ExitError struct {
	Code int
	Err  error
}

func (e *ExitError) Error() string { return e.Err.Error() }

func (e *ExitError) Unwrap() error { return e.Err }

// cli builds the Skopos commands and keeps the first failure among them
// for the terminate hook.
type cli struct {
	*plugin
	failed *ExitError
}

// addCommands adds the Skopos commands to rootCmd, and makes
// app.Execute return the failure of one of them.
func (p *plugin) addCommands(rootCmd *cobra.Command) {
	c := &cli{plugin: p}
	rootCmd.AddCommand(c.siteCommand(), c.schemaCommand(), c.retentionCommand(), c.reportsCommand(), c.vaultCommand(),
		c.migrateCommand(), c.importCommand(), c.clickhouseCommand())
	p.app.OnTerminate().BindFunc(func(e *core.TerminateEvent) error {
		if err := e.Next(); err != nil || c.failed == nil {
			return err
		}
		return c.failed
	})
}

// runE adapts fn so that a failure prints one line to stderr and returns
// an *ExitError with code 1.
func (c *cli) runE(fn func(cmd *cobra.Command, args []string) error) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		if err := fn(cmd, args); err != nil {
			return c.fail(cmd, 1, err)
		}
		return nil
	}
}

func (c *cli) fail(cmd *cobra.Command, code int, err error) error {
	msg := strings.Join(strings.Fields(err.Error()), " ") // one line
	// os.Stderr, not cmd.ErrOrStderr(): PocketBase's colored error writer
	// prints to stdout, where scripts read the trackingId
	fmt.Fprintf(os.Stderr, "%s: %s\n", cmd.CommandPath(), msg)
	failed := &ExitError{Code: code, Err: fmt.Errorf("%s: %w", cmd.CommandPath(), err)}
	if c.failed == nil {
		c.failed = failed
	}
	return failed
}

// command sets what every Skopos command shares: errors are one line on
// stderr and an *ExitError (flag errors with code 2), never cobra's usage
// text.
func (c *cli) command(cmd *cobra.Command) *cobra.Command {
	cmd.SilenceUsage = true
	cmd.SilenceErrors = true
	cmd.SetFlagErrorFunc(func(cmd *cobra.Command, err error) error {
		return c.fail(cmd, 2, err)
	})
	if cmd.Run == nil && cmd.RunE == nil { // a group: unknown subcommand is an error
		cmd.Args = cobra.NoArgs
		cmd.RunE = c.runE(func(cmd *cobra.Command, _ []string) error {
			return errors.New("missing subcommand; see --help")
		})
	}
	return cmd
}

func (c *cli) siteCommand() *cobra.Command {
	site := c.command(&cobra.Command{Use: "site", Short: "Manage Skopos websites"})
	var dom, name, home, url, email, password string
	add := c.command(&cobra.Command{
		Use:   "add --domain DOMAIN [--name NAME] [--url URL --email EMAIL --password PASSWORD]",
		Short: "Add a website and print its trackingId: in the local data dir (with the server running or not), or on a remote PocketBase with --url",
		Args:  cobra.NoArgs,
		// with --url (or POCKETBASE_URL) it talks to that server only
		Annotations: map[string]string{RemoteOnly: "url"},
		RunE: c.runE(func(cmd *cobra.Command, _ []string) error {
			if strings.TrimSpace(dom) == "" {
				return errors.New("--domain is required")
			}
			if url = firstNonEmpty(url, os.Getenv("POCKETBASE_URL")); url != "" {
				ctx, cancel := context.WithTimeout(cmd.Context(), time.Minute)
				defer cancel()
				return addRemoteWebsite(ctx, cmd.OutOrStdout(), url,
					firstNonEmpty(email, os.Getenv("POCKETBASE_ADMIN_EMAIL")), firstNonEmpty(password, os.Getenv("POCKETBASE_ADMIN_PASSWORD")),
					strings.TrimSpace(name), dom, home)
			}
			if err := c.migrate(c.app); err != nil {
				return err
			}
			rec, err := createWebsite(c.app, strings.TrimSpace(name), dom, home)
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
	add.Flags().StringVar(&home, "home", "", "the home page the SEO analysis fetches, e.g. https://www.example.com/ (default https://<domain>/)")
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
	case "dry-run": // reads the data dir's file itself, changing nothing
		dry, _ := c.Flags().GetBool("dry-run")
		return dry
	}
	return false
}

// migrateCommand applies Skopos' migrations to the local data dir without
// serving; on a Skopos Node data dir that is the adoption (package adopt).
// With --dry-run it only prints what it would do, from the file alone.
func (c *cli) migrateCommand() *cobra.Command {
	var dry bool
	cmd := c.command(&cobra.Command{
		Use:         "migrate [--dir DIR] [--dry-run]",
		Short:       "Apply Skopos' schema to the data dir (adopting a Skopos Node installation); --dry-run prints what it would do and changes nothing",
		Args:        cobra.NoArgs,
		Annotations: map[string]string{RemoteOnly: "dry-run"},
		RunE: c.runE(func(cmd *cobra.Command, _ []string) error {
			out := cmd.OutOrStdout()
			if dry {
				plan, err := adopt.Inspect(filepath.Join(c.app.DataDir(), "data.db"))
				if err != nil {
					return err
				}
				plan.Print(out)
				return nil
			}
			if err := c.migrate(c.app); err != nil {
				return err
			}
			fmt.Fprintln(out, "the data dir is up to date")
			return nil
		}),
	})
	cmd.Flags().BoolVar(&dry, "dry-run", false, "print what would change and change nothing (not even the file's bytes)")
	return cmd
}

func (c *cli) schemaCommand() *cobra.Command {
	group := c.command(&cobra.Command{Use: "schema", Short: "Prepare a PocketBase for the Skopos SDK"})
	var url, email, password string
	var timeout time.Duration
	apply := c.command(&cobra.Command{
		Use:   "apply --url URL --email EMAIL --password PASSWORD",
		Short: "Create or update the Skopos collections and batch settings on a remote PocketBase (idempotent)",
		Args:  cobra.NoArgs,
		// it talks to a remote server only: no local data dir
		Annotations: map[string]string{RemoteOnly: "true"},
		RunE: c.runE(func(cmd *cobra.Command, _ []string) error {
			url = firstNonEmpty(url, os.Getenv("POCKETBASE_URL"))
			email = firstNonEmpty(email, os.Getenv("POCKETBASE_ADMIN_EMAIL"))
			password = firstNonEmpty(password, os.Getenv("POCKETBASE_ADMIN_PASSWORD"))
			ctx, cancel := context.WithTimeout(cmd.Context(), timeout)
			defer cancel()
			return applyRemote(ctx, cmd.OutOrStdout(), url, email, password, c.cfg.BatchMaxRequests)
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
