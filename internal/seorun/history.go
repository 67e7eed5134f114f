package seorun

import (
	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
	"github.com/skopos-go/skopos/schema"
)

// HistoryEntry is one finished analysis as seo_history keeps it; its
// JSON is what GET /api/skopos/seo returns in "history".
type HistoryEntry struct {
	AnalyzedAt string `db:"analyzedAt" json:"analyzedAt"`
	Strategy   string `db:"strategy" json:"strategy"`
	Score      int    `db:"score" json:"score"`
	Label      string `db:"label" json:"label"`
	// Performance is PageSpeed's performance score; nil when none.
	Performance *int `db:"performance" json:"performance"`
	Critical    int  `db:"critical" json:"critical"`
	High        int  `db:"high" json:"high"`
}

// History returns at most limit past analyses of the website siteID,
// newest first: what the REST API and the dashboard's SEO page show.
func History(app core.App, siteID string, limit int) ([]HistoryEntry, error) {
	var hist []HistoryEntry
	err := app.RecordQuery(schema.SEOHistory).
		Select("analyzedAt", "strategy", "score", "label", "(CASE WHEN hasPerformance THEN performance END) AS performance", "critical", "high").
		AndWhere(dbx.HashExp{"website": siteID}).OrderBy("analyzedAt DESC").Limit(int64(limit)).All(&hist)
	return hist, err
}
