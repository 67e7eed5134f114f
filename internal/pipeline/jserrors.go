package pipeline

import (
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
	lastSeen  time.Time
}

// ErrorHash groups JS errors: SHA-256 of the message and the first stack
// frame line, so the same error thrown at the same place groups together
// whatever the page or visitor.
func ErrorHash(message, stack string) string {
	sum := sha256.Sum256([]byte(message + "\n" + firstFrame(stack)))
	return hex.EncodeToString(sum[:])
}

// firstFrame returns the first line of stack that is a stack frame:
// V8 writes "    at fn (file:1:2)" after a message line, Firefox and Safari
// write "fn@file:1:2" from the first line on.
func firstFrame(stack string) string {
	for line := range strings.Lines(stack) {
		line = strings.TrimSpace(line)
		if strings.HasPrefix(line, "at ") || strings.Contains(line, "@") {
			return line
		}
	}
	return ""
}

// addJSError attaches a JS error to the visitor's open session, if any
// (it never opens, advances or engages one), and groups it.
func (w *worker) addJSError(ev *Event) {
	p := w.p
	session := ""
	if vs := w.visitors.get(visitorRecordID(ev.WebsiteID, ev.Visitor)); vs != nil && vs.session != nil &&
		ev.Time.Sub(vs.session.lastActivity) < p.cfg.SessionTimeout {
		session = vs.session.id
	}
	hash := ErrorHash(ev.ErrorMessage, ev.StackTrace)
	key := ev.WebsiteID + "/" + hash
	agg := w.jsErrs[key]
	if agg == nil {
		if len(w.jsErrs) >= p.cfg.MaxJSErrors {
			w.dropHeld(ReasonJSErrorsFull, 1, "website", ev.WebsiteID)
			return
		}
		agg = &jsAgg{websiteID: ev.WebsiteID, hash: hash, message: ev.ErrorMessage, stack: ev.StackTrace, url: ev.Path}
		w.jsErrs[key] = agg
	}
	if agg.session == "" {
		agg.session = session
	}
	agg.count++
	if ev.Time.After(agg.lastSeen) {
		agg.lastSeen = ev.Time
	}
}

// jsErrorChunks turns the grouped JS errors into upserts: the row id
// derives from (website, hash) and count is incremented inside the
// transaction, so two instances flushing the same error count exactly.
func (w *worker) jsErrorChunks(maxOps int) []*chunk {
	var out []*chunk
	c := newChunk()
	for key, a := range w.jsErrs {
		if len(c.ops) >= maxOps {
			out, c = append(out, c), newChunk()
		}
		data := map[string]any{
			"website": a.websiteID, "errorHash": a.hash, "errorMessage": a.message,
			"stackTrace": a.stack, "url": a.url, "count+": a.count, "lastSeen": a.lastSeen,
		}
		if a.session != "" {
			data["session"] = a.session
		}
		c.add(store.Op{Action: store.Upsert, Collection: schema.JSErrors, ID: DeriveID("jserror", a.websiteID, a.hash), Data: data},
			role{kind: roleJSError, count: a.count})
		delete(w.jsErrs, key)
	}
	if len(c.ops) > 0 {
		c.finalized = true
		out = append(out, c)
	}
	for _, c := range out {
		c.finalized = true
	}
	return out
}
