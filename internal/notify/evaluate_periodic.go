package notify

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/pocketbase/dbx"
	"github.com/skopos-go/skopos/internal/stats"
	"github.com/skopos-go/skopos/schema"
)

// The periodic rules' defaults and bounds.
const (
	defaultErrorThreshold = 10  // JS errors per hour
	defaultSpikePercent   = 100 // visitors at least doubled
	defaultDropPercent    = 50  // visitors at most halved
	defaultStoppedHours   = 6
	// minMedianVisitors: a spike or drop is measured against a usual
	// hour of at least this many visitors (3 against 1 is noise).
	minMedianVisitors = 5
	// settle is how long after an hour ends its summaries are read: the
	// writer commits the hour's last events some seconds later.
	settle = 5 * time.Minute
	// summaryTopPages is how many top pages a daily summary lists.
	summaryTopPages = 5
)

// periodic are the rule types evaluated on the clock, with what checks
// one (rule, site) at now: the eventKey of the match, or "" for none.
var periodic = map[string]func(n *Notifier, ctx context.Context, db dbx.Builder, r rule, st *site, now time.Time) (key string, p *payload, err error){
	"error_threshold":  (*Notifier).errorThreshold,
	"daily_summary":    (*Notifier).dailySummary,
	"traffic_spike":    (*Notifier).traffic,
	"traffic_drop":     (*Notifier).traffic,
	"tracking_stopped": (*Notifier).trackingStopped,
}

// evaluatePeriodic evaluates the rules on the clock: each active rule
// for each site it watches.
func (n *Notifier) evaluatePeriodic(ctx context.Context) error {
	n.evalMu.Lock()
	defer n.evalMu.Unlock()
	db := n.app.DB()
	types := make([]string, 0, len(periodic))
	for t := range periodic {
		types = append(types, t)
	}
	rules, err := activeRules(ctx, db, types...)
	if err != nil {
		return fmt.Errorf("notify: rules: %w", err)
	}
	ss := newSites(ctx, db)
	now := n.opts.Now()
	var errs []error
	added := false
	for _, r := range rules {
		list, err := ss.of(r)
		if err != nil {
			return fmt.Errorf("notify: rule %s: %w", r.ID, err)
		}
		for i := range list {
			key, p, err := periodic[r.EventType](n, ctx, db, r, &list[i], now)
			if err == nil && p != nil {
				var a bool
				a, err = trigger(ctx, db, r, key, *p, now)
				added = added || a
			}
			if err != nil {
				if ctx.Err() != nil {
					return ctx.Err()
				}
				errs = append(errs, fmt.Errorf("rule %s, website %s: %w", r.ID, list[i].ID, err))
			}
		}
	}
	if added {
		n.wakeSender()
	}
	if len(errs) > 0 {
		return fmt.Errorf("notify: periodic rules: %w", errors.Join(errs...))
	}
	return nil
}

// lastHour is the last whole UTC hour whose summaries have settled.
func lastHour(now time.Time) time.Time {
	return now.UTC().Add(-settle).Truncate(time.Hour).Add(-time.Hour)
}

// hourRow reads a column of a site's summary of one hour (0 when none).
func hourRow(ctx context.Context, db dbx.Builder, column, siteID string, hour time.Time) (int, error) {
	var v sql.NullInt64
	err := db.NewQuery("SELECT " + column + " FROM " + schema.DashSum + " WHERE website = {:w} AND date = {:d}").
		WithContext(ctx).Bind(dbx.Params{"w": siteID, "d": dbTime(hour)}).Row(&v)
	if errors.Is(err, sql.ErrNoRows) {
		err = nil
	}
	return int(v.Int64), err
}

// fresh reports whether the rule has no delivery of key yet (the checks
// read it first to skip a match already notified).
func fresh(ctx context.Context, db dbx.Builder, r rule, key string) (bool, error) {
	done, err := delivered(ctx, db, r.ID, key)
	return !done, err
}

// errorThreshold matches more than threshold JS errors in the last hour.
func (n *Notifier) errorThreshold(ctx context.Context, db dbx.Builder, r rule, st *site, now time.Time) (string, *payload, error) {
	hour := lastHour(now)
	key := fmt.Sprintf("errors:%s:%s", st.ID, hour.Format(time.RFC3339))
	if ok, err := fresh(ctx, db, r, key); !ok || err != nil {
		return "", nil, err
	}
	errs, err := hourRow(ctx, db, "jsErrors", st.ID, hour)
	limit := r.threshold(defaultErrorThreshold)
	if err != nil || float64(errs) <= limit {
		return "", nil, err
	}
	p := newPayload(r, r.EventType, st, hour, fmt.Sprintf("Skopos: %d JS errors in an hour on %s", errs, siteName(st)),
		map[string]any{"jsErrors": errs, "threshold": limit, "hour": hour.Format(time.RFC3339)})
	return key, &p, nil
}

