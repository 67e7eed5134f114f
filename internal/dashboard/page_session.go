package dashboard

import (
	"net/http"
	"strings"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/tools/types"
	"github.com/skopos-go/skopos/schema"
)

type timelineEvent struct {
	Time      types.DateTime `db:"timestamp"`
	Type      string         `db:"type"`
	Path      string         `db:"path"`
	EventName string         `db:"eventName"`
	EventData string         `db:"eventData"`
	Data      string         `db:"-"`
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

func (s *server) sessionTimeline(w http.ResponseWriter, r *http.Request, u *user) {
	site := s.siteFor(r, u)
	if site == nil {
		s.notFound(w, r, u)
		return
	}
	sess, err := s.app.FindRecordById(schema.Sessions, r.PathValue("sid"))
	if err != nil || sess.GetString("website") != site.Id {
		s.notFound(w, r, u)
		return
	}
	var events []timelineEvent
	err = s.app.DB().Select("timestamp", "type", "path", "eventName", "COALESCE(eventData, '') AS eventData").From(schema.Events).
		Where(dbx.HashExp{"session": sess.Id}).OrderBy("timestamp", "id").Limit(timelineLimit + 1).
		WithContext(r.Context()).All(&events)
	if err != nil {
		s.internal(w, r, u, err)
		return
	}
	started, last := sess.GetDateTime("startedAt").Time(), sess.GetDateTime("lastActivity").Time()
	d := sessionData{Site: s.viewSite(site), BackURL: sitePath(site.Id, "sessions", nil),
		Started: formatTime(started), Duration: formatDuration(last.Sub(started).Seconds())}
	if len(events) > timelineLimit {
		events, d.Limited = events[:timelineLimit], true
	}
	for i := range events {
		if events[i].EventData != "" && events[i].EventData != "null" {
			events[i].Data = prettyJSON(events[i].EventData)
		}
	}
	d.Events = events
	kind := "Returning visitor"
	if sess.GetBool("isNewVisitor") {
		kind = "New visitor"
	}
	d.Fields = [][2]string{
		{"Visitor", kind},
		{"Entry page", sess.GetString("entryPath")},
		{"Exit page", sess.GetString("exitPath")},
		{"Referrer", orDash(sess.GetString("referrer"))},
		{"Country", orDash(place(sess.GetString("country"), sess.GetString("state")))},
		{"Device", orDash(sess.GetString("device"))},
		{"Browser", orDash(sess.GetString("browser"))},
		{"OS", orDash(sess.GetString("os"))},
		{"Language", orDash(sess.GetString("language"))},
		{"Screen", orDash(strings.Trim(sess.GetString("screenWidth")+"×"+sess.GetString("screenHeight"), "×"))},
		{"Engaged", yesNo(sess.GetBool("isEngaged"))},
	}
	if vid := sess.GetString("visitor"); vid != "" {
		if v, err := s.app.FindRecordById(schema.Visitors, vid); err == nil {
			for _, f := range [][2]string{{"User id", "userId"}, {"Name", "name"}, {"Email", "email"}, {"Phone", "phone"}} {
				if val := v.GetString(f[1]); val != "" {
					d.User = append(d.User, [2]string{f[0], val})
				}
			}
		}
	}
	s.render(w, http.StatusOK, "session", pageFor(u, "Session · "+site.GetString("name"), "", d))
}
