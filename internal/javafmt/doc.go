// Package javafmt is the one home of Java's formatting and hashing rules
// that Sluice must reproduce byte for byte: Double.toString and
// Float.toString ("1.0E10", "1.0E-5", "100.0", "-0.0", "NaN"),
// BigDecimal.toString ("1.56E+4"), String.hashCode and the iteration order
// of a java.util.HashMap.
//
// The code looks odd on purpose. Kafka's converters print numbers through
// Java (Jackson, Object.toString), the broker places a group on a
// __consumer_offsets partition by String.hashCode, and the bytes of a
// compacted topic's keys must equal Kafka's for compaction to work across
// a migration. Go's strconv differs in where it switches to exponent
// notation and how it spells the exponent, and Go maps have no order, so
// every one of those places would drift from Kafka without these.
//
// The package uses only the standard library, so the broker may import it
// too. Rendering a whole Connect value (Struct{a=1}, {k=v}, [a, b]) needs
// runtime/connect and lives in the subpackage javavalue.
package javafmt
