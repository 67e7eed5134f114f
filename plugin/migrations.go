package plugin

import (
	"context"
	"fmt"
	"log/slog"
	"slices"

	"github.com/pocketbase/pocketbase/core"
	"github.com/skopos-go/skopos/internal/adopt"
	"github.com/skopos-go/skopos/internal/channel/backfill"
	"github.com/skopos-go/skopos/internal/hourly"
	"github.com/skopos-go/skopos/internal/pipeline"
	"github.com/skopos-go/skopos/schema/collections"
)

// migrations returns the Skopos migrations. They live in their own list,
// run by their own runner, rather than in PocketBase's global
// core.AppMigrations: registering there would apply Skopos to every app in
// the process (two apps in one test binary must not interfere).
//
// The schema migration is convergent (collections.Apply), so a later schema
// version is a new entry that calls collections.Apply again.
func (p *plugin) migrations() core.MigrationsList {
	var l core.MigrationsList
	// apply is every schema version's migration: collections.Apply
	// converges on the current definitions, so the first pending one of a
	// run does all the work and the others have nothing left to do (on a
	// fresh data dir that saves eight full comparisons of every
	// collection at each start).
	applied := false
	apply := func(tx core.App) error {
		if applied {
			return nil
		}
		if _, err := collections.Apply(tx); err != nil {
			return err
		}
		applied = true
		return nil
	}
	l.Register(apply, nil, "1764115200_skopos_schema_v1.go")
	l.Register(func(tx core.App) error {
		s := tx.Settings()
		s.Batch.Enabled = true
		s.Batch.MaxRequests = p.cfg.BatchMaxRequests
		s.Batch.Timeout = 10
		return tx.Save(s)
	}, nil, "1764115201_skopos_batch_settings.go")
	// v2: sessions(website, startedAt) index for the stats API
	l.Register(apply, nil, "1764115203_skopos_schema_v2.go")
	// v3: skopos_spool, the intake log's committed position
	l.Register(apply, nil, "1764115204_skopos_schema_v3.go")
	// v4: skopos_secrets, the visitor id salts
	l.Register(apply, nil, "1764115206_skopos_schema_v4.go")
	// v5: hourly summaries, campaign dimensions, websites.timezone,
	// goals and funnels, event indexes for filters
	l.Register(apply, nil, "1764115207_skopos_schema_v5.go")
	// v5 data: the daily summaries of earlier versions become hourly,
	// rebuilt from the raw rows where those still match them
	// (internal/hourly); the pipeline's key cap is its default
	l.Register(func(tx core.App) error {
		_, err := hourly.Migrate(tx, pipeline.DefaultMaxDimensionKeys)
		return err
	}, nil, "1764115208_skopos_hourly_summaries.go")
	// v6: websites.reportFrequency and lastReport (email reports),
	// skopos_api_keys (the stats API keys)
	l.Register(apply, nil, "1764115209_skopos_schema_v6.go")
	// v7: skopos_shares (shared links)
	l.Register(apply, nil, "1764115210_skopos_schema_v7.go")
	// v8: websites.url, seo_data, seo_history, api_keys (the key vault)
	l.Register(apply, nil, "1764115211_skopos_schema_v8.go")
	// v9: uptime (websites' uptime fields, uptime_checks,
	// uptime_incidents, uptime_days), notification rules and their outbox
	// (notyf_rules, notyf_deliveries), skopos_state, the visitors
	// (website, userId) index of the account filters
	l.Register(apply, nil, "1764115212_skopos_schema_v9.go")
	// v10: skopos_erasures, the erasure log
	l.Register(apply, nil, "1764115213_skopos_schema_v10.go")
	// v11: dash_sum.imported
	l.Register(apply, nil, "1764115214_skopos_schema_v11.go")
	// v12: sessions.source and sessions.channel (internal/channel)
	l.Register(apply, nil, "1764115216_skopos_schema_v12.go")
	// v12 data: the stored sessions' sources and channels, and the
	// breakdowns of channel, source, utm_term and utm_content for the
	// days whose sessions are stored (earlier days have none)
	l.Register(func(tx core.App) error {
		n, err := backfill.Sessions(tx.DB())
		if err != nil {
			return err
		}
		rows, err := backfill.Items(tx.DB(), pipeline.DefaultMaxDimensionKeys)
		if err == nil && n > 0 {
			tx.Logger().Info("skopos: sources and channels of the stored sessions", "sessions", n, "breakdownRows", rows)
		}
		return err
	}, nil, "1764115216_skopos_v12_acquisition.go")
	// v14: events.revenueAmount, revenueCurrency and orderId, with the
	// (website, orderId) index of the order lookup
	l.Register(apply, nil, "1764115218_skopos_schema_v14.go")
	// v13: events.engagedMs and scrollDepth, sessions.engagedMs
	l.Register(apply, nil, "1764115217_skopos_schema_v13.go")
	// v15: skopos_members and skopos_invites (teams); goals and funnels
	// rules that let members read and admins change
	l.Register(apply, nil, "1764115219_skopos_schema_v15.go")
	l.Register(collections.UpgradeOwnerRules, nil, "1764115219_skopos_v15_member_rules.go")
	// v16: skopos_segments; shared links, API keys and email reports
	// pinned to a segment (a copy of its filters)
	l.Register(apply, nil, "1764115220_skopos_schema_v16.go")
	// v17: skopos_audit (the audit log)
	l.Register(apply, nil, "1764115221_skopos_schema_v17.go")
	// v18: the region breakdown (dash_sum_items dimension "region"),
	// counted from the stored sessions for the days before (earlier
	// days, their sessions pruned, have none)
	l.Register(func(tx core.App) error {
		rows, err := backfill.ItemsOf(tx.DB(), pipeline.DefaultMaxDimensionKeys, "region")
		if err == nil && rows > 0 {
			tx.Logger().Info("skopos: region breakdowns of the stored sessions", "breakdownRows", rows)
		}
		return err
	}, nil, "1764115222_skopos_v18_regions.go")
	// v19: skopos_ch_outbox (the ClickHouse events store's outbox)
	l.Register(apply, nil, "1764115223_skopos_schema_v19.go")
	if n := p.cfg.AuthRateLimit; n > 0 {
		l.Register(func(tx core.App) error {
			s := tx.Settings()
			s.RateLimits.Enabled = true
			// only this rule: PocketBase's other defaults would limit
			// every /api/ route per IP, which behind a proxy is everyone
			s.RateLimits.Rules = []core.RateLimitRule{{Label: "*:auth", MaxRequests: n, Duration: 60}}
			return tx.Save(s)
		}, nil, "1764115205_skopos_auth_rate_limit.go")
	}
	if p.cfg.Demo {
		l.Register(func(tx core.App) error {
			var sites int
			if err := tx.DB().NewQuery("SELECT COUNT(*) FROM websites").Row(&sites); err != nil || sites > 0 {
				return err // an installation with websites (an adopted one) needs no demo
			}
			_, err := createWebsite(tx, "Demo", "localhost", "")
			return err
		}, nil, "1764115202_skopos_demo_website.go")
	}
	if n := p.cfg.AuthRateLimit; n > 0 {
		// the requests that mail an address anyone can name (password
		// reset, verification, email change, OTP), limited like auth; a
		// rule the operator already has for one of them is kept
		l.Register(func(tx core.App) error {
			s := tx.Settings()
			for _, action := range mailRequests {
				label := "*:" + action
				if !slices.ContainsFunc(s.RateLimits.Rules, func(r core.RateLimitRule) bool { return r.Label == label }) {
					s.RateLimits.Rules = append(s.RateLimits.Rules, core.RateLimitRule{Label: label, MaxRequests: n, Duration: 60})
				}
			}
			return tx.Save(s)
		}, nil, "1764115215_skopos_mail_request_rate_limit.go")
	}
	return l
}

