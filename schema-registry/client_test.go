package registry

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/hamba/avro/v2"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/sr"

	"github.com/sluicehq/sluice/internal/testenv"
)

type user struct {
	ID   int32  `avro:"id"`
	Name string `avro:"name"`
}

// TestFranzGoClient drives the registry with franz-go's pkg/sr: register,
// lookup, fetch by id and version, compatibility, and a serde round trip.
func TestFranzGoClient(t *testing.T) {
	in := startRegistry(t, testenv.StartBroker(t, nil), "")
	cl, err := sr.NewClient(sr.URLs(in.url))
	require.NoError(t, err)
	ctx := context.Background()

	created, err := cl.CreateSchema(ctx, "users-value", sr.Schema{Schema: userV2, Type: sr.TypeAvro})
	require.NoError(t, err)
	assert.Equal(t, 1, created.ID)
	assert.Equal(t, 1, created.Version)

	looked, err := cl.LookupSchema(ctx, "users-value", sr.Schema{Schema: userV2})
	require.NoError(t, err)
	assert.Equal(t, created.ID, looked.ID)

	byID, err := cl.SchemaByID(ctx, created.ID)
	require.NoError(t, err)
	assert.Equal(t, userV2, byID.Schema)
	assert.Equal(t, sr.TypeAvro, byID.Type)

	byVersion, err := cl.SchemaByVersion(ctx, "users-value", -1)
	require.NoError(t, err)
	assert.Equal(t, 1, byVersion.Version)

	compat, err := cl.CheckCompatibility(ctx, "users-value", -1, sr.Schema{Schema: userBad})
	require.NoError(t, err)
	assert.False(t, compat.Is)

	_, err = cl.CreateSchema(ctx, "users-value", sr.Schema{Schema: userBad})
	var re *sr.ResponseError
	require.ErrorAs(t, err, &re)
	assert.Equal(t, http.StatusConflict, re.StatusCode)

	schema, err := avro.Parse(byID.Schema)
	require.NoError(t, err)
	var serde sr.Serde
	serde.Register(created.ID, user{},
		sr.EncodeFn(func(v any) ([]byte, error) { return avro.Marshal(schema, v) }),
		sr.DecodeFn(func(b []byte, v any) error { return avro.Unmarshal(schema, b, v) }))
	b, err := serde.Encode(user{ID: 7, Name: "ada"})
	require.NoError(t, err)
	assert.Equal(t, []byte{0, 0, 0, 0, 1}, b[:5])
	var got user
	require.NoError(t, serde.Decode(b, &got))
	assert.Equal(t, user{ID: 7, Name: "ada"}, got)
}

// TestRestartRebuildsFromTopic checks a new registry on the same topic
// serves the same ids, versions, deletes and config.
func TestRestartRebuildsFromTopic(t *testing.T) {
	broker := testenv.StartBroker(t, nil)
	first := startRegistry(t, broker, "")
	runSteps(t, first, []step{
		{"a1", "POST", "/subjects/a/versions", schemaBody(userV1), 200, `{"id":1}`, 0},
		{"a2", "POST", "/subjects/a/versions", schemaBody(userV2), 200, `{"id":2}`, 0},
		{"b1", "POST", "/subjects/b/versions", schemaBody(userV3), 200, `{"id":3}`, 0},
		{"delete a2", "DELETE", "/subjects/a/versions/2", nil, 200, "", 0},
		{"config", "PUT", "/config/b", map[string]string{"compatibility": "NONE"}, 200, "", 0},
		{"mode", "PUT", "/mode/b", map[string]string{"mode": "READONLY"}, 200, "", 0},
	})
	second := startRegistry(t, broker, "")
	runSteps(t, second, []step{
		{"subjects", "GET", "/subjects", nil, 200, `["a","b"]`, 0},
		{"a versions", "GET", "/subjects/a/versions?deleted=true", nil, 200, `[1,2]`, 0},
		{"a live", "GET", "/subjects/a/versions", nil, 200, `[1]`, 0},
		{"id 3", "GET", "/schemas/ids/3/versions", nil, 200, `[{"subject":"b","version":1}]`, 0},
		{"config", "GET", "/config/b", nil, 200, `{"compatibilityLevel":"NONE"}`, 0},
		{"mode", "GET", "/mode/b", nil, 200, `{"mode":"READONLY"}`, 0},
		{"next id", "POST", "/subjects/c/versions", schemaBody(`"string"`), 200, `{"id":4}`, 0},
	})
}

