package pipeline

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"time"

	"github.com/skopos-go/skopos/internal/store"
	"github.com/skopos-go/skopos/internal/uaname"
	"github.com/skopos-go/skopos/schema"
)

// visitorRecordID is the visitors row id of a visitor hash on a website.
func visitorRecordID(websiteID, visitorHash string) string {
	return DeriveID("visitor", websiteID, visitorHash)
}

// sessionID is the id of a visitor's seq-th session: two instances that
// open the same session derive the same id, and the second create fails
// instead of duplicating it.
func sessionID(visitorRecordID string, seq int) string {
	return DeriveID("session", visitorRecordID, strconv.Itoa(seq))
}

// maxChunkOps caps the writes of one transaction whatever the store
// allows (the store's MaxOps is the real bound).
const maxChunkOps = 25000

// unitOps bounds the ops one event adds to a chunk: visitor, session and
// event creates, a session update, two dash_sum days and the breakdowns
// of a new session (entry, exit, referrer, device, browser, os,
// language, country) and of the event (page or custom event, exit move).
const unitOps = 4 + 2 + 12

// sessionize turns pending events into chunks: it resolves unknown
// websites and uncached visitors from the store, then applies the session
// rules event by event, in acceptance order.
func (w *worker) sessionize(ctx context.Context) error {
	p := w.p
	if err := w.skipStored(ctx); err != nil {
		return err
	}
	if err := w.skipForwardedStored(ctx); err != nil {
		return err
	}
	if err := w.resolveSites(ctx); err != nil {
		return err
	}
	if err := w.resolveVisitors(ctx); err != nil {
		return err
	}
	if err := w.loadDays(ctx); err != nil {
		return err
	}
	maxOps, err := p.cfg.Store.MaxOps(ctx)
	if err != nil {
		return err
	}
	maxOps = max(min(maxOps, maxChunkOps), 2*unitOps)

	c := newChunk()
	var last uint64 // the last intake log record the chunk covers
	for i := range w.pending {
		ev := &w.pending[i]
		if ev.Kind == JSError && p.cfg.Spool == nil {
			w.addJSError(ev)
			continue
		}
		// a unit is at most visitor + session + event creates, one
		// session update and the summary rows it touches (a JS error
		// group: its upsert and two summary rows)
		// (units are counted only while a refusal is narrowed down: the
		// count walks the chunk's ops)
		if !c.empty() && (c.size()+3*len(c.js)+unitOps > maxOps ||
			w.chunkUnits > 0 && c.countKind(roleEvent)+len(c.js) >= w.chunkUnits) {
			w.finish(c, last)
			c = newChunk()
		}
		if ev.Kind == JSError {
			w.addChunkJSError(c, ev)
		} else {
			w.addEvent(c, ev)
		}
		last = max(last, ev.Seq)
	}
	if !c.empty() {
		w.finish(c, last)
	}
	w.pending = nil // chunks point into the old array: never reuse it
	return nil
}

