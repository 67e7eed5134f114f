// Command skopos is Skopos in one binary: PocketBase embedded as a Go
// framework with the Skopos plugin registered.
//
//	skopos serve [--http 127.0.0.1:8090] [--dir ./pb_data]
//	skopos site add --domain example.com [--name "My site"] [--dir ./pb_data]
//	skopos schema apply --url http://127.0.0.1:8090 --email E --password P
//	skopos import plausible|umami <export> --site <trackingId> [--dir ./pb_data]
//
// Every PocketBase command and flag is available as well (superuser,
// migrate, --dev, ...). Environment: SKOPOS_ADMIN_EMAIL and
// SKOPOS_ADMIN_PASSWORD name the superuser created on the first start
// (without them one is generated and its password printed once);
// SKOPOS_GEOIP_DB is a .mmdb file for country/state; SKOPOS_VISITOR_IDS
// is salted (default), daily or compatible, and SKOPOS_VISITOR_SALT the
// salted mode's own key; SKOPOS_TRUSTED_PROXIES (comma-separated CIDRs)
// replaces the default trusted proxies (loopback only);
// SKOPOS_METRICS_TOKEN serves Prometheus metrics at /metrics behind that
// bearer token; SKOPOS_BOT_PATTERNS names a file of extra bot patterns;
// SKOPOS_FETCH_PRIVATE=on lets SEO analyses fetch private addresses;
// SKOPOS_QUERY_BUDGET bounds each report's time (a Go duration; default 5s);
// SKOPOS_PAGESPEED_URL and PAGESPEED_API_KEY configure PageSpeed Insights;
// SKOPOS_ENCRYPTION_KEY (or _FILE, or ENCRYPTION_KEY) is the key vault's key;
// SKOPOS_CLICKHOUSE_URL makes a ClickHouse server the events store
// (SKOPOS_CLICKHOUSE_CLUSTER: its cluster; docs/clickhouse.md).
package main

