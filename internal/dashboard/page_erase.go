package dashboard

import (
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tools/types"
	"github.com/skopos-go/skopos/internal/access"
	"github.com/skopos-go/skopos/internal/clickhouse"
	"github.com/skopos-go/skopos/internal/erase"
	"github.com/skopos-go/skopos/schema"
)

// eraseRoutes adds the erasure pages (GET: what will go, POST: erase) of a
// session, a visitor and an identified user, for the site's owner only;
// none without Options.Erase.
func (s *server) eraseRoutes() {
	if s.opts.Erase == nil {
		return
	}
	for _, k := range []struct {
		path, param string
		kind        erase.Kind
	}{{"sessions/{sid}", "sid", erase.Session}, {"visitors/{vid}", "vid", erase.Visitor}, {"users/{userId}", "userId", erase.User}} {
		path := Prefix + "/sites/{id}/" + k.path + "/delete"
		s.mux.HandleFunc("GET "+path, s.authed(s.ownSite(access.Admin, s.confirmErase(k.kind, k.param))))
		s.mux.HandleFunc("POST "+path, s.authed(s.ownSite(access.Admin, s.erasePost(k.kind, k.param))))
	}
}

// eraseURL is the erasure page of a session, visitor or user (kind) of
// the website with id siteID.
func eraseURL(siteID string, kind erase.Kind, id string) string {
	return sitePath(siteID, string(kind)+"s/"+url.PathEscape(id)+"/delete", nil)
}

// eraseScope is what an erasure would delete, counted before asking.
type eraseScope struct {
	Visitors, Sessions, Events int
	// UserID, Name and Email identify the visitor (of a session: its
	// visitor; of a user: one of the user's visitors).
	UserID string `db:"userId"`
	Name   string `db:"name"`
	Email  string `db:"email"`
}

// sessionsWhere selects the sessions (table alias-free) an erasure of kind
// deletes, with {:w} the website and {:id} the target's id.
var sessionsWhere = map[erase.Kind]string{
	erase.Session: "website = {:w} AND id = {:id}",
	erase.Visitor: "website = {:w} AND visitor = {:id}",
	erase.User:    "website = {:w} AND visitor IN (SELECT id FROM visitors WHERE website = {:w} AND userId = {:id})",
}

// visitorsWhere selects the visitors the confirmation page names.
var visitorsWhere = map[erase.Kind]string{
	erase.Session: "website = {:w} AND id = (SELECT visitor FROM sessions WHERE website = {:w} AND id = {:id})",
	erase.Visitor: "website = {:w} AND id = {:id}",
	erase.User:    "website = {:w} AND userId = {:id}",
}

// scope counts what erasing kind id of the website would delete, with
// COUNT queries (the erasure itself counts again, in its transaction).
// found is false when the website has no such session, visitor or user.
func (s *server) scope(r *http.Request, site string, kind erase.Kind, id string) (sc eraseScope, found bool, err error) {
	if strings.TrimSpace(id) == "" {
		return sc, false, nil // erase refuses it; "" would match every anonymous visitor
	}
	if s.opts.ClickHouse != nil {
		return s.scopeClickHouse(r, site, kind, id)
	}
	p := dbx.Params{"w": site, "id": id}
	db := s.app.DB()
	err = db.NewQuery(`SELECT COUNT(*) AS visitors, COALESCE(MAX(userId), '') AS userId, COALESCE(MAX(name), '') AS name,
		COALESCE(MAX(email), '') AS email FROM ` + schema.Visitors + ` WHERE ` + visitorsWhere[kind]).
		Bind(p).WithContext(r.Context()).One(&sc)
	if err == nil {
		err = db.NewQuery("SELECT COUNT(*) FROM " + schema.Sessions + " WHERE " + sessionsWhere[kind]).
			Bind(p).WithContext(r.Context()).Row(&sc.Sessions)
	}
	if err == nil {
		err = db.NewQuery("SELECT COUNT(*) FROM " + schema.Events + " WHERE session IN (SELECT id FROM " + schema.Sessions +
			" WHERE " + sessionsWhere[kind] + ")").Bind(p).WithContext(r.Context()).Row(&sc.Events)
	}
	if err != nil {
		return sc, false, err
	}
	if kind == erase.Session {
		return sc, sc.Sessions > 0, nil
	}
	return sc, sc.Visitors > 0, nil
}

