package uptime

import (
	"fmt"
	"time"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
	"github.com/skopos-go/skopos/schema"
)

// store saves res as site's check, opens or resolves its incident and
// updates the website, in one transaction; then it calls the monitor's
// callbacks. recheck asks for a check after RecheckDelay: the site
// answered while an incident is open, and one more answer confirms it is
// back.
//
// The state lives in the store, not in the monitor, so that a restarted
// monitor continues the same outage: an incident is open while its row
// is unresolved, and a recovery is confirmed by an up check whose
// previous check (after the incident began) was up too.
func (m *Monitor) store(site *core.Record, res Result) (recheck bool, err error) {
	var tr *Transition
	status := StatusUp
	err = m.app.RunInTransaction(func(tx core.App) error {
		tr, recheck, status = nil, false, StatusUp // a retried transaction starts over
		var prev struct {
			Up   bool   `db:"isUp"`
			Time string `db:"timestamp"`
		}
		perr := tx.DB().NewQuery("SELECT isUp, timestamp FROM " + schema.UptimeChecks +
			" WHERE website = {:w} ORDER BY timestamp DESC LIMIT 1").Bind(dbx.Params{"w": site.Id}).One(&prev)
		open, err := tx.FindRecordsByFilter(schema.UptimeIncidents, "website = {:w} && isResolved = false", "-startTime", 1, 0, dbx.Params{"w": site.Id})
		if err != nil {
			return err
		}
		check, err := saveCheck(tx, site.Id, res)
		if err != nil {
			return err
		}
		switch {
		case !res.IsUp && len(open) == 0:
			in, err := newRecord(tx, schema.UptimeIncidents)
			if err != nil {
				return err
			}
			in.Set("website", site.Id)
			in.Set("startTime", res.Time)
			in.Set("error", res.Error)
			in.Set("statusCode", res.StatusCode)
			if err := tx.Save(in); err != nil {
				return err
			}
			status, tr = StatusDown, &Transition{Status: StatusDown, Incident: in, Check: check}
		case !res.IsUp:
			status = StatusDown
		case len(open) > 0:
			in := open[0]
			start := in.GetDateTime("startTime").Time()
			if perr != nil || !prev.Up || prev.Time < dbTime(start) {
				status, recheck = StatusDown, true
				break
			}
			in.Set("endTime", res.Time)
			in.Set("duration", res.Time.Sub(start).Milliseconds())
			in.Set("isResolved", true)
			if err := tx.Save(in); err != nil {
				return err
			}
			tr = &Transition{Status: StatusUp, Incident: in, Check: check}
		}
		return updateSite(tx, site, status, res)
	})
	if err != nil {
		return false, fmt.Errorf("uptime: store: %w", err)
	}
	site.Set("currentStatus", status)
	site.Set("lastUptimeCheck", res.Time)
	if certChange(res) {
		site.Set("certExpiry", res.CertExpiry)
	}
	if tr != nil {
		tr.Site = site
		m.o.Logger.Info("uptime: "+tr.Status, "site", site.Id, "url", homeURL(site), "error", res.Error)
		if m.o.OnTransition != nil {
			m.o.OnTransition(*tr)
		}
	}
	m.warnCert(site, res)
	return recheck, nil
}

func newRecord(app core.App, collection string) (*core.Record, error) {
	col, err := app.FindCachedCollectionByNameOrId(collection)
	if err != nil {
		return nil, err
	}
	return core.NewRecord(col), nil
}

func saveCheck(tx core.App, siteID string, res Result) (*core.Record, error) {
	c, err := newRecord(tx, schema.UptimeChecks)
	if err != nil {
		return nil, err
	}
	c.Set("website", siteID)
	c.Set("isUp", res.IsUp)
	c.Set("statusCode", res.StatusCode)
	c.Set("responseTime", res.ResponseTime)
	c.Set("error", res.Error)
	c.Set("ssl", res.SSL)
	c.Set("contentLength", res.ContentLength)
	c.Set("timestamp", res.Time)
	if !res.CertExpiry.IsZero() {
		c.Set("certExpiry", res.CertExpiry)
	}
	return c, tx.Save(c)
}

// certChange says whether res changes the website's certExpiry: a
// certificate seen sets it, a site up without TLS (now plain http)
// clears it, and a failure without a certificate says nothing about it.
func certChange(res Result) bool { return !res.CertExpiry.IsZero() || (res.IsUp && !res.SSL) }

// updateSite writes the website's uptime fields with an UPDATE rather
// than a record save: a save would run the websites' hooks and move
// their updated time every minute.
func updateSite(tx core.App, site *core.Record, status string, res Result) error {
	set := dbx.Params{"currentStatus": status, "lastUptimeCheck": dbTime(res.Time)}
	if certChange(res) {
		set["certExpiry"] = ""
		if !res.CertExpiry.IsZero() {
			set["certExpiry"] = dbTime(res.CertExpiry)
		}
	}
	_, err := tx.DB().Update(schema.Websites, set, dbx.HashExp{"id": site.Id}).Execute()
	return err
}

// warnCert calls OnCertExpiring for a certificate within
// CertWarningAhead, once per site and UTC day.
func (m *Monitor) warnCert(site *core.Record, res Result) {
	if m.o.OnCertExpiring == nil || res.CertExpiry.IsZero() || res.CertExpiry.Sub(res.Time) >= CertWarningAhead {
		return
	}
	day := res.Time.UTC().Format(time.DateOnly)
	m.mu.Lock()
	again := m.warned[site.Id] == day
	m.warned[site.Id] = day
	m.mu.Unlock()
	if !again {
		m.o.OnCertExpiring(site, res.CertExpiry)
	}
}
