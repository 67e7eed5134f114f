package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/skopos-go/skopos/pbrest"
)

// pollInterval is how often the stored count is read after sending.
const pollInterval = 100 * time.Millisecond

// verifier counts the website's events in PocketBase.
type verifier struct {
	pb     *pbrest.Client
	siteID string
	base   int64 // event count before sending
}

// website is the part of a websites record the tool reads.
type website struct {
	ID         string `json:"id"`
	Domain     string `json:"domain"`
	IsArchived bool   `json:"isArchived"`
}

// newVerifier signs in, finds the website by trackingId and reads its
// current event count. Any failure means verification cannot start.
func newVerifier(ctx context.Context, cfg config) (*verifier, error) {
	pb, err := pbrest.New(pbrest.Config{
		URL:        cfg.PBURL,
		Email:      cfg.PBEmail,
		Password:   cfg.PBPassword,
		HTTPClient: &http.Client{Timeout: 30 * time.Second},
	})
	if err != nil {
		return nil, err
	}
	var site website
	err = pb.FirstRecord(ctx, "websites", pbrest.Filter("trackingId = {:t}", pbrest.Params{"t": cfg.Site}), &site)
	if errors.Is(err, pbrest.ErrNotFound) {
		return nil, fmt.Errorf("no website with trackingId %q", cfg.Site)
	}
	if err != nil {
		return nil, fmt.Errorf("read website: %w", err)
	}
	if site.IsArchived {
		return nil, fmt.Errorf("website %q is archived: it stores nothing", cfg.Site)
	}
	if !domainMatches(cfg.Domain, site.Domain) {
		return nil, fmt.Errorf("-domain %q does not belong to website %q (domain %q): its events would not be stored", cfg.Domain, cfg.Site, site.Domain)
	}
	v := &verifier{pb: pb, siteID: site.ID}
	if v.base, err = v.count(ctx); err != nil {
		return nil, fmt.Errorf("count events: %w", err)
	}
	return v, nil
}

// domainMatches reports whether page host host belongs to a website of
// domain d: equal or a subdomain, ignoring "www." and case.
func domainMatches(host, d string) bool {
	host = strings.TrimPrefix(strings.ToLower(host), "www.")
	d = strings.TrimPrefix(strings.ToLower(d), "www.")
	return d != "" && (host == d || strings.HasSuffix(host, "."+d))
}

// count is the website's current number of events.
func (v *verifier) count(ctx context.Context) (int64, error) {
	page, err := v.pb.ListRecords(ctx, "events", pbrest.ListQuery{
		Filter:  pbrest.Filter("website = {:w}", pbrest.Params{"w": v.siteID}),
		PerPage: 1,
		Fields:  "id",
	}, nil)
	if err != nil {
		return 0, err
	}
	return int64(page.TotalItems), nil
}

// wait polls the count until stored (its growth since newVerifier) reaches
// accepted, or it has not grown for settle, or ctx is done. It returns
// stored and when the count was first seen at that final value.
func (v *verifier) wait(ctx context.Context, accepted int64, settle time.Duration, stderr io.Writer) (int64, time.Time) {
	stored, reached := int64(-1), time.Now()
	lastReport := time.Time{}
	for {
		n, err := v.count(ctx)
		now := time.Now()
		if err == nil && n-v.base != stored {
			stored, reached = n-v.base, now
		}
		if err != nil && stored < 0 && now.Sub(reached) >= settle {
			// The count could never be read after sending.
			fmt.Fprintf(stderr, "skopos-load: count events: %v\n", err)
			return 0, reached
		}
		if stored >= accepted || (stored >= 0 && now.Sub(reached) >= settle) || ctx.Err() != nil {
			fmt.Fprintf(stderr, "stored %d of %d accepted\n", max(stored, 0), accepted)
			return max(stored, 0), reached
		}
		if now.Sub(lastReport) >= 2*time.Second {
			if err != nil {
				fmt.Fprintf(stderr, "waiting for stored events: %v\n", err)
			} else {
				fmt.Fprintf(stderr, "waiting for stored events: %d of %d\n", stored, accepted)
			}
			lastReport = now
		}
		select {
		case <-ctx.Done():
		case <-time.After(pollInterval):
		}
	}
}
