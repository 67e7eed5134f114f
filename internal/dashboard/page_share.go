package dashboard

import (
	"crypto/rand"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tools/inflector"
	"github.com/skopos-go/skopos/internal/audit"
	"github.com/skopos-go/skopos/internal/share"
	"github.com/skopos-go/skopos/internal/stats"
)

const (
	// shareCookie remembers an entered password, per link (its path).
	shareCookie = "skopos_share"
	// shareFormCookie carries the password form's CSRF token (double
	// submit, as for the login form).
	shareFormCookie = "skopos_share_form"
)

// shared runs a report page for anyone holding the {token} shared link:
// no account, read-only. A link with a password shows its password form
// until the browser has entered it.
func (s *server) shared(h func(http.ResponseWriter, *http.Request, *reader)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		l, ok := s.openShare(w, r)
		if !ok {
			return
		}
		if c, err := r.Cookie(shareCookie); !s.opts.Shares.Unlocked(l, cookieValue(c, err)) {
			if r.Method != http.MethodGet || strings.HasSuffix(r.URL.Path, "/active") {
				http.Error(w, "password required", http.StatusUnauthorized)
				return
			}
			s.renderSharePassword(w, r, l, http.StatusUnauthorized, "")
			return
		}
		h(w, r, &reader{link: l, site: l.Site})
	}
}

func cookieValue(c *http.Cookie, err error) string {
	if err != nil {
		return ""
	}
	return c.Value
}

// openShare resolves the {token} link, or answers itself (404 for a
// link that opens nothing, 429 over the rate limit) and returns false.
// Those answers link nowhere: the link's own page would give the same.
func (s *server) openShare(w http.ResponseWriter, r *http.Request) (*share.Link, bool) {
	h := w.Header()
	h.Set("Cache-Control", "no-store")
	// a shared report is for the people it was given to, not for search
	// engines (a link posted somewhere public would get indexed)
	h.Set("X-Robots-Tag", "noindex, nofollow")
	if s.opts.Shares == nil {
		s.failBack(w, r, nil, http.StatusNotFound, shareGone, "")
		return nil, false
	}
	l, err := s.opts.Shares.Open(s.app, r.PathValue("token"), s.opts.ClientIP(r))
	switch {
	case errors.Is(err, share.ErrNotFound):
		s.failBack(w, r, nil, http.StatusNotFound, shareGone, "")
		return nil, false
	case errors.Is(err, share.ErrRateLimited):
		h.Set("Retry-After", "60")
		s.failBack(w, r, nil, http.StatusTooManyRequests, "Too many requests. Wait a minute and try again.", "")
		return nil, false
	case err != nil:
		s.internal(w, r, nil, err)
		return nil, false
	}
	return l, true
}

// shareGone is the one answer for unknown, revoked and expired links.
const shareGone = "This shared link does not exist, was revoked or has expired."

type sharePasswordData struct {
	Error     string
	ActionURL string
	Next      string // the page asked for, opened after the password
}

func (s *server) renderSharePassword(w http.ResponseWriter, r *http.Request, l *share.Link, status int, msg string) {
	token := rand.Text()
	http.SetCookie(w, &http.Cookie{Name: shareFormCookie, Value: token, Path: sharePath(l),
		HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: isHTTPS(r), MaxAge: 3600})
	next := r.URL.RequestURI()
	if r.Method == http.MethodPost {
		next = r.PostFormValue("next")
	}
	s.render(w, status, "share-password", &page{Title: "Password required", Shared: true, CSRF: token,
		Data: sharePasswordData{Error: msg, ActionURL: sharePath(l), Next: shareNext(l, next)}})
}

// shareNext keeps the page to open after the password within the link
// (no open redirect, not even to another link).
func shareNext(l *share.Link, next string) string {
	base := sharePath(l)
	rest, ok := strings.CutPrefix(next, base)
	if !ok || (rest != "" && rest[0] != '/' && rest[0] != '?') || strings.ContainsAny(next, "\\\r\n") || strings.Contains(next, "//") {
		return base
	}
	return next
}

// sharePath is the link's site page (and its cookies' path).
func sharePath(l *share.Link) string { return share.PathPrefix + "/" + url.PathEscape(l.Token) }

