package localstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
	"github.com/skopos-go/skopos/schema"
)

// Secrets keeps named secrets in skopos_secrets through the in-process
// app (visitorid.Secrets).
type Secrets struct{ app core.App }

// NewSecrets returns the skopos_secrets store of app.
func NewSecrets(app core.App) Secrets { return Secrets{app: app} }

// GetOrCreate returns the value under name, storing value when there is
// none; the unique index on name makes a second creator re-read the first
// one's value.
func (s Secrets) GetOrCreate(ctx context.Context, name, value string) (string, error) {
	var saveErr error
	for range 2 {
		r, err := s.app.FindFirstRecordByFilter(schema.Secrets, "name = {:n}", dbx.Params{"n": name})
		if err == nil {
			return r.GetString("value"), nil
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return "", err
		}
		col, err := s.app.FindCachedCollectionByNameOrId(schema.Secrets)
		if err != nil {
			return "", err
		}
		r = core.NewRecord(col)
		r.Set("name", name)
		r.Set("value", value)
		if saveErr = s.app.SaveWithContext(ctx, r); saveErr == nil {
			return value, nil
		}
	}
	return "", fmt.Errorf("skopos_secrets: neither read nor created %q: %w", name, saveErr)
}

// Names lists the names that start with prefix.
func (s Secrets) Names(ctx context.Context, prefix string) ([]string, error) {
	var names []string
	err := s.app.DB().Select("name").From(schema.Secrets).
		Where(dbx.Like("name", prefix).Match(false, true)).WithContext(ctx).Column(&names)
	return names, err
}

// Delete removes name.
func (s Secrets) Delete(ctx context.Context, name string) error {
	_, err := s.app.DB().Delete(schema.Secrets, dbx.HashExp{"name": name}).WithContext(ctx).Execute()
	return err
}
