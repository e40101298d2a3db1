package javaprops

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Every expected map here is what java.util.Properties.load (JDK 17 and
// 25) returns for the same input, except "UTF-8 passes through": Java,
// reading ISO-8859-1, would split ✓ into three characters (see the package
// doc for why Sluice reads UTF-8).
func TestParse(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		want     map[string]string
	}{
		// The examples of the Properties.load javadoc.
		{"javadoc equals", "Truth = Beauty\n", map[string]string{"Truth": "Beauty"}},
		{"javadoc colon", " Truth:Beauty\n", map[string]string{"Truth": "Beauty"}},
		{"javadoc spaced colon", "Truth                    :Beauty\n", map[string]string{"Truth": "Beauty"}},
		{"javadoc continuation", "fruits                           apple, banana, pear, \\\n" +
			"                                 cantaloupe, watermelon, \\\n" +
			"                                 kiwi, mango\n",
			map[string]string{"fruits": "apple, banana, pear, cantaloupe, watermelon, kiwi, mango"}},
		{"javadoc key only", "cheeses\n", map[string]string{"cheeses": ""}},
		{"javadoc escaped separators", "\\:\\=\n", map[string]string{":=": ""}},

		{"whitespace separator", "key value with spaces\n", map[string]string{"key": "value with spaces"}},
		{"whitespace then equals", "key \t = value\n", map[string]string{"key": "value"}},
		{"second separator is value", "key==value\n", map[string]string{"key": "=value"}},
		{"colon then equals", "key:=value\n", map[string]string{"key": "=value"}},
		{"trailing whitespace kept", "key=value  \n", map[string]string{"key": "value  "}},
		{"empty value", "a=\nb:\n", map[string]string{"a": "", "b": ""}},
		{"empty key", "=v\n", map[string]string{"": "v"}},
		{"escaped space in key", "key\\ with\\ spaces = v\n", map[string]string{"key with spaces": "v"}},
		{"escapes", `k=\t\n\r\f\\\b\x\"` + "\n", map[string]string{"k": "\t\n\r\f\\bx\""}},
		{"unicode escape", `\u0041\u00e9=\u20AC` + "\n", map[string]string{"Aé": "€"}},
		{"surrogate pair", `k=\uD83D\uDE00` + "\n", map[string]string{"k": "😀"}},
		{"comments", "# one\n! two\n  # indented\nk=v # not a comment\n", map[string]string{"k": "v # not a comment"}},
		{"comment never continues", "# c \\\nk=v\n", map[string]string{"k": "v"}},
		{"hash in continuation is value", "k=a\\\n  # b\n", map[string]string{"k": "a# b"}},
		{"even backslashes do not continue", "k=v\\\\\nw\n", map[string]string{"k": "v\\", "w": ""}},
		{"odd backslashes continue", "k=v\\\\\\\n  w\n", map[string]string{"k": "v\\w"}},
		{"continuation into blank line ends it", "k=v\\\n\nw=x\n", map[string]string{"k": "v", "w": "x"}},
		{"continuation at end of input", "k=v\\", map[string]string{"k": "v"}},
		{"bare backslash lets next line be a comment", "\\\n# x\nk=v\n", map[string]string{"k": "v"}},
		{"bare backslash at end of input", "\\\n", map[string]string{"": ""}},
		{"CR and CRLF line ends", "a=1\rb=2\r\nc=3", map[string]string{"a": "1", "b": "2", "c": "3"}},
		{"CRLF continuation", "a=1\\\r\n   2\r\n", map[string]string{"a": "12"}},
		{"form feed is whitespace", "\fk\fv\n", map[string]string{"k": "v"}},
		{"duplicate keys: last wins", "k=1\nk=2\n", map[string]string{"k": "2"}},
		{"empty input", "", map[string]string{}},
		{"UTF-8 passes through", "name=Grüße ✓\n", map[string]string{"name": "Grüße ✓"}},
		{"invalid UTF-8 reads as Latin-1", "name=Gr\xfc\xdfe\n", map[string]string{"name": "Grüße"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Parse([]byte(tc.in))
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
		})
	}
}

func TestParseMalformedUnicodeNamesLine(t *testing.T) {
	for _, tc := range []struct{ in, line string }{
		{"a=1\nb=\\u12\n", "line 2"},
		{"a=1\n\n# c\nb=\\uZZZZ\n", "line 4"},
		{"a=x\\\n  \\u00g0\n", "line 1"}, // a logical line is named by its first natural line
		{"\\u00", "line 1"},
	} {
		_, err := Parse([]byte(tc.in))
		require.Error(t, err, "%q", tc.in)
		assert.Contains(t, err.Error(), tc.line, "%q", tc.in)
		assert.Contains(t, err.Error(), `\uxxxx`)
	}
}

func TestLoadFileNamesPath(t *testing.T) {
	path := filepath.Join(t.TempDir(), "w.properties")
	require.NoError(t, os.WriteFile(path, []byte("k = v\nbad=\\u\n"), 0o644))
	_, err := LoadFile(path)
	require.ErrorContains(t, err, path+": line 2")
	_, err = LoadFile(filepath.Join(t.TempDir(), "missing"))
	require.ErrorIs(t, err, os.ErrNotExist)

	props, err := Load(strings.NewReader("k = v"))
	require.NoError(t, err)
	assert.Equal(t, map[string]string{"k": "v"}, props)
}

// store writes props so that Parse gives them back, escaping as
// Properties.store does.
func store(props map[string]string) string {
	var sb strings.Builder
	esc := func(s string, key bool) string {
		var b strings.Builder
		for i, r := range s {
			switch {
			case r == '\\' || r == '=' || r == ':' || r == '#' || r == '!':
				b.WriteString(`\` + string(r))
			case r == ' ' && (key || i == 0):
				b.WriteString(`\ `)
			case r == '\t':
				b.WriteString(`\t`)
			case r == '\n':
				b.WriteString(`\n`)
			case r == '\r':
				b.WriteString(`\r`)
			case r == '\f':
				b.WriteString(`\f`)
			case r < 0x20 || r > 0x7e:
				for _, u := range utf16.Encode([]rune{r}) {
					fmt.Fprintf(&b, `\u%04X`, u)
				}
			default:
				b.WriteRune(r)
			}
		}
		return b.String()
	}
	for k, v := range props {
		sb.WriteString(esc(k, true) + "=" + esc(v, false) + "\n")
	}
	return sb.String()
}

// FuzzLoad checks that any input parses without panicking, that parsing
// is deterministic, and that what it yields, written back with
// Properties.store's escapes, parses to the same keys and values.
func FuzzLoad(f *testing.F) {
	for _, s := range []string{
		"Truth = Beauty\n", "fruits apple, \\\n   kiwi\n", "\\:\\=\n", "# c\n!c\nk\n",
		"k=\\uD83D\\uDE00\r\n", "\\\n# x\n", "k=v\\", "a\\\r\n\\u00e9", "x=\\u12", "\xfc=\xff",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		props, err := Parse(b)
		again, err2 := Parse(b)
		if (err == nil) != (err2 == nil) {
			t.Fatalf("parse is not deterministic: %v then %v", err, err2)
		}
		if err != nil {
			return
		}
		assert.Equal(t, props, again)
		for k, v := range props {
			if !utf8.ValidString(k) || !utf8.ValidString(v) {
				t.Fatalf("invalid UTF-8 in %q=%q", k, v)
			}
		}
		text := store(props)
		back, err := Parse([]byte(text))
		require.NoError(t, err, "%q", text)
		require.Equal(t, props, back, "stored as %q", text)
	})
}