// mailRequests are PocketBase's rate-limit tags of the auth requests that
// send an email.
var mailRequests = []string{"requestPasswordReset", "requestVerification", "requestEmailChange", "requestOTP"}

// migrate applies PocketBase's and then Skopos' pending migrations.
// A Skopos Node data dir is adopted around Skopos' own migrations
// (package adopt).
func (p *plugin) migrate(app core.App) error {
	if err := app.RunAllMigrations(); err != nil {
		return fmt.Errorf("skopos: pocketbase migrations: %w", err)
	}
	adopting, err := adopt.Pending(app.DB())
	if err != nil {
		return fmt.Errorf("skopos: %w", err)
	}
	ctx := context.Background()
	// the adoption's progress goes to the start-up lines as well as to
	// PocketBase's logs: an operator watches it once
	log := slog.New(slog.NewMultiHandler(app.Logger().Handler(), slog.NewTextHandler(p.cfg.Out, nil)))
	if adopting {
		if err := adopt.Prepare(ctx, app, log, p.cfg.AdoptBatchRows); err != nil {
			return fmt.Errorf("skopos: %w", err)
		}
	}
	if _, err := core.NewMigrationsRunner(app, p.migrations()).Up(); err != nil {
		return fmt.Errorf("skopos: migrations: %w", err)
	}
	if adopting {
		if err := adopt.Finish(ctx, app, log, pipeline.DefaultMaxDimensionKeys); err != nil {
			return fmt.Errorf("skopos: %w", err)
		}
	}
	return nil
}
