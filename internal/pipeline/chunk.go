package pipeline

import (
	"time"

	"github.com/skopos-go/skopos/internal/store"
)

// role says what an op in a chunk stands for, so that a failure at an
// op index can be handled: a conflict resolved, or the affected events
// dropped and counted.
type role struct {
	kind    roleKind
	visitor string // visitor record id (all kinds but jsError)
	session string // session id
	event   *Event // the event (roleEvent)
	count   int    // roleJSError: occurrences
	js      *jsAgg // roleJSError: the group
	// roleEvent with revenue: written with it (paid), or without it
	// because its order's revenue was stored before (duplicate)
	paid, duplicate bool
}

type roleKind uint8

const (
	roleVisitor       roleKind = iota // create visitor
	roleSession                       // create session
	roleEvent                         // create event
	roleSessionUpdate                 // update an existing session
	roleJSError                       // upsert js_errors
	roleSummary                       // upsert dash_sum / dash_sum_items
	roleSpool                         // upsert skopos_spool (the intake log position)
	roleEngagement                    // update a page view's engagement (event: the beacon)
)

// chunk is one transaction: events together with every write derived
// from them (never split across chunks).
type chunk struct {
	ops   []store.Op
	roles []role

	// created sessions: op index, so later events in the chunk update
	// the create's data in place (one session write per chunk)
	created map[string]int
	// existing sessions touched by this chunk, in order
	updates     map[string]*sessionDelta
	updateOrder []string
	// maybeCommitted: a previous attempt failed in a way that may have
	// committed (e.g. the connection broke after the request was sent)
	maybeCommitted bool
	// timedOut: the last attempt outlived the store's batch timeout
	timedOut  bool
	finalized bool

	// with an intake log: the last record the chunk covers, and its JS
	// errors grouped (written when finished)
	seq     uint64
	js      map[string]*jsAgg
	jsOrder []string

	// summary deltas, aggregated per chunk, written when finalized
	sums      map[sumKey]*sumDelta
	sumOrder  []sumKey
	items     map[itemKey]int
	itemOrder []itemKey
}

type sessionDelta struct {
	visitor      string
	lastActivity time.Time
	exitPath     string
	events       int
	startedAt    time.Time // set when an earlier event moved the start back
	entryPath    string
	engaged      bool
	engagedMs    int // engaged time added by engagement beacons
}

func newChunk() *chunk {
	return &chunk{created: map[string]int{}, updates: map[string]*sessionDelta{}, js: map[string]*jsAgg{}}
}

// empty reports whether nothing was added to the chunk yet.
func (c *chunk) empty() bool { return len(c.ops) == 0 && len(c.js) == 0 }

func (c *chunk) add(op store.Op, r role) int {
	c.ops = append(c.ops, op)
	c.roles = append(c.roles, r)
	return len(c.ops) - 1
}

// size is the number of ops the chunk will have once finalized.
func (c *chunk) size() int { return len(c.ops) + len(c.updateOrder) + c.summaryOpsCount() }

// finalize appends one update per existing session touched.
func (c *chunk) finalize() {
	if c.finalized {
		return
	}
	c.finalized = true
	for _, id := range c.updateOrder {
		d := c.updates[id]
		data := map[string]any{}
		if !d.lastActivity.IsZero() { // zero: only engagement beacons touched it
			data["lastActivity"] = d.lastActivity
		}
		if d.engagedMs > 0 {
			data["engagedMs+"] = d.engagedMs
		}
		if d.exitPath != "" {
			data["exitPath"] = d.exitPath
		}
		if d.events > 0 {
			data["eventCount+"] = d.events
		}
		if d.engaged {
			data["isEngaged"] = true
		}
		if !d.startedAt.IsZero() {
			data["startedAt"], data["entryPath"] = d.startedAt, d.entryPath
		}
		c.add(store.Op{Action: store.Update, Collection: "sessions", ID: id, Data: data},
			role{kind: roleSessionUpdate, visitor: d.visitor, session: id})
	}
	for _, op := range c.summaryOps() {
		c.add(op, role{kind: roleSummary})
	}
}

// marker is the id of the chunk's first event: the chunk committed if and
// only if that event exists (a chunk is one transaction).
func (c *chunk) marker() string {
	for _, r := range c.roles {
		if r.kind == roleEvent {
			return r.event.ID
		}
	}
	return ""
}

// nEvents counts the events (and JS error occurrences) the chunk carries.
func (c *chunk) nEvents() int {
	n := 0
	for _, r := range c.roles {
		switch r.kind {
		case roleEvent, roleEngagement:
			n++
		case roleJSError:
			n += r.count
		}
	}
	return n
}

func (c *chunk) countKind(k roleKind) int {
	n := 0
	for _, r := range c.roles {
		if r.kind == k {
			n++
		}
	}
	return n
}

// removeWhere drops the ops whose role matches and returns how many
// events (occurrences) went with them.
func (c *chunk) removeWhere(match func(role) bool) (events int) {
	ops, roles := c.ops[:0], c.roles[:0]
	for i, r := range c.roles {
		if match(r) {
			switch r.kind {
			case roleEvent, roleEngagement:
				events++
			case roleJSError:
				events += r.count
			}
			continue
		}
		ops, roles = append(ops, c.ops[i]), append(roles, r)
	}
	c.ops, c.roles = ops, roles
	return events
}

// removeAt drops the op at index i and returns the events that went with it.
func (c *chunk) removeAt(i int) (events int) {
	j := 0
	return c.removeWhere(func(role) bool { j++; return j-1 == i })
}
