package pipeline

import (
	"strconv"
	"time"

	"github.com/skopos-go/skopos/internal/channel"
	"github.com/skopos-go/skopos/internal/store"
	"github.com/skopos-go/skopos/internal/uaname"
	"github.com/skopos-go/skopos/internal/validate"
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

// sessionFromStore is the state of a session read from the store.
func sessionFromStore(last store.Session) *sessionState {
	s := &sessionState{id: last.ID, seq: last.Seq, start: last.StartedAt, lastActivity: last.LastActivity,
		entryPath: last.EntryPath, exitPath: last.ExitPath, eventCount: last.EventCount, engaged: last.Engaged}
	if last.EventCount > 0 { // (the exact time of the exit event is not stored)
		s.exitTime = last.LastActivity
	}
	return s
}

// addEvent applies the session rules to one pageView, custom or server
// event (a visitor's session continues while its events are less than
// SessionTimeout apart; the first event opens it, entry path and device
// come from it; every event moves lastActivity and the exit path) and
// adds its writes, and the summary deltas they imply, to c.
func (w *worker) addEvent(c *chunk, ev *Event) {
	vid := visitorRecordID(ev.WebsiteID, ev.Visitor)
	vs := w.visitors.get(vid)
	if vs == nil { // cannot happen: the cache holds every visitor of a batch (Config.defaults)
		vs = &visitorState{}
		w.visitors.put(vid, vs)
	}
	s := vs.session
	open := s != nil && ev.Time.Sub(s.lastActivity) < w.p.cfg.SessionTimeout
	if !open {
		s = w.openSession(c, ev, vid, vs)
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
	c.writeSession(s, vid, ev.Kind.browses(), startMoved, becameEngaged)
	w.addEventRow(c, ev, vid, s.id)
}

// openSession starts the visitor's next session with ev (creating the
// visitor row on its first one) and counts it in its start hour.
func (w *worker) openSession(c *chunk, ev *Event, vid string, vs *visitorState) *sessionState {
	seq := 1
	if vs.session != nil {
		seq = vs.session.seq + 1
	}
	if !vs.exists {
		c.add(store.Op{Action: store.Create, Collection: schema.Visitors, ID: vid,
			Data: map[string]any{"website": ev.WebsiteID, "visitorId": ev.Visitor}},
			role{kind: roleVisitor, visitor: vid})
		vs.exists = true
	}
	s := &sessionState{id: sessionID(vid, seq), seq: seq, start: ev.Time, lastActivity: ev.Time, entryPath: ev.Path, exitPath: ev.Path}
	vs.session = s
	data := w.newSessionData(ev, vs.rowID(vid), seq)
	idx := c.add(store.Op{Action: store.Create, Collection: schema.Sessions, ID: s.id, Data: data},
		role{kind: roleSession, visitor: vid, session: s.id})
	c.created[s.id] = idx
	w.countNewSession(c, keyOf(ev.WebsiteID, s.start), data)
	return s
}

// writeSession carries s's new state into the chunk: into its create
// when the chunk opened the session, else into the session's update
// (browses: the event was a page view or custom event).
func (c *chunk) writeSession(s *sessionState, vid string, browses, startMoved, becameEngaged bool) {
	if idx, ok := c.created[s.id]; ok {
		d := c.ops[idx].Data
		d["lastActivity"], d["exitPath"], d["eventCount"], d["isEngaged"] = s.lastActivity, s.exitPath, s.eventCount, s.engaged
		d["startedAt"], d["entryPath"] = s.start, s.entryPath
		return
	}
	d := c.updates[s.id]
	if d == nil {
		d = &sessionDelta{visitor: vid}
		c.updates[s.id] = d
		c.updateOrder = append(c.updateOrder, s.id)
	}
	d.lastActivity = s.lastActivity
	if browses {
		d.exitPath = s.exitPath
		d.events++
	}
	if startMoved {
		d.startedAt, d.entryPath = s.start, s.entryPath
	}
	d.engaged = d.engaged || becameEngaged
}

// addEventRow adds ev's events row in session sid and counts its page or
// custom event in its own hour.
func (w *worker) addEventRow(c *chunk, ev *Event, vid, sid string) {
	data := map[string]any{
		"session": sid, "website": ev.WebsiteID, "type": "pageView", "path": ev.Path, "timestamp": ev.Time,
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
	paid, duplicate := w.addRevenue(data, ev)
	c.add(store.Op{Action: store.Create, Collection: schema.Events, ID: ev.ID, Data: data},
		role{kind: roleEvent, visitor: vid, session: sid, event: ev, paid: paid, duplicate: duplicate})
	if ev.Kind == PageView && ev.PID != "" {
		w.pageViews.put(ev.ID, &pageViewState{session: sid})
	}
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
	acq := channel.Classify(channel.Visit{Referrer: ev.Referrer,
		UTMSource: ev.UTM["utm_source"], UTMMedium: ev.UTM["utm_medium"], UTMCampaign: ev.UTM["utm_campaign"]})
	data["source"], data["channel"] = validate.Truncate(acq.Source, schema.MaxSource), acq.Channel
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
