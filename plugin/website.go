package plugin

import (
	"context"
	"errors"
	"fmt"
	"io"

	validation "github.com/go-ozzo/ozzo-validation/v4"
	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
	"github.com/skopos-go/skopos/internal/domain"
	"github.com/skopos-go/skopos/pbrest"
	"github.com/skopos-go/skopos/schema"
)

// demoDomain is the demo website's domain: the printed link uses it, so
// the page's URL host matches the site.
const demoDomain = "localhost"

// createWebsite saves a website; the websites hook (website_hooks.go)
// normalizes the domain, refuses an unusable one (it would silently
// receive nothing) and names the website after its domain when name is
// empty. home is its home page (websites.url; empty: https://<domain>/).
func createWebsite(app core.App, name, dom, home string) (*core.Record, error) {
	col, err := app.FindCollectionByNameOrId(schema.Websites)
	if err != nil {
		return nil, fmt.Errorf("skopos: websites collection: %w", err)
	}
	rec := core.NewRecord(col)
	rec.Set("name", name)
	rec.Set("domain", dom)
	rec.Set("url", home)
	rec.Set("disableLocalhostTracking", false)
	if err := app.Save(rec); err != nil {
		var verrs validation.Errors
		if errors.As(err, &verrs) && verrs["domain"] != nil {
			// the command line names the problem, not the save
			return nil, fmt.Errorf("%w: %v", domain.ErrInvalid, verrs["domain"])
		}
		if verrs["url"] != nil {
			return nil, fmt.Errorf("--home: %v", verrs["url"])
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

// addRemoteWebsite creates a website on a remote PocketBase (a Skopos
// server, or a plain one prepared with `skopos schema apply`) over its
// REST API and prints its trackingId. The domain is normalized and a
// public suffix refused here too: a plain PocketBase has no Skopos hook to
// do it.
func addRemoteWebsite(ctx context.Context, out io.Writer, url, email, password, name, dom, home string) error {
	host, err := domain.Normalize(dom)
	if err != nil {
		return err
	}
	if err := domain.Claimable(host, true); err != nil {
		return err
	}
	if name == "" {
		name = host
	}
	pb, err := pbrest.New(pbrest.Config{URL: url, Email: email, Password: password})
	if err != nil {
		return err
	}
	defer pb.CloseIdleConnections()
	var rec struct {
		Name       string `json:"name"`
		Domain     string `json:"domain"`
		TrackingID string `json:"trackingId"`
	}
	body := map[string]any{"name": name, "domain": host, "ipBlacklist": []string{}}
	if home != "" {
		body["url"] = home
	}
	if err := pb.CreateRecord(ctx, schema.Websites, body, &rec); err != nil {
		return fmt.Errorf("add website on %s: %w", url, err)
	}
	fmt.Fprintf(out, "website %q added for domain %s\n", rec.Name, rec.Domain)
	fmt.Fprintln(out, rec.TrackingID)
	return nil
}
