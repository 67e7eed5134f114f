package plugin

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tools/types"
	"github.com/skopos-go/skopos/internal/store/chstore"
	"github.com/skopos-go/skopos/schema"
	"github.com/spf13/cobra"
)

// RetentionResult counts the rows a retention run deleted, by collection.
type RetentionResult map[string]int64

// RunRetention deletes, for every website whose dataRetentionDays is
// above 0, its data from before the cutoff (UTC midnight, that many days
// before now): events by timestamp, sessions by lastActivity, js_errors by
// lastSeen, dash_sum and dash_sum_items by date, and visitors created
// before the cutoff that are left without sessions; and notifications
// delivered (or given up) more than DeliveriesKept ago. With the
// ClickHouse events store (Config.ClickHouseURL), a website's events,
// sessions and JS errors are deleted there first (mutations), and a
// visitor is kept while ClickHouse holds a session of it. Each website is one
// transaction of bulk SQL deletes, not one request per record; record
// hooks do not run for these rows. Cancelling ctx stops it between (and
// within) statements; a website's transaction then rolls back.
func RunRetention(ctx context.Context, app core.App, now time.Time) (RetentionResult, error) {
	res := RetentionResult{}
	var sites []*core.Record
	err := app.RecordQuery(schema.Websites).WithContext(ctx).AndWhere(dbx.NewExp("dataRetentionDays > 0")).All(&sites)
	if err != nil {
		return nil, err
	}
	y, m, d := now.UTC().Date()
	today := time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
	events := eventsStoreOf(app)
	for _, site := range sites {
		day := today.AddDate(0, 0, -site.GetInt("dataRetentionDays"))
		cutoff := day.Format("2006-01-02 15:04:05.000Z")
		params := dbx.Params{"w": site.Id, "cutoff": cutoff}
		stmts := []struct{ collection, sql string }{
			{schema.Events, "DELETE FROM events WHERE website = {:w} AND timestamp < {:cutoff}"},
			{schema.JSErrors, "DELETE FROM js_errors WHERE website = {:w} AND lastSeen < {:cutoff}"},
			{schema.Sessions, "DELETE FROM sessions WHERE website = {:w} AND lastActivity < {:cutoff}"},
			{schema.DashSumItems, "DELETE FROM dash_sum_items WHERE website = {:w} AND date < {:cutoff}"},
			{schema.DashSum, "DELETE FROM dash_sum WHERE website = {:w} AND date < {:cutoff}"},
		}
		if events == nil {
			stmts = append(stmts, struct{ collection, sql string }{schema.Visitors, `DELETE FROM visitors WHERE website = {:w} AND created < {:cutoff}
				AND NOT EXISTS (SELECT 1 FROM sessions WHERE sessions.visitor = visitors.id)`})
		} else if err := events.Retain(ctx, site.Id, day); err != nil {
			// first, so that the visitors left without sessions are known
			return res, fmt.Errorf("skopos: retention for website %s: %w", site.Id, err)
		}
		err := app.RunInTransaction(func(tx core.App) error {
			for _, st := range stmts {
				r, err := tx.DB().NewQuery(st.sql).Bind(params).WithContext(ctx).Execute()
				if err != nil {
					return fmt.Errorf("retention %s: %w", st.collection, err)
				}
				n, _ := r.RowsAffected()
				res[st.collection] += n
			}
			if events == nil {
				return nil
			}
			n, err := retainVisitors(ctx, tx, events, site.Id, cutoff)
			res[schema.Visitors] += n
			return err
		})
		if err != nil {
			return res, fmt.Errorf("skopos: retention for website %s: %w", site.Id, err)
		}
	}
	// the notifications' outbox: what was sent, folded or given up keeps
	// its rule's recent deliveries for a month
	r, err := app.DB().NewQuery("DELETE FROM " + schema.NotifyDeliveries + " WHERE status != 'pending' AND created < {:cutoff}").
		Bind(dbx.Params{"cutoff": today.Add(-DeliveriesKept).Format(types.DefaultDateLayout)}).WithContext(ctx).Execute()
	if err != nil {
		return res, fmt.Errorf("skopos: retention of %s: %w", schema.NotifyDeliveries, err)
	}
	n, _ := r.RowsAffected()
	res[schema.NotifyDeliveries] += n
	return res, nil
}

// retainVisitors deletes the visitors of website created before cutoff
// that have no session left in the ClickHouse events store: the SQLite
// statement's NOT EXISTS would see no session at all there.
func retainVisitors(ctx context.Context, tx core.App, events *chstore.Store, website, cutoff string) (int64, error) {
	var ids []string
	if err := tx.DB().NewQuery("SELECT id FROM visitors WHERE website = {:w} AND created < {:cutoff}").
		Bind(dbx.Params{"w": website, "cutoff": cutoff}).WithContext(ctx).Column(&ids); err != nil || len(ids) == 0 {
		return 0, err
	}
	has, err := events.VisitorsWithSessions(ctx, website, ids)
	if err != nil {
		return 0, fmt.Errorf("retention %s: %w", schema.Visitors, err)
	}
	var n int64
	for _, id := range ids {
		if has[id] {
			continue
		}
		if _, err := tx.DB().Delete(schema.Visitors, dbx.HashExp{"id": id}).WithContext(ctx).Execute(); err != nil {
			return n, fmt.Errorf("retention %s: %w", schema.Visitors, err)
		}
		n++
	}
	return n, nil
}

// DeliveriesKept is how long RunRetention keeps notifications that were
// sent, folded into a digest or given up (pending ones are kept).
const DeliveriesKept = 30 * 24 * time.Hour

// untilTerminate returns a context cancelled when app terminates, for the
// scheduled jobs: a shutdown stops their queries.
func untilTerminate(app core.App) context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	app.OnTerminate().BindFunc(func(e *core.TerminateEvent) error {
		cancel()
		return e.Next()
	})
	return ctx
}

// retentionSchedule runs retention daily at 03:17 UTC (off the hour, when
// other jobs run).
const retentionSchedule = "17 3 * * *"

func (p *plugin) scheduleRetention(app core.App) {
	ctx := untilTerminate(app)
	app.Cron().MustAdd("skoposRetention", retentionSchedule, func() {
		res, err := RunRetention(ctx, app, time.Now())
		if err != nil {
			app.Logger().Error("skopos: retention failed", "error", err)
			return
		}
		app.Logger().Info("skopos: retention done", "deleted", map[string]int64(res))
	})
}

func (c *cli) retentionCommand() *cobra.Command {
	group := c.command(&cobra.Command{Use: "retention", Short: "Delete data older than each website's dataRetentionDays"})
	group.AddCommand(c.command(&cobra.Command{
		Use:   "run",
		Short: "Run retention now (it also runs daily while the server runs)",
		Args:  cobra.NoArgs,
		RunE: c.runE(func(cmd *cobra.Command, _ []string) error {
			if err := c.migrate(c.app); err != nil {
				return err
			}
			if c.cfg.ClickHouseURL != "" {
				// its outbox is the server's to ship: two shippers could
				// send a record twice
				return errors.New("with the ClickHouse events store, retention runs inside the server (daily at 03:17 UTC)")
			}
			res, err := RunRetention(cmd.Context(), c.app, time.Now())
			if err != nil {
				return err
			}
			for _, name := range schema.Names {
				if n, ok := res[name]; ok {
					fmt.Fprintf(cmd.OutOrStdout(), "%s: %d deleted\n", name, n)
				}
			}
			return nil
		}),
	}))
	return group
}
