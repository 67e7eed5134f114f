// Package servicekeys keeps users' keys of outside services (a Google
// PageSpeed Insights key, …) in the api_keys collection, sealed by
// internal/vault: the store side of the key vault. A key is opened only
// when a service uses it, never logged, and never returned after it is
// saved: listings show its last characters at most (kept in metadata at
// save time, since showing them must not need the key opened).
package servicekeys

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tools/types"
	"github.com/skopos-go/skopos/internal/vault"
	"github.com/skopos-go/skopos/schema"
)

// PageSpeed is the service name of Google PageSpeed Insights keys (the
// Skopos dashboard's).
const PageSpeed = "google_pagespeed"

// Services are the services the dashboard offers keys for. The stored
// service is free text (the Skopos dashboard also knows chapybara and
// resend), so other names read back fine.
var Services = []string{PageSpeed}

// ErrNoVault is returned when the server has no encryption key.
var ErrNoVault = errors.New("servicekeys: no encryption key is set (SKOPOS_ENCRYPTION_KEY or SKOPOS_ENCRYPTION_KEY_FILE)")

// ErrBadInput is returned for an empty, oversized or multi-line key, an
// unknown service or an oversized label.
var ErrBadInput = errors.New("servicekeys: invalid key")

// Key is a stored service key as listings show it: never the key.
type Key struct {
	ID         string
	Service    string
	Label      string
	Active     bool
	Hint       string // the key's last characters at most ("…abcd"), empty for short keys
	LastUsed   time.Time
	UsageCount int
	Created    time.Time
}

// ownerField is the api_keys relation that points at owner: user for a
// users record (the Skopos dashboard's field), superuser for a superuser.
func ownerField(owner *core.Record) string {
	if owner.IsSuperuser() {
		return "superuser"
	}
	return "user"
}

// List returns owner's keys, newest first.
func List(app core.App, owner *core.Record) ([]Key, error) {
	recs, err := app.FindRecordsByFilter(schema.ServiceKeys, ownerField(owner)+" = {:o}", "-created", 0, 0, dbx.Params{"o": owner.Id})
	if err != nil {
		return nil, fmt.Errorf("servicekeys: list: %w", err)
	}
	out := make([]Key, 0, len(recs))
	for _, r := range recs {
		meta := map[string]any{}
		_ = r.UnmarshalJSONField("metadata", &meta)
		hint, _ := meta["hint"].(string)
		out = append(out, Key{ID: r.Id, Service: r.GetString("service"), Label: r.GetString("label"), Active: r.GetBool("isActive"),
			Hint: hint, LastUsed: r.GetDateTime("lastUsed").Time(), UsageCount: r.GetInt("usageCount"), Created: r.GetDateTime("created").Time()})
	}
	return out, nil
}

// check refuses what cannot be a key.
func check(service, label, key string) error {
	switch {
	case !validService(service):
		return fmt.Errorf("%w: unknown service %q", ErrBadInput, service)
	case len(label) > schema.MaxServiceKeyLabel:
		return fmt.Errorf("%w: the label is longer than %d bytes", ErrBadInput, schema.MaxServiceKeyLabel)
	case key == "":
		return fmt.Errorf("%w: the key is empty", ErrBadInput)
	case len(key) > schema.MaxServiceKey:
		return fmt.Errorf("%w: the key is longer than %d bytes", ErrBadInput, schema.MaxServiceKey)
	case strings.ContainsAny(key, "\r\n\t "):
		return fmt.Errorf("%w: the key contains spaces or line breaks", ErrBadInput)
	}
	return nil
}

func validService(s string) bool {
	for _, v := range Services {
		if s == v {
			return true
		}
	}
	return false
}

// Add seals key under v for owner and saves it, active. The key is
// trimmed of surrounding spaces (a paste often brings some).
func Add(app core.App, v *vault.Vault, owner *core.Record, service, label, key string) (*core.Record, error) {
	if v == nil {
		return nil, ErrNoVault
	}
	key, label = strings.TrimSpace(key), strings.TrimSpace(label)
	if err := check(service, label, key); err != nil {
		return nil, err
	}
	col, err := app.FindCollectionByNameOrId(schema.ServiceKeys)
	if err != nil {
		return nil, fmt.Errorf("servicekeys: %w", err)
	}
	rec := core.NewRecord(col)
	rec.Set(ownerField(owner), owner.Id)
	rec.Set("service", service)
	rec.Set("label", label)
	rec.Set("isActive", true)
	if err := seal(v, rec, owner.Id, key); err != nil {
		return nil, err
	}
	if err := app.Save(rec); err != nil {
		return nil, fmt.Errorf("servicekeys: save: %w", err)
	}
	return rec, nil
}

