package postgres

import (
	"encoding/hex"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/sluicehq/sluice/connectors/debezium"
	"github.com/sluicehq/sluice/runtime/connect"
)

// Config keys, named as Debezium's Postgres connector names them.
const (
	HostnameConfig                  = "database.hostname"
	PortConfig                      = "database.port"
	UserConfig                      = "database.user"
	PasswordConfig                  = "database.password"
	DBNameConfig                    = "database.dbname"
	SSLModeConfig                   = "database.sslmode"
	TopicPrefixConfig               = debezium.TopicPrefixConfig
	SchemaIncludeListConfig         = debezium.SchemaIncludeListConfig
	SchemaExcludeListConfig         = debezium.SchemaExcludeListConfig
	TableIncludeListConfig          = debezium.TableIncludeListConfig
	TableExcludeListConfig          = debezium.TableExcludeListConfig
	ColumnIncludeListConfig         = debezium.ColumnIncludeListConfig
	ColumnExcludeListConfig         = debezium.ColumnExcludeListConfig
	PluginNameConfig                = "plugin.name"
	SlotNameConfig                  = "slot.name"
	SlotDropOnStopConfig            = "slot.drop.on.stop"
	PublicationNameConfig           = "publication.name"
	PublicationAutocreateModeConfig = "publication.autocreate.mode"
	SnapshotModeConfig              = "snapshot.mode"
	SnapshotFetchSizeConfig         = debezium.SnapshotFetchSizeConfig
	HeartbeatIntervalConfig         = debezium.HeartbeatIntervalConfig
	HeartbeatActionQueryConfig      = debezium.HeartbeatActionQueryConfig
	TombstonesOnDeleteConfig        = debezium.TombstonesOnDeleteConfig
	DecimalHandlingModeConfig       = debezium.DecimalHandlingModeConfig
	TimePrecisionModeConfig         = debezium.TimePrecisionModeConfig
	BinaryHandlingModeConfig        = debezium.BinaryHandlingModeConfig
	HStoreHandlingModeConfig        = "hstore.handling.mode"
	IntervalHandlingModeConfig      = "interval.handling.mode"
	MoneyFractionDigitsConfig       = "money.fraction.digits"
	MessageKeyColumnsConfig         = debezium.MessageKeyColumnsConfig
	SkippedOperationsConfig         = debezium.SkippedOperationsConfig
	ProvideTxMetadataConfig         = debezium.ProvideTxMetadataConfig
	IncludeUnknownDatatypesConfig   = "include.unknown.datatypes"
	UnavailablePlaceholderConfig    = "unavailable.value.placeholder"
	PublishViaPartitionRootConfig   = "publish.via.partition.root"
)

// Config declares the connector's keys with Debezium's types and defaults.
// plugin.name defaults to pgoutput, where Debezium's community build
// defaults to decoderbufs, which Sluice does not support.
var Config = slices.Concat(connect.ConfigDef{
	str(HostnameConfig, connect.NoDefault, connect.High, connect.NonEmpty{}, "Resolvable hostname or IP address of the Postgres server."),
	{
		Name: PortConfig, Type: connect.ConfigInt, Default: 5432, Validator: connect.Between(1, 65535),
		Importance: connect.High, Doc: "Port of the Postgres server.",
	},
	str(UserConfig, connect.NoDefault, connect.High, connect.NonEmpty{}, "Name of the Postgres user the connector connects as."),
	{
		Name: PasswordConfig, Type: connect.ConfigPassword, Default: nil,
		Importance: connect.High, Doc: "Password of the Postgres user.",
	},
	str(DBNameConfig, connect.NoDefault, connect.High, connect.NonEmpty{}, "Name of the Postgres database to capture changes from."),
	str(SSLModeConfig, "prefer", connect.Medium, connect.OneOf{Values: []string{"disable", "allow", "prefer", "require", "verify-ca", "verify-full"}},
		"Whether to use an encrypted connection to Postgres, and how strictly to verify the server's certificate."),
	debezium.TopicPrefixKey,
}, debezium.FilterConfig, connect.ConfigDef{
	str(PluginNameConfig, "pgoutput", connect.Medium, pluginName{},
		"Logical decoding plugin on the server; only pgoutput, built into Postgres 10 and later, is supported."),
	str(SlotNameConfig, "debezium", connect.Medium, slotName{},
		"Name of the logical replication slot the connector streams from; it must be unique per connector: validation refuses a slot another process reads from, "+
			"and a task refuses an existing slot its offsets do not account for (see offset.mismatch.strategy)."),
	boolean(SlotDropOnStopConfig, false, connect.Low,
		"Whether to drop the replication slot when the connector stops (for development only: changes made while stopped are lost). "+
			"When false the slot keeps the server's WAL from its position on until the connector reads on, or until it is dropped with SELECT pg_drop_replication_slot('<slot.name>')."),
	str(OffsetMismatchStrategyConfig, mismatchTrustOffset, connect.Low, connect.OneOf{Values: []string{mismatchTrustOffset, mismatchTrustSlot, mismatchTrustGreaterLSN, mismatchNoValidation}},
		"What to do when the slot and the offsets disagree: an existing slot the connector has no offsets for, a slot confirmed past the offsets, "+
			"or offsets whose slot is gone. trust_offset refuses to start (the slot may be another connector's, or changes were lost); "+
			"trust_slot, trust_greater_lsn and no_validation start from the slot's position, logging at WARN what was skipped. "+
			"Debezium's default is no_validation, which skips silently."),
	str(PublicationNameConfig, "dbz_publication", connect.Low, connect.NonEmpty{}, "Name of the publication that selects the tables pgoutput streams."),
	str(PublicationAutocreateModeConfig, "all_tables", connect.Low, connect.OneOf{Values: []string{"all_tables", "disabled", "filtered", "no_tables"}},
		"Whether and how the connector creates the publication: for all tables, not at all, for the included tables only, or with no tables."),
	boolean(PublishViaPartitionRootConfig, false, connect.Medium,
		"Whether the publication the connector creates publishes the changes of partitioned tables under their root table (publish_via_partition_root), "+
			"whose topic then carries every partition's rows, snapshot included; when false each partition is captured as a table of its own. "+
			"An existing publication the connector does not update decides."),
	str(SnapshotModeConfig, "initial", connect.Medium, connect.OneOf{Values: []string{"initial", "always", "initial_only", "no_data", "never", "when_needed"}},
		"When to snapshot the existing rows: on first start, on every start, once without streaming, never (no_data, or its old name never), or when the stored offset is unusable."),
	debezium.SnapshotFetchSizeKey,
}, debezium.HeartbeatConfig, connect.ConfigDef{
	debezium.TombstonesOnDeleteKey,
}, debezium.HandlingModesConfig, connect.ConfigDef{
	str(HStoreHandlingModeConfig, "json", connect.Low, connect.OneOf{Values: []string{"json", "map"}},
		"How hstore columns are represented: a JSON object string (io.debezium.data.Json), or a map of strings."),
	str(IntervalHandlingModeConfig, "numeric", connect.Low, connect.OneOf{Values: []string{"numeric", "string"}},
		"How interval columns are represented: approximate microseconds (months of 365.25/12 days), or an exact ISO 8601 string such as P1Y2M3DT4H5M6.78S."),
	{
		Name: MoneyFractionDigitsConfig, Type: connect.ConfigShort, Default: 2, Validator: connect.AtLeast(0),
		Importance: connect.Low, Doc: "Number of fractional digits, the Decimal scale, of money values when decimal.handling.mode is precise; it should match the server's lc_monetary.",
	},
}, debezium.EventConfig, connect.ConfigDef{
	boolean(IncludeUnknownDatatypesConfig, false, connect.Medium,
		"Whether columns of a type without mapping are included in change events, as the bytes of the value's text form (or a string per binary.handling.mode); "+
			"when false they are left out, with a warning."),
	str(UnavailablePlaceholderConfig, UnavailableValue, connect.Medium, placeholder{},
		"Value standing in for an unchanged TOASTed value the server did not send, in the column's type; a value starting with hex: gives the placeholder's bytes in hexadecimal."),
}, tlsConfig, tuningConfig, messagesConfig, debezium.SignalConfig, foreignConfig())