// unlockShare checks the password form of a link and remembers it in a
// cookie of the link's path.
func (s *server) unlockShare(w http.ResponseWriter, r *http.Request) {
	l, ok := s.openShare(w, r)
	if !ok {
		return
	}
	c, err := r.Cookie(shareFormCookie)
	if err != nil || !tokenEqual(r.PostFormValue("csrf"), c.Value) {
		s.renderSharePassword(w, r, l, http.StatusForbidden, "The form expired. Please try again.")
		return
	}
	switch err := s.opts.Shares.CheckPassword(l, r.PostFormValue("password"), s.opts.ClientIP(r)); {
	case errors.Is(err, share.ErrRateLimited):
		w.Header().Set("Retry-After", "60")
		s.renderSharePassword(w, r, l, http.StatusTooManyRequests, "Too many wrong passwords. Wait a minute and try again.")
		return
	case err != nil:
		s.renderSharePassword(w, r, l, http.StatusUnauthorized, "Wrong password.")
		return
	}
	http.SetCookie(w, &http.Cookie{Name: shareCookie, Value: s.opts.Shares.Cookie(l), Path: sharePath(l),
		HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: isHTTPS(r), MaxAge: int(share.CookieTTL / time.Second)})
	http.SetCookie(w, &http.Cookie{Name: shareFormCookie, Value: "", Path: sharePath(l), MaxAge: -1,
		HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: isHTTPS(r)})
	http.Redirect(w, r, shareNext(l, r.PostFormValue("next")), http.StatusSeeOther)
}

// shareForm is the new-link form as typed (never the password).
type shareForm struct {
	Name, Expires string
	Segment       string // the id of the segment to pin the link to
}

type shareRow struct {
	share.Info
	RevokeURL string
}

type createdShare struct {
	URL      string
	Password bool
}

type sharesData struct {
	Site      siteView
	Links     []shareRow
	Form      shareForm
	Error     string
	Created   *createdShare
	Revoked   bool
	Zone      string
	ActionURL string
	BackURL   string
	// Segments are the "Pin to segment" select's options
	Segments []segmentOption
}

func (s *server) shares(w http.ResponseWriter, r *http.Request, u *user, site *core.Record) {
	s.renderShares(w, r, u, site, http.StatusOK, sharesData{Revoked: r.URL.Query().Get("deleted") == "1"})
}

func (s *server) renderShares(w http.ResponseWriter, r *http.Request, u *user, site *core.Record, status int, d sharesData) {
	infos, err := share.List(s.app, u.rec, site, s.opts.Now())
	if err != nil {
		s.internal(w, r, u, err)
		return
	}
	if d.Segments, err = s.segmentChoices(u, site, d.Form.Segment); err != nil {
		s.internal(w, r, u, err)
		return
	}
	d.Site, d.Zone = s.viewSite(site), stats.SiteLocation(site).String()
	d.ActionURL, d.BackURL = sitePath(site.Id, "shares", nil), siteURL(site.Id, nil)
	for _, in := range infos {
		d.Links = append(d.Links, shareRow{Info: in, RevokeURL: sitePath(site.Id, "shares/"+url.PathEscape(in.ID)+"/revoke", nil)})
	}
	s.render(w, status, "shares", pageFor(u, "Shared links · "+site.GetString("name"), "", d))
}

func (s *server) addShare(w http.ResponseWriter, r *http.Request, u *user, site *core.Record) {
	f := shareForm{Name: strings.TrimSpace(r.PostFormValue("name")), Expires: strings.TrimSpace(r.PostFormValue("expires")),
		Segment: r.PostFormValue("segment")}
	in := share.Input{Name: f.Name, Password: r.PostFormValue("password"), Segment: f.Segment}
	if f.Expires != "" {
		day, err := time.ParseInLocation(time.DateOnly, f.Expires, stats.SiteLocation(site))
		if err != nil {
			s.renderShares(w, r, u, site, http.StatusUnprocessableEntity, sharesData{Form: f, Error: "The expiry must be a date (YYYY-MM-DD)."})
			return
		}
		// through the chosen day, in the website's time zone
		in.Expires = day.AddDate(0, 0, 1)
	}
	token, rec, err := share.Create(s.app, u.rec, site, in, s.opts.Now())
	switch {
	case errors.Is(err, share.ErrInvalid):
		msg := strings.TrimPrefix(err.Error(), share.ErrInvalid.Error()+": ")
		s.renderShares(w, r, u, site, http.StatusUnprocessableEntity, sharesData{Form: f, Error: inflector.Sentenize(msg)})
		return
	case err != nil:
		s.internal(w, r, u, err)
		return
	}
	s.logChange(u, site, audit.ShareCreate, recordTarget(rec), audit.ShareDetails(rec))
	// shown on this response only: the token is in no URL, no redirect,
	// and authed sends no-store
	s.renderShares(w, r, u, site, http.StatusCreated, sharesData{
		Created: &createdShare{URL: Origin(r) + share.PathPrefix + "/" + token, Password: in.Password != ""}})
}