// dailySummary matches once per UTC day: yesterday's visitors, page
// views and top pages.
func (n *Notifier) dailySummary(ctx context.Context, db dbx.Builder, r rule, st *site, now time.Time) (string, *payload, error) {
	today := now.UTC().Truncate(24 * time.Hour)
	if now.Sub(today) < settle { // yesterday's last events may still be coming
		return "", nil, nil
	}
	day := today.AddDate(0, 0, -1)
	date := day.Format(time.DateOnly)
	key := fmt.Sprintf("daily:%s:%s", st.ID, date)
	if ok, err := fresh(ctx, db, r, key); !ok || err != nil {
		return "", nil, err
	}
	period, err := stats.ParsePeriodIn("custom", date, date, now, time.UTC)
	if err != nil {
		return "", nil, err
	}
	rep, err := stats.Query(ctx, n.app, st.ID, stats.Request{Period: period, Top: summaryTopPages, Now: now})
	if err != nil {
		return "", nil, err
	}
	var pages []any
	for _, it := range rep.Top["page"] {
		pages = append(pages, map[string]any{"path": it.Key, "views": it.Count})
	}
	p := newPayload(r, r.EventType, st, day, fmt.Sprintf("Skopos: daily summary of %s for %s", siteName(st), date),
		map[string]any{"date": date, "visitors": rep.Visitors.Value, "pageViews": rep.PageViews.Value, "topPages": pages})
	return key, &p, nil
}

// traffic matches a spike (traffic_spike) or a drop (traffic_drop):
// the visitors of the last hour against the median of the same hour on
// the same weekday of the 4 weeks before.
func (n *Notifier) traffic(ctx context.Context, db dbx.Builder, r rule, st *site, now time.Time) (string, *payload, error) {
	hour := lastHour(now)
	spike := r.EventType == "traffic_spike"
	kind := "drop"
	if spike {
		kind = "spike"
	}
	key := fmt.Sprintf("%s:%s:%s", kind, st.ID, hour.Format(time.RFC3339))
	if ok, err := fresh(ctx, db, r, key); !ok || err != nil {
		return "", nil, err
	}
	visitors, err := hourRow(ctx, db, "visitors", st.ID, hour)
	if err != nil {
		return "", nil, err
	}
	usual := make([]int, 4)
	for w := range usual {
		if usual[w], err = hourRow(ctx, db, "visitors", st.ID, hour.AddDate(0, 0, -7*(w+1))); err != nil {
			return "", nil, err
		}
	}
	slices.Sort(usual)
	median := float64(usual[1]+usual[2]) / 2
	if median < minMedianVisitors {
		return "", nil, nil
	}
	var pct float64
	if spike {
		pct = r.threshold(defaultSpikePercent)
		if float64(visitors) < (1+pct/100)*median {
			return "", nil, nil
		}
	} else {
		pct = r.threshold(defaultDropPercent)
		if float64(visitors) > (1-pct/100)*median {
			return "", nil, nil
		}
	}
	change := int(math.Round((float64(visitors) - median) / median * 100))
	p := newPayload(r, r.EventType, st, hour,
		fmt.Sprintf("Skopos: traffic %s on %s: %d visitors in an hour (usually %g)", kind, siteName(st), visitors, median),
		map[string]any{"visitors": visitors, "median": median, "changePercent": change, "thresholdPercent": pct,
			"hour": hour.Format(time.RFC3339)})
	return key, &p, nil
}

// trackingStopped matches a site with no event for threshold hours that
// had events on at least 5 of the 7 days before its last one: one
// notification per stop, keyed by the time of the last event.
func (n *Notifier) trackingStopped(ctx context.Context, db dbx.Builder, r rule, st *site, now time.Time) (string, *payload, error) {
	var last sql.NullString
	var err error
	if n.opts.ClickHouse != nil {
		last.String, err = n.chLastEvent(ctx, st.ID)
		last.Valid = last.String != ""
	} else {
		err = db.NewQuery("SELECT MAX(timestamp) FROM " + schema.Events + " WHERE website = {:w}").
			WithContext(ctx).Bind(dbx.Params{"w": st.ID}).Row(&last)
	}
	if err != nil || !last.Valid || last.String == "" {
		return "", nil, err
	}
	at, err := time.Parse(dbLayout, last.String)
	if err != nil {
		return "", nil, fmt.Errorf("last event %q: %w", last.String, err)
	}
	hours := r.threshold(defaultStoppedHours)
	if now.Sub(at) < time.Duration(hours*float64(time.Hour)) {
		return "", nil, nil
	}
	key := fmt.Sprintf("stopped:%s:%s", st.ID, at.UTC().Format(time.RFC3339))
	if ok, err := fresh(ctx, db, r, key); !ok || err != nil {
		return "", nil, err
	}
	var days int
	from := at.UTC().Truncate(24*time.Hour).AddDate(0, 0, -6)
	err = db.NewQuery("SELECT COUNT(DISTINCT substr(date, 1, 10)) FROM " + schema.DashSum +
		" WHERE website = {:w} AND date >= {:from} AND date <= {:to} AND (pageViews > 0 OR visitors > 0)").
		WithContext(ctx).Bind(dbx.Params{"w": st.ID, "from": dbTime(from), "to": dbTime(at)}).Row(&days)
	if err != nil || days < 5 {
		return "", nil, err
	}
	p := newPayload(r, r.EventType, st, now,
		fmt.Sprintf("Skopos: no events from %s for %g hours", siteName(st), math.Floor(now.Sub(at).Hours())),
		map[string]any{"lastEvent": at.UTC().Format(time.RFC3339), "thresholdHours": hours, "activeDays": days})
	return key, &p, nil
}
