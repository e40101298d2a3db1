// Package javaprops reads Java .properties files by the rules of
// java.util.Properties.load, so that a server.properties, worker.properties
// or connector file written for Apache Kafka means the same thing here.
//
// The rules, in the order they apply:
//
//   - A natural line ends at \n, \r or \r\n. Leading spaces, tabs and form
//     feeds are skipped; a line that is then empty is ignored, and a line
//     starting with # or ! is a comment.
//   - A natural line ending in an odd number of backslashes continues on the
//     next one: the backslash and the line break are dropped, and so is the
//     leading whitespace of the next line. A comment line never continues.
//     Together they make one logical line.
//   - The key ends at the first unescaped '=', ':', space, tab or form feed.
//     Whitespace after the key is skipped, then at most one '=' or ':', then
//     whitespace again; the rest of the line, trailing whitespace included,
//     is the value. "key", "key=" and "key:" all give an empty value.
//   - In keys and values \t \n \r \f are the control characters, \uXXXX is
//     a UTF-16 code unit (surrogate pairs join into one character), and a
//     backslash before any other character stands for that character ("\="
//     is "=", "\ " a space, "\\" one backslash, "\b" the letter b). A
//     malformed \uXXXX is an error naming the line.
//   - A later duplicate key replaces an earlier one.
//
// Encoding. Kafka's Utils.loadProps (server.properties, worker and
// connector files) hands Properties.load an InputStream, which decodes the
// file as ISO-8859-1; its FileConfigProvider hands it a Reader over UTF-8.
// Sluice reads UTF-8 everywhere, as it always has: files written today are
// UTF-8, and decoding them as Latin-1 would turn every non-ASCII value into
// mojibake. A byte that is not part of
// a valid UTF-8 sequence is taken as its ISO-8859-1 character, so a
// Latin-1 file reads as Java reads it. ASCII files, and \uXXXX escapes, mean
// the same under both. An unpaired surrogate from a \uXXXX escape becomes
// U+FFFD, as Go strings hold no surrogates.
package javaprops

import (
	"fmt"
	"io"
	"os"
	"slices"
	"unicode/utf16"
	"unicode/utf8"
)

// Load reads a .properties stream and returns its keys and values.
func Load(r io.Reader) (map[string]string, error) {
	b, err := io.ReadAll(r)
	if err != nil {
		return nil, err
	}
	return Parse(b)
}

// LoadFile reads the .properties file at path. Errors name the path.
func LoadFile(path string) (map[string]string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	props, err := Parse(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return props, nil
}

// Parse reads the contents of a .properties file.
func Parse(b []byte) (map[string]string, error) {
	lr := lineReader{in: decode(b), line: 1}
	props := map[string]string{}
	for {
		line, start, ok := lr.next()
		if !ok {
			return props, nil
		}
		key, value, err := split(line)
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", start, err)
		}
		props[key] = value
	}
}

// decode turns the file's bytes into characters: UTF-8 where the bytes are
// valid UTF-8, ISO-8859-1 for any byte that is not.
func decode(b []byte) []rune {
	out := make([]rune, 0, len(b))
	for len(b) > 0 {
		r, n := utf8.DecodeRune(b)
		if r == utf8.RuneError && n == 1 {
			r = rune(b[0])
		}
		out = append(out, r)
		b = b[n:]
	}
	return out
}

func isBlank(c rune) bool { return c == ' ' || c == '\t' || c == '\f' }

// lineReader splits the input into logical lines. It follows the state
// machine of Properties.LineReader step by step, because its corner cases
// are part of the format: a line holding only a continuation backslash
// leaves the next line free to be a comment, and a continuation backslash
// at the end of the input still yields a (possibly empty) line.
type lineReader struct {
	in   []rune
	off  int
	line int  // natural line number of the next character
	prev rune // the character before off, to count \r\n as one break
}

// get consumes one character, counting natural lines.
func (lr *lineReader) get() rune {
	c := lr.in[lr.off]
	lr.off++
	if c == '\r' || (c == '\n' && lr.prev != '\r') {
		lr.line++
	}
	lr.prev = c
	return c
}

