package debezium

import (
	"regexp"
	"strings"
)

// Filter selects the captured tables and columns, as Debezium's
// include and exclude lists do (schema.include.list, table.include.list,
// column.include.list and their exclude twins; a MySQL connector fills
// the schema lists from database.include.list), and picks each table's key
// columns (message.key.columns). Patterns match whole names without
// regard to case; see CompileList.
type Filter struct {
	SchemaInclude, SchemaExclude []*regexp.Regexp // schema
	TableInclude, TableExclude   []*regexp.Regexp // schema.table
	ColumnInclude, ColumnExclude []*regexp.Regexp // schema.table.column
	Keys                         []KeyColumns
	// Signal is the signalling table, captured whatever the lists say;
	// nil for none.
	Signal *TableID
}

// KeyColumns is one message.key.columns entry: the tables it matches and
// the columns forming their keys.
type KeyColumns struct {
	Table   *regexp.Regexp
	Columns []string
}

// ParseKeyColumns reads message.key.columns:
// "schema.table:col,col;schema.other:col", table names being regular
// expressions. Entries without a colon or with a pattern that does not
// compile are left out.
func ParseKeyColumns(s string) []KeyColumns {
	var out []KeyColumns
	for _, entry := range strings.Split(s, ";") {
		table, cols, ok := strings.Cut(strings.TrimSpace(entry), ":")
		if !ok {
			continue
		}
		re, err := regexp.Compile(`(?i)^(?:` + strings.TrimSpace(table) + `)$`)
		if err != nil {
			continue
		}
		o := KeyColumns{Table: re}
		for _, c := range strings.Split(cols, ",") {
			if c = strings.TrimSpace(c); c != "" {
				o.Columns = append(o.Columns, c)
			}
		}
		out = append(out, o)
	}
	return out
}

// CompileList compiles the entries of a Debezium pattern list, each
// matching a whole name without regard to case; an entry that does not
// compile is left out (validation refuses it first).
func CompileList(entries []string) []*regexp.Regexp {
	var out []*regexp.Regexp
	for _, e := range entries {
		if re, err := regexp.Compile(`(?i)^(?:` + strings.TrimSpace(e) + `)$`); err == nil {
			out = append(out, re)
		}
	}
	return out
}

// MatchAny reports whether one of res matches s.
func MatchAny(res []*regexp.Regexp, s string) bool {
	for _, re := range res {
		if re.MatchString(s) {
			return true
		}
	}
	return false
}

// Captures reports whether t is captured, as Debezium's table filters do.
func (f Filter) Captures(t TableID) bool {
	switch {
	case SameTable(f.Signal, t):
		return true
	case len(f.SchemaInclude) > 0 && !MatchAny(f.SchemaInclude, t.Schema), MatchAny(f.SchemaExclude, t.Schema):
		return false
	case len(f.TableInclude) > 0 && !MatchAny(f.TableInclude, t.String()), MatchAny(f.TableExclude, t.String()):
		return false
	}
	return true
}

// CapturesColumn applies column.include.list and column.exclude.list to
// schema.table.column.
func (f Filter) CapturesColumn(t TableID, column string) bool {
	name := t.String() + "." + column
	return (len(f.ColumnInclude) == 0 || MatchAny(f.ColumnInclude, name)) && !MatchAny(f.ColumnExclude, name)
}

// KeyColumns returns the key columns of t: those message.key.columns
// names for it, else key (its primary key); only captured columns.
func (f Filter) KeyColumns(t TableID, key []string) []string {
	for _, o := range f.Keys {
		if o.Table.MatchString(t.String()) {
			key = o.Columns
			break
		}
	}
	var out []string
	for _, k := range key {
		if f.CapturesColumn(t, k) {
			out = append(out, k)
		}
	}
	return out
}

// SameTable reports whether t is the table ref names, compared as Debezium
// compares the signalling table, without regard to case; false for nil.
func SameTable(ref *TableID, t TableID) bool {
	return ref != nil && strings.EqualFold(ref.Schema, t.Schema) && strings.EqualFold(ref.Name, t.Name)
}

// ParseTableID splits schema.table; both parts are needed.
func ParseTableID(s string) (TableID, bool) {
	schema, name, ok := strings.Cut(strings.TrimSpace(s), ".")
	if !ok || schema == "" || name == "" {
		return TableID{}, false
	}
	return TableID{Schema: schema, Name: name}, true
}
