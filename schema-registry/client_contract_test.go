package registry

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/sr"

	"github.com/sluicehq/sluice/internal/testenv"
)

// TestFranzGoClientContracts round-trips metadata, rule sets and the
// config's defaults, overrides and compatibility group through
// franz-go's sr types: a real client's shapes.
func TestFranzGoClientContracts(t *testing.T) {
	in := startRegistry(t, testenv.StartBroker(t, nil), "")
	cl, err := sr.NewClient(sr.URLs(in.url))
	require.NoError(t, err)
	ctx := context.Background()

	mask := sr.SchemaRule{Name: "maskName", Kind: sr.SchemaRuleKindTransform, Mode: sr.SchemaRuleModeWrite,
		Type: "CEL_FIELD", Tags: []string{"PII"}, Expr: "name == 'name' ; 'XXX'"}
	setting := sr.SetCompatibility{
		Level:            sr.CompatBackward,
		Group:            "major",
		DefaultMetadata:  &sr.SchemaMetadata{Properties: map[string]string{"owner": "team-a"}},
		OverrideMetadata: &sr.SchemaMetadata{Tags: map[string][]string{"User.name": {"PII"}}},
		DefaultRuleSet:   &sr.SchemaRuleSet{DomainRules: []sr.SchemaRule{mask}},
	}
	set := cl.SetCompatibility(ctx, setting, "users-value")
	require.NoError(t, set[0].Err)
	got := cl.Compatibility(ctx, "users-value")
	require.NoError(t, got[0].Err)
	assert.Equal(t, sr.CompatBackward, got[0].Level)
	assert.Equal(t, "major", got[0].Group)
	assert.Equal(t, setting.DefaultMetadata, got[0].DefaultMetadata)
	assert.Equal(t, setting.OverrideMetadata, got[0].OverrideMetadata)
	assert.Equal(t, setting.DefaultRuleSet, got[0].DefaultRuleSet)
	assert.Nil(t, got[0].OverrideRuleSet)

	positive := sr.SchemaRule{Name: "positiveId", Doc: "ids are positive", Kind: sr.SchemaRuleKindCondition,
		Mode: sr.SchemaRuleModeWriteRead, Type: "CEL", Expr: "message.id > 0", OnFailure: "DLQ,ERROR",
		Params: map[string]string{"dlq.topic": "bad-users"}}
	created, err := cl.CreateSchema(ctx, "users-value", sr.Schema{Schema: userV2, Type: sr.TypeAvro,
		SchemaMetadata: &sr.SchemaMetadata{Properties: map[string]string{"major": "1"}, Sensitive: []string{"name"}},
		SchemaRuleSet:  &sr.SchemaRuleSet{DomainRules: []sr.SchemaRule{positive}}})
	require.NoError(t, err)
	wantMetadata := &sr.SchemaMetadata{
		Tags:       map[string][]string{"User.name": {"PII"}},
		Properties: map[string]string{"major": "1", "owner": "team-a"},
		Sensitive:  []string{"name"},
	}
	wantRules := &sr.SchemaRuleSet{DomainRules: []sr.SchemaRule{mask, positive}}
	assert.Equal(t, wantMetadata, created.SchemaMetadata)
	assert.Equal(t, wantRules, created.SchemaRuleSet)

	byVersion, err := cl.SchemaByVersion(ctx, "users-value", -1)
	require.NoError(t, err)
	assert.Equal(t, created, byVersion)
	byID, err := cl.SchemaByID(ctx, created.ID)
	require.NoError(t, err)
	assert.Equal(t, wantMetadata, byID.SchemaMetadata)
	assert.Equal(t, wantRules, byID.SchemaRuleSet)
	looked, err := cl.LookupSchema(ctx, "users-value", sr.Schema{Schema: userV2})
	require.NoError(t, err, "a lookup without a contract finds the version the config and latest version give it")
	assert.Equal(t, created.ID, looked.ID)

	// Another major version is its own compatibility group.
	other, err := cl.CreateSchema(ctx, "users-value", sr.Schema{Schema: userBad,
		SchemaMetadata: &sr.SchemaMetadata{Properties: map[string]string{"major": "2"}}})
	require.NoError(t, err)
	assert.Equal(t, 2, other.Version)
	_, err = cl.CreateSchema(ctx, "users-value", sr.Schema{Schema: userBad,
		SchemaMetadata: &sr.SchemaMetadata{Properties: map[string]string{"major": "1"}}})
	var re *sr.ResponseError
	require.ErrorAs(t, err, &re)
	assert.Equal(t, codeIncompatible, re.ErrorCode)

	_, err = cl.CreateSchema(ctx, "bad", sr.Schema{Schema: userV1,
		SchemaRuleSet: &sr.SchemaRuleSet{DomainRules: []sr.SchemaRule{{Name: "r", Kind: sr.SchemaRuleKindCondition,
			Mode: sr.SchemaRuleModeWrite, Type: "CEL", Expr: "message.id >"}}}})
	require.ErrorAs(t, err, &re)
	assert.Equal(t, codeInvalidRuleSet, re.ErrorCode)
	assert.Contains(t, re.Message, "Syntax error")
}

// TestContractReplicatesToFollower writes a contract and a config with
// defaults through one instance and reads them on the other, which has
// them only from the _schemas topic.
func TestContractReplicatesToFollower(t *testing.T) {
	broker := testenv.StartBroker(t, nil)
	a, _ := startStoppable(t, broker, "")
	b, _ := startStoppable(t, broker, "")
	runSteps(t, a, []step{
		{"defaults via a", "PUT", "/config/s", map[string]any{"defaultMetadata": props("owner", "a"), "compatibilityGroup": "major"}, 200, "", 0},
	})
	runSteps(t, b, []step{
		{"register via b", "POST", "/subjects/s/versions", withContract(userV1, props("major", "1"),
			domainRules(celRule("positiveId", "message.id > 0"))), 200, "", 0},
	})
	want := fmt.Sprintf(`{"subject":"s","version":1,"id":1,"metadata":{"properties":{"major":"1","owner":"a"}},`+
		`"ruleSet":{"domainRules":[{"name":"positiveId","kind":"CONDITION","mode":"WRITE","type":"CEL","expr":"message.id \u003e 0","disabled":false}]},"schema":%q}`, userV1)
	for _, in := range []*instance{a, b} {
		require.Eventually(t, func() bool {
			_, body := in.call(t, "GET", "/subjects/s/versions/1", nil)
			return body == want
		}, 10*time.Second, 20*time.Millisecond)
		runSteps(t, in, []step{
			{"config", "GET", "/config/s", nil, 200, `{"compatibilityLevel":"BACKWARD","compatibilityGroup":"major","defaultMetadata":{"properties":{"owner":"a"}}}`, 0},
			{"metadata lookup", "GET", "/subjects/s/metadata?key=major&value=1", nil, 200, want, 0},
		})
	}
}