// BenchmarkGetSchemaByID measures cached GET /schemas/ids/{id} through
// the handler.
func BenchmarkGetSchemaByID(b *testing.B) {
	in := startRegistry(b, testenv.StartBroker(b, nil), "")
	status, body := in.call(b, "POST", "/subjects/s/versions", schemaBody(userV3))
	require.Equal(b, 200, status, body)
	h := in.srv.Handler()
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			w := httptest.NewRecorder()
			h.ServeHTTP(w, httptest.NewRequest("GET", "/schemas/ids/1", nil))
			if w.Code != 200 {
				b.Fatal(w.Code, w.Body.String())
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
}

// TestFranzGoClientProtobufAndParams drives the Protobuf formats, a
// subject named after a file path and the listing parameters through
// franz-go's client, which escapes subjects with url.PathEscape.
func TestFranzGoClientProtobufAndParams(t *testing.T) {
	in := startRegistry(t, testenv.StartBroker(t, nil), "")
	cl, err := sr.NewClient(sr.URLs(in.url))
	require.NoError(t, err)
	ctx := context.Background()

	money, err := cl.CreateSchema(ctx, "srtest/money.proto", sr.Schema{Schema: moneyProto, Type: sr.TypeProtobuf})
	require.NoError(t, err)
	subjects, err := cl.Subjects(ctx)
	require.NoError(t, err)
	assert.Equal(t, []string{"srtest/money.proto"}, subjects)

	ref := sr.SchemaReference{Name: "srtest/money.proto", Subject: "srtest/money.proto", Version: money.Version}
	moneyResolved := ResolvedReference{Reference: Reference{Name: ref.Name, Subject: ref.Subject, Version: ref.Version},
		Type: TypeProtobuf, Schema: moneyProto}
	order, err := cl.CreateSchema(ctx, "orders-value", sr.Schema{
		Schema: serialize(t, orderProto, "srtest/order.proto", moneyResolved), Type: sr.TypeProtobuf,
		References: []sr.SchemaReference{ref},
	})
	require.NoError(t, err)

	text, err := cl.SchemaByVersion(ctx, "orders-value", -1)
	require.NoError(t, err)
	assert.Contains(t, text.Schema.Schema, "message Order {")
	serialized, err := cl.SchemaByVersion(sr.WithParams(ctx, sr.Format("serialized")), "orders-value", -1)
	require.NoError(t, err)
	assert.Equal(t, "Order", descriptorFrom(t, serialized.Schema.Schema).GetMessageType()[0].GetName())
	byID, err := cl.SchemaByID(sr.WithParams(ctx, sr.Format("serialized")), order.ID)
	require.NoError(t, err)
	assert.Equal(t, serialized.Schema.Schema, byID.Schema)

	deleted, err := cl.DeleteSubject(ctx, "srtest/money.proto", sr.SoftDelete)
	var re *sr.ResponseError
	require.ErrorAs(t, err, &re, "still referenced: %v", deleted)
	assert.Equal(t, codeReferenceExists, re.ErrorCode)
	_, err = cl.DeleteSubject(ctx, "orders-value", sr.SoftDelete)
	require.NoError(t, err)
	_, err = cl.CreateSchema(ctx, "live", sr.Schema{Schema: moneyProto, Type: sr.TypeProtobuf})
	require.NoError(t, err)
	deletedOnly, err := cl.Subjects(sr.WithParams(ctx, sr.DeletedOnly))
	require.NoError(t, err)
	assert.Equal(t, []string{"orders-value"}, deletedOnly)
	paged, err := cl.Subjects(sr.WithParams(ctx, sr.ShowDeleted, sr.Offset(1), sr.Limit(1)))
	require.NoError(t, err)
	assert.Equal(t, []string{"orders-value"}, paged)
	all, err := cl.AllSchemas(sr.WithParams(ctx, sr.ShowDeleted))
	require.NoError(t, err)
	require.Len(t, all, 3)
	assert.Equal(t, "srtest/money.proto", all[2].Subject)
	assert.Equal(t, sr.TypeProtobuf, all[2].Type)
}
