package dashboard

import (
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/pocketbase/pocketbase/tools/inflector"
	"github.com/skopos-go/skopos/internal/access"
	"github.com/skopos-go/skopos/internal/apikey"
	"github.com/skopos-go/skopos/internal/audit"
	"github.com/skopos-go/skopos/schema"
)

// keyForm is the new-key form as typed, so a refused form comes back
// with what the user entered.
type keyForm struct {
	Name    string
	Sites   map[string]bool // checked trackingIds
	Expires string          // YYYY-MM-DD, "" for never
	Segment string          // the id of the segment to pin the key to
}

// keySite is a website in the form's checkbox list.
type keySite struct {
	TrackingID, Name, Domain string
	Checked                  bool
}

// keyRow is a key in the list: never the key or its hash.
type keyRow struct {
	Name      string
	Sites     []string // website names; nil: every website of the account
	Segment   string   // the pinned segment's name; "": none
	Created   time.Time
	Expires   time.Time // zero: never
	Expired   bool
	LastUsed  time.Time // zero: never used
	RevokeURL string
}

type keysData struct {
	Keys  []keyRow
	Sites []keySite
	// Segments are the "Pin to segment" select's options: the segments
	// of the websites the account administers, named "site · segment"
	Segments []segmentOption
	Form     keyForm
	Error    string
	Revoked  bool
	// NewKey is the key just created. It is in this one response only
	// (rendered for the POST, never in a URL, and not cacheable: authed
	// sets no-store); only its hash is stored.
	NewKey  string
	NewName string
	MaxName int
	MinDate string // the date input's earliest day: tomorrow (UTC)
}

// removedSite names a key's website the account no longer sees (deleted,
// or given to another user): the key's scope still holds its trackingId,
// and the key reads nothing there.
const removedSite = "(removed website)"

func (s *server) keys(w http.ResponseWriter, r *http.Request, u *user) {
	s.renderKeys(w, r, u, http.StatusOK, keysData{Revoked: r.URL.Query().Get("revoked") == "1"})
}

// renderKeys fills in the account's keys and websites around d's form,
// message and new key.
func (s *server) renderKeys(w http.ResponseWriter, r *http.Request, u *user, status int, d keysData) {
	sites, err := s.visibleSites(u)
	if err != nil {
		s.internal(w, r, u, err)
		return
	}
	keys, err := apikey.List(s.app, u.rec)
	if err != nil {
		s.internal(w, r, u, err)
		return
	}
	now := s.opts.Now()
	names := make(map[string]string, len(sites))
	for _, site := range sites {
		tid := site.GetString("trackingId")
		names[tid] = site.GetString("name")
		d.Sites = append(d.Sites, keySite{TrackingID: tid, Name: site.GetString("name"), Domain: site.GetString("domain"),
			Checked: d.Form.Sites[tid]})
	}
	d.Segments = []segmentOption{{Name: "None (all visitors)", Selected: d.Form.Segment == ""}}
	for _, site := range sites {
		if !access.Can(s.app, u.rec, site, access.Admin) {
			continue
		}
		segs, err := s.segmentChoices(u, site, d.Form.Segment)
		if err != nil {
			s.internal(w, r, u, err)
			return
		}
		for _, o := range segs[1:] {
			o.Name = site.GetString("name") + " · " + o.Name
			d.Segments = append(d.Segments, o)
		}
	}
	for _, k := range keys {
		row := keyRow{Name: k.Name, Segment: k.Segment, Created: k.Created.Time(), Expires: k.Expires.Time(), LastUsed: k.LastUsed.Time(),
			RevokeURL: Prefix + "/keys/" + url.PathEscape(k.ID) + "/revoke"}
		row.Expired = !k.Expires.IsZero() && !now.Before(row.Expires)
		for _, tid := range k.Sites {
			name, ok := names[tid]
			if !ok {
				name = removedSite
			}
			row.Sites = append(row.Sites, name)
		}
		// stored by trackingId, which means nothing to a reader
		slices.SortFunc(row.Sites, func(a, b string) int { return strings.Compare(strings.ToLower(a), strings.ToLower(b)) })
		d.Keys = append(d.Keys, row)
	}
	d.MaxName = schema.MaxAPIKeyName
	d.MinDate = now.UTC().AddDate(0, 0, 1).Format(time.DateOnly)
	s.render(w, status, "keys", pageFor(u, "API keys", "keys", d))
}

func (s *server) createKey(w http.ResponseWriter, r *http.Request, u *user) {
	f := keyForm{Name: strings.TrimSpace(r.PostFormValue("name")), Expires: strings.TrimSpace(r.PostFormValue("expires")),
		Segment: r.PostFormValue("segment")}
	in := apikey.Input{Name: f.Name, Segment: f.Segment}
	// none checked is nil: every website, as the form says
	if checked := r.PostForm["site"]; len(checked) > 0 {
		in.Sites = checked
		f.Sites = make(map[string]bool, len(checked))
		for _, tid := range checked {
			f.Sites[tid] = true
		}
	}
	if f.Expires != "" {
		// valid through the date input's day (UTC: a key spans websites
		// and their zones), as a shared link is through its day; a
		// malformed one gets the REST API's RFC 3339 message
		in.Expires = f.Expires + "T00:00:00Z"
		if d, err := time.Parse(time.DateOnly, f.Expires); err == nil {
			in.Expires = d.AddDate(0, 0, 1).Format(time.RFC3339)
		}
	}
	id, key, err := apikey.Create(s.app, u.rec, in, s.opts.Now())
	if bad, ok := errors.AsType[*apikey.InvalidError](err); ok {
		// the sentence the REST API answers (PocketBase sentenizes its
		// error messages)
		s.renderKeys(w, r, u, http.StatusUnprocessableEntity, keysData{Form: f, Error: inflector.Sentenize(bad.Message)})
		return
	}
	if err != nil {
		s.internal(w, r, u, err)
		return
	}
	if rec, err := s.app.FindRecordById(schema.APIKeys, id); err == nil {
		_ = audit.LogKey(s.app, u.rec, false, audit.KeyCreate, rec) // a failure is logged there
	}
	// Rendered for this POST rather than redirected to: a redirect could
	// carry the key only in its URL (history, logs, Referer).
	s.renderKeys(w, r, u, http.StatusCreated, keysData{NewKey: key, NewName: f.Name})
}

func (s *server) revokeKey(w http.ResponseWriter, r *http.Request, u *user) {
	// only the account's own keys, superuser or not: this page lists
	// those, and any other id is someone else's (or none)
	// read before it goes: its rows name its name and scope
	rec, _ := s.app.FindRecordById(schema.APIKeys, r.PathValue("kid"))
	switch err := apikey.RevokeOwn(s.app, u.rec, r.PathValue("kid")); {
	case errors.Is(err, apikey.ErrNotFound):
		s.notFound(w, r, u)
	case err != nil:
		s.internal(w, r, u, err)
	default:
		_ = audit.LogKey(s.app, u.rec, false, audit.KeyRevoke, rec) // a failure is logged there
		http.Redirect(w, r, Prefix+"/keys?revoked=1", http.StatusSeeOther)
	}
}
