package seo

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/url"
	"path"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// maxText caps every piece of page text a Result keeps (titles, headings,
// alt texts, hrefs), so a hostile page cannot bloat the stored row.
const maxText = 1000

// page is what the home page's HTML says about itself.
type page struct {
	meta      MetaTags
	social    SocialMetaTags
	headings  Headings
	images    Images
	links     Links
	technical TechnicalSEO // only the structured-data and viewport fields
	// toCheck are the distinct internal links, without fragment, in
	// document order, excluding the page itself.
	toCheck []string
}

// extract parses an HTML document fetched from pageURL. It never fails: a
// broken document yields what the parser could recover, like a browser.
func extract(body []byte, pageURL *url.URL) page {
	doc, err := html.Parse(bytes.NewReader(body))
	if err != nil { // only read errors, impossible on a byte slice
		doc = &html.Node{Type: html.DocumentNode}
	}
	x := extractor{base: pageURL, pageURL: pageURL, seen: map[string]bool{}}
	x.p.social = SocialMetaTags{OpenGraph: map[string]string{}, Twitter: map[string]string{}}
	x.findBase(doc)
	x.walk(doc)
	x.p.technical.MobileResponsive = x.p.meta.Viewport != ""
	x.p.technical.HasStructuredData = x.p.technical.StructuredDataBlocks > x.p.technical.StructuredDataErrors || x.p.technical.Microdata
	slices.Sort(x.p.technical.StructuredDataTypes)
	x.p.technical.StructuredDataTypes = slices.Compact(x.p.technical.StructuredDataTypes)
	x.p.technical.StructuredDataTypes = capList(x.p.technical.StructuredDataTypes)
	return x.p
}

type extractor struct {
	p             page
	base, pageURL *url.URL
	lastHeading   int
	seen          map[string]bool // links queued for checking
}

// findBase honours <base href>, which changes what relative links mean.
func (x *extractor) findBase(n *html.Node) {
	if n.Type == html.ElementNode && n.DataAtom == atom.Base && n.Namespace == "" {
		if href, ok := attr(n, "href"); ok {
			if u, err := x.pageURL.Parse(strings.TrimSpace(href)); err == nil {
				x.base = u
			}
			return
		}
	}
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		x.findBase(c)
		if x.base != x.pageURL {
			return
		}
	}
}

func (x *extractor) walk(n *html.Node) {
	if n.Type == html.ElementNode {
		x.element(n)
	}
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		x.walk(c)
	}
}

func (x *extractor) element(n *html.Node) {
	if hasAttr(n, "itemscope") || hasAttr(n, "vocab") || hasAttr(n, "typeof") {
		x.p.technical.Microdata = true
	}
	if n.Namespace != "" { // <title> inside <svg> names the drawing, not the page
		return
	}
	m := &x.p.meta
	switch n.DataAtom {
	case atom.Html:
		setOnce(&m.Language, attrValue(n, "lang"))
	case atom.Title:
		if m.TitleLength == 0 {
			t := collapse(textContent(n))
			m.TitleLength, m.Title = charCount(t), clip(t)
		}
	case atom.Meta:
		x.meta(n)
	case atom.Link:
		if hasToken(attrValue(n, "rel"), "canonical") {
			setOnce(&m.Canonical, clip(strings.TrimSpace(attrValue(n, "href"))))
		}
	case atom.H1, atom.H2, atom.H3, atom.H4, atom.H5, atom.H6:
		x.heading(n, int(n.Data[1]-'0'))
	case atom.Img:
		x.image(n)
	case atom.A:
		if href, ok := attr(n, "href"); ok {
			x.link(n, strings.TrimSpace(href))
		}
	case atom.Script:
		if strings.EqualFold(strings.TrimSpace(attrValue(n, "type")), "application/ld+json") {
			x.jsonLD(textContent(n))
		}
	}
}

