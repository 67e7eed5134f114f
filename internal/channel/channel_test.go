package channel

import "testing"

// TestClassify walks GA4's default channel group definitions
// (support.google.com/analytics/answer/9756891), one case per rule and
// the order between rules, plus the additions the package documents.
func TestClassify(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name                       string
		ref, src, medium, campaign string
		wantSource, wantChannel    string
	}{
		// Direct: source "(direct)" and medium "(not set)"/"(none)"
		{name: "no referrer, no utm", wantSource: "Direct", wantChannel: Direct},
		// Cross-network: the campaign contains "cross-network"
		{name: "cross-network campaign", src: "google", medium: "cpc", campaign: "pmax-cross-network-q3", wantSource: "Google", wantChannel: CrossNetwork},
		// Paid Shopping: a shopping source or a shop campaign, with a paid medium
		{name: "shopping site, cpc", src: "amazon.com", medium: "cpc", wantSource: "Amazon", wantChannel: PaidShopping},
		{name: "shop campaign, ppc", src: "newsletter-partner", medium: "ppc", campaign: "winter-shop", wantSource: "newsletter-partner", wantChannel: PaidShopping},
		{name: "shopping campaign, paid medium", src: "bing", medium: "paid-search", campaign: "Shopping Q4", wantSource: "Bing", wantChannel: PaidShopping},
		// Paid Search: a search source with medium ^(.*cp.*|ppc|retargeting|paid.*)$
		{name: "google cpc", src: "google", medium: "cpc", wantSource: "Google", wantChannel: PaidSearch},
		{name: "bing ppc", src: "bing", medium: "ppc", wantSource: "Bing", wantChannel: PaidSearch},
		{name: "duckduckgo retargeting", src: "duckduckgo", medium: "retargeting", wantSource: "DuckDuckGo", wantChannel: PaidSearch},
		{name: "medium cpc, source from the Google referrer", ref: "https://www.google.com/", medium: "cpc", wantSource: "Google", wantChannel: PaidSearch},
		{name: "medium case", src: "Google", medium: "CPC", wantSource: "Google", wantChannel: PaidSearch},
		// Paid Social
		{name: "facebook paid_social", src: "facebook", medium: "paid_social", wantSource: "Facebook", wantChannel: PaidSocial},
		{name: "fb alias, cpm is paid first", src: "fb", medium: "cpm", wantSource: "Facebook", wantChannel: PaidSocial},
		{name: "reddit cpc", src: "reddit", medium: "cpc", wantSource: "Reddit", wantChannel: PaidSocial},
		// Paid Video
		{name: "youtube cpv", src: "youtube", medium: "cpv", wantSource: "YouTube", wantChannel: PaidVideo},
		// Display: medium display, banner, expandable, interstitial, cpm
		{name: "display", src: "adnetwork", medium: "display", wantSource: "adnetwork", wantChannel: Display},
		{name: "banner", src: "partner", medium: "banner", wantSource: "partner", wantChannel: Display},
		{name: "interstitial", src: "partner", medium: "interstitial", wantSource: "partner", wantChannel: Display},
		// Paid Other: a paid medium from a source of no category
		{name: "unknown source cpc", src: "partner-site", medium: "cpc", wantSource: "partner-site", wantChannel: PaidOther},
		{name: "only utm_medium=paid", medium: "paid", wantSource: NotSet, wantChannel: PaidOther},
		// Organic Shopping
		{name: "ebay referrer", ref: "https://www.ebay.com/itm/1", wantSource: "eBay", wantChannel: OrganicShopping},
		{name: "shop campaign", src: "partner", medium: "link", campaign: "shop-now", wantSource: "partner", wantChannel: OrganicShopping},
		{name: "workshop is not a shop campaign", src: "partner", medium: "link", campaign: "workshop", wantSource: "partner", wantChannel: Referral},
		// Organic Social: a social source or a social medium
		{name: "facebook referrer", ref: "https://l.facebook.com/", wantSource: "Facebook", wantChannel: OrganicSocial},
		{name: "t.co", ref: "https://t.co/abc", wantSource: "Twitter", wantChannel: OrganicSocial},
		{name: "hacker news", ref: "https://news.ycombinator.com/item", wantSource: "Hacker News", wantChannel: OrganicSocial},
		{name: "reddit app", ref: "android-app://com.reddit.frontpage", wantSource: "Reddit", wantChannel: OrganicSocial},
		{name: "medium sm", src: "forum", medium: "sm", wantSource: "forum", wantChannel: OrganicSocial},
		{name: "medium social media", src: "forum", medium: "Social Media", wantSource: "forum", wantChannel: OrganicSocial},
		// Organic Video
		{name: "youtube referrer", ref: "https://m.youtube.com/watch", wantSource: "YouTube", wantChannel: OrganicVideo},
		{name: "medium video", src: "partner", medium: "in-video", wantSource: "partner", wantChannel: OrganicVideo},
		// Organic Search: a search source or medium organic
		{name: "google", ref: "https://www.google.com/", wantSource: "Google", wantChannel: OrganicSearch},
		{name: "google.co.uk", ref: "https://www.google.co.uk/", wantSource: "Google", wantChannel: OrganicSearch},
		{name: "google app", ref: "android-app://com.google.android.googlequicksearchbox", wantSource: "Google", wantChannel: OrganicSearch},
		{name: "bing", ref: "https://www.bing.com/search", wantSource: "Bing", wantChannel: OrganicSearch},
		{name: "duckduckgo", ref: "https://duckduckgo.com/", wantSource: "DuckDuckGo", wantChannel: OrganicSearch},
		{name: "ecosia subdomain", ref: "https://www.ecosia.org/", wantSource: "Ecosia", wantChannel: OrganicSearch},
		{name: "medium organic", src: "partner", medium: "organic", wantSource: "partner", wantChannel: OrganicSearch},
		// AI assistants (ours)
		{name: "chatgpt referrer", ref: "https://chatgpt.com/", wantSource: "ChatGPT", wantChannel: AIAssistants},
		{name: "chatgpt's utm_source", src: "chatgpt.com", wantSource: "ChatGPT", wantChannel: AIAssistants},
		{name: "perplexity", ref: "https://www.perplexity.ai/search/x", wantSource: "Perplexity", wantChannel: AIAssistants},
		// Email: source or medium matches email|e-mail|e_mail|e mail; webmail referrers (ours)
		{name: "utm_medium email", src: "newsletter", medium: "email", wantSource: "newsletter", wantChannel: Email},
		{name: "utm_source e-mail", src: "e-mail", wantSource: "e-mail", wantChannel: Email},
		{name: "medium e_mail, no source", medium: "E_Mail", wantSource: NotSet, wantChannel: Email},
		{name: "gmail app", ref: "android-app://com.google.android.gm", wantSource: "Gmail", wantChannel: Email},
		{name: "gmail web", ref: "https://mail.google.com/", wantSource: "Gmail", wantChannel: Email},
		{name: "outlook web", ref: "https://outlook.live.com/mail/0/", wantSource: "Outlook.com", wantChannel: Email},
		// Referral: medium referral, app or link; any other referrer
		{name: "unknown referrer", ref: "https://blog.example.org/post", wantSource: "blog.example.org", wantChannel: Referral},
		{name: "www stripped", ref: "https://www.example.net/", wantSource: "example.net", wantChannel: Referral},
		{name: "wikipedia", ref: "https://en.wikipedia.org/wiki/X", wantSource: "Wikipedia", wantChannel: Referral},
		{name: "medium app", src: "partner", medium: "app", wantSource: "partner", wantChannel: Referral},
		{name: "ad server referrer", ref: "https://ad.doubleclick.net/x", wantSource: "Doubleclick", wantChannel: Display},
		// Affiliates, Audio, SMS, Mobile Push Notifications
		{name: "affiliate", src: "partner", medium: "affiliate", wantSource: "partner", wantChannel: Affiliates},
		{name: "audio", src: "podcast", medium: "audio", wantSource: "podcast", wantChannel: Audio},
		{name: "sms source", src: "sms", wantSource: "sms", wantChannel: SMS},
		{name: "sms medium", src: "twilio", medium: "sms", wantSource: "twilio", wantChannel: SMS},
		{name: "push suffix", src: "app", medium: "web-push", wantSource: "app", wantChannel: MobilePush},
		{name: "mobile", src: "app", medium: "mobile-banner", wantSource: "app", wantChannel: MobilePush},
		{name: "firebase", src: "firebase", medium: "notif", wantSource: "firebase", wantChannel: MobilePush},
		// Unassigned: a utm_source no rule matches
		{name: "unknown utm_source only", src: "qr-code-poster", wantSource: "qr-code-poster", wantChannel: Unassigned},
		{name: "campaign only", campaign: "spring", wantSource: NotSet, wantChannel: Unassigned},
		// the utm_source wins over the referrer
		{name: "utm_source over referrer", ref: "https://www.google.com/", src: "newsletter", medium: "email", wantSource: "newsletter", wantChannel: Email},
	} {
		got := Classify(Visit{Referrer: c.ref, UTMSource: c.src, UTMMedium: c.medium, UTMCampaign: c.campaign})
		if got.Source != c.wantSource || got.Channel != c.wantChannel {
			t.Errorf("%s: Classify(ref %q, source %q, medium %q, campaign %q) = %s / %s, want %s / %s",
				c.name, c.ref, c.src, c.medium, c.campaign, got.Channel, got.Source, c.wantChannel, c.wantSource)
		}
	}
}

func TestEveryChannelIsListed(t *testing.T) {
	t.Parallel()
	seen := map[string]bool{}
	for _, c := range Channels {
		if seen[c] {
			t.Errorf("%s listed twice", c)
		}
		seen[c] = true
	}
	if len(Channels) != 20 {
		t.Errorf("%d channels", len(Channels))
	}
}

func BenchmarkClassify(b *testing.B) {
	v := Visit{Referrer: "https://news.example.co.uk/some/long/path"}
	for b.Loop() {
		Classify(v)
	}
}
