package convert

import (
	"bytes"
	"encoding/binary"
	"slices"
	"strconv"
	"sync"
	"unicode/utf8"

	"github.com/sluicehq/sluice/internal/javafmt"
	"github.com/sluicehq/sluice/runtime/connect"
)

// WritesRawJSON implements connect.RawJSONWriter: a connect.RawJSON value
// is written as it is, inside a null-schema envelope with schemas.enable.
func (c *JSONConverter) WritesRawJSON() bool { return true }

// AppendCanonicalJSON appends to dst the bytes the schemaless
// JsonConverter writes for the JSON object data, without building the
// value: compact, members in java.util.HashMap order, strings escaped as
// Jackson escapes them, numbers as the converter reads and prints them.
// The result is what reading data with ToConnect and writing the value
// with FromConnect gives, and can travel as a connect.RawJSON. ok is false
// (dst then holds garbage past its old length) when data is not an
// object, is not valid JSON, or names a member twice: decode it instead,
// which reports the error or keeps the last member.
func AppendCanonicalJSON(dst, data []byte) (out []byte, ok bool) {
	c, _ := canonWriters.Get().(*canonWriter)
	if c == nil {
		c = new(canonWriter)
	}
	c.scanner = scanner{data: data, scratch: c.scratch}
	c.out = dst
	ok = c.peek() == '{' && c.value() && c.end() == nil
	out = c.out
	c.data, c.out = nil, nil
	if cap(c.tmp) > 64<<10 {
		c.tmp = nil // a huge object's copy is not kept
	}
	canonWriters.Put(c)
	if !ok {
		return dst, false
	}
	return out, true
}

// canonWriters keeps the canonWriters' scratch space between calls.
var canonWriters sync.Pool

// DecodeRawJSON decodes a connect.RawJSON value as the schemaless
// JsonConverter reads JSON: maps, []any, int64, float64, string, bool,
// nil.
func DecodeRawJSON(raw connect.RawJSON) (any, error) {
	r := &jsonReader{scanner: scanner{data: raw}}
	v, err := r.schemaless()
	if err == nil {
		err = r.end()
	}
	if err != nil {
		return nil, serializationErr(err)
	}
	return v, nil
}

// JSONMember returns the member name of the JSON object data (one that
// names no member twice, as AppendCanonicalJSON writes) decoded as
// DecodeRawJSON does; ok is false when there is no such member or data is
// not a valid object.
func JSONMember(data []byte, name string) (v any, ok bool) {
	r := &jsonReader{scanner: scanner{data: data}}
	if r.peek() != '{' {
		return nil, false
	}
	empty, err := r.open('}')
	if err != nil || empty {
		return nil, false
	}
	for {
		k, err := r.key()
		if err != nil {
			return nil, false
		}
		if string(k) == name {
			v, err := r.schemaless()
			return v, err == nil
		}
		if err := r.skip(); err != nil {
			return nil, false
		}
		if more, err := r.more('}'); err != nil || !more {
			return nil, false
		}
	}
}

// canonWriter rewrites JSON text as AppendCanonicalJSON says.
type canonWriter struct {
	scanner
	out     []byte
	members []canonMember // the members of the objects being written, stacked
	names   []byte        // their decoded names
	order   []int         // scratch: members in HashMap order
	tmp     []byte        // scratch: an object's members before reordering
}

// canonMember is an object member written to out[start:end] (no comma)
// whose decoded name is names[name:nameEnd].
type canonMember struct {
	start, end    int
	name, nameEnd int
	hash          int32
}

func (c *canonWriter) value() bool {
	switch ch := c.peek(); ch {
	case '{':
		return c.object()
	case '[':
		return c.array()
	case '"':
		return c.str()
	case 't', 'f', 'n':
		lit := "null"
		if ch == 't' {
			lit = "true"
		} else if ch == 'f' {
			lit = "false"
		}
		if c.literal(lit) != nil {
			return false
		}
		c.out = append(c.out, lit...)
		return true
	}
	return c.number()
}

func (c *canonWriter) array() bool {
	empty, err := c.open(']')
	if err != nil {
		return false
	}
	c.out = append(c.out, '[')
	for !empty {
		if !c.value() {
			return false
		}
		more, err := c.more(']')
		if err != nil {
			return false
		}
		if !more {
			break
		}
		c.out = append(c.out, ',')
	}
	c.out = append(c.out, ']')
	return true
}

func (c *canonWriter) object() bool {
	empty, err := c.open('}')
	if err != nil {
		return false
	}
	c.out = append(c.out, '{')
	base := len(c.out)
	mark, namesMark := len(c.members), len(c.names)
	defer func() { c.members, c.names = c.members[:mark], c.names[:namesMark] }()
	for !empty {
		k, err := c.key()
		if err != nil {
			return false
		}
		m := canonMember{start: len(c.out), name: len(c.names), hash: javafmt.BytesHash(k)}
		c.names = append(c.names, k...)
		m.nameEnd = len(c.names)
		c.out = appendJSONStringBytes(c.out, k)
		c.out = append(c.out, ':')
		if !c.value() {
			return false
		}
		m.end = len(c.out)
		c.members = append(c.members, m)
		more, err := c.more('}')
		if err != nil {
			return false
		}
		if !more {
			break
		}
		c.out = append(c.out, ',')
	}
	if !c.reorder(base, c.members[mark:]) {
		return false
	}
	c.out = append(c.out, '}')
	return true
}

