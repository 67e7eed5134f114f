package dashboard

import (
	"errors"
	"net/http"
	"strings"

	"github.com/pocketbase/pocketbase/core"
	"github.com/skopos-go/skopos/internal/stats"
)

// timelineEvent is a session's event with its payload ready to read.
type timelineEvent struct {
	stats.TimelineEvent
	Data string
}

type sessionData struct {
	Site     siteView
	Fields   [][2]string
	User     [][2]string // identified user: label, value
	Events   []timelineEvent
	Limited  bool
	BackURL  string
	Started  string
	Duration string
}

// timelineLimit bounds the events shown for one session.
const timelineLimit = 1000

func (s *server) sessionTimeline(w http.ResponseWriter, r *http.Request, u *user, site *core.Record) {
	sess, err := stats.SessionByID(r.Context(), s.app.DB(), site.Id, r.PathValue("sid"))
	if errors.Is(err, stats.ErrSessionNotFound) {
		s.notFound(w, r, u)
		return
	}
	if err != nil {
		s.internal(w, r, u, err)
		return
	}
	events, err := stats.SessionTimeline(r.Context(), s.app.DB(), sess.ID, timelineLimit+1)
	if err != nil {
		s.internal(w, r, u, err)
		return
	}
	started, last := sess.StartedAt.Time(), sess.LastActivity.Time()
	d := sessionData{Site: s.viewSite(site), BackURL: sitePath(site.Id, "sessions", nil),
		Started: formatTime(started), Duration: formatDuration(last.Sub(started).Seconds())}
	if len(events) > timelineLimit {
		events, d.Limited = events[:timelineLimit], true
	}
	for _, ev := range events {
		te := timelineEvent{TimelineEvent: ev}
		if ev.EventData != "" && ev.EventData != "null" {
			te.Data = prettyJSON(ev.EventData)
		}
		d.Events = append(d.Events, te)
	}
	kind := "Returning visitor"
	if sess.IsNew {
		kind = "New visitor"
	}
	d.Fields = [][2]string{
		{"Visitor", kind},
		{"Entry page", sess.EntryPath},
		{"Exit page", sess.ExitPath},
		{"Referrer", orDash(sess.Referrer)},
		{"Country", orDash(place(sess.Country, sess.State))},
		{"Device", orDash(sess.Device)},
		{"Browser", orDash(sess.Browser)},
		{"OS", orDash(sess.OS)},
		{"Language", orDash(sess.Language)},
		{"Screen", orDash(strings.Trim(sess.ScreenWidth+"×"+sess.ScreenHeight, "×"))},
		{"Engaged", yesNo(sess.IsEngaged)},
	}
	for _, f := range [][2]string{{"User id", sess.UserID}, {"Name", sess.UserName}, {"Email", sess.UserEmail}, {"Phone", sess.UserPhone}} {
		if f[1] != "" {
			d.User = append(d.User, f)
		}
	}
	s.render(w, http.StatusOK, "session", pageFor(u, "Session · "+site.GetString("name"), "", d))
}
