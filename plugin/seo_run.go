package plugin

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"time"

	"github.com/pocketbase/pocketbase/core"
	"github.com/skopos-go/skopos/internal/pagespeed"
	"github.com/skopos-go/skopos/internal/seo"
	"github.com/skopos-go/skopos/internal/seorun"
	"github.com/skopos-go/skopos/internal/servicekeys"
	"github.com/skopos-go/skopos/internal/vault"
)

// SEOConfig configures the SEO analysis of websites: the home page and
// what it links to are fetched and checked, and scored with Google
// PageSpeed Insights when a key is known.
type SEOConfig struct {
	// Off turns the analysis off: nothing is fetched, a new website is
	// not analyzed, and POST /api/skopos/seo/analyze answers 503.
	// Default false (an analysis runs in the background when a website is
	// created, and on demand).
	Off bool
	// PageSpeedURL is the base URL of the PageSpeed Insights API.
	// Default https://www.googleapis.com. `skopos serve`:
	// SKOPOS_PAGESPEED_URL.
	PageSpeedURL string
	// PageSpeedKey is the PageSpeed Insights key used when a website's
	// owner has no active google_pagespeed key in the key vault. Default
	// none: without any key the PageSpeed scores are "N/A". `skopos
	// serve`: PAGESPEED_API_KEY.
	PageSpeedKey string
	// Concurrency is how many analyses run at once. Default 2.
	Concurrency int
}

// startSEO builds the key vault and the SEO runner and resumes the jobs
// left pending by the last run.
func (p *plugin) startSEO(e *core.ServeEvent) error {
	if p.cfg.SEO.Off {
		return nil
	}
	analyzer := seo.New(seo.Options{Client: p.fetch})
	ps := &pagespeed.Client{BaseURL: p.cfg.SEO.PageSpeedURL, HTTP: &http.Client{}}
	p.seo = seorun.New(e.App, seorun.Options{
		Concurrency: p.cfg.SEO.Concurrency,
		Logger:      e.App.Logger(),
		Run: func(ctx context.Context, job seorun.Job) (*seorun.Outcome, error) {
			return p.analyze(ctx, e.App, analyzer, ps, job)
		},
	})
	return p.seo.Start()
}

// analyze runs one analysis: the page checks, then PageSpeed when a key
// is known (the owner's active vault key, else SEOConfig.PageSpeedKey).
func (p *plugin) analyze(ctx context.Context, app core.App, a *seo.Analyzer, ps *pagespeed.Client, job seorun.Job) (*seorun.Outcome, error) {
	home := websiteURL(job.Website)
	res, err := a.Analyze(ctx, home)
	if err != nil {
		return nil, err
	}
	key, err := p.pageSpeedKey(app, job.Website)
	var scores *seo.PageSpeedScores
	switch {
	case err != nil:
		app.Logger().Error("skopos: SEO analysis: the PageSpeed key", "site", job.Website.GetString("domain"), "error", err)
		res.AnalysisWarnings = append(res.AnalysisWarnings, "The PageSpeed Insights key in the key vault could not be opened; performance scores are N/A.")
	case key == "":
		res.AnalysisWarnings = append(res.AnalysisWarnings, "No PageSpeed Insights key: add one under Service keys for performance scores (N/A until then).")
	default:
		run, err := ps.Run(ctx, home, job.Strategy, key)
		if err != nil {
			res.AnalysisWarnings = append(res.AnalysisWarnings, "PageSpeed Insights: "+err.Error())
		} else {
			scores = &seo.PageSpeedScores{Strategy: run.Strategy, Performance: run.Scores.Performance, Accessibility: run.Scores.Accessibility,
				BestPractices: run.Scores.BestPractices, SEO: run.Scores.SEO, FCP: run.Metrics.FCPms, LCP: run.Metrics.LCPms,
				TBT: run.Metrics.TBTms, CLS: run.Metrics.CLS, SpeedIndex: run.Metrics.SpeedIndexms, FetchTime: run.FetchTime, Warnings: run.Warnings}
		}
	}
	res.ApplyPageSpeed(scores)
	return outcome(res)
}

// pageSpeedKey is the key a website's analysis uses: its owner's active
// google_pagespeed key (for a website without an owner, the oldest
// superuser's), else SEOConfig.PageSpeedKey.
func (p *plugin) pageSpeedKey(app core.App, site *core.Record) (string, error) {
	owner, super := site.GetString("user"), false
	if owner == "" {
		supers, err := app.FindRecordsByFilter(core.CollectionNameSuperusers, "", "created", 1, 0)
		if err == nil && len(supers) == 1 {
			owner, super = supers[0].Id, true
		}
	}
	key, ok, err := servicekeys.Use(app, p.vault, owner, super, servicekeys.PageSpeed, time.Now())
	if err != nil || ok {
		return key, err
	}
	return p.cfg.SEO.PageSpeedKey, nil
}

// outcome turns an analysis into the seo_data fields and history row.
func outcome(res *seo.Result) (*seorun.Outcome, error) {
	fields := map[string]any{"loadTime": res.LoadTime, "pageSize": res.PageSize}
	for name, v := range map[string]any{"metaTags": res.MetaTags, "socialMetaTags": res.SocialMetaTags, "technicalSeo": res.TechnicalSEO,
		"headings": res.Headings, "images": res.Images, "links": res.Links, "performanceScores": res.PerformanceScores,
		"lighthouseData": res.LighthouseData, "analysisWarnings": res.AnalysisWarnings, "recommendations": res.Recommendations} {
		b, err := json.Marshal(v)
		if err != nil {
			return nil, fmt.Errorf("skopos: SEO analysis: encode %s: %w", name, err)
		}
		fields[name] = json.RawMessage(b)
	}
	out := &seorun.Outcome{Fields: fields, Score: res.Score, Label: res.Label}
	if res.PerformanceScores != nil {
		out.Performance = res.PerformanceScores.Performance
	}
	for _, r := range res.Recommendations {
		switch r.Priority {
		case "critical":
			out.Critical++
		case "high":
			out.High++
		}
	}
	return out, nil
}

// openVault reads Config.EncryptionKey or EncryptionKeyFile: the key
// vault is off without either.
func openVault(cfg Config) (vault.Key, *vault.Vault, error) {
	given := map[string]string{vault.EnvKey: cfg.EncryptionKey, vault.EnvKeyFile: cfg.EncryptionKeyFile}
	k, ok, err := vault.LoadKey(func(name string) string { return given[name] }, os.ReadFile)
	if err != nil {
		return k, nil, fmt.Errorf("skopos plugin: EncryptionKey: %w", err)
	}
	if !ok {
		return k, nil, nil
	}
	v, err := vault.New(k)
	return k, v, err
}
