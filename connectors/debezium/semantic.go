package debezium

import (
	"encoding/base64"
	"encoding/hex"
)

// Debezium's semantic schema names (io.debezium.data.*, io.debezium.time.*),
// as they appear in change events.
const (
	VariableScaleDecimalName = "io.debezium.data.VariableScaleDecimal"
	UUIDName                 = "io.debezium.data.Uuid"
	JSONName                 = "io.debezium.data.Json"
	EnumName                 = "io.debezium.data.Enum"
	BitsName                 = "io.debezium.data.Bits"
	XMLName                  = "io.debezium.data.Xml"
	LtreeName                = "io.debezium.data.Ltree"
	TsvectorName             = "io.debezium.data.Tsvector"
	PointName                = "io.debezium.data.geometry.Point"
	DateName                 = "io.debezium.time.Date"
	TimeName                 = "io.debezium.time.Time"
	MicroTimeName            = "io.debezium.time.MicroTime"
	TimestampName            = "io.debezium.time.Timestamp"
	MicroTimestampName       = "io.debezium.time.MicroTimestamp"
	ZonedTimestampName       = "io.debezium.time.ZonedTimestamp"
	ZonedTimeName            = "io.debezium.time.ZonedTime"
	MicroDurationName        = "io.debezium.time.MicroDuration"
	IntervalName             = "io.debezium.time.Interval"

	// EnumAllowedParam is the Enum schema parameter listing the labels,
	// comma-separated.
	EnumAllowedParam = "allowed"
	// DecimalPrecisionParam is the Decimal schema parameter Debezium adds
	// with the column's declared precision.
	DecimalPrecisionParam = "connect.decimal.precision"
	// BitsLengthParam is the Bits schema parameter holding the column's
	// declared number of bits.
	BitsLengthParam = "length"
)

// Handling modes: the values of decimal.handling.mode,
// time.precision.mode and binary.handling.mode.
const (
	DecimalPrecise = "precise"
	DecimalDouble  = "double"
	DecimalString  = "string"

	TimeAdaptive             = "adaptive"
	TimeAdaptiveMicroseconds = "adaptive_time_microseconds"
	TimeConnect              = "connect"

	BinaryBytes         = "bytes"
	BinaryBase64        = "base64"
	BinaryBase64URLSafe = "base64-url-safe"
	BinaryHex           = "hex"
)

// BinaryValue renders bytes per binary.handling.mode: the bytes, or their
// base64, URL-safe base64 or hex text.
func BinaryValue(b []byte, mode string) any {
	switch mode {
	case BinaryBase64:
		return base64.StdEncoding.EncodeToString(b)
	case BinaryBase64URLSafe:
		return base64.URLEncoding.EncodeToString(b)
	case BinaryHex:
		return hex.EncodeToString(b)
	}
	return b
}
