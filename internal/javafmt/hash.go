package javafmt

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"unicode/utf16"
	"unicode/utf8"
)

// Go maps have no order, so the converters write map entries in the order
// a java.util.HashMap holding the same keys iterates them (bucket by
// bucket, as Kafka's own JsonConverter produces for every map it
// deserializes). That keeps the bytes stable from run to run and equal to
// Kafka's for HashMap-backed values, which matters where bytes are
// compared, e.g. the keys of the compacted offsets topic. Keys sharing a
// bucket keep insertion order in Java, which a Go map cannot tell; they
// are ordered by value instead.

// StringHash is Java's String.hashCode, over UTF-16 code units.
func StringHash(s string) int32 { return utf16Hash(s) }

// utf16Hash is String.hashCode of the UTF-8 text s, a string or bytes.
func utf16Hash[T string | []byte](s T) int32 {
	var h int32
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			h = 31*h + int32(c)
			i++
			continue
		}
		// At most one rune's bytes: converted on the stack, not copied
		// to the heap, when s is bytes.
		r, size := utf8.DecodeRuneInString(string(s[i:min(i+utf8.UTFMax, len(s))]))
		i += size
		if r >= 0x10000 {
			hi, lo := utf16.EncodeRune(r)
			h = 31*h + hi
			h = 31*h + lo
		} else {
			h = 31*h + r
		}
	}
	return h
}

// Hash returns the hashCode of the boxed Java value a Connect key
// corresponds to; ok is false for keys whose Java hash is an identity
// hash or too costly to mimic (byte[], structs, collections).
func Hash(k any) (h int32, ok bool) {
	switch v := k.(type) {
	case string:
		return StringHash(v), true
	case int8:
		return int32(v), true
	case int16:
		return int32(v), true
	case int32:
		return v, true
	case int64:
		return int32(v ^ int64(uint64(v)>>32)), true
	case bool:
		if v {
			return 1231, true
		}
		return 1237, true
	case float32:
		if v != v {
			return 0x7fc00000, true
		}
		return int32(math.Float32bits(v)), true
	case float64:
		bits := math.Float64bits(v)
		if v != v {
			bits = 0x7ff8000000000000
		}
		return int32(bits ^ bits>>32), true
	}
	return 0, false
}

// hashMapCapacity is the table size of a HashMap that reached n entries by
// put: 16, doubling whenever the size passes three quarters of it.
func hashMapCapacity(n int) int {
	c := 16
	for n > c*3/4 {
		c <<= 1
	}
	return c
}

func hashMapBucket(h int32, capacity int) int {
	u := uint32(h)
	u ^= u >> 16
	return int(u & uint32(capacity-1))
}

// StringKey is a map key with its HashMap bucket, as AppendStringKeys
// orders them.
type StringKey struct {
	Bucket int
	Key    string
}

// AppendStringKeys appends m's keys to dst in Java HashMap iteration order
// (the entries already in dst stay as they are).
func AppendStringKeys(dst []StringKey, m map[string]any) []StringKey {
	c := hashMapCapacity(len(m))
	start := len(dst)
	for k := range m {
		dst = append(dst, StringKey{hashMapBucket(StringHash(k), c), k})
	}
	slices.SortFunc(dst[start:], func(a, b StringKey) int {
		if a.Bucket != b.Bucket {
			return a.Bucket - b.Bucket
		}
		return cmp.Compare(a.Key, b.Key)
	})
	return dst
}

type anyKey struct {
	bucket int
	hashed bool
	order  string
	key    any
}

// AnyKeys returns m's keys in Java HashMap iteration order; keys with
// no reproducible Java hash come last, ordered by their printed form.
func AnyKeys(m map[any]any) []any {
	c := hashMapCapacity(len(m))
	tmp := make([]anyKey, 0, len(m))
	for k := range m {
		h, ok := Hash(k)
		e := anyKey{hashed: ok, key: k}
		if ok {
			e.bucket = hashMapBucket(h, c)
		}
		if s, isStr := k.(string); isStr {
			e.order = s
		} else {
			e.order = fmt.Sprintf("%T:%v", k, k)
		}
		tmp = append(tmp, e)
	}
	slices.SortFunc(tmp, func(a, b anyKey) int {
		if a.hashed != b.hashed {
			if a.hashed {
				return -1
			}
			return 1
		}
		if a.bucket != b.bucket {
			return a.bucket - b.bucket
		}
		return cmp.Compare(a.order, b.order)
	})
	out := make([]any, len(tmp))
	for i := range tmp {
		out[i] = tmp[i].key
	}
	return out
}

// BytesHash is StringHash of the UTF-8 text b, without making a string.
func BytesHash(b []byte) int32 { return utf16Hash(b) }

// StringKeyBucket returns the bucket of a key with StringHash h in a
// java.util.HashMap that reached n entries, as AppendStringKeys orders
// keys: by bucket, then by key.
func StringKeyBucket(h int32, n int) int {
	return hashMapBucket(h, hashMapCapacity(n))
}