func str(name string, def any, imp connect.Importance, v connect.Validator, doc string) connect.ConfigKey {
	return connect.ConfigKey{Name: name, Type: connect.ConfigString, Default: def, Validator: v, Importance: imp, Doc: doc}
}

func list(name, doc string) connect.ConfigKey {
	return connect.ConfigKey{Name: name, Type: connect.ConfigList, Default: nil, Validator: debezium.RegexList{}, Importance: connect.Medium, Doc: doc}
}

func boolean(name string, def bool, imp connect.Importance, doc string) connect.ConfigKey {
	return connect.ConfigKey{Name: name, Type: connect.ConfigBoolean, Default: def, Importance: imp, Doc: doc}
}

// pluginName accepts pgoutput and refuses decoderbufs with the reason.
type pluginName struct{}

// Validate implements connect.Validator.
func (pluginName) Validate(_ string, v any) string {
	switch s, _ := v.(string); strings.ToLower(s) {
	case "pgoutput":
		return ""
	case "decoderbufs":
		return "The decoderbufs plugin is not supported; use pgoutput, which is built into Postgres 10 and later"
	}
	return "String must be one of: pgoutput"
}

func (pluginName) String() string { return "[pgoutput]" }

// slotName applies Postgres's rules for replication slot names.
type slotName struct{}

var slotNameChars = regexp.MustCompile(`^[a-z0-9_]{1,63}$`)

// Validate implements connect.Validator.
func (slotName) Validate(_ string, v any) string {
	if s, _ := v.(string); !slotNameChars.MatchString(s) {
		return "Valid replication slot name must contain only digits, lowercase characters and underscores with length <= 63"
	}
	return ""
}

func (slotName) String() string { return "lowercase letters, digits and '_', at most 63" }

// placeholder accepts any unavailable.value.placeholder whose hex: form,
// if it has one, decodes.
type placeholder struct{}

// Validate implements connect.Validator.
func (placeholder) Validate(_ string, v any) string {
	s, _ := v.(string)
	if _, err := placeholderBytes(s); err != nil {
		return err.Error()
	}
	return ""
}

func (placeholder) String() string { return "a string, or hex: and hexadecimal digits" }

// placeholderBytes returns the bytes of an unavailable.value.placeholder:
// those of the string, or the decoded digits after a hex: prefix.
func placeholderBytes(s string) ([]byte, error) {
	digits, isHex := strings.CutPrefix(s, "hex:")
	if !isHex {
		return []byte(s), nil
	}
	b, err := hex.DecodeString(digits)
	if err != nil {
		return nil, fmt.Errorf("%q after hex: is not hexadecimal: %w", digits, err)
	}
	return b, nil
}
