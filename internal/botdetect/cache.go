package botdetect

import (
	"container/list"
	"strings"
	"sync"
)

// lruCache is a bounded map from UA string to a verdict that evicts the
// least recently used entry. It is safe for concurrent use.
type lruCache[V any] struct {
	mu    sync.Mutex
	max   int
	order *list.List               // front = most recently used; values are *lruEntry
	items map[string]*list.Element // key -> element of order
}

type lruEntry[V any] struct {
	key string
	val V
}

func newLRUCache[V any](size int) *lruCache[V] {
	return &lruCache[V]{max: size, order: list.New(), items: make(map[string]*list.Element)}
}

// get returns the cached verdict for key and marks it recently used.
func (c *lruCache[V]) get(key string) (val V, ok bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.items[key]
	if !ok {
		return val, false
	}
	c.order.MoveToFront(e)
	return e.Value.(*lruEntry[V]).val, true
}

// add stores the verdict for key, evicting the least recently used entries
// beyond the bound.
func (c *lruCache[V]) add(key string, val V) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.items[key]; ok {
		e.Value.(*lruEntry[V]).val = val
		c.order.MoveToFront(e)
		return
	}
	// Clone so that the cache never pins a larger buffer the UA was sliced from.
	key = strings.Clone(key)
	c.items[key] = c.order.PushFront(&lruEntry[V]{key: key, val: val})
	for c.order.Len() > c.max {
		last := c.order.Back()
		c.order.Remove(last)
		delete(c.items, last.Value.(*lruEntry[V]).key)
	}
}

// len returns the number of cached entries.
func (c *lruCache[V]) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.order.Len()
}
