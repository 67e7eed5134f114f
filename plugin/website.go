package plugin

import (
	"errors"
	"fmt"

	validation "github.com/go-ozzo/ozzo-validation/v4"
	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
	"github.com/skopos-go/skopos/internal/domain"
	"github.com/skopos-go/skopos/schema"
)

// demoDomain is the demo website's domain: the printed link uses it, so
// the page's URL host matches the site.
const demoDomain = "localhost"

// createWebsite saves a website; the websites hook (website_hooks.go)
// normalizes the domain, refuses an unusable one (it would silently
// receive nothing) and names the website after its domain when name is
// empty.
func createWebsite(app core.App, name, dom string) (*core.Record, error) {
	col, err := app.FindCollectionByNameOrId(schema.Websites)
	if err != nil {
		return nil, fmt.Errorf("skopos: websites collection: %w", err)
	}
	rec := core.NewRecord(col)
	rec.Set("name", name)
	rec.Set("domain", dom)
	rec.Set("disableLocalhostTracking", false)
	if err := app.Save(rec); err != nil {
		var verrs validation.Errors
		if errors.As(err, &verrs) && verrs["domain"] != nil {
			// the command line names the problem, not the save
			return nil, fmt.Errorf("%w: %v", domain.ErrInvalid, verrs["domain"])
		}
		return nil, fmt.Errorf("skopos: save website: %w", err)
	}
	return rec, nil
}

// demoWebsite finds the demo website created on the first run (the oldest
// website on the demo domain).
func demoWebsite(app core.App) (*core.Record, error) {
	recs, err := app.FindRecordsByFilter(schema.Websites, "domain = {:d}", "created", 1, 0, dbx.Params{"d": demoDomain})
	if err != nil {
		return nil, err
	}
	if len(recs) == 0 {
		return nil, fmt.Errorf("no website with domain %q", demoDomain)
	}
	return recs[0], nil
}