// seal stores key sealed into rec, with its hint in metadata.
func seal(v *vault.Vault, rec *core.Record, ownerID, key string) error {
	sealed, err := v.Seal(key, ownerID, rec.GetString("service"))
	if err != nil {
		return fmt.Errorf("servicekeys: seal: %w", err)
	}
	rec.Set("encryptedKey", sealed)
	meta := map[string]any{}
	_ = rec.UnmarshalJSONField("metadata", &meta)
	meta["hint"] = vault.Hint(key)
	rec.Set("metadata", meta)
	return nil
}

// Find returns owner's key id (and nothing of another owner's).
func Find(app core.App, owner *core.Record, id string) (*core.Record, error) {
	rec, err := app.FindRecordById(schema.ServiceKeys, id)
	if err != nil || rec.GetString(ownerField(owner)) != owner.Id {
		return nil, fmt.Errorf("servicekeys: key %q not found", id)
	}
	return rec, nil
}

// Replace seals a new key into owner's key id (same service and label).
func Replace(app core.App, v *vault.Vault, owner *core.Record, id, key string) error {
	if v == nil {
		return ErrNoVault
	}
	rec, err := Find(app, owner, id)
	if err != nil {
		return err
	}
	key = strings.TrimSpace(key)
	if err := check(rec.GetString("service"), rec.GetString("label"), key); err != nil {
		return err
	}
	if err := seal(v, rec, owner.Id, key); err != nil {
		return err
	}
	return app.Save(rec)
}

// SetActive turns owner's key id on or off.
func SetActive(app core.App, owner *core.Record, id string, active bool) error {
	rec, err := Find(app, owner, id)
	if err != nil {
		return err
	}
	rec.Set("isActive", active)
	return app.Save(rec)
}

// Remove deletes owner's key id.
func Remove(app core.App, owner *core.Record, id string) error {
	rec, err := Find(app, owner, id)
	if err != nil {
		return err
	}
	return app.Delete(rec)
}

// Use opens the most recently changed active key of service that
// ownerID (a users record, or a superuser when super is set) holds, and
// counts the use. ok is false when there is none. A key that no longer
// opens (another server key, a tampered row) is an error naming the row,
// never its content.
func Use(app core.App, v *vault.Vault, ownerID string, super bool, service string, now time.Time) (key string, ok bool, err error) {
	if v == nil || ownerID == "" {
		return "", false, nil
	}
	field := "user"
	if super {
		field = "superuser"
	}
	recs, err := app.FindRecordsByFilter(schema.ServiceKeys, field+" = {:o} && service = {:s} && isActive = true", "-updated", 1, 0,
		dbx.Params{"o": ownerID, "s": service})
	if err != nil {
		return "", false, fmt.Errorf("servicekeys: find: %w", err)
	}
	if len(recs) == 0 {
		return "", false, nil
	}
	rec := recs[0]
	key, err = v.Open(rec.GetString("encryptedKey"), ownerID, service)
	if err != nil {
		return "", false, fmt.Errorf("servicekeys: key %s (%s) does not open under the server's key: %w", rec.Id, service, err)
	}
	// a key sealed by an older server key or by the Skopos dashboard
	// (whose format binds no user) is sealed anew, bound to its owner
	sealed := rec.GetString("encryptedKey")
	if v.NeedsRotation(sealed) {
		if s, changed, err := v.Reseal(sealed, ownerID, service); err == nil && changed {
			sealed = s
		}
	}
	// counted with SQL: a record save would bump updated, which orders
	// which key is used
	_, err = app.DB().NewQuery("UPDATE " + schema.ServiceKeys + " SET usageCount = usageCount + 1, lastUsed = {:t}, encryptedKey = {:k} WHERE id = {:id}").
		Bind(dbx.Params{"t": now.UTC().Format(types.DefaultDateLayout), "k": sealed, "id": rec.Id}).Execute()
	if err != nil {
		return "", false, fmt.Errorf("servicekeys: count use: %w", err)
	}
	return key, true, nil
}

// Rotate re-seals every key that v.NeedsRotation reports (sealed under
// one of v's older keys, or in the Skopos dashboard's format) under v's
// current key. Rows already done are skipped, so an interrupted rotation
// is finished by running it again. It returns how many rows changed.
func Rotate(app core.App, v *vault.Vault) (int, error) {
	recs, err := app.FindAllRecords(schema.ServiceKeys)
	if err != nil {
		return 0, fmt.Errorf("servicekeys: rotate: %w", err)
	}
	n := 0
	for _, rec := range recs {
		owner := rec.GetString("user")
		if owner == "" {
			owner = rec.GetString("superuser")
		}
		sealed, changed, err := v.Reseal(rec.GetString("encryptedKey"), owner, rec.GetString("service"))
		if err != nil {
			return n, fmt.Errorf("servicekeys: rotate key %s: %w", rec.Id, err)
		}
		if !changed {
			continue
		}
		if _, err := app.DB().Update(schema.ServiceKeys, dbx.Params{"encryptedKey": sealed}, dbx.HashExp{"id": rec.Id}).Execute(); err != nil {
			return n, fmt.Errorf("servicekeys: rotate key %s: %w", rec.Id, err)
		}
		n++
	}
	return n, nil
}