// scopeClickHouse is scope over the ClickHouse events store: the
// visitors in PocketBase, their sessions and events in ClickHouse.
func (s *server) scopeClickHouse(r *http.Request, site string, kind erase.Kind, id string) (sc eraseScope, found bool, err error) {
	ctx, ch := r.Context(), s.opts.ClickHouse
	var visitors []string
	switch kind {
	case erase.Session:
		type row struct {
			V string `json:"v"`
		}
		rows, err := clickhouse.Select[row](ctx, ch, "SELECT any(visitor) AS v FROM sessions WHERE website = ? AND id = ? HAVING count() > 0", site, id)
		if err != nil || len(rows) == 0 {
			return sc, false, err
		}
		visitors = []string{rows[0].V}
	case erase.Visitor:
		visitors = []string{id}
	default:
		err = s.app.DB().Select("id").From(schema.Visitors).Where(dbx.HashExp{"website": site, "userId": id}).
			WithContext(ctx).Column(&visitors)
		if err != nil {
			return sc, false, err
		}
	}
	if len(visitors) > 0 {
		err = s.app.DB().Select("COUNT(*) AS visitors", "COALESCE(MAX(userId), '') AS userId", "COALESCE(MAX(name), '') AS name",
			"COALESCE(MAX(email), '') AS email").From(schema.Visitors).
			Where(dbx.HashExp{"website": site}).AndWhere(dbx.In("id", anys(visitors)...)).WithContext(ctx).One(&sc)
		if err != nil {
			return sc, false, err
		}
	}
	sessions, args := "website = ? AND visitor IN "+clickhouse.List(visitors), []any{site}
	if kind == erase.Session {
		sessions, args = "website = ? AND id = ?", []any{site, id}
	}
	if len(visitors) > 0 {
		type counts struct {
			Sessions int64 `json:"s"`
			Events   int64 `json:"e"`
		}
		rows, err := clickhouse.Select[counts](ctx, ch, "SELECT toInt64(uniqExact(id)) AS s, toInt64((SELECT count() FROM events WHERE website = ? AND session IN "+
			"(SELECT id FROM sessions WHERE "+sessions+"))) AS e FROM sessions WHERE "+sessions, append(append([]any{site}, args...), args...)...)
		if err != nil {
			return sc, false, err
		}
		sc.Sessions, sc.Events = int(rows[0].Sessions), int(rows[0].Events)
	}
	if kind == erase.Session {
		return sc, sc.Sessions > 0, nil
	}
	return sc, sc.Visitors > 0, nil
}

type eraseConfirm struct {
	Site      siteView
	Kind      erase.Kind
	What      string // "this session", "everything of this visitor", …
	Scope     eraseScope
	ActionURL string
	CancelURL string
}

// eraseTexts are each kind's heading words.
var eraseTexts = map[erase.Kind]string{
	erase.Session: "this session",
	erase.Visitor: "everything of this visitor",
	erase.User:    "this user's data",
}

// confirmErase shows what an erasure would delete, with the form that
// does it: the dashboard never erases on one click.
func (s *server) confirmErase(kind erase.Kind, param string) func(http.ResponseWriter, *http.Request, *user, *core.Record) {
	return func(w http.ResponseWriter, r *http.Request, u *user, site *core.Record) {
		id := r.PathValue(param)
		sc, found, err := s.scope(r, site.Id, kind, id)
		if err != nil {
			s.internal(w, r, u, err)
			return
		}
		if !found {
			s.notFound(w, r, u)
			return
		}
		d := eraseConfirm{Site: s.viewSite(site), Kind: kind, What: eraseTexts[kind], Scope: sc,
			ActionURL: eraseURL(site.Id, kind, id), CancelURL: sitePath(site.Id, "visitors", nil)}
		switch kind {
		case erase.Session:
			d.CancelURL = sitePath(site.Id, "sessions/"+url.PathEscape(id), nil)
		case erase.User:
			d.CancelURL = userURL(site.Id, id)
		}
		s.render(w, http.StatusOK, "erase", pageFor(u, "Delete "+eraseTexts[kind]+" · "+site.GetString("name"), "", d))
	}
}

