package jdbc

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/sluicehq/sluice/runtime/connect"
)

// createTableSQL is CREATE TABLE with the columns and a primary key on the
// key columns. Key columns are NOT NULL; the others are nullable exactly
// when their schema is optional, and carry the schema's default when it has
// one (as both Debezium's and Confluent's sinks do).
func (d dialect) createTableSQL(table string, cols []column, quote bool) (string, error) {
	if len(cols) == 0 {
		return "", fmt.Errorf("create table %s: the record has no fields to make columns of", table)
	}
	defs := make([]string, 0, len(cols)+1)
	var key []string
	errs := d.checkNames(table, cols, quote)
	for _, c := range cols {
		def, err := d.columnDef(c, quote, false)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		defs = append(defs, def)
		if c.Key {
			key = append(key, d.ident(c.Name, quote))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return "", fmt.Errorf("create table %s: %w", table, err)
	}
	if len(key) > 0 {
		defs = append(defs, "PRIMARY KEY ("+strings.Join(key, ", ")+")")
	}
	return "CREATE TABLE " + d.quoteTable(table, quote) + " (\n  " + strings.Join(defs, ",\n  ") + "\n)", nil
}

// addColumnsSQL are the ALTER TABLE … ADD COLUMN statements for the columns
// missing from info (matched case-insensitively, as info's map is); nil if
// none. It never drops, never changes a type, never touches the key.
//
// A missing column that is not optional and has no default is added
// nullable: the rows already in the table have no value for it, so NOT NULL
// cannot hold. Confluent refuses to evolve there ("Cannot ALTER … as the
// field is not optional and does not have a default value") and Debezium
// issues a NOT NULL ADD that fails on a non-empty table; either stops the
// pipeline on the first record of a new version of the source table.
func (d dialect) addColumnsSQL(info *tableInfo, table string, cols []column, quote bool) ([]string, error) {
	if info == nil {
		return nil, fmt.Errorf("alter table %s: the table does not exist", table)
	}
	var stmts []string
	errs := d.checkNames(table, cols, quote)
	for _, c := range cols {
		if _, ok := info.Columns[strings.ToLower(c.Name)]; ok {
			continue
		}
		def, err := d.columnDef(c, quote, true)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		stmts = append(stmts, "ALTER TABLE "+d.quoteTable(table, quote)+" ADD COLUMN "+def)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("alter table %s: %w", table, err)
	}
	return stmts, nil
}

// Longest identifiers: Postgres silently truncates longer ones (NAMEDATALEN
// 64, in bytes), after which the sink would never find its own table again;
// MySQL refuses them (64 characters).
const (
	pgMaxIdentBytes    = 63
	mysqlMaxIdentChars = 64
)

// checkNames finds the names the database would refuse or mangle: empty,
// too long, or two columns that are one to the database (MySQL compares
// column names without case; Postgres folds unquoted ones).
func (d dialect) checkNames(table string, cols []column, quote bool) []error {
	var errs []error
	check := func(what, name string) {
		switch {
		case name == "":
			errs = append(errs, fmt.Errorf("%s: empty name", what))
		case !d.isMySQL() && len(name) > pgMaxIdentBytes:
			errs = append(errs, fmt.Errorf("%s %q: longer than Postgres's %d bytes", what, name, pgMaxIdentBytes))
		case d.isMySQL() && utf8.RuneCountInString(name) > mysqlMaxIdentChars:
			errs = append(errs, fmt.Errorf("%s %q: longer than MySQL's %d characters", what, name, mysqlMaxIdentChars))
		}
	}
	qualifier, name := splitTable(table)
	if qualifier != "" {
		check("schema", qualifier)
	}
	check("table", name)
	seen := map[string]string{}
	for _, c := range cols {
		check("column", c.Name)
		folded := c.Name
		if d.isMySQL() || !quote {
			folded = strings.ToLower(c.Name)
		}
		if first, dup := seen[folded]; dup {
			errs = append(errs, fmt.Errorf("columns %q and %q would be the same column", first, c.Name))
			continue
		}
		seen[folded] = c.Name
	}
	return errs
}

// columnDef is "name type [NOT NULL|NULL] [DEFAULT v]". When adding to an
// existing table (evolve) only columns with a default may be NOT NULL.
func (d dialect) columnDef(c column, quote, evolve bool) (string, error) {
	typ, err := d.columnType(c)
	if err != nil {
		return "", err
	}
	def := d.ident(c.Name, quote) + " " + typ
	lit, err := d.defaultLiteral(c.Schema, typ)
	if err != nil {
		return "", fmt.Errorf("column %q: default value: %w", c.Name, err)
	}
	switch {
	case c.Key && !evolve:
		def += " NOT NULL"
	case c.Schema.Optional || (evolve && lit == ""):
		def += " NULL"
	default:
		def += " NOT NULL"
	}
	if lit != "" {
		def += " DEFAULT " + lit
	}
	return def, nil
}

// defaultLiteral renders a schema's default value for the primitive types
// (numbers, booleans, strings without a semantic type); "" when the schema
// has none or its type's default is not rendered (logical and semantic
// types, bytes, arrays, maps: the column then has no default).
func (d dialect) defaultLiteral(s *connect.Schema, sqlType string) (string, error) {
	if s.Default == nil || (s.Name != "" && s.Type != connect.TypeString) {
		return "", nil
	}
	var lit string
	switch v := s.Default.(type) {
	case int8:
		lit = strconv.FormatInt(int64(v), 10)
	case int16:
		lit = strconv.FormatInt(int64(v), 10)
	case int32:
		lit = strconv.FormatInt(int64(v), 10)
	case int64:
		lit = strconv.FormatInt(v, 10)
	case float32:
		return floatLiteral(float64(v))
	case float64:
		return floatLiteral(v)
	case bool:
		lit = "FALSE"
		if v {
			lit = "TRUE"
		}
	case string:
		if s.Name != "" {
			return "", nil
		}
		if !d.isMySQL() {
			return pgString(v), nil
		}
		lit = mysqlString(v)
		// TEXT and BLOB columns take a default only as an expression.
		if strings.HasSuffix(sqlType, "text") {
			lit = "(" + lit + ")"
		}
		return lit, nil
	default:
		return "", nil
	}
	return lit, nil
}

func floatLiteral(f float64) (string, error) {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return "", fmt.Errorf("%v has no SQL literal", f)
	}
	return strconv.FormatFloat(f, 'g', -1, 64), nil
}
