package dashboard

import (
	"net/http"

	"github.com/skopos-go/skopos/internal/stats"
)

// revenueTable is one table of the site page's Revenue card.
type revenueTable struct {
	ID, Caption, KeyLabel string
	Rows                  []revenueRow
}

// revenueRow is one key's revenue in one currency, formatted.
type revenueRow struct {
	Key, Currency, Amount, Average string
	Conversions, Visitors          int
}

// revenueTables reads the period's revenue by goal and by page for the
// Revenue card, with the page's filters; nil when there is none.
func (s *server) revenueTables(r *http.Request, siteID string, req stats.Request) ([]revenueTable, error) {
	var out []revenueTable
	for _, by := range []struct{ dim, caption, label string }{
		{"goal", "Revenue by goal", "Goal"}, {"page", "Revenue by page", "Page"},
	} {
		rows, err := stats.Revenue(r.Context(), s.app, siteID, by.dim, req)
		if err != nil {
			return nil, err
		}
		out = append(out, revenueTable{ID: "revenue-" + by.dim, Caption: by.caption, KeyLabel: by.label, Rows: revenueRows(rows)})
	}
	if len(out[0].Rows) == 0 && len(out[1].Rows) == 0 {
		return nil, nil // every revenue event is on some page
	}
	return out, nil
}

func revenueRows(rows []stats.RevenueRow) []revenueRow {
	out := make([]revenueRow, len(rows))
	for i, r := range rows {
		out[i] = revenueRow{Key: r.Key, Currency: r.Currency, Amount: r.Amount, Average: r.AveragePerVisitor,
			Conversions: r.Conversions, Visitors: r.Visitors}
	}
	return out
}
