package dashboard

import (
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/skopos-go/skopos/internal/servicekeys"
	"github.com/skopos-go/skopos/internal/vault"
	"github.com/skopos-go/skopos/schema"
)

// serviceKeysPath is the Service keys page: the key vault of the keys of
// outside services (Google PageSpeed Insights, …), not the stats API
// keys of /dashboard/keys.
const serviceKeysPath = Prefix + "/service-keys"

// serviceKeyRow is a key in the list: never the key, its hint at most.
type serviceKeyRow struct {
	ID, Service, Label, Hint string
	Active                   bool
	LastUsed, Created        time.Time
	UsageCount               int
	// ReplaceURL, ActiveURL and RemoveURL are its forms' actions.
	ReplaceURL, ActiveURL, RemoveURL string
}

type serviceKeysData struct {
	VaultOff bool
	EnvKey   string
	EnvFile  string
	Keys     []serviceKeyRow
	Services []string
	// Form is the add form as typed, without the key: a key is never
	// rendered, not even back into a refused form.
	Form struct{ Service, Label string }
	// Error is why the last form was refused; ErrorKey the key (row id)
	// whose replace form it was, "" for the add form.
	Error    string
	ErrorKey string
	Done     string // what the last change did
	MaxLabel int
	MaxKey   int
}

// serviceKeyDone are the ?done= notices after a change.
var serviceKeyDone = map[string]string{
	"added": "Key saved. Only its last characters are shown from now on.", "replaced": "Key replaced.",
	"activated": "Key activated.", "deactivated": "Key deactivated.", "removed": "Key removed.",
}

func (s *server) serviceKeys(w http.ResponseWriter, r *http.Request, u *user) {
	s.renderServiceKeys(w, r, u, http.StatusOK, serviceKeysData{Done: serviceKeyDone[r.URL.Query().Get("done")]})
}

func (s *server) renderServiceKeys(w http.ResponseWriter, r *http.Request, u *user, status int, d serviceKeysData) {
	keys, err := servicekeys.List(s.app, u.rec)
	if err != nil {
		s.internal(w, r, u, err)
		return
	}
	for _, k := range keys {
		base := serviceKeysPath + "/" + url.PathEscape(k.ID)
		d.Keys = append(d.Keys, serviceKeyRow{ID: k.ID, Service: k.Service, Label: k.Label, Hint: k.Hint, Active: k.Active,
			LastUsed: k.LastUsed, Created: k.Created, UsageCount: k.UsageCount,
			ReplaceURL: base + "/replace", ActiveURL: base + "/active", RemoveURL: base + "/remove"})
	}
	d.VaultOff, d.EnvKey, d.EnvFile = s.opts.Vault == nil, vault.EnvKey, vault.EnvKeyFile
	d.Services, d.MaxLabel, d.MaxKey = servicekeys.Services, schema.MaxServiceKeyLabel, schema.MaxServiceKey
	if d.Form.Service == "" {
		d.Form.Service = servicekeys.Services[0]
	}
	s.render(w, status, "service-keys", pageFor(u, "Service keys", "service-keys", d))
}

// badKey is the sentence shown for a refused key.
func badKey(err error) string {
	if errors.Is(err, servicekeys.ErrNoVault) {
		return "The key vault is off: nothing was stored."
	}
	msg := strings.TrimPrefix(err.Error(), servicekeys.ErrBadInput.Error()+": ")
	return strings.ToUpper(msg[:1]) + msg[1:] + "."
}

func (s *server) addServiceKey(w http.ResponseWriter, r *http.Request, u *user) {
	var d serviceKeysData
	d.Form.Service, d.Form.Label = r.PostFormValue("service"), strings.TrimSpace(r.PostFormValue("label"))
	_, err := servicekeys.Add(s.app, s.opts.Vault, u.rec, d.Form.Service, d.Form.Label, r.PostFormValue("key"))
	switch {
	case errors.Is(err, servicekeys.ErrBadInput), errors.Is(err, servicekeys.ErrNoVault):
		d.Error = badKey(err)
		s.renderServiceKeys(w, r, u, http.StatusUnprocessableEntity, d)
	case err != nil:
		s.internal(w, r, u, err)
	default:
		http.Redirect(w, r, serviceKeysPath+"?done=added", http.StatusSeeOther)
	}
}

// changeServiceKey replaces, (de)activates or removes one of the
// account's keys; another account's key is 404 like an unknown one.
func (s *server) changeServiceKey(w http.ResponseWriter, r *http.Request, u *user) {
	id := r.PathValue("kid")
	if _, err := servicekeys.Find(s.app, u.rec, id); err != nil {
		s.notFound(w, r, u)
		return
	}
	var err error
	var done string
	switch r.PathValue("action") {
	case "replace":
		err, done = servicekeys.Replace(s.app, s.opts.Vault, u.rec, id, r.PostFormValue("key")), "replaced"
		if errors.Is(err, servicekeys.ErrBadInput) || errors.Is(err, servicekeys.ErrNoVault) {
			s.renderServiceKeys(w, r, u, http.StatusUnprocessableEntity, serviceKeysData{Error: badKey(err), ErrorKey: id})
			return
		}
	case "active":
		on := r.PostFormValue("active") == "1"
		err, done = servicekeys.SetActive(s.app, u.rec, id, on), "deactivated"
		if on {
			done = "activated"
		}
	case "remove":
		err, done = servicekeys.Remove(s.app, u.rec, id), "removed"
	default:
		s.notFound(w, r, u)
		return
	}
	if err != nil {
		s.internal(w, r, u, err)
		return
	}
	http.Redirect(w, r, serviceKeysPath+"?done="+done, http.StatusSeeOther)
}