func (x *extractor) meta(n *html.Node) {
	m := &x.p.meta
	if cs := strings.TrimSpace(attrValue(n, "charset")); cs != "" {
		setOnce(&m.Charset, clip(cs))
	}
	content := clip(strings.TrimSpace(attrValue(n, "content")))
	if strings.EqualFold(strings.TrimSpace(attrValue(n, "http-equiv")), "content-type") {
		if _, cs, ok := strings.Cut(strings.ToLower(content), "charset="); ok {
			setOnce(&m.Charset, strings.TrimSpace(strings.Trim(cs, `"' ;`)))
		}
	}
	name := strings.ToLower(strings.TrimSpace(attrValue(n, "name")))
	switch name {
	case "description":
		if m.DescriptionLength == 0 {
			d := collapse(attrValue(n, "content"))
			m.DescriptionLength, m.Description = charCount(d), clip(d)
		}
	case "keywords":
		setOnce(&m.Keywords, content)
	case "robots":
		setOnce(&m.Robots, content)
	case "viewport":
		setOnce(&m.Viewport, content)
	}
	// Open Graph uses property=, Twitter name=; pages mix them up and
	// consumers accept both.
	for _, key := range []string{strings.ToLower(strings.TrimSpace(attrValue(n, "property"))), name} {
		if k, ok := strings.CutPrefix(key, "og:"); ok && k != "" {
			putOnce(x.p.social.OpenGraph, clip(k), content)
		} else if k, ok := strings.CutPrefix(key, "twitter:"); ok && k != "" {
			putOnce(x.p.social.Twitter, clip(k), content)
		}
	}
}

func (x *extractor) heading(n *html.Node, level int) {
	h := &x.p.headings
	if x.lastHeading > 0 && level > x.lastHeading+1 {
		jump := fmt.Sprintf("h%d>h%d", x.lastHeading, level)
		if !slices.Contains(h.SkippedLevels, jump) {
			h.SkippedLevels = appendCapped(h.SkippedLevels, jump)
		}
	}
	x.lastHeading = level
	text := clip(collapse(textContent(n)))
	if text == "" {
		return
	}
	lists := []*[]string{&h.H1, &h.H2, &h.H3, &h.H4, &h.H5, &h.H6}
	*lists[level-1] = appendCapped(*lists[level-1], text)
}

func (x *extractor) image(n *html.Node) {
	im := &x.p.images
	im.Total++
	src := clip(strings.TrimSpace(attrValue(n, "src")))
	alt, hasAlt := attr(n, "alt")
	alt = clip(collapse(alt))
	switch {
	case alt != "":
		im.WithAlt++
		if genericAlt(alt, src) {
			im.PoorQualityAlt = appendCapped(im.PoorQualityAlt, ImageAlt{Src: src, Alt: alt})
		}
	case hasAlt:
		im.WithoutAlt++
		im.EmptyAlt = appendCapped(im.EmptyAlt, src)
	default:
		im.WithoutAlt++
		im.MissingAlt = appendCapped(im.MissingAlt, src)
	}
	if !hasAttr(n, "title") {
		im.WithoutTitle++
	}
	w, h := pixels(attrValue(n, "width")), pixels(attrValue(n, "height"))
	if w > maxImagePixels || h > maxImagePixels {
		im.Oversized = appendCapped(im.Oversized, OversizedImage{Src: src, Width: w, Height: h})
	}
}

// maxImagePixels is the declared size above which an image is oversized
// for any screen a page is shown on.
const maxImagePixels = 2000

func (x *extractor) link(n *html.Node, href string) {
	ln := &x.p.links
	ln.Total++
	if !anchorHasText(n) && attrValue(n, "aria-label") == "" && attrValue(n, "title") == "" {
		ln.EmptyAnchors = appendCapped(ln.EmptyAnchors, clip(href))
	}
	lower := strings.ToLower(href)
	switch {
	case href == "" || href == "#":
		ln.SuspiciousLinks = appendCapped(ln.SuspiciousLinks, SuspiciousLink{Href: clip(href), Reason: "empty or placeholder link"})
		return
	case strings.HasPrefix(lower, "javascript:"):
		ln.SuspiciousLinks = appendCapped(ln.SuspiciousLinks, SuspiciousLink{Href: clip(href), Reason: "javascript: link"})
		return
	}
	u, err := x.base.Parse(href)
	if err != nil {
		ln.SuspiciousLinks = appendCapped(ln.SuspiciousLinks, SuspiciousLink{Href: clip(href), Reason: "invalid URL"})
		return
	}
	if hasToken(attrValue(n, "rel"), "nofollow") {
		ln.Nofollow++
	}
	switch {
	case u.Scheme != "http" && u.Scheme != "https":
		ln.Other++
	case !strings.EqualFold(u.Hostname(), x.pageURL.Hostname()):
		ln.External++
	default:
		ln.Internal++
		u.Fragment, u.RawFragment = "", ""
		target := u.String()
		if target != x.pageURL.String() && !x.seen[target] {
			x.seen[target] = true
			x.p.toCheck = append(x.p.toCheck, target)
		}
	}
}

