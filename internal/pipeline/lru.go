package pipeline

import (
	"container/list"
	"time"
)

// visitorState is what the worker knows about one visitor of one website.
type visitorState struct {
	exists  bool          // the visitor row exists (or is being created)
	session *sessionState // the visitor's latest session; nil when none
	// row is the visitor's record id when the row has another id than
	// the derived one (adopted from Skopos Node, see store.VisitorRows)
	row string
}

// rowID is the visitors record id of the visitor whose derived id is vid.
func (vs *visitorState) rowID(vid string) string {
	if vs.row != "" {
		return vs.row
	}
	return vid
}

type sessionState struct {
	id           string
	seq          int
	start        time.Time // first event: the summaries' day for the session
	lastActivity time.Time
	entryPath    string
	exitPath     string
	exitTime     time.Time // of the browsing event that set exitPath; zero: none yet
	eventCount   int
	engaged      bool
}

// lru is a bounded least-recently-used map of visitor record id → state.
// Evicting an entry loses nothing: the next event re-reads it from the store.
type lru struct {
	max   int
	ll    *list.List
	items map[string]*list.Element
}

type lruEntry struct {
	key   string
	value *visitorState
}

func newLRU(max int) *lru {
	return &lru{max: max, ll: list.New(), items: map[string]*list.Element{}}
}

func (c *lru) get(key string) *visitorState {
	if e, ok := c.items[key]; ok {
		c.ll.MoveToFront(e)
		return e.Value.(*lruEntry).value
	}
	return nil
}

func (c *lru) put(key string, v *visitorState) {
	if e, ok := c.items[key]; ok {
		e.Value.(*lruEntry).value = v
		c.ll.MoveToFront(e)
		return
	}
	c.items[key] = c.ll.PushFront(&lruEntry{key, v})
	for c.ll.Len() > c.max {
		old := c.ll.Back()
		c.ll.Remove(old)
		delete(c.items, old.Value.(*lruEntry).key)
	}
}

func (c *lru) remove(key string) {
	if e, ok := c.items[key]; ok {
		c.ll.Remove(e)
		delete(c.items, key)
	}
}
