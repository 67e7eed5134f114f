package dashboard

import (
	"database/sql"
	"encoding/json"
	"errors"
	"net/http"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
	"github.com/skopos-go/skopos/internal/clickhouse"
	"github.com/skopos-go/skopos/internal/erase"
	"github.com/skopos-go/skopos/internal/geo"
	"github.com/skopos-go/skopos/internal/ipinfo"
	"github.com/skopos-go/skopos/internal/stats"
	"github.com/skopos-go/skopos/internal/worldmap"
	"github.com/skopos-go/skopos/schema"
)

// timelineEvent is a session's event with its payload ready to read.
type timelineEvent struct {
	stats.TimelineEvent
	Data string
}

type sessionData struct {
	Site     siteView
	Fields   [][2]string
	User     [][2]string  // identified user: label, value
	UserURL  string       // the identified user's page ("" when none)
	Meta     [][2]string  // the identified user's metadata: key, value
	IP       string       // the raw address, "" when the website did not store it
	Network  *networkView // nil: no IP, or nothing known of it
	NoRegion bool         // the country database gave no region (state)
	Events   []timelineEvent
	Limited  bool
	BackURL  string
	Started  string
	Duration string
	// DeleteURL and DeleteVisitorURL are the erasure pages of the
	// session and of its visitor ("" without Options.Erase).
	DeleteURL, DeleteVisitorURL string
}

// networkView is an address's network (Options.IPInfo) as the page
// shows it; ASN as network tools write it ("AS15169").
type networkView struct {
	ASN, Org  string
	Hosting   bool
	Credit    string
	CreditURL string
}

// timelineLimit bounds the events shown for one session.
const timelineLimit = 1000

func (s *server) sessionTimeline(w http.ResponseWriter, r *http.Request, u *user, site *core.Record) {
	ch := s.opts.ClickHouse
	var sess *stats.Session
	var err error
	if ch != nil {
		sess, err = stats.SessionByIDClickHouse(r.Context(), ch, s.app.DB(), site.Id, r.PathValue("sid"))
	} else {
		sess, err = stats.SessionByID(r.Context(), s.app.DB(), site.Id, r.PathValue("sid"))
	}
	if errors.Is(err, stats.ErrSessionNotFound) {
		s.notFound(w, r, u)
		return
	}
	if err != nil {
		s.internal(w, r, u, err)
		return
	}
	var events []stats.TimelineEvent
	if ch != nil {
		events, err = stats.SessionTimelineClickHouse(r.Context(), ch, site.Id, sess.ID, timelineLimit+1)
	} else {
		events, err = stats.SessionTimeline(r.Context(), s.app.DB(), sess.ID, timelineLimit+1)
	}
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
		{"Source", orDash(strings.Trim(sess.Source+" · "+sess.Channel, " ·"))},
		{"Referrer", orDash(sess.Referrer)},
		{"Country", orDash(place(worldmap.Name(sess.Country), sess.State))},
		{"Device", orDash(sess.Device)},
		{"Browser", orDash(sess.Browser)},
		{"OS", orDash(sess.OS)},
		{"Language", orDash(sess.Language)},
		{"Screen", orDash(strings.Trim(sess.ScreenWidth+"×"+sess.ScreenHeight, "×"))},
		{"Engaged", yesNo(sess.IsEngaged)},
		{"Engaged time", formatDuration(float64(sess.EngagedMs) / 1000)},
	}
	for _, f := range [][2]string{{"User id", sess.UserID}, {"Name", sess.UserName}, {"Email", sess.UserEmail}, {"Phone", sess.UserPhone}} {
		if f[1] != "" {
			d.User = append(d.User, f)
		}
	}
	if sess.UserID != "" {
		d.UserURL = userURL(site.Id, sess.UserID)
	}
	d.NoRegion = sess.State == "" || sess.State == geo.Unknown
	if err := s.sessionPrivate(r, site.Id, sess.ID, &d); err != nil {
		s.internal(w, r, u, err)
		return
	}
	s.render(w, http.StatusOK, "session", pageFor(u, "Session · "+site.GetString("name"), "", d))
}

// sessionPrivate adds what only the session page shows: the raw IP
// address, if the website stored it, with its network, and the
// identified user's metadata.
func (s *server) sessionPrivate(r *http.Request, siteID, sessionID string, d *sessionData) error {
	var row struct {
		IP      string `db:"ip"`
		Meta    string `db:"meta"`
		Visitor string `db:"visitor"`
	}
	var err error
	if ch := s.opts.ClickHouse; ch != nil {
		// the session's address in ClickHouse, its visitor in PocketBase
		type chRow struct {
			IP      string `json:"ip"`
			Visitor string `json:"visitor"`
		}
		var got []chRow
		got, err = clickhouse.Select[chRow](r.Context(), ch, "SELECT ipAddress AS ip, visitor FROM sessions FINAL WHERE website = ? AND id = ?", siteID, sessionID)
		if err == nil && len(got) > 0 {
			row.IP = got[0].IP
			err = s.app.DB().Select("COALESCE(metadata, '') AS meta", "id AS visitor").From(schema.Visitors).
				Where(dbx.HashExp{"id": got[0].Visitor}).WithContext(r.Context()).One(&row)
			if errors.Is(err, sql.ErrNoRows) {
				err = nil
			}
		}
	} else {
		err = s.app.DB().Select("COALESCE(s.ipAddress, '') AS ip", "COALESCE(v.metadata, '') AS meta", "COALESCE(v.id, '') AS visitor").
			From(schema.Sessions+" s").LeftJoin(schema.Visitors+" v", dbx.NewExp("v.id = s.visitor")).
			Where(dbx.HashExp{"s.id": sessionID}).WithContext(r.Context()).One(&row)
	}
	if err != nil {
		return err
	}
	d.IP = row.IP
	if ip, err := netip.ParseAddr(row.IP); err == nil && s.opts.IPInfo != nil {
		if info, ok := s.opts.IPInfo(ip); ok {
			d.Network = &networkView{ASN: "AS" + strconv.FormatUint(uint64(info.ASN), 10), Org: info.Org, Hosting: info.Hosting,
				Credit: ipinfo.Attribution, CreditURL: ipinfo.AttributionURL}
		}
	}
	d.Meta = metadataRows(row.Meta)
	if s.opts.Erase != nil {
		d.DeleteURL = eraseURL(d.Site.ID, erase.Session, sessionID)
		if row.Visitor != "" {
			d.DeleteVisitorURL = eraseURL(d.Site.ID, erase.Visitor, row.Visitor)
		}
	}
	return nil
}

// metadataRows lists a visitor's metadata (a JSON object) by key, values
// that are not strings as JSON. Anything but an object shows as one row
// under "(value)", so that nothing stored is hidden.
func metadataRows(raw string) [][2]string {
	if raw == "" || raw == "null" {
		return nil
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal([]byte(raw), &m); err != nil {
		return [][2]string{{"(value)", raw}}
	}
	rows := make([][2]string, 0, len(m))
	for k, v := range m {
		var str string
		if json.Unmarshal(v, &str) != nil {
			str = string(v)
		}
		rows = append(rows, [2]string{k, str})
	}
	slices.SortFunc(rows, func(a, b [2]string) int { return strings.Compare(a[0], b[0]) })
	return rows
}
