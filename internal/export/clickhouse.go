package export

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/skopos-go/skopos/internal/clickhouse"
	"github.com/skopos-go/skopos/internal/stats"
)

// The ClickHouse events store (issue 31): with Request.ClickHouse set,
// the events and sessions exports read ClickHouse (the tables of
// clickhouse.Schema as chstore writes them) and write the same columns,
// values and order as from SQLite; the summary passes the client on to
// stats.Query. Sessions are read FROM sessions FINAL (their latest
// version) with every condition in WHERE; a page view's engagement is its
// engagement rows' latest version where it has some (in SQLite, the
// update of its row); values are bound by clickhouse.Bind.

// chBind is clickhouse.Bind for this file's statements, whose arguments
// are strings, times and integers: an error is a placeholder miscount, a
// bug.
func chBind(query string, args ...any) string {
	s, err := clickhouse.Bind(query, args...)
	if err != nil {
		panic(err)
	}
	return s
}

// msRFC3339 is a stored millisecond time as rfc3339 writes a stored date
// (0, never set, is "").
func msRFC3339(ms int64) string {
	if ms == 0 {
		return ""
	}
	return time.UnixMilli(ms).UTC().Format(time.RFC3339Nano)
}

// chKeyset is keyset from ClickHouse: q has the placeholders website,
// lower bound, upper bound, last time, last time, last id and page
// length, in that order; key returns a row's (time, id); page writes a
// page's rows.
func chKeyset[T any](ctx context.Context, ch *clickhouse.Client, w *writer, q, site string, p stats.Period,
	key func(T) (int64, string), page func([]T) error) error {
	from, to := p.From.UnixMilli(), p.To.UnixMilli()
	lo, t, id := from, int64(-1), ""
	for {
		rows, err := clickhouse.Select[T](ctx, ch, chBind(q, site, lo, to, t, t, id, PageSize))
		if err != nil {
			return fmt.Errorf("query page: %w", err)
		}
		if err := page(rows); err != nil {
			return err
		}
		if len(rows) > 0 {
			t, id = key(rows[len(rows)-1])
			lo = max(from, t)
		}
		if err := w.page(); err != nil {
			return err
		}
		if len(rows) < PageSize {
			return nil
		}
	}
}

type chEvent struct {
	T                                             int64
	ID, Type, Path, EventName, EventData, Session string
	EngagedMs, ScrollDepth, RevenueAmount         int64
	RevenueCurrency, OrderID                      string
}

func writeEventsClickHouse(ctx context.Context, ch *clickhouse.Client, w *writer, site string, p stats.Period) error {
	if err := w.write(EventColumns...); err != nil {
		return fmt.Errorf("write header: %w", err)
	}
	const q = `SELECT timestamp AS T, id AS ID, type AS Type, path AS Path, eventName AS EventName, eventData AS EventData,
			session AS Session, engagedMs AS EngagedMs, scrollDepth AS ScrollDepth, revenueAmount AS RevenueAmount,
			revenueCurrency AS RevenueCurrency, orderId AS OrderID
		FROM events
		WHERE website = ? AND timestamp >= ? AND timestamp < ? AND (timestamp > ? OR timestamp = ? AND id > ?)
		ORDER BY timestamp, id LIMIT ?`
	return chKeyset(ctx, ch, w, q, site, p, func(e chEvent) (int64, string) { return e.T, e.ID }, func(page []chEvent) error {
		if len(page) == 0 {
			return nil
		}
		// the page's engagement and visitors, in one read each
		ids, sessions := make([]string, len(page)), make([]string, len(page))
		for i, e := range page {
			ids[i], sessions[i] = e.ID, e.Session
		}
		eng, err := clickhouse.Select[struct {
			E    string
			M, D int64
		}](ctx, ch, chBind(`SELECT event AS E, engagedMs AS M, scrollDepth AS D FROM engagement FINAL
			WHERE website = ? AND timestamp >= ? AND timestamp <= ?`, site, page[0].T, page[len(page)-1].T)+
			` AND event IN `+clickhouse.List(ids))
		if err != nil {
			return fmt.Errorf("query engagement: %w", err)
		}
		engaged := make(map[string][2]int64, len(eng))
		for _, g := range eng {
			engaged[g.E] = [2]int64{g.M, g.D}
		}
		vis, err := clickhouse.Select[struct{ S, V string }](ctx, ch, chBind(`SELECT id AS S, visitor AS V FROM sessions FINAL
			WHERE website = ?`, site)+` AND id IN `+clickhouse.List(sessions))
		if err != nil {
			return fmt.Errorf("query visitors: %w", err)
		}
		visitor := make(map[string]string, len(vis))
		for _, v := range vis {
			visitor[v.S] = v.V
		}
		for _, e := range page {
			if g, ok := engaged[e.ID]; ok {
				e.EngagedMs, e.ScrollDepth = g[0], g[1]
			}
			if err := w.write(msRFC3339(e.T), e.ID, e.Type, e.Path, e.EventName, e.EventData, e.Session, visitor[e.Session],
				strconv.FormatInt(e.EngagedMs, 10), strconv.FormatInt(e.ScrollDepth, 10), strconv.FormatInt(e.RevenueAmount, 10),
				e.RevenueCurrency, e.OrderID); err != nil {
				return fmt.Errorf("write event: %w", err)
			}
		}
		return nil
	})
}

