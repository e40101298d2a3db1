package postgres

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sluicehq/sluice/runtime/connect"
)

// minimal is the smallest valid config.
func minimal() map[string]string {
	return map[string]string{
		HostnameConfig:    "127.0.0.1",
		UserConfig:        "postgres",
		DBNameConfig:      "app",
		TopicPrefixConfig: "shop",
	}
}

// errorsOf returns the non-empty error lists by key.
func errorsOf(results []connect.ConfigValue) map[string][]string {
	out := map[string][]string{}
	for _, r := range results {
		if len(r.Errors) > 0 {
			out[r.Name] = r.Errors
		}
	}
	return out
}

func TestPluginNames(t *testing.T) {
	assert.Equal(t, connect.PluginSource, Plugin.Type())
	for _, name := range []string{
		"io.sluice.connect.postgres.PostgresConnector",
		"io.debezium.connector.postgresql.PostgresConnector",
		"PostgresConnector", "Postgres",
	} {
		assert.True(t, connect.MatchesClass(Plugin.Class, Plugin.Aliases, name), name)
	}
	assert.NotContains(t, Plugin.Doc, "Not usable yet")
}

func TestConfigDefaults(t *testing.T) {
	want := map[string]string{
		PortConfig:                      "5432",
		SSLModeConfig:                   "prefer",
		PluginNameConfig:                "pgoutput",
		SlotNameConfig:                  "debezium",
		SlotDropOnStopConfig:            "false",
		PublicationNameConfig:           "dbz_publication",
		PublicationAutocreateModeConfig: "all_tables",
		SnapshotModeConfig:              "initial",
		SnapshotFetchSizeConfig:         "10240",
		HeartbeatIntervalConfig:         "0",
		TombstonesOnDeleteConfig:        "true",
		DecimalHandlingModeConfig:       "precise",
		TimePrecisionModeConfig:         "adaptive",
		BinaryHandlingModeConfig:        "bytes",
		HStoreHandlingModeConfig:        "json",
		IntervalHandlingModeConfig:      "numeric",
		MoneyFractionDigitsConfig:       "2",
		SkippedOperationsConfig:         "t",
		ProvideTxMetadataConfig:         "false",
		IncludeUnknownDatatypesConfig:   "false",
		UnavailablePlaceholderConfig:    "__debezium_unavailable_value",
		PublishViaPartitionRootConfig:   "false",
	}
	for key, def := range want {
		k := Config.Key(key)
		require.NotNil(t, k, key)
		got, ok := k.DefaultString()
		assert.True(t, ok, key)
		assert.Equal(t, def, got, key)
	}
	for _, key := range []string{HostnameConfig, UserConfig, DBNameConfig, TopicPrefixConfig} {
		assert.True(t, Config.Key(key).Required(), key)
	}
	assert.Equal(t, connect.ConfigPassword, Config.Key(PasswordConfig).Type)
	for _, k := range Config {
		assert.NotEmpty(t, k.Doc, k.Name)
	}
	_, err := Config.Parse(minimal())
	require.NoError(t, err)
}

func TestConfigInvalidValues(t *testing.T) {
	tests := []struct {
		key, value, want string
	}{
		{PluginNameConfig, "decoderbufs", "Invalid value decoderbufs for configuration plugin.name: The decoderbufs plugin is not supported; use pgoutput"},
		{PluginNameConfig, "wal2json", "String must be one of: pgoutput"},
		{SnapshotModeConfig, "sometimes", "String must be one of: initial, always, initial_only, no_data, never, when_needed"},
		{SlotNameConfig, "My-Slot", "Valid replication slot name must contain only digits, lowercase characters and underscores"},
		{SkippedOperationsConfig, "c,x", `Unknown operation "x"`},
		{SkippedOperationsConfig, "none,c", "'none' cannot be combined"},
		{TopicPrefixConfig, "shop/1", "shop/1 has invalid format"},
		{SSLModeConfig, "maybe", "String must be one of: disable, allow, prefer"},
		{PublicationAutocreateModeConfig, "some", "String must be one of: all_tables, disabled, filtered, no_tables"},
		{DecimalHandlingModeConfig, "float", "String must be one of: precise, double, string"},
		{TimePrecisionModeConfig, "nanos", "String must be one of: adaptive, adaptive_time_microseconds, connect"},
		{BinaryHandlingModeConfig, "base32", "String must be one of: bytes, base64, base64-url-safe, hex"},
		{HStoreHandlingModeConfig, "array", "String must be one of: json, map"},
		{IntervalHandlingModeConfig, "iso", "String must be one of: numeric, string"},
		{MoneyFractionDigitsConfig, "-1", "Value must be at least 0"},
		{MoneyFractionDigitsConfig, "40000", "Not a number of type SHORT"},
		{TableIncludeListConfig, "public.(", "Invalid regex"},
		{PortConfig, "0", "Value must be at least 1"},
		{HeartbeatIntervalConfig, "-1", "Value must be at least 0"},
		{TombstonesOnDeleteConfig, "yes", "Expected value to be either true or false"},
		{UnavailablePlaceholderConfig, "hex:0x", `"0x" after hex: is not hexadecimal`},
		{PublishViaPartitionRootConfig, "maybe", "Expected value to be either true or false"},
	}
	for _, tc := range tests {
		t.Run(tc.key+"="+tc.value, func(t *testing.T) {
			cfg := minimal()
			cfg[tc.key] = tc.value
			errs := errorsOf(Config.Validate(cfg))
			require.Len(t, errs, 1, "%v", errs)
			require.Len(t, errs[tc.key], 1)
			assert.Contains(t, errs[tc.key][0], tc.want)
		})
	}
}

