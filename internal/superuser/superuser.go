// Package superuser creates a PocketBase superuser from an email and a
// password: the plugin's configured (or generated) admin and the test
// servers' (internal/pbtest) are made the same way.
package superuser

import "github.com/pocketbase/pocketbase/core"

// Ensure creates the superuser email with password unless a superuser
// with that email exists (its password is left as it is); created tells
// whether it did.
func Ensure(app core.App, email, password string) (created bool, err error) {
	if _, err := app.FindAuthRecordByEmail(core.CollectionNameSuperusers, email); err == nil {
		return false, nil
	}
	col, err := app.FindCollectionByNameOrId(core.CollectionNameSuperusers)
	if err != nil {
		return false, err
	}
	rec := core.NewRecord(col)
	rec.SetEmail(email)
	rec.SetPassword(password)
	if err := app.Save(rec); err != nil {
		return false, err
	}
	return true, nil
}
