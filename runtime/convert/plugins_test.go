package convert

import (
	"testing"

	"github.com/sluicehq/sluice/runtime/connect"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestPluginsListEveryClassWithItsRoles(t *testing.T) {
	both := []string{JSONConverterClass, StringConverterClass, ByteArrayConverterClass, BooleanConverterClass,
		ShortConverterClass, IntegerConverterClass, LongConverterClass, FloatConverterClass, DoubleConverterClass}
	roles := map[string][]connect.PluginType{}
	for _, p := range Plugins() {
		roles[p.Class] = append(roles[p.Class], p.Type)
		assert.Equal(t, connect.BuiltinVersion, p.Version, p.Class)
		assert.NotEmpty(t, p.Doc, p.Class)
	}
	for _, class := range both {
		assert.ElementsMatch(t, []connect.PluginType{connect.PluginConverter, connect.PluginHeaderConverter}, roles[class], class)
	}
	assert.Equal(t, []connect.PluginType{connect.PluginHeaderConverter}, roles[SimpleHeaderConverterClass])
	assert.Len(t, roles, len(both)+1)
}

func TestPluginsNewFreshInstances(t *testing.T) {
	for _, p := range Plugins() {
		require.NoError(t, p.Check())
		switch p.Type {
		case connect.PluginConverter:
			c := p.NewConverter()
			require.NoError(t, c.Configure(map[string]string{}, false), p.Class)
		case connect.PluginHeaderConverter:
			h := p.NewHeaderConverter()
			require.NoError(t, h.Configure(map[string]string{}), p.Class)
			out, err := h.FromConnectHeader("t", "k", nil, nil)
			require.NoError(t, err, p.Class)
			assert.Nil(t, out, p.Class)
		}
	}
}

func TestPluginInstancesAreIndependent(t *testing.T) {
	p := connect.FindPlugin(Plugins(), connect.PluginConverter, JSONConverterClass)
	a, b := p.NewConverter().(*JSONConverter), p.NewConverter().(*JSONConverter)
	require.NoError(t, a.Configure(map[string]string{SchemasEnableConfig: "false"}, false))
	out, err := b.FromConnect("t", nil, nil, true)
	require.NoError(t, err)
	assert.Equal(t, `{"schema":null,"payload":true}`, string(out))
}

func TestPluginsFoundBySimpleNames(t *testing.T) {
	ps := Plugins()
	for _, name := range []string{"JsonConverter", "Json", JSONConverterClass} {
		p := connect.FindPlugin(ps, connect.PluginConverter, name)
		require.NotNil(t, p, name)
		assert.Equal(t, JSONConverterClass, p.Class)
	}
	p := connect.FindPlugin(ps, connect.PluginHeaderConverter, "SimpleHeaderConverter")
	require.NotNil(t, p)
	assert.Nil(t, connect.FindPlugin(ps, connect.PluginConverter, "SimpleHeaderConverter"))
}

func TestPluginConfigDefs(t *testing.T) {
	ps := Plugins()
	keys := func(class string) []string {
		var out []string
		for _, k := range connect.FindPlugin(ps, connect.PluginConverter, class).Config {
			out = append(out, k.Name)
		}
		return out
	}
	assert.Equal(t, []string{ConverterTypeConfig, SchemasEnableConfig, SchemasCacheSizeConfig, DecimalFormatConfig, ReplaceNullWithDefaultConfig}, keys(JSONConverterClass))
	assert.Equal(t, []string{ConverterTypeConfig, EncodingConfig}, keys(StringConverterClass))
	assert.Equal(t, []string{ConverterTypeConfig}, keys(ByteArrayConverterClass))
	assert.Equal(t, []string{ConverterTypeConfig}, keys(LongConverterClass))

	def := jsonConfigDef()
	for name, want := range map[string]string{SchemasEnableConfig: "true", SchemasCacheSizeConfig: "1000",
		DecimalFormatConfig: "BASE64", ReplaceNullWithDefaultConfig: "true"} {
		got, ok := def.Key(name).DefaultString()
		assert.True(t, ok, name)
		assert.Equal(t, want, got, name)
	}
	assert.True(t, def.Key(ConverterTypeConfig).Required())
	enc, _ := stringConfigDef().Key(EncodingConfig).DefaultString()
	assert.Equal(t, "UTF-8", enc)
}
