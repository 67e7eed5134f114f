package dashboard

import (
	"crypto/rand"
	"crypto/subtle"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/pocketbase/pocketbase/core"
	"github.com/skopos-go/skopos/schema"
)

const (
	sessionCookie = "skopos_session"
	// loginCookie carries the login form's CSRF token before there is a
	// session (double submit: a cross-site form cannot read or set it).
	loginCookie = "skopos_login"
)

// session is one login. It lives in memory only: a restart logs everyone
// out, which is acceptable for an admin UI and keeps no secret on disk.
type session struct {
	token      string
	collection string // _superusers or users
	recordID   string
	tokenKey   string // the record's tokenKey at login; a password change rotates it
	csrf       string
	expires    time.Time
}

type sessionStore struct {
	now func() time.Time
	ttl time.Duration

	mu sync.Mutex
	m  map[string]*session
}

func newSessionStore(now func() time.Time, ttl time.Duration) *sessionStore {
	return &sessionStore{now: now, ttl: ttl, m: map[string]*session{}}
}

func (st *sessionStore) create(rec *core.Record) *session {
	ss := &session{
		token: rand.Text() + rand.Text(), collection: rec.Collection().Name, recordID: rec.Id,
		tokenKey: rec.TokenKey(), csrf: rand.Text(), expires: st.now().Add(st.ttl),
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	// Expired sessions are dropped here, so the map stays bounded by the
	// logins of one TTL without a background goroutine.
	for k, v := range st.m {
		if st.now().After(v.expires) {
			delete(st.m, k)
		}
	}
	st.m[ss.token] = ss
	return ss
}

func (st *sessionStore) get(token string) *session {
	st.mu.Lock()
	defer st.mu.Unlock()
	ss := st.m[token]
	if ss == nil {
		return nil
	}
	if st.now().After(ss.expires) {
		delete(st.m, token)
		return nil
	}
	return ss
}

func (st *sessionStore) remove(token string) {
	st.mu.Lock()
	delete(st.m, token)
	st.mu.Unlock()
}

// user is the logged-in account of a request.
type user struct {
	rec   *core.Record
	super bool
	sess  *session
}

func (u *user) email() string { return u.rec.Email() }

// authed runs h for a logged-in user; others go to the login page (or get
// 401 for a POST, and for the event streams, under /dashboard/live/ and a
// site's live/stream, which are not pages). POSTs must carry the
// session's CSRF token.
func (s *server) authed(h func(http.ResponseWriter, *http.Request, *user)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		u := s.currentUser(r)
		if u == nil {
			if r.Method != http.MethodGet || strings.HasPrefix(r.URL.Path, Prefix+"/live/") || strings.HasSuffix(r.URL.Path, "/stream") {
				http.Error(w, "login required", http.StatusUnauthorized)
				return
			}
			http.Redirect(w, r, Prefix+"/login?next="+queryEscape(r.URL.RequestURI()), http.StatusFound)
			return
		}
		if r.Method == http.MethodPost {
			if !tokenEqual(r.PostFormValue("csrf"), u.sess.csrf) {
				s.fail(w, r, u, http.StatusForbidden, "The form has expired or did not come from this dashboard. Reload the page and try again.")
				return
			}
		}
		w.Header().Set("Cache-Control", "no-store")
		h(w, r, u)
	}
}

func (s *server) currentUser(r *http.Request) *user {
	c, err := r.Cookie(sessionCookie)
	if err != nil || c.Value == "" {
		return nil
	}
	ss := s.sessions.get(c.Value)
	if ss == nil {
		return nil
	}
	// Re-read the account on every request: a deleted user or a changed
	// password (new tokenKey) ends the session at once.
	rec, err := s.app.FindRecordById(ss.collection, ss.recordID)
	if err != nil || !tokenEqual(rec.TokenKey(), ss.tokenKey) {
		s.sessions.remove(ss.token)
		return nil
	}
	return &user{rec: rec, super: rec.IsSuperuser(), sess: ss}
}

func tokenEqual(a, b string) bool {
	return a != "" && subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}

// authenticate checks email and password against the superusers, then the
// users collection.
func (s *server) authenticate(email, password string) *core.Record {
	if email == "" || password == "" {
		return nil
	}
	for _, col := range []string{core.CollectionNameSuperusers, schema.Users} {
		rec, err := s.app.FindAuthRecordByEmail(col, email)
		if err == nil && rec.ValidatePassword(password) {
			return rec
		}
	}
	return nil
}

