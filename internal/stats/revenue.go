package stats

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/pocketbase/pocketbase/core"
	"github.com/skopos-go/skopos/internal/domain"
	"github.com/skopos-go/skopos/internal/goal"
	"github.com/skopos-go/skopos/internal/validate"
)

// RevenueRow is the revenue of one key (a goal, a page, a referrer…) in
// one currency: amounts of different currencies are never added up or
// converted, so a key paid in two currencies has two rows.
type RevenueRow struct {
	Key      string `json:"key"`
	Currency string `json:"currency"` // ISO 4217
	// Total is the sum in the currency's minor units (cents), exact;
	// Amount the same as a decimal string in major units ("1234.50").
	Total  int64  `json:"total"`
	Amount string `json:"amount"`
	// Conversions counts the events with revenue, Visitors the distinct
	// visitors who sent them.
	Conversions int `json:"conversions"`
	Visitors    int `json:"visitors"`
	// AveragePerVisitor is Amount / Visitors, rounded half up to the
	// minor unit, as a decimal string.
	AveragePerVisitor string `json:"averagePerVisitor"`
}

// revenueDims are the dimensions revenue is broken down by (besides
// "goal"): the SQL of an event's key, over the event e and its session s,
// and how a stored value is keyed as the other breakdowns key it. Adding a
// dimension is adding a line.
var revenueDims = map[string]struct {
	expr string
	key  func(string) string // nil: the stored value
}{
	"page":     {expr: "e.path"},
	"referrer": {expr: "s.referrer", key: domain.ReferrerKey},
	"source":   {expr: "s.source", key: orUnknown},
	"channel":  {expr: "s.channel", key: orUnknown},
}

// orUnknown keys a session without a source or channel (none is stored
// before schema v12's backfill) as the breakdowns do.
func orUnknown(v string) string {
	if v == "" {
		return "Unknown"
	}
	return v
}

// RevenueDimensions lists what Revenue's by may be.
func RevenueDimensions() []string {
	out := []string{"goal"}
	for d := range revenueDims {
		out = append(out, d)
	}
	sort.Strings(out[1:])
	return out
}

// Revenue sums the revenue of the period's events by dimension by ("goal"
// or one of revenueDims), one row per key and currency, from the raw
// events: those with revenue in the period that match the event filters
// and whose session matches the session filters. By goal, an event counts
// for each event goal it matches (page goals match page views, which
// carry no revenue). Rows are ordered by currency, then total, highest
// first.
func Revenue(ctx context.Context, app core.App, websiteID, by string, req Request) ([]RevenueRow, error) {
	ctx, cancel := req.withBudget(ctx)
	defer cancel()
	r, err := revenue(ctx, app, websiteID, by, req)
	return r, overBudget(ctx, err)
}

func revenue(ctx context.Context, app core.App, websiteID, by string, req Request) ([]RevenueRow, error) {
	dim, ok := revenueDims[by]
	if !ok && by != "goal" {
		return nil, fmt.Errorf("%w: by must be one of %s", ErrBadFilter, strings.Join(RevenueDimensions(), ", "))
	}
	p := req.Period
	q, err := newQuerierOn(ctx, app, req.ClickHouse, websiteID, p, req.Filters)
	if err != nil {
		return nil, err
	}
	rows, err := q.revenueRows(p, by, dim.expr)
	if err != nil {
		return nil, fmt.Errorf("stats: revenue: %w", err)
	}
	return revenueOf(rows, dim.key), nil
}

// revenueRow is the revenue of one stored key, currency and visitor.
type revenueRow struct {
	Key      string `db:"k"`
	Currency string `db:"c"`
	Visitor  string `db:"v"`
	Total    int64  `db:"total"`
	N        int    `db:"n"`
}

// revenueRows reads the revenue rows by goal or by the dimension whose
// SQL is expr (revenueDims).
func (q *querier) revenueRows(p Period, by, expr string) ([]revenueRow, error) {
	if q.ch != nil {
		return q.chRevenueRows(p, by, expr)
	}
	// one row per key, currency and visitor: the visitors of a key are
	// counted once its stored values are keyed (referrer hosts)
	from := ` FROM events e JOIN sessions s ON s.id = e.session WHERE e.website = {:w} AND e.timestamp >= {:from}
		AND e.timestamp < {:to} AND e.revenueCurrency != ''` + q.evConds("e") + q.sessConds()
	group := ` GROUP BY k, c, s.visitor`
	sel := `SELECT %s AS k, e.revenueCurrency AS c, s.visitor AS v, SUM(e.revenueAmount) AS total, COUNT(*) AS n`
	var stmt string
	if by == "goal" {
		span := Period{From: p.Previous.From, To: p.To}
		var parts []string
		for _, g := range q.goalSpecs {
			if g.Type != goal.Event {
				continue
			}
			cond, err := q.c.goalCond(g, q.resolvePaths(span))
			if err != nil {
				return nil, err
			}
			parts = append(parts, fmt.Sprintf(sel, q.c.param(g.Name))+from+" AND "+cond("e")+group)
		}
		if len(parts) == 0 {
			return nil, nil
		}
		stmt = strings.Join(parts, " UNION ALL ")
	} else {
		stmt = fmt.Sprintf(sel, "COALESCE("+expr+", '')") + from + group
	}
	var rows []revenueRow
	err := q.db.NewQuery(stmt).WithContext(q.ctx).Bind(q.params(p, nil)).All(&rows)
	return rows, err
}

// revenueOf sums the rows per key and currency, keying each stored key
// with key (nil: as it is), and orders them.
func revenueOf(rows []revenueRow, key func(string) string) []RevenueRow {
	type rk struct{ key, currency string }
	sums := map[rk]*RevenueRow{}
	visitors := map[[3]string]bool{} // two stored values with one key may share a visitor
	for _, r := range rows {
		k := rk{r.Key, r.Currency}
		if key != nil {
			k.key = key(r.Key)
		}
		s := sums[k]
		if s == nil {
			s = &RevenueRow{Key: k.key, Currency: r.Currency}
			sums[k] = s
		}
		s.Total += r.Total
		s.Conversions += r.N
		if v := [3]string{k.key, r.Currency, r.Visitor}; !visitors[v] {
			visitors[v] = true
			s.Visitors++
		}
	}
	out := make([]RevenueRow, 0, len(sums))
	for _, s := range sums {
		out = append(out, *s)
	}
	for i := range out {
		r := &out[i]
		r.Amount = validate.FormatMinor(r.Total, r.Currency)
		r.AveragePerVisitor = validate.FormatMinor(divRound(r.Total, int64(r.Visitors)), r.Currency)
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Currency != b.Currency {
			return a.Currency < b.Currency
		}
		if a.Total != b.Total {
			return a.Total > b.Total
		}
		return a.Key < b.Key
	})
	return out
}

// divRound is a / b rounded half up (a >= 0, b > 0); 0 when b is 0.
func divRound(a, b int64) int64 {
	if b <= 0 {
		return 0
	}
	return (a + b/2) / b
}