type chSession struct {
	Started, Last                                                                  int64
	ID, Visitor, EntryPath, ExitPath, Referrer, Country, Device, Browser, OS, Lang string
	UtmSource, UtmMedium, UtmCampaign, UtmTerm, UtmContent                         string
	EventCount, Engaged, IsNew                                                     int64
	Source, Channel                                                                string
}

func writeSessionsClickHouse(ctx context.Context, ch *clickhouse.Client, w *writer, site string, p stats.Period) error {
	if err := w.write(SessionColumns...); err != nil {
		return fmt.Errorf("write header: %w", err)
	}
	const q = `SELECT startedAt AS Started, lastActivity AS Last, id AS ID, visitor AS Visitor, entryPath AS EntryPath,
			exitPath AS ExitPath, referrer AS Referrer, country AS Country, device AS Device, browser AS Browser, os AS OS,
			language AS Lang, visitParamExtractString(utm, 'utm_source') AS UtmSource,
			visitParamExtractString(utm, 'utm_medium') AS UtmMedium, visitParamExtractString(utm, 'utm_campaign') AS UtmCampaign,
			visitParamExtractString(utm, 'utm_term') AS UtmTerm, visitParamExtractString(utm, 'utm_content') AS UtmContent,
			eventCount AS EventCount, isEngaged AS Engaged, isNewVisitor AS IsNew, source AS Source, channel AS Channel
		FROM sessions FINAL
		WHERE website = ? AND startedAt >= ? AND startedAt < ? AND (startedAt > ? OR startedAt = ? AND id > ?)
		ORDER BY startedAt, id LIMIT ?`
	return chKeyset(ctx, ch, w, q, site, p, func(s chSession) (int64, string) { return s.Started, s.ID }, func(page []chSession) error {
		for _, s := range page {
			dur := ""
			if s.Started != 0 && s.Last != 0 {
				// as writeSessions rounds it
				dur = strconv.FormatInt(max(0, s.Last-s.Started+500)/1000, 10)
			}
			if err := w.write(msRFC3339(s.Started), msRFC3339(s.Last), s.ID, s.Visitor, s.EntryPath, s.ExitPath, s.Referrer,
				s.Country, s.Device, s.Browser, s.OS, s.Lang, s.UtmSource, s.UtmMedium, s.UtmCampaign, s.UtmTerm, s.UtmContent,
				strconv.FormatInt(s.EventCount, 10), strconv.FormatBool(s.Engaged != 0), strconv.FormatBool(s.IsNew != 0),
				dur, s.Source, s.Channel); err != nil {
				return fmt.Errorf("write session: %w", err)
			}
		}
		return nil
	})
}
