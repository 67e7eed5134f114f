package dashboard

import (
	"net/http"
	"net/url"
	"slices"

	"github.com/skopos-go/skopos/internal/stats"
)

type payloadRow struct {
	Data  string
	Count int
}

// propertyTable is one property key of a custom event with its top values.
type propertyTable struct {
	Key    string
	Values []propertyValue
}

type propertyValue struct {
	Value string
	Count int
	Share string
}

type eventsData struct {
	Site       siteView
	Period     periodView
	Filters    filterView
	Name       string
	Properties []propertyTable
	Rows       []payloadRow
	Total      int
	BackURL    string
	Limited    bool
}

// payloadLimit bounds the distinct payloads listed.
const payloadLimit = 200

// propertyValues is how many values each property lists.
const propertyValues = 10

func (s *server) eventDrill(w http.ResponseWriter, r *http.Request, rd *reader) {
	site, u := rd.site, rd.u
	req, leave, ok := s.readView(w, r, rd)
	if !ok {
		return
	}
	defer leave()
	p, fs := req.Period, rd.own
	req.Top = propertyValues
	name := r.URL.Query().Get("name")
	props, err := stats.Properties(r.Context(), s.app, site.Id, name, req)
	if err != nil {
		s.queryFailed(w, r, u, err)
		return
	}
	var rows []stats.Payload
	if !rd.pinned() {
		// the payload list is of all events (no filters apply to it):
		// none through a link pinned to a segment
		if ch := s.opts.ClickHouse; ch != nil {
			rows, err = stats.EventPayloadsClickHouse(r.Context(), ch, site.Id, name, p, payloadLimit+1)
		} else {
			rows, err = stats.EventPayloads(r.Context(), s.app.DB(), site.Id, name, p, payloadLimit+1)
		}
		if err != nil {
			s.internal(w, r, u, err)
			return
		}
	}
	self := func(q url.Values) string { return rd.url("events", with(q, "name", name)) }
	d := eventsData{Site: s.readerSite(rd), Period: viewPeriod(p), Filters: rd.filters(p, self), Name: name,
		BackURL: rd.url("", viewQuery(p, fs))}
	keys := make([]string, 0, len(props))
	for k := range props {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		t := propertyTable{Key: k}
		top := 0
		for _, v := range props[k] {
			top = max(top, v.Count)
		}
		for _, v := range props[k] {
			t.Values = append(t.Values, propertyValue{Value: v.Value, Count: v.Count, Share: barWidth(v.Count, top)})
		}
		d.Properties = append(d.Properties, t)
	}
	if len(rows) > payloadLimit {
		rows, d.Limited = rows[:payloadLimit], true
	}
	for _, row := range rows {
		d.Rows = append(d.Rows, payloadRow{Data: prettyJSON(row.Data), Count: row.Count})
		d.Total += row.Count
	}
	s.render(w, http.StatusOK, "events", rd.page(name+" · "+site.GetString("name"), d))
}
