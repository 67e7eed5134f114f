package plugin

import (
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/pocketbase/pocketbase/core"
	"github.com/skopos-go/skopos/internal/access"
	"github.com/skopos-go/skopos/internal/seorun"
	"github.com/skopos-go/skopos/schema"
)

// SEOPath returns a website's latest SEO analysis and its score history:
//
//	GET /api/skopos/seo?site=<trackingId>
//
// with the callers of the stats API (a superuser, the site's owner, or an
// API key within its sites; not a shared link).
const SEOPath = "/api/skopos/seo"

// SEOAnalyzePath asks for a new SEO analysis, which runs in the background:
//
//	POST /api/skopos/seo/analyze  {"site": "<trackingId>", "strategy": "mobile"|"desktop"}
//
// 202 once queued; 429 with Retry-After when the site was asked for less
// than a minute ago.
const SEOAnalyzePath = "/api/skopos/seo/analyze"

// seoFields are the seo_data JSON fields the API returns as they are
// stored (the Skopos dashboard's layout).
var seoFields = []string{"metaTags", "performanceScores", "lighthouseData", "technicalSeo", "socialMetaTags",
	"analysisWarnings", "recommendations", "headings", "images", "links"}

// historyLimit is how many past analyses GET /api/skopos/seo returns.
const historyLimit = 100

func (p *plugin) mountSEO(e *core.ServeEvent) {
	e.Router.GET(SEOPath, p.getSEO)
	e.Router.POST(SEOAnalyzePath, p.analyzeSEO)
}

func (p *plugin) getSEO(e *core.RequestEvent) error {
	site, err := p.keyAuth.ownSite(e, e.Request.URL.Query().Get("site"), access.Viewer, time.Now())
	if err != nil {
		return err
	}
	out, err := seoReport(e.App, site)
	if err != nil {
		return e.InternalServerError("", err)
	}
	return e.JSON(http.StatusOK, out)
}

// seoReport is the JSON of GET /api/skopos/seo for site.
func seoReport(app core.App, site *core.Record) (map[string]any, error) {
	out := map[string]any{"site": site.GetString("trackingId"), "url": websiteURL(site), "status": "none"}
	rec, err := app.FindFirstRecordByData(schema.SEOData, "website", site.Id)
	if err == nil {
		out["status"] = rec.GetString("status")
		out["strategy"] = rec.GetString("strategy")
		out["requestedAt"] = rec.GetDateTime("requestedAt")
		out["error"] = rec.GetString("error")
		if !rec.GetDateTime("lastAnalyzed").IsZero() {
			a := map[string]any{"score": rec.GetInt("score"), "label": rec.GetString("label"),
				"lastAnalyzed": rec.GetDateTime("lastAnalyzed"), "loadTime": rec.GetFloat("loadTime"), "pageSize": rec.GetFloat("pageSize")}
			for _, f := range seoFields {
				a[f] = rec.Get(f)
			}
			out["analysis"] = a
		}
	}
	hist, err := seorun.History(app, site.Id, historyLimit)
	if err != nil {
		return nil, err
	}
	out["history"] = hist
	return out, nil
}

func (p *plugin) analyzeSEO(e *core.RequestEvent) error {
	var in struct {
		Site     string `json:"site"`
		Strategy string `json:"strategy"`
	}
	if err := e.BindBody(&in); err != nil {
		return e.BadRequestError("Send JSON: {\"site\": \"<trackingId>\", \"strategy\": \"mobile\"|\"desktop\"}.", err)
	}
	site, err := p.keyAuth.ownSite(e, in.Site, access.Admin, time.Now())
	if err != nil {
		return err
	}
	if p.seo == nil {
		return e.Error(http.StatusServiceUnavailable, "SEO analysis is turned off on this server.", nil)
	}
	wait, err := p.seo.Request(site, in.Strategy)
	switch {
	case errors.Is(err, seorun.ErrStrategy):
		return e.BadRequestError("strategy must be \"mobile\" or \"desktop\".", nil)
	case errors.Is(err, seorun.ErrTooSoon):
		e.Response.Header().Set("Retry-After", strconv.Itoa(int(wait.Seconds()+0.999)))
		return e.TooManyRequestsError("This site was analyzed less than a minute ago; try again later.", nil)
	case err != nil:
		return e.InternalServerError("", err)
	}
	return e.JSON(http.StatusAccepted, map[string]any{"site": site.GetString("trackingId"), "status": seorun.Pending})
}

// websiteURL is the home page a website's analysis and checks fetch.
func websiteURL(site *core.Record) string {
	if u := site.GetString("url"); u != "" {
		return u
	}
	return "https://" + site.GetString("domain") + "/"
}
