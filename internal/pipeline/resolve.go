package pipeline

import (
	"context"
	"errors"

	"github.com/skopos-go/skopos/internal/store"
	"github.com/skopos-go/skopos/schema"
	"golang.org/x/sync/errgroup"
)

// skipStored drops, with an intake log, the records the store already
// has: those replayed after a crash that came between the store's commit
// and the log's checkpoint.
func (w *worker) skipStored(ctx context.Context) error {
	sp := w.p.cfg.Spool
	if sp == nil || len(w.pending) == 0 {
		return nil
	}
	if !w.posLoaded {
		pos, err := w.p.cfg.Store.SpoolPosition(ctx, sp.ID())
		if err != nil {
			return err
		}
		w.storedPos, w.posLoaded = pos, true
	}
	w.dropReplayed(func(_ int, ev *Event) bool { return ev.Seq != 0 && ev.Seq <= w.storedPos })
	return nil
}

// dropReplayed removes the pending events skip selects: already stored,
// counted as replayed.
func (w *worker) dropReplayed(skip func(i int, ev *Event) bool) {
	kept := w.pending[:0]
	for i := range w.pending {
		if skip(i, &w.pending[i]) {
			w.held.Add(-1)
			w.p.stats.replayed.Add(1)
			continue
		}
		kept = append(kept, w.pending[i])
	}
	w.pending = kept
}

// refreshSessions replaces the cached sessions of vids by what the store
// holds when another writer has moved them on (a higher seq, a later
// activity or more events): with several SDK instances writing through
// PocketBase's batch API, each continues the latest state, not its own
// stale copy. Two instances flushing the same session at the same moment
// can still both write from the same state (README). Only with a store
// that implements store.SessionRefresher, and only when nothing of this
// worker is unsent (the cache is then what the store has, or older).
func (w *worker) refreshSessions(ctx context.Context, vids []string) error {
	ref, ok := w.p.cfg.Store.(store.SessionRefresher)
	if !ok || len(vids) == 0 || len(w.unsent) > 0 {
		return nil
	}
	rows := make([]string, len(vids))
	byRow := map[string]string{}
	for i, vid := range vids {
		rows[i] = vid
		if vs := w.visitors.get(vid); vs != nil {
			rows[i] = vs.rowID(vid)
		}
		byRow[rows[i]] = vid
	}
	open, err := ref.OpenSessions(ctx, rows, w.p.cfg.Now().Add(-w.p.cfg.SessionTimeout))
	if err != nil {
		return err
	}
	for row, last := range open {
		vid := byRow[row]
		vs := w.visitors.get(vid)
		if vs == nil {
			continue
		}
		vs.exists = true
		s := vs.session
		if s != nil && (last.Seq < s.seq || last.Seq == s.seq && !last.LastActivity.After(s.lastActivity) && last.EventCount <= s.eventCount) {
			continue // ours is as new
		}
		w.p.stats.refreshed.Add(1)
		vs.session = sessionFromStore(last)
	}
	return nil
}

// skipForwardedStored drops forwarded events whose id is already stored
// or already pending (an SDK's retry of a batch this server appended
// before it restarted, or twice while it ran), counted as replayed. JS
// errors have no events row: a batch retried across a restart of this
// server counts its JS errors twice.
func (w *worker) skipForwardedStored(ctx context.Context) error {
	var (
		ids  []string
		keys []store.EventKey
	)
	seen := map[string]bool{}
	dup := map[int]bool{}
	for i, ev := range w.pending {
		if !checkStored(&ev) {
			continue
		}
		if seen[ev.ID] {
			dup[i] = true
			continue
		}
		seen[ev.ID] = true
		ids = append(ids, ev.ID)
		keys = append(keys, store.EventKey{ID: ev.ID, Website: ev.WebsiteID, Time: ev.Time})
	}
	if len(ids) == 0 {
		return nil
	}
	stored := map[string]bool{}
	se, byTime := w.p.cfg.Store.(store.StoredEvents)
	for start := 0; start < len(ids); start += 1000 {
		part := ids[start:min(start+1000, len(ids))]
		var found map[string]bool
		var err error
		if byTime {
			found, err = se.StoredEvents(ctx, keys[start:start+len(part)])
		} else {
			found, err = w.p.cfg.Store.Existing(ctx, schema.Events, part)
		}
		if err != nil {
			return err
		}
		for id := range found {
			stored[id] = true
		}
	}
	if len(stored) == 0 && len(dup) == 0 {
		return nil
	}
	w.dropReplayed(func(i int, ev *Event) bool { return dup[i] || checkStored(ev) && stored[ev.ID] })
	return nil
}

// checkStored reports whether ev's id may already be stored: a forwarded
// event's, and a page view's whose id the browser's pid derives (the same
// page view sent twice must not be written twice: its events row id would
// collide, which the writer takes for a committed chunk).
func checkStored(ev *Event) bool {
	return ev.Kind != JSError && ev.Kind != Engagement && (ev.Forwarded || ev.Kind == PageView && ev.PID != "")
}

