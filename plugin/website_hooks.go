package plugin

import (
	"errors"
	"strings"

	validation "github.com/go-ozzo/ozzo-validation/v4"
	"github.com/pocketbase/pocketbase/core"
	"github.com/skopos-go/skopos/internal/domain"
	"github.com/skopos-go/skopos/schema"
)

// bindWebsiteDomainHook makes every save of a website store its domain
// as domain.Normalize returns it, whichever way the save came: Go code
// (app.Save), the dashboard, `skopos site add`, the REST API or
// PocketBase's admin UI. OnRecordCreate and OnRecordUpdate run inside
// every save before PocketBase validates and writes the record, so the
// stored value is always the canonical host the pipeline compares page
// hosts against, and an unusable domain is refused as a validation error
// of the domain field (400 on the REST API) instead of being stored to
// silently receive nothing. A website saved without a name is named after
// its domain.
func bindWebsiteDomainHook(app core.App) {
	app.OnRecordCreate(schema.Websites).BindFunc(func(e *core.RecordEvent) error {
		if err := normalizeWebsite(e.Record, true); err != nil {
			return err
		}
		return e.Next()
	})
	app.OnRecordUpdate(schema.Websites).BindFunc(func(e *core.RecordEvent) error {
		changed := e.Record.GetString("domain") != e.Record.Original().GetString("domain")
		if err := normalizeWebsite(e.Record, changed); err != nil {
			return err
		}
		return e.Next()
	})
}

// normalizeWebsite canonicalizes rec's domain. An unusable domain is an
// error only when refuse is set (a new or changed domain): an unusable
// domain stored before this hook existed must not block saving the
// website's other settings, such as archiving it.
func normalizeWebsite(rec *core.Record, refuse bool) error {
	host, err := domain.Normalize(rec.GetString("domain"))
	if err != nil {
		if !refuse {
			return nil
		}
		return validation.Errors{"domain": validation.NewError("validation_invalid_domain", domainMessage(err))}
	}
	rec.Set("domain", host)
	if strings.TrimSpace(rec.GetString("name")) == "" {
		rec.Set("name", host)
	}
	return nil
}

// domainMessage explains an unusable domain to whoever typed it. It ends
// without a period: validation.Errors adds one when it is printed.
func domainMessage(err error) string {
	msg := err.Error()
	if errors.Is(err, domain.ErrInvalid) {
		msg = strings.TrimPrefix(msg, domain.ErrInvalid.Error()+": ")
	}
	return "Not a usable domain (" + msg + "). Enter a host name such as example.com"
}
