package dashboard

import (
	"net/http"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/tools/types"
	"github.com/skopos-go/skopos/internal/stats"
	"github.com/skopos-go/skopos/schema"
)

func timeRange(p stats.Period) dbx.Params {
	return dbx.Params{"from": p.From.UTC().Format(types.DefaultDateLayout), "to": p.To.UTC().Format(types.DefaultDateLayout)}
}

type payloadRow struct {
	Data  string
	Count int
}

type eventsData struct {
	Site    siteView
	Period  periodView
	Name    string
	Rows    []payloadRow
	Total   int
	BackURL string
	Limited bool
}

// payloadLimit bounds the distinct payloads listed.
const payloadLimit = 200

func (s *server) eventDrill(w http.ResponseWriter, r *http.Request, u *user) {
	site, p, ok := s.siteAndPeriod(w, r, u)
	if !ok {
		return
	}
	name := r.URL.Query().Get("name")
	var rows []struct {
		Data  string `db:"eventData"`
		Count int    `db:"n"`
	}
	params := timeRange(p)
	// eventData is NULL when an event had none (JSON columns default to NULL)
	err := s.app.DB().Select("COALESCE(eventData, '') AS eventData", "COUNT(*) AS n").From(schema.Events).
		Where(dbx.HashExp{"website": site.Id, "type": "custom", "eventName": name}).
		AndWhere(dbx.NewExp("timestamp >= {:from} AND timestamp < {:to}", params)).
		GroupBy("eventData").OrderBy("n DESC", "eventData").Limit(payloadLimit + 1).
		WithContext(r.Context()).All(&rows)
	if err != nil {
		s.internal(w, r, u, err)
		return
	}
	d := eventsData{Site: s.viewSite(site), Period: viewPeriod(p), Name: name, BackURL: siteURL(site.Id, periodQuery(p))}
	if len(rows) > payloadLimit {
		rows, d.Limited = rows[:payloadLimit], true
	}
	for _, row := range rows {
		d.Rows = append(d.Rows, payloadRow{Data: prettyJSON(row.Data), Count: row.Count})
		d.Total += row.Count
	}
	s.render(w, http.StatusOK, "events", pageFor(u, name+" · "+site.GetString("name"), "", d))
}
