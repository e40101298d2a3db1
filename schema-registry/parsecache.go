package registry

import (
	"container/list"
	"crypto/sha256"
	"sync"
)

// parsedCacheSize is how many parsed stored schemas are kept: Confluent's
// schema.cache.size default. A non-transitive check needs only the
// latest version of a subject; a transitive one over more versions than
// this parses the rest again, as it would have to compare them anyway.
const parsedCacheSize = 1000

// parsedCache keeps parsed stored schemas, least recently used out
// first, so a compatibility check does not parse the versions it
// compares against on every registration. Keys are the schema's digest
// and those of the schemas its references resolved to, so an entry never
// outlives what it was parsed from. Safe for concurrent use; Parsed
// values are read-only.
type parsedCache struct {
	mu    sync.Mutex
	max   int
	order *list.List // of *parsedEntry, most recent first
	items map[digest]*list.Element
}

type parsedEntry struct {
	key    digest
	parsed Parsed
}

func newParsedCache(max int) *parsedCache {
	return &parsedCache{max: max, order: list.New(), items: map[digest]*list.Element{}}
}

// get returns the parsed schema cached under key.
func (c *parsedCache) get(key digest) (Parsed, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.items[key]
	if !ok {
		return nil, false
	}
	c.order.MoveToFront(e)
	return e.Value.(*parsedEntry).parsed, true
}

// put caches parsed under key, dropping the least recently used entry
// when full.
func (c *parsedCache) put(key digest, parsed Parsed) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.items[key]; ok {
		c.order.MoveToFront(e)
		return
	}
	c.items[key] = c.order.PushFront(&parsedEntry{key: key, parsed: parsed})
	if c.order.Len() > c.max {
		oldest := c.order.Back()
		c.order.Remove(oldest)
		delete(c.items, oldest.Value.(*parsedEntry).key)
	}
}

// parsedKey is the cache key of a stored schema with digest d whose
// references resolved to resolved.
func parsedKey(d digest, resolved []ResolvedReference) digest {
	if len(resolved) == 0 {
		return d
	}
	h := sha256.New()
	h.Write(d[:])
	for _, r := range resolved {
		rd := digestOf(r.Type, r.Schema, []Reference{r.Reference}, contract{})
		h.Write(rd[:])
	}
	return digest(h.Sum(nil))
}
