package pipeline

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"time"

	"github.com/skopos-go/skopos/internal/store"
	"github.com/skopos-go/skopos/schema"
)

// jsAgg groups the occurrences of one JS error on one website between
// flushes.
type jsAgg struct {
	websiteID string
	hash      string
	session   string // session of the first occurrence that had one
	message   string
	stack     string
	url       string
	count     int
	hours     map[int64]int // occurrences per UTC hour (unix seconds), for the summaries
	lastSeen  time.Time
	refused   bool    // the store refused the group; its occurrences were dropped
	events    []Event // with an intake log: its occurrences, to rebuild a chunk
}

// restoreJSError puts a chunked group that was not written back into the
// aggregation, merged with occurrences that arrived since.
func (w *worker) restoreJSError(a *jsAgg) {
	key := a.websiteID + "/" + a.hash
	cur := w.jsErrs[key]
	if cur == nil {
		w.jsErrs[key] = a
		return
	}
	cur.count += a.count
	for h, n := range a.hours {
		cur.hours[h] += n
	}
	if a.lastSeen.After(cur.lastSeen) {
		cur.lastSeen = a.lastSeen
	}
	if a.session != "" { // a's occurrences came first
		cur.session = a.session
	}
}

// ErrorHash groups JS errors: SHA-256 of the message and the location of
// the first stack frame, normalized so that the same error thrown at the
// same place groups together in Chrome, Firefox and Safari:
//
//   - the message loses Chrome's "Uncaught " prefix;
//   - the frame is reduced to its location "URL:line:column", taken from
//     V8's "at fn (URL:1:2)" / "at URL:1:2" and from Firefox's and
//     Safari's "fn@URL:1:2"; function names (which engines render
//     differently) are dropped, and so are the URL's query and fragment
//     (cache-busting versions);
//   - without any frame the location is empty, so errors group by message.
func ErrorHash(message, stack string) string {
	sum := sha256.Sum256([]byte(strings.TrimPrefix(message, "Uncaught ") + "\n" + frameLocation(stack)))
	return hex.EncodeToString(sum[:])
}

// frameLocation returns the normalized location of the first stack frame.
func frameLocation(stack string) string {
	for line := range strings.Lines(stack) {
		line = strings.TrimSpace(line)
		var loc string
		switch {
		case strings.HasPrefix(line, "at "): // V8
			loc = strings.TrimPrefix(line, "at ")
			if i := strings.LastIndexByte(loc, '('); i >= 0 && strings.HasSuffix(loc, ")") {
				loc = loc[i+1 : len(loc)-1]
			}
		case strings.Contains(line, "@"): // SpiderMonkey, JavaScriptCore
			loc = line[strings.LastIndexByte(line, '@')+1:]
		default:
			continue
		}
		return stripQuery(loc)
	}
	return ""
}

// stripQuery removes "?…" and "#…" from the URL part of "URL:line:col".
func stripQuery(loc string) string {
	i := strings.IndexAny(loc, "?#")
	if i < 0 {
		return loc
	}
	// keep the trailing ":line:col"
	end := len(loc)
	for k := 0; k < 2; k++ {
		j := strings.LastIndexByte(loc[:end], ':')
		if j <= i {
			return loc[:i]
		}
		end = j
	}
	return loc[:i] + loc[end:]
}

// jsSession is the visitor's open session a JS error attaches to, if any
// (a JS error never opens, advances or engages one).
func (w *worker) jsSession(ev *Event) string {
	if vs := w.visitors.get(visitorRecordID(ev.WebsiteID, ev.Visitor)); vs != nil && vs.session != nil &&
		ev.Time.Sub(vs.session.lastActivity) < w.p.cfg.SessionTimeout {
		return vs.session.id
	}
	return ""
}

func newJSAgg(ev *Event, hash string) *jsAgg {
	return &jsAgg{websiteID: ev.WebsiteID, hash: hash, message: ev.ErrorMessage, stack: ev.StackTrace, url: ev.Path,
		hours: map[int64]int{}}
}