// anchorHasText reports whether a link has text a reader or crawler can
// use: its own text or the alt text of an image inside it.
func anchorHasText(n *html.Node) bool {
	if strings.TrimSpace(textContent(n)) != "" {
		return true
	}
	var found bool
	var visit func(*html.Node)
	visit = func(c *html.Node) {
		if c.Type == html.ElementNode && c.DataAtom == atom.Img && strings.TrimSpace(attrValue(c, "alt")) != "" {
			found = true
		}
		for d := c.FirstChild; d != nil && !found; d = d.NextSibling {
			visit(d)
		}
	}
	visit(n)
	return found
}

func (x *extractor) jsonLD(text string) {
	t := &x.p.technical
	t.StructuredDataBlocks++
	var v any
	if err := json.Unmarshal([]byte(text), &v); err != nil {
		t.StructuredDataErrors++
		return
	}
	var nodes []any
	switch v := v.(type) {
	case []any:
		nodes = v
	case map[string]any:
		nodes = []any{v}
		if g, ok := v["@graph"].([]any); ok {
			nodes = append(nodes, g...)
		}
	}
	for _, node := range nodes {
		obj, ok := node.(map[string]any)
		if !ok {
			continue
		}
		switch typ := obj["@type"].(type) {
		case string:
			t.StructuredDataTypes = append(t.StructuredDataTypes, clip(typ))
		case []any:
			for _, s := range typ {
				if s, ok := s.(string); ok {
					t.StructuredDataTypes = append(t.StructuredDataTypes, clip(s))
				}
			}
		}
	}
}

// genericWords are alt texts that describe no image in particular.
var genericWords = []string{"image", "img", "photo", "picture", "pic", "graphic", "icon", "banner", "untitled", "placeholder", "screenshot", "alt"}

var imageExtensions = []string{".jpg", ".jpeg", ".png", ".gif", ".webp", ".svg", ".avif", ".bmp"}

// genericAlt reports whether alt text says nothing about its image: a
// generic word with an optional number ("photo 2"), or a file name.
func genericAlt(alt, src string) bool {
	a := strings.ToLower(strings.TrimSpace(alt))
	word := strings.TrimRight(a, "0123456789 -_#.")
	if slices.Contains(genericWords, word) {
		return true
	}
	for _, ext := range imageExtensions {
		if strings.HasSuffix(a, ext) {
			return true
		}
	}
	if src == "" {
		return false
	}
	file := path.Base(strings.ToLower(strings.SplitN(src, "?", 2)[0]))
	return a == file || a == strings.TrimSuffix(file, path.Ext(file))
}

// pixels reads a width or height attribute ("1200", "1200px"); anything
// else (percentages, garbage) is 0.
func pixels(v string) int {
	v = strings.TrimSuffix(strings.TrimSpace(strings.ToLower(v)), "px")
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		return 0
	}
	return n
}

// textContent is the text of n and its descendants, without the code of
// scripts and styles nested in it (unless n is itself one).
func textContent(n *html.Node) string {
	var b strings.Builder
	var visit func(*html.Node)
	visit = func(c *html.Node) {
		if c != n && c.Type == html.ElementNode && (c.DataAtom == atom.Script || c.DataAtom == atom.Style) {
			return
		}
		if c.Type == html.TextNode {
			b.WriteString(c.Data)
		}
		for d := c.FirstChild; d != nil; d = d.NextSibling {
			visit(d)
		}
	}
	visit(n)
	return b.String()
}

func attr(n *html.Node, key string) (string, bool) {
	for _, a := range n.Attr {
		if a.Namespace == "" && a.Key == key {
			return a.Val, true
		}
	}
	return "", false
}

func attrValue(n *html.Node, key string) string {
	v, _ := attr(n, key)
	return v
}

func hasAttr(n *html.Node, key string) bool {
	_, ok := attr(n, key)
	return ok
}

func setOnce(dst *string, v string) {
	if *dst == "" {
		*dst = v
	}
}

func putOnce(m map[string]string, k, v string) {
	if _, ok := m[k]; !ok && len(m) < maxListed {
		m[k] = v
	}
}

func appendCapped[T any](list []T, v T) []T {
	if len(list) >= maxListed {
		return list
	}
	return append(list, v)
}

func capList[T any](list []T) []T { return list[:min(len(list), maxListed)] }

// collapse trims text and folds runs of white space into one space, as a
// browser displays it.
func collapse(s string) string { return strings.Join(strings.Fields(s), " ") }

// clip cuts s to maxText characters, keeping valid UTF-8.
func clip(s string) string {
	if len(s) <= maxText {
		return s
	}
	i, n := 0, 0
	for i < len(s) && n < maxText {
		_, size := utf8.DecodeRuneInString(s[i:])
		i += size
		n++
	}
	return s[:i]
}

func charCount(s string) int { return utf8.RuneCountInString(s) }
