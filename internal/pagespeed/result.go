package pagespeed

import (
	"encoding/json"
	"fmt"
	"math"
)

// Result is what one run measured. A nil score or metric was missing
// from the answer; Warnings says which and why.
type Result struct {
	// Strategy is Mobile or Desktop.
	Strategy string `json:"strategy"`
	// Scores are Lighthouse's category scores, 0 to 100.
	Scores Scores `json:"scores"`
	// Metrics are Lighthouse's main lab metrics.
	Metrics Metrics `json:"metrics"`
	// FinalURL is the page Lighthouse measured, after redirects.
	FinalURL string `json:"finalUrl,omitempty"`
	// LighthouseVersion and FetchTime (RFC 3339) date the measurement.
	LighthouseVersion string `json:"lighthouseVersion,omitempty"`
	FetchTime         string `json:"fetchTime,omitempty"`
	// Warnings lists what is missing or doubtful, in the order found:
	// categories and metrics without a value, then Lighthouse's own run
	// warnings and runtime error.
	Warnings []string `json:"warnings,omitempty"`
}

// Scores are the four Lighthouse categories, each 0-100 (Lighthouse's
// 0-1 rounded), nil when the answer had none.
type Scores struct {
	Performance   *int `json:"performance"`
	Accessibility *int `json:"accessibility"`
	BestPractices *int `json:"bestPractices"`
	SEO           *int `json:"seo"`
}

// Metrics are Lighthouse's lab metrics (the audits' numericValue), nil
// when the answer had none. Times are in milliseconds; CLS has no unit.
type Metrics struct {
	LCPms        *float64 `json:"lcpMs"`        // largest-contentful-paint
	CLS          *float64 `json:"cls"`          // cumulative-layout-shift
	TBTms        *float64 `json:"tbtMs"`        // total-blocking-time
	FCPms        *float64 `json:"fcpMs"`        // first-contentful-paint
	SpeedIndexms *float64 `json:"speedIndexMs"` // speed-index
}

// answer is the part of the API's answer Run reads.
type answer struct {
	LighthouseResult *struct {
		FinalURL          string   `json:"finalUrl"`
		LighthouseVersion string   `json:"lighthouseVersion"`
		FetchTime         string   `json:"fetchTime"`
		RunWarnings       []string `json:"runWarnings"`
		RuntimeError      *struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"runtimeError"`
		Categories map[string]*struct {
			Score *float64 `json:"score"`
		} `json:"categories"`
		Audits map[string]*struct {
			NumericValue *float64 `json:"numericValue"`
			ErrorMessage string   `json:"errorMessage"`
		} `json:"audits"`
	} `json:"lighthouseResult"`
}

func parse(body []byte) (*Result, error) {
	var a answer
	if err := json.Unmarshal(body, &a); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadAnswer, err)
	}
	lr := a.LighthouseResult
	if lr == nil {
		return nil, fmt.Errorf("%w: no lighthouseResult", ErrBadAnswer)
	}
	res := &Result{FinalURL: lr.FinalURL, LighthouseVersion: lr.LighthouseVersion, FetchTime: lr.FetchTime}
	for _, c := range []struct {
		id    string
		score **int
	}{
		{"performance", &res.Scores.Performance},
		{"accessibility", &res.Scores.Accessibility},
		{"best-practices", &res.Scores.BestPractices},
		{"seo", &res.Scores.SEO},
	} {
		cat, ok := lr.Categories[c.id]
		switch {
		case !ok || cat == nil:
			res.warn("category %s missing from the answer", c.id)
		case cat.Score == nil:
			res.warn("category %s has no score", c.id)
		default:
			s := int(math.Round(min(max(*cat.Score, 0), 1) * 100))
			*c.score = &s
		}
	}
	for _, m := range []struct {
		id    string
		value **float64
	}{
		{"largest-contentful-paint", &res.Metrics.LCPms},
		{"cumulative-layout-shift", &res.Metrics.CLS},
		{"total-blocking-time", &res.Metrics.TBTms},
		{"first-contentful-paint", &res.Metrics.FCPms},
		{"speed-index", &res.Metrics.SpeedIndexms},
	} {
		audit, ok := lr.Audits[m.id]
		switch {
		case !ok || audit == nil:
			res.warn("metric %s missing from the answer", m.id)
		case audit.NumericValue == nil && audit.ErrorMessage != "":
			res.warn("metric %s has no value: %s", m.id, audit.ErrorMessage)
		case audit.NumericValue == nil:
			res.warn("metric %s has no value", m.id)
		default:
			*m.value = audit.NumericValue
		}
	}
	for _, w := range lr.RunWarnings {
		res.warn("lighthouse: %s", w)
	}
	if e := lr.RuntimeError; e != nil && e.Code != "" && e.Code != "NO_ERROR" {
		res.warn("lighthouse: runtime error %s: %s", e.Code, e.Message)
	}
	return res, nil
}

func (r *Result) warn(format string, args ...any) {
	r.Warnings = append(r.Warnings, fmt.Sprintf(format, args...))
}