// erasePost erases through Options.Erase, which the plugin runs on the
// pipeline's worker, and goes to the visitors page with what went.
func (s *server) erasePost(kind erase.Kind, param string) func(http.ResponseWriter, *http.Request, *user, *core.Record) {
	return func(w http.ResponseWriter, r *http.Request, u *user, site *core.Record) {
		actor := u.rec.Collection().Name + "/" + u.rec.Id
		res, err := s.opts.Erase(r.Context(), erase.Target{Website: site.Id, Kind: kind, ID: r.PathValue(param)}, actor)
		switch {
		case errors.Is(err, erase.ErrNotFound), errors.Is(err, erase.ErrBadTarget):
			s.notFound(w, r, u)
			return
		case err != nil:
			s.internal(w, r, u, err)
			return
		}
		q := url.Values{"erased": {string(kind)}, "sessions": {strconv.Itoa(res.Sessions)}, "events": {strconv.Itoa(res.Events)}}
		http.Redirect(w, r, sitePath(site.Id, "visitors", q), http.StatusSeeOther)
	}
}

// erasedNotice is the visitors page's notice after an erasure ("" when
// the query is not one's redirect).
func erasedNotice(q url.Values) string {
	if eraseTexts[erase.Kind(q.Get("erased"))] == "" {
		return ""
	}
	sessions, err1 := strconv.Atoi(q.Get("sessions"))
	events, err2 := strconv.Atoi(q.Get("events"))
	if err1 != nil || err2 != nil || sessions < 0 || events < 0 {
		return ""
	}
	return "Deleted " + counted(sessions, "session") + " and " + counted(events, "event") + "."
}

// counted is "1 session", "3 sessions".
func counted(n int, noun string) string {
	if n != 1 {
		noun += "s"
	}
	return formatInt(n) + " " + noun
}

// erasureRow is a line of the erasure log as the visitors page shows it.
type erasureRow struct {
	Created  types.DateTime `db:"created"`
	Kind     string         `db:"kind"`
	Actor    string         `db:"actor"`
	Sessions int            `db:"sessions"`
	Events   int            `db:"events"`
}

// erasureLogLimit is how many of the latest erasures the visitors page
// lists.
const erasureLogLimit = 10

// recentErasures reads the website's latest erasures, the actors as
// their accounts' emails where they still exist.
func (s *server) recentErasures(r *http.Request, site string) ([]erasureRow, error) {
	var rows []erasureRow
	err := s.app.DB().Select("created", "kind", "actor", "sessions", "events").From(schema.Erasures).
		Where(dbx.HashExp{"website": site}).OrderBy("created DESC", "id DESC").Limit(erasureLogLimit).
		WithContext(r.Context()).All(&rows)
	for i := range rows {
		rows[i].Actor = s.actorName(rows[i].Actor)
	}
	return rows, err
}

// actorName shows an erasure log's actor ("users/<id>", with " (API
// key)" through a key) as the account's email; the actor as stored when
// the account is gone.
func (s *server) actorName(actor string) string {
	who, key := strings.CutSuffix(actor, " (API key)")
	col, id, ok := strings.Cut(who, "/")
	if !ok || (col != schema.Users && col != schema.Superusers) {
		return actor
	}
	rec, err := s.app.FindRecordById(col, id)
	if err != nil {
		return actor
	}
	if key {
		return rec.Email() + " (API key)"
	}
	return rec.Email()
}

// anys is ids as dbx.In takes them.
func anys(ids []string) []any {
	out := make([]any, len(ids))
	for i, id := range ids {
		out[i] = id
	}
	return out
}
