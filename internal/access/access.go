// Package access is the one rule for who may see a website, shared by the
// dashboard and the stats API: a superuser sees every website; a record of
// PocketBase's "users" auth collection sees the websites whose user field
// is that record; nobody else sees any.
package access

import (
	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
	"github.com/skopos-go/skopos/schema"
)

// CanView reports whether auth may see site. A nil auth or site sees
// nothing.
func CanView(auth, site *core.Record) bool {
	if auth == nil || site == nil {
		return false
	}
	if auth.IsSuperuser() {
		return true
	}
	// The collection is checked too: a record of another auth collection
	// could share an id with a users record.
	return auth.Collection().Name == schema.Users && auth.Id != "" && site.GetString("user") == auth.Id
}

// VisibleSites lists the websites auth may see (CanView), in no
// particular order.
func VisibleSites(app core.App, auth *core.Record) ([]*core.Record, error) {
	switch {
	case auth == nil:
		return nil, nil
	case auth.IsSuperuser():
		return app.FindAllRecords(schema.Websites)
	case auth.Collection().Name == schema.Users && auth.Id != "":
		return app.FindAllRecords(schema.Websites, dbx.HashExp{"user": auth.Id})
	}
	return nil, nil
}
