package convert

// lru is a bounded least-recently-used cache (Kafka's LRUCache). It is not
// safe for concurrent use; the owner locks around it.
type lru[K comparable, V any] struct {
	capacity int
	items    map[K]*lruEntry[K, V]
	head     lruEntry[K, V] // sentinel: head.next is the most recent
}

type lruEntry[K comparable, V any] struct {
	key        K
	value      V
	prev, next *lruEntry[K, V]
}

func newLRU[K comparable, V any](capacity int) *lru[K, V] {
	c := &lru[K, V]{capacity: capacity, items: make(map[K]*lruEntry[K, V])}
	c.head.prev, c.head.next = &c.head, &c.head
	return c
}

// get returns the cached value and marks it recently used.
func (c *lru[K, V]) get(k K) (V, bool) {
	e, ok := c.items[k]
	if !ok {
		var zero V
		return zero, false
	}
	c.touch(e)
	return e.value, true
}

// hit marks e recently used and returns its value; for lookups the caller
// made on items directly (a []byte key converted in the index expression
// does not allocate).
func (c *lru[K, V]) hit(e *lruEntry[K, V]) V {
	c.touch(e)
	return e.value
}

// put adds or replaces k, evicting the least recently used entry when
// full. A capacity of zero or less caches nothing.
func (c *lru[K, V]) put(k K, v V) {
	if c.capacity <= 0 {
		return
	}
	if e, ok := c.items[k]; ok {
		e.value = v
		c.touch(e)
		return
	}
	if len(c.items) >= c.capacity {
		oldest := c.head.prev
		c.unlink(oldest)
		delete(c.items, oldest.key)
	}
	e := &lruEntry[K, V]{key: k, value: v}
	c.items[k] = e
	c.linkFront(e)
}

func (c *lru[K, V]) len() int { return len(c.items) }

func (c *lru[K, V]) touch(e *lruEntry[K, V]) {
	c.unlink(e)
	c.linkFront(e)
}

func (c *lru[K, V]) unlink(e *lruEntry[K, V]) {
	e.prev.next = e.next
	e.next.prev = e.prev
}

func (c *lru[K, V]) linkFront(e *lruEntry[K, V]) {
	e.prev = &c.head
	e.next = c.head.next
	c.head.next.prev = e
	c.head.next = e
}
