package skopos

import (
	"context"
	"errors"
	"time"

	"github.com/skopos-go/skopos/internal/store"
	"github.com/skopos-go/skopos/internal/store/reststore"
	"github.com/skopos-go/skopos/pbrest"
	"github.com/skopos-go/skopos/schema"
)

// settingsSync keeps the websites a Client serves in step with
// PocketBase: realtime updates apply within a moment, every (re)connect and
// every SettingsRefreshInterval re-reads them in case an update was missed
// while disconnected, and a deleted website stops intake for it.
type settingsSync struct {
	c      *Client
	st     store.Store
	cancel context.CancelFunc
	done   chan struct{}
}

func (c *Client) startSettingsSync(st store.Store) {
	ctx, cancel := context.WithCancel(context.Background())
	s := &settingsSync{c: c, st: st, cancel: cancel, done: make(chan struct{})}
	c.settings = s
	go s.run(ctx)
}

func (s *settingsSync) stop() {
	s.cancel()
	<-s.done
}

func (s *settingsSync) run(ctx context.Context) {
	defer close(s.done)
	log := s.c.opts.Logger
	var sub *pbrest.Subscription
	defer func() {
		if sub != nil {
			_ = sub.Close()
		}
	}()
	tick := time.NewTicker(s.c.opts.SettingsRefreshInterval)
	defer tick.Stop()
	retry := time.NewTimer(0)
	defer retry.Stop()
	backoff := time.Second
	for {
		select {
		case <-ctx.Done():
			return
		case <-retry.C:
			var err error
			sub, err = s.c.pb.Subscribe(ctx, []string{schema.Websites}, s.onMessage, pbrest.WithOnConnect(func() { s.refetch(ctx) }))
			if err != nil {
				if ctx.Err() != nil {
					return
				}
				log.Error("skopos: cannot subscribe to website settings; retrying (settings are re-read periodically meanwhile)", "error", err, "retry_in", backoff)
				retry.Reset(backoff)
				backoff = min(2*backoff, time.Minute)
			}
		case <-tick.C:
			s.refetch(ctx)
		}
	}
}

// onMessage applies a realtime change to a website the client serves.
func (s *settingsSync) onMessage(m pbrest.Message) {
	w, err := reststore.DecodeWebsite(m.Record)
	if err != nil || s.c.sites.ByID(w.ID) == nil {
		return
	}
	if m.Action == "delete" {
		s.c.sites.Remove(w.ID)
		s.c.opts.Logger.Warn("skopos: website deleted; its events are dropped from now on", "website", w.TrackingID)
		return
	}
	s.c.applyWebsite(w)
}

// refetch re-reads every website the client serves.
func (s *settingsSync) refetch(ctx context.Context) {
	for _, id := range s.c.sites.IDs() {
		site := s.c.sites.ByID(id)
		if site == nil {
			continue
		}
		w, err := s.st.WebsiteByTrackingID(ctx, site.TrackingID)
		switch {
		case errors.Is(err, store.ErrNotFound):
			s.c.sites.Remove(id)
			s.c.opts.Logger.Warn("skopos: website no longer exists; its events are dropped from now on", "website", site.TrackingID)
		case err != nil:
			if ctx.Err() == nil {
				s.c.opts.Logger.Warn("skopos: re-reading website settings failed", "website", site.TrackingID, "error", err)
			}
		default:
			s.c.applyWebsite(w)
		}
	}
}

// applyWebsite installs new settings; an unusable domain is logged as an
// error and refuses the site's events until it is fixed.
func (c *Client) applyWebsite(w store.Website) {
	if _, err := c.sites.Put(w); err != nil {
		c.opts.Logger.Error("skopos: website domain is unusable; its events are refused until it is fixed",
			"website", w.TrackingID, "domain", w.Domain, "error", err)
	}
}