type loginData struct {
	Email string
	Next  string
	Error string
}

func (s *server) loginForm(w http.ResponseWriter, r *http.Request) {
	if s.currentUser(r) != nil {
		http.Redirect(w, r, safeNext(r.URL.Query().Get("next")), http.StatusFound)
		return
	}
	s.renderLogin(w, r, http.StatusOK, loginData{Next: safeNext(r.URL.Query().Get("next"))})
}

func (s *server) renderLogin(w http.ResponseWriter, r *http.Request, status int, d loginData) {
	token := rand.Text()
	http.SetCookie(w, &http.Cookie{Name: loginCookie, Value: token, Path: Prefix + "/login",
		HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: isHTTPS(r), MaxAge: 3600})
	w.Header().Set("Cache-Control", "no-store")
	s.render(w, status, "login", &page{Title: "Log in", CSRF: token, Data: d})
}

// loginPair is an account (lower-cased email) and a client address.
type loginPair struct {
	account string
	ip      netip.Addr
}

// login checks a login under two limits. Per address, LoginFailures
// failures a minute, then 429 before any check. Per account, twice that
// from all addresses together: rotating addresses must not buy more
// guesses at one password, yet refusing the account outright would let
// anyone keep its owner out with ten requests a minute. So past the
// account's limit the account is under siege: an address that already
// failed at it this minute is refused before the check, and a fresh
// address gets its password checked, logs in when it is right and is
// answered 429 when it is wrong. Guessing stays bounded (one guess per
// address per minute while under siege, instead of LoginFailures), and the
// owner, who has not failed from their address, still logs in.
func (s *server) login(w http.ResponseWriter, r *http.Request) {
	ip := s.opts.ClientIP(r)
	account := strings.ToLower(strings.TrimSpace(r.PostFormValue("email")))
	pair := loginPair{account, ip}
	besieged := s.accounts.Blocked(account)
	if s.limiter.Blocked(ip) || besieged && s.failedHere.Blocked(pair) {
		s.tooManyLogins(w, r)
		return
	}
	c, err := r.Cookie(loginCookie)
	if err != nil || !tokenEqual(r.PostFormValue("csrf"), c.Value) {
		s.renderLoginStatus(w, r, http.StatusForbidden, "The login form expired. Please try again.")
		return
	}
	email := strings.TrimSpace(r.PostFormValue("email"))
	rec := s.authenticate(email, r.PostFormValue("password"))
	if rec == nil {
		s.limiter.Add(ip)
		s.accounts.Add(account)
		s.failedHere.Add(pair)
		if besieged {
			s.tooManyLogins(w, r)
			return
		}
		s.renderLogin(w, r, http.StatusUnauthorized, loginData{Email: email, Next: safeNext(r.PostFormValue("next")),
			Error: "Wrong email or password."})
		return
	}
	ss := s.sessions.create(rec)
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: ss.token, Path: Prefix,
		HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: isHTTPS(r), MaxAge: int(s.opts.SessionTTL.Seconds())})
	http.SetCookie(w, &http.Cookie{Name: loginCookie, Value: "", Path: Prefix + "/login", MaxAge: -1,
		HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: isHTTPS(r)})
	http.Redirect(w, r, safeNext(r.PostFormValue("next")), http.StatusSeeOther)
}

func (s *server) tooManyLogins(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Retry-After", "60")
	s.renderLoginStatus(w, r, http.StatusTooManyRequests, "Too many failed logins. Wait a minute and try again.")
}

func (s *server) renderLoginStatus(w http.ResponseWriter, r *http.Request, status int, msg string) {
	s.renderLogin(w, r, status, loginData{Email: strings.TrimSpace(r.PostFormValue("email")),
		Next: safeNext(r.PostFormValue("next")), Error: msg})
}

func (s *server) logout(w http.ResponseWriter, r *http.Request, u *user) {
	s.sessions.remove(u.sess.token)
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: "", Path: Prefix, MaxAge: -1,
		HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: isHTTPS(r)})
	http.Redirect(w, r, Prefix+"/login", http.StatusSeeOther)
}

// safeNext keeps the after-login redirect inside the dashboard (no open
// redirect to //evil.example or /\evil.example).
func safeNext(next string) string {
	if !strings.HasPrefix(next, Prefix+"/") || strings.ContainsAny(next, "\\\r\n") || strings.Contains(next, "//") ||
		strings.HasPrefix(next, Prefix+"/login") {
		return Prefix + "/"
	}
	return next
}
