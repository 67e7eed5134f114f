package dashboard

import (
	"context"

	"github.com/skopos-go/skopos/internal/stats"
	"github.com/skopos-go/skopos/internal/worldmap"
)

// mapSteps is how many shades the map uses for countries with visitors.
const mapSteps = 5

// worldMap is the Countries card's map: every country of the embedded
// shapes, shaded by its visitors in the period.
type worldMap struct {
	ViewBox   string
	Countries []mapCountry
}

// mapCountry is one country's shape. Only the embedded data and a count
// reach the markup: a country key from the stats is used to look a shape
// up, never written out, so a hostile key cannot become markup.
type mapCountry struct {
	Code, Name, Path string
	Visitors         int
	// Level is the shade: 0 without visitors, 1..mapSteps by share of the
	// busiest country.
	Level int
	// Href filters the site page by the country; "" without visitors.
	Href  string
	Title string
}

// mapLevel is n's shade among counts up to top: the busiest country is
// mapSteps, any visitor at least 1.
func mapLevel(n, top int) int {
	if n <= 0 || top <= 0 {
		return 0
	}
	return max(1, min(mapSteps, (n*mapSteps+top-1)/top))
}

// buildWorldMap shades the shapes by counts (country code → visitors);
// href is the site page filtered by a code.
func buildWorldMap(counts map[string]int, href func(code string) string) *worldMap {
	top := 0
	for _, n := range counts {
		top = max(top, n)
	}
	m := &worldMap{ViewBox: worldmap.ViewBox()}
	for _, s := range worldmap.Shapes() {
		c := mapCountry{Code: s.Code, Name: s.Name, Path: s.Path, Title: s.Name}
		if n := counts[s.Code]; n > 0 {
			c.Visitors, c.Level, c.Href = n, mapLevel(n, top), href(s.Code)
			c.Title = s.Name + ": " + counted(n, "visitor")
		}
		m.Countries = append(m.Countries, c)
	}
	return m
}

// countryCounts is every country's visitors under req (the card lists
// the top ones only), from the paged breakdown.
func (s *server) countryCounts(ctx context.Context, siteID string, req stats.Request) (map[string]int, error) {
	out := map[string]int{}
	for off := 0; ; off += stats.MaxBreakdownLimit {
		page, err := stats.Breakdown(ctx, s.app, siteID, stats.BreakdownRequest{Request: req, Dimension: "country",
			Limit: stats.MaxBreakdownLimit, Offset: off})
		if err != nil {
			return nil, err
		}
		for _, r := range page.Rows {
			out[r.Key] = r.Count()
		}
		// a few hundred codes exist: the bound only stops a runaway loop
		if off+len(page.Rows) >= page.Total || len(page.Rows) == 0 || off >= 10*stats.MaxBreakdownLimit {
			return out, nil
		}
	}
}