// finish completes a chunk and queues it for writing. With an intake log,
// JS errors are grouped per chunk, and the chunk also records the log
// position it covers in the same transaction: a chunk is committed with
// its position or not at all, so a replay after a crash skips exactly
// what is stored.
func (w *worker) finish(c *chunk, last uint64) {
	for _, k := range c.jsOrder {
		w.addJSOps(c, c.js[k])
	}
	c.finalize()
	if sp := w.p.cfg.Spool; sp != nil && last > 0 {
		c.seq = last
		c.add(store.Op{Action: store.Upsert, Collection: schema.Spools, ID: sp.ID(), Data: map[string]any{"seq": int64(last)}},
			role{kind: roleSpool})
	}
	w.unsent = append(w.unsent, c)
}

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
	open, err := ref.OpenSessions(ctx, vids, w.p.cfg.Now().Add(-w.p.cfg.SessionTimeout))
	if err != nil {
		return err
	}
	for vid, last := range open {
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

// sessionFromStore is the state of a session read from the store.
func sessionFromStore(last store.Session) *sessionState {
	s := &sessionState{id: last.ID, seq: last.Seq, start: last.StartedAt, lastActivity: last.LastActivity,
		entryPath: last.EntryPath, exitPath: last.ExitPath, eventCount: last.EventCount, engaged: last.Engaged}
	if last.EventCount > 0 { // (the exact time of the exit event is not stored)
		s.exitTime = last.LastActivity
	}
	return s
}

// skipForwardedStored drops forwarded events whose id is already stored
// or already pending (an SDK's retry of a batch this server appended
// before it restarted, or twice while it ran), counted as replayed. JS
// errors have no events row: a batch retried across a restart of this
// server counts its JS errors twice.
func (w *worker) skipForwardedStored(ctx context.Context) error {
	var ids []string
	seen := map[string]bool{}
	dup := map[int]bool{}
	for i, ev := range w.pending {
		if !ev.Forwarded || ev.Kind == JSError {
			continue
		}
		if seen[ev.ID] {
			dup[i] = true
			continue
		}
		seen[ev.ID] = true
		ids = append(ids, ev.ID)
	}
	if len(ids) == 0 {
		return nil
	}
	stored := map[string]bool{}
	for start := 0; start < len(ids); start += 1000 {
		found, err := w.p.cfg.Store.Existing(ctx, schema.Events, ids[start:min(start+1000, len(ids))])
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
	w.dropReplayed(func(i int, ev *Event) bool { return dup[i] || ev.Forwarded && ev.Kind != JSError && stored[ev.ID] })
	return nil
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
	seen := map[string]bool{}
	for _, ev := range w.pending {
		vid := visitorRecordID(ev.WebsiteID, ev.Visitor)
		if seen[vid] {
			continue
		}
		seen[vid] = true
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
	states := make([]*visitorState, len(missing))
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		firstErr error
		sem      = make(chan struct{}, 8)
	)
	for i, vid := range missing {
		states[i] = &visitorState{exists: exists[vid]}
		if !exists[vid] {
			continue
		}
		wg.Add(1)
		sem <- struct{}{}
		go func(s *visitorState, vid string) {
			defer func() { <-sem; wg.Done() }()
			last, err := st.LatestSession(ctx, vid)
			if errors.Is(err, store.ErrNotFound) {
				return
			}
			if err != nil {
				mu.Lock()
				firstErr = errors.Join(firstErr, err)
				mu.Unlock()
				return
			}
			s.session = sessionFromStore(last)
		}(states[i], vid)
	}
	wg.Wait()
	if firstErr != nil {
		return firstErr
	}
	for i, vid := range missing {
		w.visitors.put(vid, states[i])
	}
	return nil
}

// loadDays loads the breakdown keys of every website-day the pending
// events may touch (their own day and their open session's start day).
func (w *worker) loadDays(ctx context.Context) error {
	for _, ev := range w.pending {
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

// addEvent applies the session rules to one pageView, custom or server
// event (a visitor's session continues while its events are less than
// SessionTimeout apart; the first event opens it, entry path and device
// come from it; every event moves lastActivity and the exit path) and
// adds its writes, and the summary deltas they imply, to c.
func (w *worker) addEvent(c *chunk, ev *Event) {
	p := w.p
	vid := visitorRecordID(ev.WebsiteID, ev.Visitor)
	vs := w.visitors.get(vid)
	if vs == nil { // cannot happen: the cache holds every visitor of a batch (Config.defaults)
		vs = &visitorState{}
		w.visitors.put(vid, vs)
	}
	s := vs.session
	open := s != nil && ev.Time.Sub(s.lastActivity) < p.cfg.SessionTimeout
	if !open {
		seq := 1
		if s != nil {
			seq = s.seq + 1
		}
		if !vs.exists {
			c.add(store.Op{Action: store.Create, Collection: schema.Visitors, ID: vid,
				Data: map[string]any{"website": ev.WebsiteID, "visitorId": ev.Visitor}},
				role{kind: roleVisitor, visitor: vid})
			vs.exists = true
		}
		s = &sessionState{id: sessionID(vid, seq), seq: seq, start: ev.Time, lastActivity: ev.Time, entryPath: ev.Path, exitPath: ev.Path}
		vs.session = s
		data := w.newSessionData(ev, vid, seq)
		idx := c.add(store.Op{Action: store.Create, Collection: schema.Sessions, ID: s.id, Data: data},
			role{kind: roleSession, visitor: vid, session: s.id})
		c.created[s.id] = idx
		w.countNewSession(c, keyOf(ev.WebsiteID, s.start), data)
	}
	startHour := keyOf(ev.WebsiteID, s.start)

	// Events of a session can arrive out of order (forwarded by several
	// SDK instances, whose batches reach this writer in any order): the
	// session keeps its earliest start and entry page and its latest
	// activity and exit page whatever the order of arrival. (Not across a
	// UTC hour: the start then stays, as its hour's summaries hold it; and
	// a late event is joined to the session open when it arrives.)
	startMoved := false
	if open && ev.Time.Before(s.start) && keyOf(ev.WebsiteID, ev.Time) == startHour {
		if ev.Path != s.entryPath {
			c.addItem(itemKey{startHour, "entryPage", w.dims.key(startHour, "entryPage", s.entryPath)}, -1)
			c.addItem(itemKey{startHour, "entryPage", w.dims.key(startHour, "entryPage", ev.Path)}, 1)
		}
		c.summaryFor(startHour).duration += Seconds(s.lastActivity.Sub(ev.Time)) - Seconds(s.lastActivity.Sub(s.start))
		s.start, s.entryPath, startMoved = ev.Time, ev.Path, true
	}

	// advance the session
	if ev.Time.After(s.lastActivity) {
		// the deltas add up to the session's duration rounded once
		c.summaryFor(startHour).duration += Seconds(ev.Time.Sub(s.start)) - Seconds(s.lastActivity.Sub(s.start))
		s.lastActivity = ev.Time
	}
	becameEngaged := false
	if ev.Kind.browses() {
		if !ev.Time.Before(s.exitTime) { // the latest browsing event so far
			if ev.Path != s.exitPath {
				c.addItem(itemKey{startHour, "exitPage", w.dims.key(startHour, "exitPage", s.exitPath)}, -1)
				c.addItem(itemKey{startHour, "exitPage", w.dims.key(startHour, "exitPage", ev.Path)}, 1)
			}
			s.exitPath, s.exitTime = ev.Path, ev.Time
		}
		s.eventCount++
		if s.eventCount == 2 { // a second page view or custom event: no longer a bounce
			c.summaryFor(startHour).bounces--
		}
		if !s.engaged && (s.eventCount >= 2 || ev.Duration > 10) {
			s.engaged, becameEngaged = true, true
			c.summaryFor(startHour).engaged++
		}
	}
	if idx, ok := c.created[s.id]; ok {
		d := c.ops[idx].Data
		d["lastActivity"], d["exitPath"], d["eventCount"], d["isEngaged"] = s.lastActivity, s.exitPath, s.eventCount, s.engaged
		d["startedAt"], d["entryPath"] = s.start, s.entryPath
	} else {
		d := c.updates[s.id]
		if d == nil {
			d = &sessionDelta{visitor: vid}
			c.updates[s.id] = d
			c.updateOrder = append(c.updateOrder, s.id)
		}
		d.lastActivity = s.lastActivity
		if ev.Kind.browses() {
			d.exitPath = s.exitPath
			d.events++
		}
		if startMoved {
			d.startedAt, d.entryPath = s.start, s.entryPath
		}
		d.engaged = d.engaged || becameEngaged
	}

	data := map[string]any{
		"session": s.id, "website": ev.WebsiteID, "type": "pageView", "path": ev.Path, "timestamp": ev.Time,
	}
	evHour := keyOf(ev.WebsiteID, ev.Time)
	if ev.Kind == PageView {
		c.summaryFor(evHour).pageViews++
		c.addItem(itemKey{evHour, "page", w.dims.key(evHour, "page", ev.Path)}, 1)
	} else {
		data["type"], data["eventName"] = "custom", ev.Name
		c.addItem(itemKey{evHour, "customEvent", w.dims.key(evHour, "customEvent", ev.Name)}, 1)
	}
	if len(ev.Data) > 0 {
		data["eventData"] = ev.Data
	}
	c.add(store.Op{Action: store.Create, Collection: schema.Events, ID: ev.ID, Data: data},
		role{kind: roleEvent, visitor: vid, session: s.id, event: ev})
}

// countNewSession adds a new session's counters to its start hour (its
// breakdowns to that hour's UTC day, as addItem does):
// a visitor (new or returning), a bounce until its second page view or
// custom event, and its breakdowns.
func (w *worker) countNewSession(c *chunk, hour sumKey, data map[string]any) {
	sum := c.summaryFor(hour)
	sum.visitors++
	sum.bounces++
	if data["isNewVisitor"] == true {
		sum.newVisitors++
	} else {
		sum.returningVisitors++
	}
	str := func(k string) string { s, _ := data[k].(string); return s }
	for _, d := range SessionDimensions {
		c.addItem(itemKey{hour, d.Dim, w.dims.key(hour, d.Dim, SessionValue(d.Dim, str(d.Column)))}, 1)
	}
	// campaigns: only the sessions that came with the parameter
	if utm, _ := data["utm"].(map[string]string); utm != nil {
		for _, dim := range schema.UTMDimensions {
			if v := utm[dim]; v != "" {
				c.addItem(itemKey{hour, dim, w.dims.key(hour, dim, v)}, 1)
			}
		}
	}
}

func (w *worker) newSessionData(ev *Event, vid string, seq int) map[string]any {
	ua := uaname.Parse(ev.UA)
	data := map[string]any{
		"website": ev.WebsiteID, "visitor": vid, "seq": seq, "isNewVisitor": seq == 1,
		"browser": ua.Browser, "os": ua.OS, "device": ua.Device,
		"language": ev.Language, "entryPath": ev.Path, "exitPath": ev.Path, "referrer": ev.Referrer,
		"lastActivity": ev.Time, "startedAt": ev.Time,
	}
	data["country"], data["state"] = w.p.cfg.Geo.Lookup(ev.IP)
	if ev.ScreenWidth >= 0 {
		data["screenWidth"] = strconv.Itoa(ev.ScreenWidth)
	}
	if ev.ScreenHeight >= 0 {
		data["screenHeight"] = strconv.Itoa(ev.ScreenHeight)
	}
	if len(ev.UTM) > 0 {
		data["utm"] = ev.UTM
	}
	if ev.StoreIP && ev.IP.IsValid() { // decided when the event was accepted
		data["ipAddress"] = ev.IP.String()
	}
	return data
}

// Seconds is a session's duration as the summaries count it: its elapsed
// time (millisecond timestamps) rounded to the nearest whole second, half
// up, once per session; a day's durationSeconds is the sum over its
// sessions. (Before, the difference of whole clock seconds: a 1.646 s
// session counted 1 or 2 depending on where the clock's second ticked.)
func Seconds(d time.Duration) int {
	if d <= 0 {
		return 0
	}
	return int((d + 500*time.Millisecond) / time.Second)
}
