package debezium

import (
	"regexp"
	"strconv"
	"strings"

	"github.com/sluicehq/sluice/runtime/connect"
)

// Prefixes and suffix of the column rule keys, whose names carry the
// number of characters: column.mask.with.N.chars, column.truncate.to.N.chars.
const (
	ColumnMaskPrefix     = "column.mask.with."
	ColumnTruncatePrefix = "column.truncate.to."
	ColumnCharsSuffix    = ".chars"
)

// ColumnRule masks or truncates the string values of the columns it
// matches (column.mask.with.N.chars, column.truncate.to.N.chars).
type ColumnRule struct {
	Columns  []*regexp.Regexp // fully-qualified schema.table.column
	N        int
	Truncate bool
}

// Apply masks s (N asterisks) or truncates it to N characters.
func (r ColumnRule) Apply(s string) string {
	if !r.Truncate {
		return strings.Repeat("*", r.N)
	}
	n := 0
	for i := range s { // i steps over characters, not bytes
		if n == r.N {
			return s[:i]
		}
		n++
	}
	return s
}

// ParseColumnRules reads the column rule keys of a raw config; the error
// is a *connect.ConfigError naming the key.
func ParseColumnRules(raw map[string]string) ([]ColumnRule, error) {
	var out []ColumnRule
	for key, v := range raw {
		rule := ColumnRule{}
		var digits string
		switch {
		case strings.HasPrefix(key, ColumnMaskPrefix) && strings.HasSuffix(key, ColumnCharsSuffix):
			digits = strings.TrimSuffix(strings.TrimPrefix(key, ColumnMaskPrefix), ColumnCharsSuffix)
		case strings.HasPrefix(key, ColumnTruncatePrefix) && strings.HasSuffix(key, ColumnCharsSuffix):
			digits, rule.Truncate = strings.TrimSuffix(strings.TrimPrefix(key, ColumnTruncatePrefix), ColumnCharsSuffix), true
		default:
			continue
		}
		n, err := strconv.Atoi(digits)
		if err != nil || n < 0 {
			return nil, connect.NewConfigError(key, "Invalid value %s for configuration %s: the number of characters must be a non-negative integer", v, key)
		}
		rule.N = n
		for _, p := range strings.Split(v, ",") {
			if p = strings.TrimSpace(p); p == "" {
				continue
			}
			re, err := regexp.Compile("(?i)^(?:" + p + ")$")
			if err != nil {
				return nil, connect.NewConfigError(key, "Invalid value %s for configuration %s: %v", v, key, err)
			}
			rule.Columns = append(rule.Columns, re)
		}
		out = append(out, rule)
	}
	return out, nil
}

// ColumnOps returns, per field of a table's row schema, the rule that
// applies to it (the last matching; nil for none), or nil when none
// applies to any. Only string fields are masked, as in Debezium.
func ColumnOps(rules []ColumnRule, table TableID, row *connect.Schema) []*ColumnRule {
	var ops []*ColumnRule
	for i, f := range row.Fields {
		if f.Schema.Type != connect.TypeString {
			continue
		}
		name := table.String() + "." + f.Name
		for r := range rules {
			if MatchAny(rules[r].Columns, name) {
				if ops == nil {
					ops = make([]*ColumnRule, len(row.Fields))
				}
				ops[i] = &rules[r]
			}
		}
	}
	return ops
}

// PropagateSourceType holds column.propagate.source.type (schema.table.column
// patterns) and datatype.propagate.source.type (schema.table.TYPE patterns):
// the columns whose schema gets the __debezium.source.column.* parameters.
type PropagateSourceType struct {
	Columns, Types []*regexp.Regexp
}

// Empty reports whether no column is to get the parameters.
func (p PropagateSourceType) Empty() bool { return len(p.Columns) == 0 && len(p.Types) == 0 }

// Matches reports whether column of table, of the type the database
// names typeName ("" when unknown), gets the parameters.
func (p PropagateSourceType) Matches(table TableID, column, typeName string) bool {
	prefix := table.String() + "."
	return MatchAny(p.Columns, prefix+column) || (typeName != "" && MatchAny(p.Types, prefix+typeName))
}