import (
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/pocketbase/pocketbase"
	"github.com/pocketbase/pocketbase/cmd"
	"github.com/skopos-go/skopos/plugin"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

func main() {
	// Not pocketbase.New(): it turns on dev mode (every SQL statement
	// logged) under `go run`, which is how the README starts the server.
	app := pocketbase.NewWithConfig(pocketbase.Config{DefaultDev: false, DBConnect: plugin.DBConnect})
	app.RootCmd.Use = "skopos"
	app.RootCmd.Short = "Skopos: privacy-first, self-hosted web analytics on PocketBase"

	err := plugin.Register(app, app.RootCmd, plugin.Config{
		AdminEmail:        os.Getenv("SKOPOS_ADMIN_EMAIL"),
		AdminPassword:     os.Getenv("SKOPOS_ADMIN_PASSWORD"),
		GenerateAdmin:     true,
		Demo:              true,
		GeoIPDatabase:     os.Getenv("SKOPOS_GEOIP_DB"),
		VisitorIDs:        os.Getenv("SKOPOS_VISITOR_IDS"),
		VisitorSalt:       os.Getenv("SKOPOS_VISITOR_SALT"),
		TrustedProxies:    splitList(os.Getenv("SKOPOS_TRUSTED_PROXIES")),
		MetricsToken:      os.Getenv("SKOPOS_METRICS_TOKEN"),
		SpoolDir:          os.Getenv("SKOPOS_SPOOL_DIR"),
		DisableSpool:      os.Getenv("SKOPOS_SPOOL") == "off",
		SpoolSync:         os.Getenv("SKOPOS_SPOOL_SYNC"),
		SpoolMaxBytes:     envBytes("SKOPOS_SPOOL_MAX_BYTES"),
		Signup:            signup(),
		AuthRateLimit:     5,
		RateLimit:         envRate("SKOPOS_RATE_LIMIT"),
		BotPatterns:       envLines("SKOPOS_BOT_PATTERNS"),
		FetchPrivate:      envSwitch("SKOPOS_FETCH_PRIVATE"),
		QueryBudget:       envDuration("SKOPOS_QUERY_BUDGET"),
		ClickHouseURL:     os.Getenv("SKOPOS_CLICKHOUSE_URL"),
		ClickHouseCluster: os.Getenv("SKOPOS_CLICKHOUSE_CLUSTER"),
		SEO: plugin.SEOConfig{
			PageSpeedURL: os.Getenv("SKOPOS_PAGESPEED_URL"),
			PageSpeedKey: os.Getenv("PAGESPEED_API_KEY"),
		},
		Uptime: plugin.UptimeConfig{
			Off:          os.Getenv("SKOPOS_UPTIME") == "off",
			MaxInFlight:  envInt("SKOPOS_UPTIME_MAX_IN_FLIGHT"),
			Retention:    time.Duration(envInt("SKOPOS_UPTIME_RETENTION_DAYS")) * 24 * time.Hour,
			MinInterval:  envDuration("SKOPOS_UPTIME_MIN_INTERVAL"),
			RecheckDelay: envDuration("SKOPOS_UPTIME_RECHECK"),
		},
		Notify: plugin.NotifyConfig{
			Off:         os.Getenv("SKOPOS_NOTIFY") == "off",
			HourlyLimit: envInt("SKOPOS_NOTIFY_HOURLY_LIMIT"),
			Window:      envDuration("SKOPOS_NOTIFY_WINDOW"),
		},
		EncryptionKey:     encryptionKey(),
		EncryptionKeyFile: os.Getenv("SKOPOS_ENCRYPTION_KEY_FILE"),
		AdoptBatchRows:    envInt("SKOPOS_ADOPT_BATCH_ROWS"),
	})
	if err != nil {
		fatal(2, err)
	}
	app.RootCmd.AddCommand(cmd.NewSuperuserCommand(app), cmd.NewServeCommand(app, true))
	code := 0 // a failed PocketBase command's (see reportErrors)
	reportErrors(app.RootCmd, &code)

	// PocketBase ignores the root command's error (an unknown command
	// would exit 0), so resolve the command first.
	c, rest, err := app.RootCmd.Find(os.Args[1:])
	if err != nil || (c == app.RootCmd && len(os.Args) > 1 && !strings.HasPrefix(os.Args[1], "-")) {
		if err == nil {
			err = fmt.Errorf("unknown command %q", os.Args[1])
		}
		fatal(2, err)
	}
	// and its flags: an unknown one (`serve --port 8080`) would be
	// swallowed the same way
	if !c.DisableFlagParsing {
		if err := c.ParseFlags(rest); err != nil && !errors.Is(err, pflag.ErrHelp) {
			fatal(2, fmt.Errorf("%s: %w", strings.TrimPrefix(c.CommandPath(), app.RootCmd.Name()+" "), err))
		}
	}
	if c.Name() == "serve" {
		checkListen(c)
	}
	if plugin.IsRemote(c) {
		// PocketBase's Execute would create ./pb_data first
		err = app.RootCmd.Execute()
	} else {
		// a failed Skopos command is the error, after the cleanups
		err = app.Execute()
	}
	var failed *plugin.ExitError
	switch {
	case errors.As(err, &failed):
		code = failed.Code // the command has reported it
	case err != nil:
		fatal(1, err)
	}
	os.Exit(code)
}

// checkListen fails early, with one line, when serve's address is taken:
// PocketBase would first create the data dir and the superuser (and print
// a generated password) and only then fail to bind.
func checkListen(c *cobra.Command) {
	for _, name := range []string{"http", "https"} {
		addr, err := c.Flags().GetString(name)
		if err != nil || addr == "" {
			continue
		}
		if !strings.Contains(addr, ":") { // a domain name: PocketBase serves it on :80/:443
			continue
		}
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			fatal(1, fmt.Errorf("serve: cannot listen on %s: %w", addr, errors.Unwrap(err)))
		}
		ln.Close()
	}
}

// reportErrors makes every PocketBase command that fails print one line
// on stderr and set *code to 1; PocketBase prints the error but exits 0.
// A Skopos command has reported its failure itself (*plugin.ExitError),
// which app.Execute returns.
func reportErrors(c *cobra.Command, code *int) {
	for _, sub := range c.Commands() {
		reportErrors(sub, code)
	}
	if c.RunE == nil {
		return
	}
	run := c.RunE
	c.SilenceErrors = true
	c.RunE = func(cmd *cobra.Command, args []string) error {
		err := run(cmd, args)
		var failed *plugin.ExitError
		if err == nil || errors.As(err, &failed) {
			return err
		}
		report(fmt.Errorf("%s: %w", cmd.CommandPath(), err))
		*code = 1
		return nil // reported, and code says it
	}
}

