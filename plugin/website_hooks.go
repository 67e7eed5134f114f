package plugin

import (
	"errors"
	"net/url"
	"strings"

	validation "github.com/go-ozzo/ozzo-validation/v4"
	"github.com/pocketbase/dbx"
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
		if err := checkClaim(e.App, e.Record); err != nil {
			return err
		}
		return e.Next()
	})
	app.OnRecordUpdate(schema.Websites).BindFunc(func(e *core.RecordEvent) error {
		changed := e.Record.GetString("domain") != e.Record.Original().GetString("domain")
		if err := normalizeWebsite(e.Record, changed); err != nil {
			return err
		}
		if changed || e.Record.GetString("user") != e.Record.Original().GetString("user") {
			if err := checkClaim(e.App, e.Record); err != nil {
				return err
			}
		}
		return e.Next()
	})
}

// checkClaim refuses a domain nobody owns, a domain another website
// already tracks, and a domain under one that another owner's website
// tracks: the longest matching domain receives a page's events, so
// claiming shop.victim.example would take that traffic from
// victim.example's owner, and claiming com (or co.uk, github.io) would
// take the events of every unclaimed host under it and refuse every other
// account every name under it. Only websites without a user (created by a superuser: the
// admin UI, `skopos site add`, the dashboard as superuser) may track
// localhost or an IP address, and may claim subdomains of anyone's; a
// superuser moves a website to another owner by changing its user.
func checkClaim(app core.App, rec *core.Record) error {
	host := rec.GetString("domain")
	if host == "" {
		return nil
	}
	owner := rec.GetString("user")
	if err := domain.Claimable(host, owner == ""); err != nil {
		return validation.Errors{"domain": validation.NewError(claimCode(err), claimMessage(err))}
	}
	var same []string
	err := app.RecordQuery(schema.Websites).Select("id").
		AndWhere(dbx.HashExp{"domain": host}).AndWhere(dbx.Not(dbx.HashExp{"id": rec.Id})).Limit(1).Column(&same)
	if err != nil {
		return err
	}
	if len(same) > 0 {
		return validation.Errors{"domain": validation.NewError("validation_domain_taken",
			host+" is already tracked by another website; a domain can belong to one website only")}
	}
	if owner == "" {
		return nil
	}
	var parents []string
	for rest := host; strings.Contains(rest, "."); {
		_, rest, _ = strings.Cut(rest, ".")
		parents = append(parents, rest)
	}
	if len(parents) == 0 {
		return nil
	}
	var held []struct {
		Domain string `db:"domain"`
	}
	err = app.RecordQuery(schema.Websites).Select("domain").
		AndWhere(dbx.In("domain", toAny(parents)...)).AndWhere(dbx.Not(dbx.HashExp{"user": owner})).Limit(1).All(&held)
	if err != nil {
		return err
	}
	if len(held) > 0 {
		return validation.Errors{"domain": validation.NewError("validation_domain_claimed",
			host+" is under "+held[0].Domain+", which another account's website tracks; ask an administrator")}
	}
	return nil
}

// claimCode is the validation code of a domain.Claimable refusal.
func claimCode(err error) string {
	if errors.Is(err, domain.ErrLocal) {
		return "validation_domain_local"
	}
	return "validation_domain_public_suffix"
}

// claimMessage explains a domain.Claimable refusal without its sentinel's
// prefix, and without a final period (validation.Errors adds one).
func claimMessage(err error) string {
	msg := err.Error()
	for _, sentinel := range []error{domain.ErrLocal, domain.ErrPublicSuffix} {
		msg = strings.TrimPrefix(msg, sentinel.Error()+": ")
	}
	if errors.Is(err, domain.ErrPublicSuffix) {
		msg += "; enter your own domain, such as example.com"
	}
	return msg
}

func toAny(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}

// normalizeWebsite canonicalizes rec's domain. An unusable domain is an
// error only when refuse is set (a new or changed domain): an unusable
// domain stored before this hook existed must not block saving the
// website's other settings, such as archiving it.
func normalizeWebsite(rec *core.Record, refuse bool) error {
	raw := rec.GetString("domain")
	host, err := domain.Normalize(raw)
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
	home, err := homeURL(rec.GetString("url"), raw, host)
	if err != nil {
		return validation.Errors{"url": err}
	}
	rec.Set("url", home)
	return nil
}

// homeURL is the website's home page as stored in websites.url: the one
// given (checked and made absolute with a path), else the scheme, host
// and port of a domain typed as a URL ("http://localhost:8081"), else
// https://<domain>/.
func homeURL(given, rawDomain, host string) (string, error) {
	if given = strings.TrimSpace(given); given == "" {
		if strings.Contains(rawDomain, "://") {
			if u, err := url.Parse(strings.TrimSpace(rawDomain)); err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != "" {
				return u.Scheme + "://" + strings.ToLower(u.Host) + "/", nil
			}
		}
		return "https://" + host + "/", nil
	}
	u, err := url.Parse(given)
	switch {
	case err != nil, u.Host == "", u.Opaque != "":
		return "", validation.NewError("validation_invalid_url", "Not a usable home page URL; enter one such as https://www.example.com/")
	case u.Scheme != "http" && u.Scheme != "https":
		return "", validation.NewError("validation_invalid_url", "The home page URL must start with https:// or http://")
	case u.User != nil:
		return "", validation.NewError("validation_invalid_url", "The home page URL must not contain a user name or password")
	case len(given) > schema.MaxURL:
		return "", validation.NewError("validation_invalid_url", "The home page URL is too long")
	}
	u.Fragment = ""
	if u.Path == "" {
		u.Path = "/"
	}
	u.Host = strings.ToLower(u.Host)
	return u.String(), nil
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
