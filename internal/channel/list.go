package channel

import (
	_ "embed"
	"strings"
	"sync"
)

// category is a source's kind, as the referrer list files it.
type category uint8

const (
	other category = iota // referral and unknown
	search
	social
	email
	video
	shopping
	ai
	adNetwork // the list's "paid": ad servers
)

var categoryNames = map[string]category{
	"search": search, "social": social, "email": email, "video": video,
	"shopping": shopping, "ai": ai, "paid": adNetwork,
}

type entry struct {
	source   string
	category category
}

//go:embed referrers.tsv
var referrersTSV string

// list is the parsed referrer list: immutable once loaded.
type list struct {
	hosts    map[string]entry // host, or host/path for the entries with a path
	withPath map[string]bool  // hosts that have entries with a path
	names    map[string]entry // lower-cased source names and short aliases
}

// aliases are utm_source values campaigns commonly use for a source
// whose name or host they do not spell.
var aliases = map[string]string{"fb": "Facebook", "ig": "Instagram", "yt": "YouTube", "li": "LinkedIn", "tw": "Twitter"}

var load = sync.OnceValue(func() *list {
	l := &list{hosts: map[string]entry{}, withPath: map[string]bool{}, names: map[string]entry{}}
	for _, line := range strings.Split(referrersTSV, "\n") {
		f := strings.Split(line, "\t")
		if len(f) != 3 || strings.HasPrefix(line, "#") {
			continue
		}
		e := entry{f[1], categoryNames[f[2]]}
		l.hosts[f[0]] = e
		if h, _, ok := strings.Cut(f[0], "/"); ok {
			l.withPath[h] = true
		}
		name := strings.ToLower(e.source)
		// a name several categories share (Google: search, and its ad
		// servers) keeps the first non-ad one
		if old, ok := l.names[name]; !ok || old.category == adNetwork || old.category == other {
			l.names[name] = e
		}
	}
	for alias, name := range aliases {
		if e, ok := l.names[strings.ToLower(name)]; ok {
			l.names[alias] = e
		}
	}
	return l
})

// byHost finds a referrer's entry: the host with the longest listed path
// prefix, then the host, then its parent domains (m.youtube.com is
// youtube.com's).
func (l *list) byHost(host, path string) (entry, bool) {
	for h := host; strings.Contains(h, "."); {
		if l.withPath[h] {
			segs := strings.Split(strings.Trim(path, "/"), "/")
			for i := len(segs); i > 0; i-- {
				p := h + "/" + strings.Join(segs[:i], "/")
				if e, ok := l.hosts[p]; ok {
					return e, true
				}
				if e, ok := l.hosts[p+"/"]; ok {
					return e, true
				}
			}
		}
		if e, ok := l.hosts[h]; ok {
			return e, true
		}
		_, h, _ = strings.Cut(h, ".")
	}
	return entry{}, false
}

// bySource finds a utm_source's entry: a source name ("google",
// "Hacker News"), an alias ("fb") or a listed host ("chatgpt.com", which
// ChatGPT adds to its links).
func (l *list) bySource(src string) (entry, bool) {
	s := strings.ToLower(src)
	if e, ok := l.names[s]; ok {
		return e, true
	}
	if strings.Contains(s, ".") {
		host, path := split(s)
		return l.byHost(host, path)
	}
	return entry{}, false
}
