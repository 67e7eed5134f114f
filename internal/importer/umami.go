package importer

import (
	"io"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/skopos-go/skopos/internal/pipeline"
)

// Umami's data export (Settings → Data → Export, a CSV file, gzipped
// when it comes by email) holds its raw events: one row per
// website_event with its session's fields (website_id, session_id,
// visit_id, event_id, hostname, browser, os, device, screen, language,
// country, region, city, url_path, url_query, utm_*, referrer_path,
// referrer_query, referrer_domain, page_title, click ids, event_type,
// event_name, tag, distinct_id, created_at), created_at in UTC. They are
// aggregated here as the pipeline counts its own: a visit (visit_id) is a
// session, counted on the UTC day it starts; page views and custom
// events on their own day.

// Umami's event types.
const (
	umamiPageView = "1"
	umamiCustom   = "2"
)

// umamiVisit is what a visit's events tell.
type umamiVisit struct {
	session     string
	first, last time.Time
	entry, exit string
	events      int
	attrs       map[string]string // of its first event: the session breakdowns' values
}

// umamiAttrs are the session breakdowns a visit's first event gives,
// with the column each comes from.
var umamiAttrs = []struct{ dim, col string }{
	{"browser", "browser"}, {"os", "os"}, {"device", "device"}, {"language", "language"},
	{"country", "country"}, {"referrer", "referrer_domain"},
	{"utm_source", "utm_source"}, {"utm_medium", "utm_medium"}, {"utm_campaign", "utm_campaign"},
}

// ReadUmami parses Umami's data export at path: a CSV file (.csv or
// .csv.gz), a directory of them or a zip of them.
func ReadUmami(path string) (*Data, error) {
	d := newData(Umami)
	visits := map[string]*umamiVisit{}
	err := eachFile(path, func(name, _ string, r io.Reader) error {
		return readUmamiFile(d, visits, name, r)
	})
	if err != nil {
		return nil, err
	}
	countVisits(d, visits)
	d.Dropped = []string{"hostname, screen, region, city, page_title, referrer_path, referrer_query, utm_content, utm_term, " +
		"click ids, tag, distinct_id; event types other than page views (1) and custom events (2)"}
	return d, nil
}

func readUmamiFile(d *Data, visits map[string]*umamiVisit, name string, r io.Reader) error {
	rs, err := newRows(name, r)
	if err != nil {
		return err
	}
	if rs.has("x") && rs.has("y") && !rs.has("created_at") {
		return &FormatError{File: name, Line: 1, Msg: "Umami's metrics export (x, y for the whole period) has no days; export the data (raw events) instead"}
	}
	if err := rs.require("session_id", "created_at", "url_path", "event_type"); err != nil {
		return err
	}
	for {
		ok, err := rs.next()
		if err != nil || !ok {
			return err
		}
		typ := rs.str("event_type")
		if typ != umamiPageView && typ != umamiCustom {
			if typ == "" {
				return rs.errorf("event_type is empty")
			}
			continue
		}
		t, err := rs.time("created_at")
		if err != nil {
			return err
		}
		session := rs.str("session_id")
		if session == "" {
			return rs.errorf("session_id is empty")
		}
		path := rs.str("url_path")
		x := d.day(t)
		if typ == umamiPageView {
			x.Totals.PageViews++
			x.add("page", path, 1)
		} else if n := rs.str("event_name"); n != "" {
			x.add("customEvent", n, 1)
		}
		id := rs.str("visit_id")
		if id == "" {
			id = session
		}
		v := visits[id]
		if v == nil {
			v = &umamiVisit{session: session, first: t, last: t, entry: path, exit: path, attrs: umamiValues(rs)}
			visits[id] = v
		}
		v.events++
		if t.Before(v.first) {
			v.first, v.entry, v.attrs = t, path, umamiValues(rs)
		}
		if !t.Before(v.last) {
			v.last, v.exit = t, path
		}
	}
}

// umamiValues are the session breakdowns' values of the current row,
// mapped onto the pipeline's names; the campaign from url_query for an
// export without utm_* columns.
func umamiValues(rs *rows) map[string]string {
	out := map[string]string{}
	for _, a := range umamiAttrs {
		out[a.dim] = rs.str(a.col)
	}
	if !rs.has("utm_source") {
		q, _ := url.ParseQuery(strings.TrimPrefix(rs.str("url_query"), "?"))
		for _, dim := range []string{"utm_source", "utm_medium", "utm_campaign"} {
			out[dim] = q.Get(dim)
		}
	}
	out["browser"] = umamiBrowser(out["browser"])
	out["os"] = umamiOS(out["os"])
	out["device"] = deviceName(out["device"])
	out["country"] = strings.ToUpper(out["country"])
	return out
}

// countVisits counts the visits on the day each starts: a visit is a
// session, new when it is its Umami session's first in the export.
func countVisits(d *Data, visits map[string]*umamiVisit) {
	list := make([]*umamiVisit, 0, len(visits))
	for _, v := range visits {
		list = append(list, v)
	}
	slices.SortFunc(list, func(a, b *umamiVisit) int {
		if c := a.first.Compare(b.first); c != 0 {
			return c
		}
		return strings.Compare(a.entry, b.entry)
	})
	seen := map[string]bool{}
	for _, v := range list {
		x := d.day(v.first)
		t := &x.Totals
		t.Visitors++
		if seen[v.session] {
			t.ReturningVisitors++
		} else {
			t.NewVisitors++
			seen[v.session] = true
		}
		if v.events <= 1 {
			t.Bounces++
		} else {
			t.Engaged++
		}
		t.Duration += pipeline.Seconds(v.last.Sub(v.first))
		x.add("entryPage", v.entry, 1)
		x.add("exitPage", v.exit, 1)
		for _, sd := range pipeline.SessionDimensions {
			if a, ok := v.attrs[sd.Dim]; ok { // entry and exit pages are done
				x.add(sd.Dim, pipeline.SessionValue(sd.Dim, a), 1)
			}
		}
		for _, dim := range []string{"utm_source", "utm_medium", "utm_campaign"} {
			if a := v.attrs[dim]; a != "" {
				x.add(dim, a, 1)
			}
		}
	}
}
