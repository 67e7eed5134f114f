package adopt

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"math"
	"strings"
	"time"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tools/types"
	"github.com/skopos-go/skopos/internal/channel/backfill"
	"github.com/skopos-go/skopos/internal/hourly"
	"github.com/skopos-go/skopos/internal/pipeline"
	"github.com/skopos-go/skopos/schema"
)

// windowDays bounds the days one summary transaction builds.
const windowDays = 31

// Finish builds the summaries (see the package doc), then marks the
// adoption done. maxKeys is the
// pipeline's MaxDimensionKeys.
func Finish(ctx context.Context, app core.App, log *slog.Logger, maxKeys int) error {
	if st, err := state(app.DB()); err != nil || st == stateDone {
		return err
	}
	start := time.Now()
	// the reference stored no source or channel: each session gets the
	// one the pipeline would have given it, before the summaries count them
	err := app.RunInTransaction(func(tx core.App) error {
		n, err := backfill.Sessions(tx.DB())
		if n > 0 {
			log.Info("skopos: adopting: sources and channels of the sessions", "sessions", n)
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("adopt: %w", err)
	}
	var websites []string
	if err := app.DB().NewQuery(`SELECT id FROM websites ORDER BY id`).Column(&websites); err != nil {
		return fmt.Errorf("adopt: websites: %w", err)
	}
	days := 0
	for _, w := range websites {
		n, err := summarize(ctx, app, log, w, maxKeys)
		if err != nil {
			return err
		}
		days += n
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	var kept, jsErrors int
	err = app.RunInTransaction(func(tx core.App) error {
		var err error
		if kept, err = dailyStats(tx.DB()); err != nil {
			return err
		}
		if jsErrors, err = countJSErrors(tx.DB()); err != nil {
			return err
		}
		return setState(tx.DB(), stateDone)
	})
	if err != nil {
		return fmt.Errorf("adopt: %w", err)
	}
	log.Warn("skopos: adopted the Skopos Node installation", "summaryDays", days, "dailyStatsDays", kept,
		"jsErrorGroups", jsErrors, "took", time.Since(start).Round(time.Millisecond).String())
	return nil
}

// fill is one batched UPDATE over a table's rowid ranges; where selects
// the rows it still has to fill, so that a batch is done at most once.
type fill struct {
	table, what, set, where string
}

var fills = []fill{
	{"events", "events.website and timestamp",
		"website = CASE WHEN website = '' THEN COALESCE((SELECT s.website FROM sessions s WHERE s.id = events.session), '') ELSE website END, " +
			"timestamp = CASE WHEN timestamp = '' THEN created ELSE timestamp END",
		"(website = '' OR timestamp = '')"},
	{"sessions", "sessions.startedAt, lastActivity, eventCount, isEngaged, entry and exit",
		"startedAt = created, lastActivity = CASE WHEN lastActivity = '' THEN updated ELSE lastActivity END, " +
			"eventCount = (SELECT COUNT(*) FROM events e WHERE e.session = sessions.id AND e.type IN ('pageView', 'custom')), " +
			"isEngaged = COALESCE((SELECT COUNT(*) >= 2 OR MAX(CAST(COALESCE(json_extract(e.eventData, '$.duration'), 0) AS REAL)) > 10 " +
			"FROM events e WHERE e.session = sessions.id AND e.type IN ('pageView', 'custom')), 0), " +
			"entryPath = CASE WHEN entryPath != '' THEN entryPath ELSE COALESCE((SELECT e.path FROM events e WHERE e.session = sessions.id " +
			"ORDER BY e.created, e.id LIMIT 1), '') END, " +
			"exitPath = CASE WHEN exitPath != '' THEN exitPath ELSE COALESCE((SELECT e.path FROM events e WHERE e.session = sessions.id " +
			"AND e.type IN ('pageView', 'custom') ORDER BY e.created DESC, e.id DESC LIMIT 1), '') END",
		"(startedAt = '' OR startedAt IS NULL)"},
}

// fillByRowid runs f over the table in rowid ranges of batchRows, each
// in its own transaction.
func fillByRowid(ctx context.Context, app core.App, log *slog.Logger, f fill, batchRows int64) error {
	var last int64
	if err := app.DB().NewQuery("SELECT COALESCE(MAX(rowid), 0) FROM " + f.table).Row(&last); err != nil {
		return fmt.Errorf("adopt: %s: %w", f.table, err)
	}
	done, logged := 0, int64(-1)
	for from := int64(0); from < last; from += batchRows {
		n, err := exec(ctx, app, "UPDATE "+f.table+" SET "+f.set+" WHERE rowid > {:from} AND rowid <= {:to} AND "+f.where,
			dbx.Params{"from": from, "to": from + batchRows})
		if err != nil {
			return fmt.Errorf("adopt: %s: %w", f.what, err)
		}
		done += n
		// progress at every tenth of the table (and its end)
		if pct := min(100, (from+batchRows)*100/last); done > 0 && (pct/10 > logged/10 || pct == 100) {
			logged = pct
			log.Info("skopos: adopting: filling "+f.what, "rows", done, "progress", fmt.Sprintf("%d%%", pct))
		}
	}
	return nil
}

// summarize builds a website's summaries from its raw rows, a window of
// days per transaction; days summarized already (an earlier attempt's)
// are skipped, so a restart goes on where it stopped.
func summarize(ctx context.Context, app core.App, log *slog.Logger, website string, maxKeys int) (int, error) {
	var first, last string
	err := app.DB().NewQuery(`SELECT COALESCE(MIN(d), ''), COALESCE(MAX(d), '') FROM (
			SELECT MIN(startedAt) AS d FROM sessions WHERE website = {:w} AND startedAt != '' UNION ALL
			SELECT MAX(startedAt) FROM sessions WHERE website = {:w} AND startedAt != '' UNION ALL
			SELECT MIN(timestamp) FROM events WHERE website = {:w} AND timestamp != '' UNION ALL
			SELECT MAX(timestamp) FROM events WHERE website = {:w} AND timestamp != '')`).
		Bind(dbx.Params{"w": website}).Row(&first, &last)
	if err != nil || first == "" {
		return 0, err
	}
	from, err1 := time.Parse(time.DateOnly, first[:10])
	to, err2 := time.Parse(time.DateOnly, last[:10])
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("adopt: website %s: dates %q … %q", website, first, last)
	}
	to = to.AddDate(0, 0, 1)
	built := 0
	for w := from; w.Before(to); w = w.AddDate(0, 0, windowDays) {
		if err := ctx.Err(); err != nil {
			return built, err
		}
		end := w.AddDate(0, 0, windowDays)
		if end.After(to) {
			end = to
		}
		var n int
		err := app.RunInTransaction(func(tx core.App) error {
			var err error
			n, err = hourly.Build(tx, website, w, end, maxKeys)
			return err
		})
		if err != nil {
			return built, fmt.Errorf("adopt: summaries: %w", err)
		}
		built += n
		log.Info("skopos: adopting: summaries built from the raw rows", "website", website, "through", end.AddDate(0, 0, -1).Format(time.DateOnly), "days", built)
	}
	return built, nil
}

// dailyStat is a daily_stats row of the reference.
type dailyStat struct {
	Website    string  `db:"website"`
	Date       string  `db:"date"`
	PageViews  int     `db:"pageViews"`
	Visitors   int     `db:"visitors"`
	New        int     `db:"newVisitors"`
	Engaged    int     `db:"engagedSessions"`
	Bounces    int     `db:"bounceCount"`
	DurationMs float64 `db:"totalDurationMs"`
	JSErrors   int     `db:"jsErrorCount"`
	Breakdowns string  `db:"breakdowns"`
}

// breakdownDims maps daily_stats.breakdowns' keys onto dimensions
// (stateBreakdown has none: regions are not summarized).
var breakdownDims = map[string]string{
	"topPages": "page", "entryPages": "entryPage", "exitPages": "exitPage", "topReferrers": "referrer",
	"deviceBreakdown": "device", "browserBreakdown": "browser", "osBreakdown": "os", "languageBreakdown": "language",
	"countryBreakdown": "country", "topCustomEvents": "customEvent", "topJsErrors": "jsError",
}

// dailyStats turns each daily_stats day that has no summary rows and no
// raw rows left (retention removed them) into a day row (hour 0) and its
// breakdowns, so that the history the reference showed stays. It returns
// how many days it wrote.
func dailyStats(db dbx.Builder) (int, error) {
	var rows []dailyStat
	err := db.NewQuery(`SELECT d.website, substr(d.date, 1, 10) AS date, d.pageViews, d.visitors, d.newVisitors, d.engagedSessions,
			d.bounceCount, d.totalDurationMs, d.jsErrorCount, COALESCE(d.breakdowns, '') AS breakdowns
		FROM daily_stats d
		WHERE NOT EXISTS (SELECT 1 FROM dash_sum s WHERE s.website = d.website AND substr(s.date, 1, 10) = substr(d.date, 1, 10))
			AND NOT EXISTS (SELECT 1 FROM sessions s WHERE s.website = d.website AND substr(s.startedAt, 1, 10) = substr(d.date, 1, 10))
			AND NOT EXISTS (SELECT 1 FROM events e WHERE e.website = d.website AND substr(e.timestamp, 1, 10) = substr(d.date, 1, 10))
		ORDER BY d.website, d.date`).All(&rows)
	if err != nil {
		return 0, fmt.Errorf("daily_stats: %w", err)
	}
	now := types.NowDateTime().String()
	for _, r := range rows {
		day, err := time.Parse(time.DateOnly, r.Date)
		if err != nil {
			continue // not a date: nothing to place it on
		}
		err = addSum(db, r.Website, day, sums{r.PageViews, r.Visitors, r.New, max(0, r.Visitors-r.New), r.Engaged, r.Bounces,
			int(math.Round(r.DurationMs / 1000)), r.JSErrors}, now)
		if err != nil {
			return 0, fmt.Errorf("daily_stats %s %s: %w", r.Website, r.Date, err)
		}
		var breakdowns map[string]map[string]float64
		_ = json.Unmarshal([]byte(r.Breakdowns), &breakdowns) // unreadable: the day keeps its totals
		for name, keys := range breakdowns {
			dim, ok := breakdownDims[name]
			if !ok {
				continue
			}
			for key, n := range keys {
				if err := addItem(db, r.Website, day, dim, pipeline.SummaryKey(key), int(n), now); err != nil {
					return 0, err
				}
			}
		}
	}
	return len(rows), nil
}

// sums are a dash_sum row's counters, in sumCols' order.
type sums [8]int

var sumCols = schema.SumCounters

// addSum adds c to a website's dash_sum row of hour, created when missing.
func addSum(db dbx.Builder, website string, hour time.Time, c sums, now string) error {
	params := dbx.Params{"id": pipeline.SumID(website, hour), "now": now, "w": website, "date": hour.Format(types.DefaultDateLayout)}
	vals, set := make([]string, len(sumCols)), make([]string, len(sumCols))
	for i, col := range sumCols {
		params[col] = c[i]
		vals[i] = "{:" + col + "}"
		set[i] = col + " = " + col + " + excluded." + col
	}
	_, err := db.NewQuery(`INSERT INTO dash_sum (id, created, updated, website, date, ` + strings.Join(sumCols, ", ") + `)
		VALUES ({:id}, {:now}, {:now}, {:w}, {:date}, ` + strings.Join(vals, ", ") + `)
		ON CONFLICT (website, date) DO UPDATE SET ` + strings.Join(set, ", ") + `, updated = excluded.updated`).Bind(params).Execute()
	return err
}

// addItem adds n to a breakdown row of a website's day.
func addItem(db dbx.Builder, website string, day time.Time, dim, key string, n int, now string) error {
	if n <= 0 {
		return nil
	}
	_, err := db.NewQuery(`INSERT INTO dash_sum_items (id, created, updated, website, date, dimension, key, count)
		VALUES ({:id}, {:now}, {:now}, {:w}, {:date}, {:dim}, {:key}, {:n})
		ON CONFLICT (website, date, dimension, key) DO UPDATE SET count = count + excluded.count, updated = excluded.updated`).Bind(dbx.Params{
		"id": pipeline.SumItemID(website, day, dim, key), "now": now, "w": website, "date": day.Format(types.DefaultDateLayout),
		"dim": dim, "key": key, "n": n,
	}).Execute()
	if err != nil {
		return fmt.Errorf("dash_sum_items %s %s %s: %w", website, day.Format(time.DateOnly), dim, err)
	}
	return nil
}

// countJSErrors counts each JS error group's lifetime count on the hour
// it was last seen (the reference keeps no occurrence times): in the
// hour's jsErrors and the day's jsError breakdown. It returns the groups.
func countJSErrors(db dbx.Builder) (int, error) {
	var groups []struct {
		Website  string `db:"website"`
		LastSeen string `db:"lastSeen"`
		Message  string `db:"errorMessage"`
		Count    int    `db:"count"`
	}
	if err := db.NewQuery(`SELECT website, lastSeen, errorMessage, count FROM js_errors WHERE count > 0 AND lastSeen != ''`).All(&groups); err != nil {
		return 0, fmt.Errorf("js_errors: %w", err)
	}
	now := types.NowDateTime().String()
	for _, g := range groups {
		at, err := time.Parse(types.DefaultDateLayout, g.LastSeen)
		if err != nil {
			continue
		}
		hour := at.UTC().Truncate(time.Hour)
		if err := addSum(db, g.Website, hour, sums{7: g.Count}, now); err != nil {
			return 0, fmt.Errorf("js_errors: %w", err)
		}
		if err := addItem(db, g.Website, hour.Truncate(24*time.Hour), "jsError", pipeline.SummaryKey(g.Message), g.Count, now); err != nil {
			return 0, err
		}
	}
	return len(groups), nil
}
