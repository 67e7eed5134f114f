package chstore

import "container/list"

// lru is a map bounded to its n most recently used keys. Not safe for
// concurrent use (the Store's mutex guards it).
type lru[V any] struct {
	n     int
	order *list.List // front: most recent; values are *entry[V]
	byKey map[string]*list.Element
}

type entry[V any] struct {
	key string
	val V
}

func newLRU[V any](n int) *lru[V] {
	return &lru[V]{n: n, order: list.New(), byKey: map[string]*list.Element{}}
}

func (c *lru[V]) get(k string) (V, bool) {
	if e, ok := c.byKey[k]; ok {
		c.order.MoveToFront(e)
		return e.Value.(*entry[V]).val, true
	}
	var zero V
	return zero, false
}

func (c *lru[V]) put(k string, v V) {
	if e, ok := c.byKey[k]; ok {
		e.Value.(*entry[V]).val = v
		c.order.MoveToFront(e)
		return
	}
	c.byKey[k] = c.order.PushFront(&entry[V]{k, v})
	if c.order.Len() > c.n {
		last := c.order.Back()
		c.order.Remove(last)
		delete(c.byKey, last.Value.(*entry[V]).key)
	}
}

func (c *lru[V]) remove(k string) {
	if e, ok := c.byKey[k]; ok {
		c.order.Remove(e)
		delete(c.byKey, k)
	}
}

// removeIf removes every entry for which drop is true.
func (c *lru[V]) removeIf(drop func(k string, v V) bool) {
	for e := c.order.Front(); e != nil; {
		next := e.Next()
		if en := e.Value.(*entry[V]); drop(en.key, en.val) {
			c.order.Remove(e)
			delete(c.byKey, en.key)
		}
		e = next
	}
}