func TestConfigAcceptedValues(t *testing.T) {
	for key, values := range map[string][]string{
		SnapshotModeConfig:           {"initial", "always", "initial_only", "no_data", "never", "when_needed"},
		SkippedOperationsConfig:      {"none", "c,u,d,t", "", "t"},
		SSLModeConfig:                {"disable", "require", "verify-ca", "verify-full"},
		TableIncludeListConfig:       {"public.orders,inventory\\..*"},
		UnavailablePlaceholderConfig: {"", "n/a", "hex:", "hex:00FF41"},
	} {
		for _, v := range values {
			cfg := minimal()
			cfg[key] = v
			assert.Empty(t, errorsOf(Config.Validate(cfg)), "%s=%s", key, v)
		}
	}
}

func TestIncludeExcludeAreExclusive(t *testing.T) {
	for _, p := range exclusive {
		t.Run(p.include, func(t *testing.T) {
			cfg := minimal()
			cfg[p.include] = "a"
			cfg[p.exclude] = "b"
			errs := crossKeyErrors(cfg)
			assert.Equal(t, map[string][]string{p.exclude: {`"` + p.include + `" is already specified`}}, errs)
			err := parse(cfg)
			require.ErrorIs(t, err, connect.ErrConfig)

			delete(cfg, p.include)
			assert.Empty(t, crossKeyErrors(cfg))
		})
	}
}

func TestConnectorRunsOneTask(t *testing.T) {
	c := Plugin.NewConnector()
	require.NoError(t, c.Start(nil, minimal()))
	configs, err := c.TaskConfigs(3)
	require.NoError(t, err)
	assert.Equal(t, []map[string]string{minimal()}, configs)

	bad := minimal()
	delete(bad, TopicPrefixConfig)
	require.ErrorIs(t, c.Start(nil, bad), connect.ErrConfig)
	require.ErrorIs(t, Plugin.NewSourceTask().Start(nil, bad), connect.ErrConfig)
	require.NoError(t, c.Stop())
}

func TestTypeOptionsFromConfig(t *testing.T) {
	parsed, err := Config.Parse(minimal())
	require.NoError(t, err)
	opts := TypeOptionsFromConfig(parsed)
	assert.Equal(t, "json", opts.HStoreMode)
	assert.Equal(t, "numeric", opts.IntervalMode)
	assert.False(t, opts.IncludeUnknown)
	require.NotNil(t, opts.MoneyFractionDigits)
	assert.Equal(t, 2, *opts.MoneyFractionDigits)

	cfg := minimal()
	cfg[HStoreHandlingModeConfig], cfg[IntervalHandlingModeConfig], cfg[MoneyFractionDigitsConfig] = "map", "string", "0"
	cfg[IncludeUnknownDatatypesConfig] = "true"
	parsed, err = Config.Parse(cfg)
	require.NoError(t, err)
	opts = TypeOptionsFromConfig(parsed)
	assert.Equal(t, "map", opts.HStoreMode)
	assert.Equal(t, "string", opts.IntervalMode)
	assert.Equal(t, 0, *opts.MoneyFractionDigits, "0 is a setting, not the default")
	assert.True(t, opts.IncludeUnknown)
	s, err := ColumnSchema(Column{Name: "m", TypeOID: moneyOID}, opts)
	require.NoError(t, err)
	assert.Equal(t, map[string]string{"scale": "0"}, s.Parameters)
}