// reorder puts the members written from out[base:] in HashMap order;
// false when a name is there twice.
func (c *canonWriter) reorder(base int, ms []canonMember) bool {
	n := len(ms)
	bucket := func(m *canonMember) int { return javafmt.StringKeyBucket(m.hash, n) }
	name := func(m *canonMember) []byte { return c.names[m.name:m.nameEnd] }
	cmp := func(a, b *canonMember) int {
		if ba, bb := bucket(a), bucket(b); ba != bb {
			return ba - bb
		}
		return bytes.Compare(name(a), name(b))
	}
	sorted := true
	for i := 1; i < n; i++ {
		switch d := cmp(&ms[i-1], &ms[i]); {
		case d == 0:
			return false
		case d > 0:
			sorted = false
		}
	}
	if sorted {
		return true
	}
	c.order = c.order[:0]
	for i := range n {
		c.order = append(c.order, i)
	}
	slices.SortFunc(c.order, func(i, j int) int { return cmp(&ms[i], &ms[j]) })
	for i := 1; i < n; i++ {
		if cmp(&ms[c.order[i-1]], &ms[c.order[i]]) == 0 {
			return false
		}
	}
	c.tmp = append(c.tmp[:0], c.out[base:]...)
	c.out = c.out[:base]
	for i, k := range c.order {
		if i > 0 {
			c.out = append(c.out, ',')
		}
		c.out = append(c.out, c.tmp[ms[k].start-base:ms[k].end-base]...)
	}
	return true
}

// plainString marks the bytes a string copies as they are: not the
// quote, the backslash, control characters or non-ASCII bytes.
var plainString = func() (t [256]bool) {
	for i := 0x20; i < utf8.RuneSelf; i++ {
		t[i] = true
	}
	t['"'], t['\\'] = false, false
	return t
}()

// str copies a string of plain ASCII as it is, and rewrites any other
// through the decoder and appendJSONString.
func (c *canonWriter) str() bool {
	d := c.data
	i := plainRun(d, c.pos+1)
	for ; i < len(d); i++ {
		if plainString[d[i]] {
			continue
		}
		if d[i] == '"' {
			c.out = append(c.out, d[c.pos:i+1]...)
			c.pos = i + 1
			return true
		}
		break
	}
	b, err := c.stringBytes()
	if err != nil {
		return false
	}
	c.out = appendJSONStringBytes(c.out, b)
	return true
}

// Masks for plainRun, a byte repeated in each of a word's eight.
const (
	ones  = 0x0101010101010101
	highs = 0x8080808080808080
)

// plainRun returns the index of the first byte from i on that is not
// plainString, eight bytes at a time.
func plainRun(d []byte, i int) int {
	for ; i+8 <= len(d); i += 8 {
		w := binary.LittleEndian.Uint64(d[i:])
		quote := w ^ ('"' * ones)
		slash := w ^ ('\\' * ones)
		// A zero byte in quote or slash, a byte below 0x20 or one above
		// 0x7f sets the high bit of its byte in stop.
		stop := (quote - ones) &^ quote
		stop |= (slash - ones) &^ slash
		stop |= (w - 0x20*ones) &^ w
		stop |= w
		if stop&highs != 0 {
			break
		}
	}
	return i
}

// appendJSONStringBytes is appendJSONString of b (valid UTF-8, as the
// scanner returns strings), without making a string of it when no byte
// needs escaping (non-ASCII is written raw).
func appendJSONStringBytes(dst, b []byte) []byte {
	for _, ch := range b {
		if ch < utf8.RuneSelf && jsonEscape[ch] {
			return appendJSONString(dst, string(b))
		}
	}
	dst = append(dst, '"')
	dst = append(dst, b...)
	return append(dst, '"')
}

// number writes a number as the reader converts it and the writer
// prints it: an integer as an int64 (wrapping as Java's longValue
// does), anything else as a double.
func (c *canonWriter) number() bool {
	ch := c.peek()
	if ch != '-' && (ch < '0' || ch > '9') {
		return false
	}
	num, integral, err := c.scanner.number()
	if err != nil {
		return false
	}
	switch {
	case integral && len(num) < 19 && !(num[0] == '-' && num[1] == '0'):
		c.out = append(c.out, num...) // printed back the same
	case integral:
		c.out = strconv.AppendInt(c.out, javaLong(num), 10)
	default:
		f, _ := strconv.ParseFloat(string(num), 64)
		c.out = appendJSONFloat(c.out, f, 64)
	}
	return true
}