// next returns the next logical line with its continuations joined, and the
// number of the natural line it started on; ok is false at the end.
func (lr *lineReader) next() (logical []rune, start int, ok bool) {
	var out []rune
	skipWhite, appendedLineBegin, precedingBackslash := true, false, false
	for {
		if lr.off >= len(lr.in) {
			if len(out) == 0 {
				return nil, 0, false
			}
			if precedingBackslash {
				out = out[:len(out)-1]
			}
			return out, start, true
		}
		line := lr.line
		c := lr.get()
		if skipWhite {
			if isBlank(c) || (!appendedLineBegin && (c == '\r' || c == '\n')) {
				continue
			}
			skipWhite, appendedLineBegin = false, false
		}
		if len(out) == 0 && (c == '#' || c == '!') {
			for lr.off < len(lr.in) {
				if c := lr.get(); c == '\r' || c == '\n' {
					break
				}
			}
			skipWhite = true
			continue
		}
		if c != '\n' && c != '\r' {
			if len(out) == 0 {
				start = line
			}
			out = append(out, c)
			precedingBackslash = c == '\\' && !precedingBackslash
			continue
		}
		if len(out) == 0 {
			skipWhite = true
			continue
		}
		if lr.off >= len(lr.in) {
			if precedingBackslash {
				out = out[:len(out)-1]
			}
			return out, start, true
		}
		if !precedingBackslash {
			return out, start, true
		}
		// A continuation: drop the backslash, the line break (\r\n as one)
		// and the next line's leading whitespace.
		out = out[:len(out)-1]
		skipWhite, appendedLineBegin, precedingBackslash = true, true, false
		if c == '\r' && lr.in[lr.off] == '\n' {
			lr.get()
		}
	}
}

// split divides a logical line into its unescaped key and value.
func split(line []rune) (key, value string, err error) {
	keyLen, valueStart, hasSep := 0, len(line), false
	escaped := false
	for ; keyLen < len(line); keyLen++ {
		c := line[keyLen]
		if !escaped && (c == '=' || c == ':') {
			valueStart, hasSep = keyLen+1, true
			break
		}
		if !escaped && isBlank(c) {
			valueStart = keyLen + 1
			break
		}
		escaped = c == '\\' && !escaped
	}
	for ; valueStart < len(line); valueStart++ {
		c := line[valueStart]
		if isBlank(c) {
			continue
		}
		if !hasSep && (c == '=' || c == ':') {
			hasSep = true
			continue
		}
		break
	}
	if key, err = unescape(line[:keyLen]); err != nil {
		return "", "", err
	}
	if value, err = unescape(line[valueStart:]); err != nil {
		return "", "", err
	}
	return key, value, nil
}

// unescape applies the backslash escapes of a key or value.
func unescape(s []rune) (string, error) {
	if !slices.Contains(s, '\\') {
		return string(s), nil
	}
	var units []uint16
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '\\' {
			units = utf16.AppendRune(units, c)
			continue
		}
		i++
		if i >= len(s) {
			// A lone trailing backslash: Properties.load drops it.
			break
		}
		switch c = s[i]; c {
		case 't':
			c = '\t'
		case 'n':
			c = '\n'
		case 'r':
			c = '\r'
		case 'f':
			c = '\f'
		case 'u':
			if i+4 >= len(s) {
				return "", fmt.Errorf("malformed \\uxxxx encoding %q", string(s[i-1:]))
			}
			var u uint16
			for _, h := range s[i+1 : i+5] {
				d, ok := hexDigit(h)
				if !ok {
					return "", fmt.Errorf("malformed \\uxxxx encoding %q", string(s[i-1:i+5]))
				}
				u = u<<4 | d
			}
			units = append(units, u)
			i += 4
			continue
		}
		units = utf16.AppendRune(units, c)
	}
	return string(utf16.Decode(units)), nil
}

func hexDigit(c rune) (uint16, bool) {
	switch {
	case '0' <= c && c <= '9':
		return uint16(c - '0'), true
	case 'a' <= c && c <= 'f':
		return uint16(c-'a') + 10, true
	case 'A' <= c && c <= 'F':
		return uint16(c-'A') + 10, true
	}
	return 0, false
}
