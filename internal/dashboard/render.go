package dashboard

import (
	"bytes"
	"html/template"
	"net/http"
	"net/url"
	"strings"
	"sync"

	"github.com/skopos-go/skopos/internal/share"
)

// page is what every template receives.
type page struct {
	Title string
	User  string // email of the logged-in account, "" on the login page
	Super bool
	CSRF  string
	Nav   string // overview, websites, keys, service-keys, notifications: the active menu entry
	// Shared marks a page seen through a shared link: no account, no
	// menu, read-only.
	Shared bool
	Data   any
}

var pageNames = []string{"login", "error", "overview", "site", "breakdown", "events", "errors", "sessions", "session",
	"websites", "website", "delete", "goals", "funnels", "funnel", "realtime", "keys", "shares", "share-password",
	"seo", "service-keys", "uptime", "notifications", "notification", "visitors", "user", "erase", "members", "invite", "audit"}

// funcs format numbers for display; they return plain strings, which
// html/template escapes like any other value.
var funcs = template.FuncMap{
	"num":        formatInt,
	"duration":   formatDuration,
	"when":       formatTime,
	"percent":    percent,
	"yesno":      yesNo,
	"orDash":     orDash,
	"orNA":       orNA,
	"eventLabel": eventLabel,
	"size":       formatSize,
	"through":    formatThrough,
}

// pages are parsed once per process: they are embedded, their functions
// static, and executing a template is safe from many goroutines (every
// Handler shares them; parsing costs a tenth of a second, seconds under
// the race detector's tests).
var pages = sync.OnceValue(parseTemplates)

func parseTemplates() map[string]*template.Template {
	out := make(map[string]*template.Template, len(pageNames))
	for _, name := range pageNames {
		out[name] = template.Must(template.New("layout.html").Funcs(funcs).
			ParseFS(templateFS, "templates/layout.html", "templates/partials.html", "templates/"+name+".html"))
	}
	return out
}

// render executes into a buffer first, so that a template error gives a
// clean 500 instead of half a page.
func (s *server) render(w http.ResponseWriter, status int, name string, p *page) {
	var buf bytes.Buffer
	if err := s.pages[name].ExecuteTemplate(&buf, "layout.html", p); err != nil {
		s.app.Logger().Error("skopos dashboard: render", "page", name, "error", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// pageFor starts the page of a logged-in user.
func pageFor(u *user, title, nav string, data any) *page {
	return &page{Title: title, User: u.email(), Super: u.super, CSRF: u.sess.csrf, Nav: nav, Data: data}
}

type errorData struct {
	Status  int
	Message string
	Back    string // where the page links back to; "" for nowhere
}

// fail renders an error page; u may be nil (not logged in). Under a
// shared link the page links back to the link's own report: its visitor
// has no account to take to the dashboard.
func (s *server) fail(w http.ResponseWriter, r *http.Request, u *user, status int, msg string) {
	back := Prefix + "/"
	if sharedPath(r) {
		back = share.PathPrefix + "/" + url.PathEscape(r.PathValue("token"))
	}
	s.failBack(w, r, u, status, msg, back)
}

// failBack renders an error page linking back to back ("" for no link).
func (s *server) failBack(w http.ResponseWriter, r *http.Request, u *user, status int, msg, back string) {
	p := &page{Title: http.StatusText(status), Shared: sharedPath(r), Data: errorData{status, msg, back}}
	if u != nil {
		p = pageFor(u, http.StatusText(status), "", p.Data)
	}
	w.Header().Set("Cache-Control", "no-store")
	s.render(w, status, "error", p)
}

// sharedPath reports whether r came through a shared link.
func sharedPath(r *http.Request) bool { return strings.HasPrefix(r.URL.Path, share.PathPrefix+"/") }

func (s *server) notFound(w http.ResponseWriter, r *http.Request, u *user) {
	s.fail(w, r, u, http.StatusNotFound, "There is no such page, or it is not yours.")
}

func (s *server) internal(w http.ResponseWriter, r *http.Request, u *user, err error) {
	s.app.Logger().Error("skopos dashboard", "path", r.URL.Path, "error", err)
	s.fail(w, r, u, http.StatusInternalServerError, "Something went wrong reading the data. The server log has the details.")
}

// Links are built only here, from the dashboard's own routes, with every
// variable part escaped; html/template then escapes the whole attribute.

func queryEscape(s string) string { return url.QueryEscape(s) }

func siteURL(id string, q url.Values) string {
	return withQuery(Prefix+"/sites/"+url.PathEscape(id), q)
}

func sitePath(id, sub string, q url.Values) string {
	return withQuery(Prefix+"/sites/"+url.PathEscape(id)+"/"+sub, q)
}

func websiteURL(id, sub string) string {
	u := Prefix + "/websites/" + url.PathEscape(id)
	if sub != "" {
		u += "/" + sub
	}
	return u
}

func withQuery(path string, q url.Values) string {
	if len(q) == 0 {
		return path
	}
	return path + "?" + q.Encode()
}