// resolveSites attributes events tracked for a trackingId the intake did
// not know (TrackServer with another site): looked up once, cached, and
// events of unknown sites dropped and counted.
func (w *worker) resolveSites(ctx context.Context) error {
	p := w.p
	kept := w.pending[:0]
	for _, ev := range w.pending {
		if ev.WebsiteID == "" {
			site := p.cfg.Sites.ByTrackingID(ev.TrackingID)
			if site == nil && !p.cfg.Sites.recentMiss(ev.TrackingID, p.cfg.Now()) {
				website, err := p.cfg.Store.WebsiteByTrackingID(ctx, ev.TrackingID)
				switch {
				case errors.Is(err, store.ErrNotFound):
					p.cfg.Sites.markMiss(ev.TrackingID, p.cfg.Now())
				case err != nil:
					return err
				default:
					site, _ = p.cfg.Sites.Put(website)
				}
			}
			if site == nil {
				w.dropHeld(ReasonUnknownSite, 1, "trackingId", ev.TrackingID)
				continue
			}
			if reason := admit(site, ev.IP); reason != "" {
				w.dropHeld(reason, 1, "trackingId", ev.TrackingID)
				continue
			}
			ev.WebsiteID = site.ID
			if !ev.Forwarded {
				// tracked for a site the intake did not know: its
				// setting as the writer first sees it (a forwarded
				// event carries the SDK's decision at acceptance)
				ev.StoreIP = site.StoreRawIP
			}
		}
		kept = append(kept, ev)
	}
	w.pending = kept
	return nil
}

func (w *worker) dropHeld(reason string, n int, attrs ...any) {
	w.held.Add(-int64(n))
	w.p.stats.drop(reason, n)
	w.p.debug("event dropped", append([]any{"reason", reason}, attrs...)...)
}

// resolveVisitors loads the visitors the cache does not know: which rows
// exist, and each existing visitor's latest session, so that a session
// opened before a restart or by another instance is continued. With a
// store other writers share, it also re-reads the open sessions of the
// cached visitors first.
func (w *worker) resolveVisitors(ctx context.Context) error {
	var missing, cached []string
	keys := map[string]store.VisitorKey{}
	for _, ev := range w.pending {
		if ev.Kind == Engagement { // attaches to its page view's session
			continue
		}
		vid := visitorRecordID(ev.WebsiteID, ev.Visitor)
		if _, seen := keys[vid]; seen {
			continue
		}
		keys[vid] = store.VisitorKey{Website: ev.WebsiteID, VisitorID: ev.Visitor}
		if w.visitors.get(vid) == nil {
			missing = append(missing, vid)
		} else {
			cached = append(cached, vid)
		}
	}
	if err := w.refreshSessions(ctx, cached); err != nil {
		return err
	}
	if len(missing) == 0 {
		return nil
	}
	st := w.p.cfg.Store
	exists, err := st.Existing(ctx, schema.Visitors, missing)
	if err != nil {
		return err
	}
	rows, err := w.visitorRows(ctx, missing, exists, keys)
	if err != nil {
		return err
	}
	states := make([]*visitorState, len(missing))
	// each existing visitor's latest session is one request: a few at a
	// time, and the first failure cancels the rest (the batch is retried)
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(8)
	for i, vid := range missing {
		s := &visitorState{exists: exists[vid] || rows[vid] != "", row: rows[vid]}
		states[i] = s
		if !s.exists {
			continue
		}
		g.Go(func() error {
			last, err := st.LatestSession(gctx, s.rowID(vid))
			if errors.Is(err, store.ErrNotFound) {
				return nil
			}
			if err != nil {
				return err
			}
			s.session = sessionFromStore(last)
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return err
	}
	for i, vid := range missing {
		w.visitors.put(vid, states[i])
	}
	return nil
}

// visitorRows finds, with a store.VisitorRows store, the rows of the
// missing visitors that have no row under their derived id but one under
// another (adopted from Skopos Node): derived id → row id.
func (w *worker) visitorRows(ctx context.Context, missing []string, exists map[string]bool, keys map[string]store.VisitorKey) (map[string]string, error) {
	vr, ok := w.p.cfg.Store.(store.VisitorRows)
	if !ok {
		return nil, nil
	}
	var ask []store.VisitorKey
	for _, vid := range missing {
		if !exists[vid] {
			ask = append(ask, keys[vid])
		}
	}
	if len(ask) == 0 {
		return nil, nil
	}
	found, err := vr.VisitorRows(ctx, ask)
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	for k, row := range found {
		out[visitorRecordID(k.Website, k.VisitorID)] = row
	}
	return out, nil
}

// loadDays loads the breakdown keys of every website-day the pending
// events may touch (their own day and their open session's start day).
func (w *worker) loadDays(ctx context.Context) error {
	for _, ev := range w.pending {
		if ev.Kind == Engagement { // no summary rows
			continue
		}
		keys := []sumKey{keyOf(ev.WebsiteID, ev.Time)}
		if vs := w.visitors.get(visitorRecordID(ev.WebsiteID, ev.Visitor)); vs != nil && vs.session != nil {
			keys = append(keys, keyOf(ev.WebsiteID, vs.session.start))
		}
		for _, k := range keys {
			if !w.dims.loaded(k) {
				if err := w.dims.load(ctx, w.p.cfg.Store, k); err != nil {
					return err
				}
			}
		}
	}
	return nil
}
