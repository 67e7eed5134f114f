package pipeline

import (
	"context"

	"github.com/skopos-go/skopos/internal/store"
	"github.com/skopos-go/skopos/schema"
)

// pageViewState is what the worker knows of a page view that engagement
// beacons may update: its session and the engagement written so far.
type pageViewState struct {
	session   string
	engagedMs int
	scroll    int
}

// pageViews is a bounded map of page view (events row id) → state, the
// oldest entry evicted first. Losing one costs a read: the next beacon of
// that page view finds it in the store.
type pageViews struct {
	max   int
	m     map[string]*pageViewState
	order []string
}

func newPageViews(max int) *pageViews {
	return &pageViews{max: max, m: map[string]*pageViewState{}}
}

func (c *pageViews) get(id string) *pageViewState { return c.m[id] }

func (c *pageViews) put(id string, s *pageViewState) {
	if _, ok := c.m[id]; !ok {
		c.order = append(c.order, id)
	}
	c.m[id] = s
	for len(c.m) > c.max {
		delete(c.m, c.order[0])
		c.order = c.order[1:]
	}
}

// target is the page view an engagement beacon belongs to.
func (ev *Event) target() string { return PageViewID(ev.TrackingID, ev.Visitor, ev.PID) }

// resolvePageViews reads from the store the page views of pending
// engagement beacons that neither the cache nor an earlier pending page
// view provides.
func (w *worker) resolvePageViews(ctx context.Context) error {
	var ids []string
	// the batch's page views, wherever they are in it: a beacon accepted
	// before its page view waits for it (sessionize)
	w.laterPageViews = map[string]bool{}
	for i := range w.pending {
		if ev := &w.pending[i]; ev.Kind == PageView && ev.PID != "" {
			w.laterPageViews[ev.ID] = true
		}
	}
	asked := map[string]bool{}
	for i := range w.pending {
		if ev := &w.pending[i]; ev.Kind == Engagement {
			if id := ev.target(); !w.laterPageViews[id] && !asked[id] && w.pageViews.get(id) == nil {
				asked[id] = true
				ids = append(ids, id)
			}
		}
	}
	for start := 0; start < len(ids); start += 1000 {
		found, err := w.p.cfg.Store.PageViews(ctx, ids[start:min(start+1000, len(ids))])
		if err != nil {
			return err
		}
		for id, pv := range found {
			w.pageViews.put(id, &pageViewState{session: pv.Session, engagedMs: pv.EngagedMs, scroll: pv.ScrollDepth})
		}
	}
	return nil
}

// addEngagement raises ev's page view to the larger engaged time and
// scroll depth (a later beacon carries the page view's totals so far, and
// beacons may arrive in any order) and adds the increase of engaged time
// to the page view's session. A beacon without its page view is dropped
// and counted.
func (w *worker) addEngagement(c *chunk, ev *Event) {
	id := ev.target()
	pv := w.pageViews.get(id)
	if pv == nil {
		w.dropHeld(ReasonEngagementOrphan, 1, "pid", ev.PID)
		return
	}
	ms, scroll := max(pv.engagedMs, ev.EngagedMs), max(pv.scroll, ev.Scroll)
	if ms == pv.engagedMs && scroll == pv.scroll {
		w.held.Add(-1) // nothing new: applied without a write
		w.p.stats.engagements.Add(1)
		return
	}
	delta := ms - pv.engagedMs
	pv.engagedMs, pv.scroll = ms, scroll
	c.add(store.Op{Action: store.Update, Collection: schema.Events, ID: id, Data: map[string]any{"engagedMs": ms, "scrollDepth": scroll}},
		role{kind: roleEngagement, session: pv.session, event: ev})
	if delta == 0 {
		return
	}
	if idx, ok := c.created[pv.session]; ok {
		d := c.ops[idx].Data
		n, _ := d["engagedMs"].(int)
		d["engagedMs"] = n + delta
		return
	}
	d := c.updates[pv.session]
	if d == nil {
		d = &sessionDelta{visitor: visitorRecordID(ev.WebsiteID, ev.Visitor)}
		c.updates[pv.session] = d
		c.updateOrder = append(c.updateOrder, pv.session)
	}
	d.engagedMs += delta
}
