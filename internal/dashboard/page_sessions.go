package dashboard

import (
	"net/http"
	"net/url"
	"strconv"

	"github.com/pocketbase/pocketbase/tools/types"
)

// pageSize is the sessions list's page length.
const pageSize = 50

type sessionRow struct {
	ID           string         `db:"id"`
	StartedAt    types.DateTime `db:"startedAt"`
	LastActivity types.DateTime `db:"lastActivity"`
	EventCount   int            `db:"eventCount"`
	EntryPath    string         `db:"entryPath"`
	ExitPath     string         `db:"exitPath"`
	Referrer     string         `db:"referrer"`
	Country      string         `db:"country"`
	Device       string         `db:"device"`
	Browser      string         `db:"browser"`
	OS           string         `db:"os"`
	IsNew        bool           `db:"isNewVisitor"`
	IsEngaged    bool           `db:"isEngaged"`
	UserID       string         `db:"userId"`
	UserName     string         `db:"userName"`
	UserEmail    string         `db:"userEmail"`
	Href         string         `db:"-"`
	Duration     string         `db:"-"`
}

type sessionsData struct {
	Site             siteView
	Period           periodView
	Rows             []sessionRow
	PrevURL, NextURL string
	BackURL          string
	Page             int
}

func (s *server) sessionList(w http.ResponseWriter, r *http.Request, u *user) {
	site, p, ok := s.siteAndPeriod(w, r, u)
	if !ok {
		return
	}
	pg, _ := strconv.Atoi(r.URL.Query().Get("page"))
	pg = max(pg, 1)
	params := timeRange(p)
	params["w"] = site.Id
	var rows []sessionRow
	err := s.app.DB().NewQuery(`SELECT s.id, s.startedAt, s.lastActivity, s.eventCount, s.entryPath, s.exitPath,
			s.referrer, s.country, s.device, s.browser, s.os, s.isNewVisitor, s.isEngaged,
			COALESCE(v.userId, '') AS userId, COALESCE(v.name, '') AS userName, COALESCE(v.email, '') AS userEmail
		FROM sessions s LEFT JOIN visitors v ON v.id = s.visitor
		WHERE s.website = {:w} AND s.startedAt >= {:from} AND s.startedAt < {:to}
		ORDER BY s.startedAt DESC, s.id LIMIT ` + strconv.Itoa(pageSize+1) + ` OFFSET ` + strconv.Itoa((pg-1)*pageSize)).
		Bind(params).WithContext(r.Context()).All(&rows)
	if err != nil {
		s.internal(w, r, u, err)
		return
	}
	pq := periodQuery(p)
	d := sessionsData{Site: s.viewSite(site), Period: viewPeriod(p), Page: pg, BackURL: siteURL(site.Id, pq)}
	if len(rows) > pageSize {
		rows = rows[:pageSize]
		d.NextURL = sitePath(site.Id, "sessions", with(pq, "page", strconv.Itoa(pg+1)))
	}
	if pg > 1 {
		d.PrevURL = sitePath(site.Id, "sessions", with(pq, "page", strconv.Itoa(pg-1)))
	}
	for i := range rows {
		rows[i].Href = sitePath(site.Id, "sessions/"+url.PathEscape(rows[i].ID), nil)
		rows[i].Duration = formatDuration(rows[i].LastActivity.Time().Sub(rows[i].StartedAt.Time()).Seconds())
	}
	d.Rows = rows
	s.render(w, http.StatusOK, "sessions", pageFor(u, "Sessions · "+site.GetString("name"), "", d))
}