// record counts one occurrence.
func (a *jsAgg) record(ev *Event, session string) {
	if a.session == "" {
		a.session = session
	}
	a.count++
	a.hours[hourOf(ev.Time).Unix()]++
	if ev.Time.After(a.lastSeen) {
		a.lastSeen = ev.Time
	}
}

// addJSError groups a JS error until the next JS error flush (without an
// intake log).
func (w *worker) addJSError(ev *Event) {
	hash := ErrorHash(ev.ErrorMessage, ev.StackTrace)
	key := ev.WebsiteID + "/" + hash
	agg := w.jsErrs[key]
	if agg == nil {
		if len(w.jsErrs) >= w.p.cfg.MaxJSErrors {
			w.dropHeld(ReasonJSErrorsFull, 1, "website", ev.WebsiteID)
			return
		}
		agg = newJSAgg(ev, hash)
		w.jsErrs[key] = agg
	}
	agg.record(ev, w.jsSession(ev))
}

// addChunkJSError groups a JS error within its chunk (with an intake log,
// so that each occurrence is written with the log position that covers
// it); the group keeps its events, to be rebuilt like the others.
func (w *worker) addChunkJSError(c *chunk, ev *Event) {
	hash := ErrorHash(ev.ErrorMessage, ev.StackTrace)
	key := ev.WebsiteID + "/" + hash
	agg := c.js[key]
	if agg == nil {
		agg = newJSAgg(ev, hash)
		c.js[key] = agg
		c.jsOrder = append(c.jsOrder, key)
	}
	agg.record(ev, w.jsSession(ev))
	agg.events = append(agg.events, *ev)
}

// addJSOps adds a group's upsert and its summary deltas to c: the row id
// derives from (website, hash) and count is incremented inside the
// transaction, so two writers flushing the same error count exactly.
func (w *worker) addJSOps(c *chunk, a *jsAgg) {
	data := map[string]any{
		"website": a.websiteID, "errorHash": a.hash, "errorMessage": a.message,
		"stackTrace": a.stack, "url": a.url, "count+": a.count, "lastSeen": a.lastSeen,
	}
	if a.session != "" {
		data["session"] = a.session
	}
	c.add(store.Op{Action: store.Upsert, Collection: schema.JSErrors, ID: DeriveID("jserror", a.websiteID, a.hash), Data: data},
		role{kind: roleJSError, count: a.count, js: a})
	for hour, n := range a.hours {
		k := sumKey{a.websiteID, hour}
		c.summaryFor(k).jsErrors += n
		c.addItem(itemKey{k, "jsError", w.dims.key(k, "jsError", a.message)}, n)
	}
}

// jsErrorChunks turns the grouped JS errors into upserts: the row id
// derives from (website, hash) and count is incremented inside the
// transaction, so two instances flushing the same error count exactly.
// Each occurrence also counts in its day's summary (jsErrors and the
// jsError breakdown by message), in the same transaction.
func (w *worker) jsErrorChunks(ctx context.Context, maxOps int) ([]*chunk, error) {
	for _, a := range w.jsErrs {
		for hour := range a.hours {
			if k := (sumKey{a.websiteID, hour}); !w.dims.loaded(k) {
				if err := w.dims.load(ctx, w.p.cfg.Store, k); err != nil {
					return nil, err
				}
			}
		}
	}
	maxOps = max(min(maxOps, maxChunkOps), 8)
	var out []*chunk
	c := newChunk()
	for key, a := range w.jsErrs {
		if (c.size()+1+2*len(a.hours) > maxOps || w.chunkUnits > 0 && c.countKind(roleJSError) >= w.chunkUnits) && len(c.ops) > 0 {
			c.finalize()
			out, c = append(out, c), newChunk()
		}
		w.addJSOps(c, a)
		delete(w.jsErrs, key)
	}
	if len(c.ops) > 0 {
		c.finalize()
		out = append(out, c)
	}
	return out, nil
}