// splitList reads a comma- or space-separated list.
// envBytes reads a byte count such as 1073741824, 512MiB or 2GiB; an
// unreadable value stops the program rather than run with a budget the
// operator did not ask for.
func envBytes(name string) int64 {
	v := strings.TrimSpace(os.Getenv(name))
	if v == "" {
		return 0
	}
	mult := int64(1)
	for suffix, m := range map[string]int64{"KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30} {
		if strings.HasSuffix(v, suffix) {
			v, mult = strings.TrimSuffix(v, suffix), m
		}
	}
	n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
	if err != nil || n < 0 {
		fatal(2, fmt.Errorf("%s=%q: want a number of bytes such as 1073741824 or 1GiB", name, os.Getenv(name)))
	}
	return n * mult
}

// envRate reads events per second per client address; "off" turns the
// limit off, empty keeps the default.
func envRate(name string) float64 {
	v := strings.TrimSpace(os.Getenv(name))
	switch v {
	case "":
		return 0
	case "off":
		return -1
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || f <= 0 {
		fatal(2, fmt.Errorf("%s=%q: want events per second per client address (e.g. 20) or off", name, v))
	}
	return f
}

// envInt reads a non-negative integer variable (empty: 0, the default).
func envInt(name string) int {
	v := strings.TrimSpace(os.Getenv(name))
	if v == "" {
		return 0
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		fatal(2, fmt.Errorf("%s=%q: want a whole number >= 0", name, v))
	}
	return n
}

// envDuration reads a Go duration such as 90s or 2m (empty: 0, the
// default).
func envDuration(name string) time.Duration {
	v := strings.TrimSpace(os.Getenv(name))
	if v == "" {
		return 0
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < 0 {
		fatal(2, fmt.Errorf("%s=%q: want a duration such as 90s or 2m", name, v))
	}
	return d
}

// envSwitch reads an on/off variable (on, true, 1 / off, false, 0, empty).
func envSwitch(name string) bool {
	switch v := strings.ToLower(strings.TrimSpace(os.Getenv(name))); v {
	case "on", "true", "1", "yes":
		return true
	case "", "off", "false", "0", "no":
		return false
	default:
		fatal(2, fmt.Errorf("%s=%q: want on or off", name, v))
		return false
	}
}

// encryptionKey reads SKOPOS_ENCRYPTION_KEY, or the Skopos dashboard's
// ENCRYPTION_KEY so that a migrated installation's keys keep opening;
// both set to different keys is an error (the rows sealed under one of
// them would silently stop opening).
func encryptionKey() string {
	ours, theirs := strings.TrimSpace(os.Getenv("SKOPOS_ENCRYPTION_KEY")), strings.TrimSpace(os.Getenv("ENCRYPTION_KEY"))
	if ours != "" && theirs != "" && !strings.EqualFold(ours, theirs) {
		fatal(2, errors.New("SKOPOS_ENCRYPTION_KEY and ENCRYPTION_KEY are set to different keys: keep one (to change keys, see `skopos vault rotate`)"))
	}
	if ours != "" {
		return ours
	}
	return theirs
}

// signup reads SKOPOS_SIGNUP: sign-up is off unless it says on.
func signup() string {
	switch v := strings.ToLower(strings.TrimSpace(os.Getenv("SKOPOS_SIGNUP"))); v {
	case "", "off":
		return "off"
	case "on":
		return "on"
	default:
		fatal(2, fmt.Errorf("SKOPOS_SIGNUP=%q: want on or off", v))
		return ""
	}
}

// envLines reads the lines of the file the variable name names (none when
// unset); an unreadable file is a start-up error.
func envLines(name string) []string {
	path := strings.TrimSpace(os.Getenv(name))
	if path == "" {
		return nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		fatal(2, fmt.Errorf("%s: %w", name, err))
	}
	return strings.Split(string(b), "\n")
}

func splitList(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' })
}

// report prints err as one line on stderr.
func report(err error) {
	fmt.Fprintln(os.Stderr, "skopos: "+strings.Join(strings.Fields(err.Error()), " "))
}

func fatal(code int, err error) {
	report(err)
	os.Exit(code)
}
