package plugin

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/skopos-go/skopos/internal/chmigrate"
	"github.com/skopos-go/skopos/internal/clickhouse"
	"github.com/spf13/cobra"
)

// clickhouseCommand is `skopos clickhouse schema|migrate`: the ClickHouse
// events store's tables, and the copy of a SQLite history into them
// (docs/clickhouse.md).
func (c *cli) clickhouseCommand() *cobra.Command {
	group := c.command(&cobra.Command{Use: "clickhouse",
		Short: "The ClickHouse events store: create its tables, copy the SQLite history into them"})
	var url, cluster string
	group.PersistentFlags().StringVar(&url, "url", "",
		"the server, http[s]://[user[:password]@]host[:port][/database] (default $SKOPOS_CLICKHOUSE_URL; database skopos)")
	group.PersistentFlags().StringVar(&cluster, "cluster", "",
		"create the tables on this cluster: Replicated tables and a Distributed table over the shards (default $SKOPOS_CLICKHOUSE_CLUSTER)")
	connect := func(ctx context.Context, out io.Writer) (*clickhouse.Client, error) {
		u := firstNonEmpty(url, os.Getenv("SKOPOS_CLICKHOUSE_URL"))
		if u == "" {
			return nil, errors.New("no server: give --url or set SKOPOS_CLICKHOUSE_URL")
		}
		o, err := clickhouse.ParseURL(u)
		if err != nil {
			return nil, err
		}
		ch := clickhouse.New(o)
		v, err := ch.ServerVersion(ctx)
		if err != nil {
			return nil, err
		}
		fmt.Fprintf(out, "ClickHouse %s at %s, database %s\n", v, o.URL, o.Database)
		for _, stmt := range clickhouse.Schema(clickhouse.SchemaOptions{Database: o.Database,
			Cluster: firstNonEmpty(cluster, os.Getenv("SKOPOS_CLICKHOUSE_CLUSTER"))}) {
			if err := ch.Exec(ctx, stmt); err != nil {
				return nil, err
			}
		}
		return ch, nil
	}
	schemaCmd := c.command(&cobra.Command{
		Use:   "schema",
		Short: "Create the events store's database and tables (IF NOT EXISTS: running it again changes nothing)",
		Args:  cobra.NoArgs,
		RunE: c.runE(func(cmd *cobra.Command, _ []string) error {
			ctx, cancel := context.WithTimeout(cmd.Context(), time.Minute)
			defer cancel()
			if _, err := connect(ctx, cmd.OutOrStdout()); err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), "tables ready: events, sessions, js_errors, engagement")
			return nil
		}),
	})
	var page int
	migrate := c.command(&cobra.Command{
		Use: "migrate",
		Short: "Copy this data dir's events, sessions and JS errors into ClickHouse " +
			"(resumable: run it again after an interruption; stop the server first)",
		Args: cobra.NoArgs,
		RunE: c.runE(func(cmd *cobra.Command, _ []string) error {
			out := cmd.OutOrStdout()
			if err := c.migrate(c.app); err != nil {
				return err
			}
			ch, err := connect(cmd.Context(), out)
			if err != nil {
				return err
			}
			last := time.Now()
			res, err := chmigrate.Copy(cmd.Context(), c.app, ch, chmigrate.Options{Page: page,
				Progress: func(table string, copied, total int64) error {
					if copied == total || time.Since(last) > 5*time.Second {
						last = time.Now()
						fmt.Fprintf(out, "%s: %d of %d rows\n", table, copied, total)
					}
					return nil
				}})
			fmt.Fprintf(out, "copied this run: %d sessions, %d events, %d JS error groups\n", res.Sessions, res.Events, res.JSErrors)
			return err
		}),
	})
	migrate.Flags().IntVar(&page, "page", 50_000, "rows per INSERT")
	group.AddCommand(schemaCmd, migrate)
	return group
}
