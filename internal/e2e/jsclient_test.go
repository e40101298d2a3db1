package e2e

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sr"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/descriptorpb"

	"github.com/sluicehq/sluice/internal/testenv"
)

// jsClientDir is the npm project of testdata/jsclient (Confluent's
// @confluentinc/schemaregistry and kafkajs), installed once per
// package-lock.json, with its script next to its node_modules.
func jsClientDir(t *testing.T) string {
	t.Helper()
	return testenv.NPMProject(t, "testdata/jsclient", "testdata/jsclient/contracts.mjs")
}

// jsRun is what contracts.mjs saw for one format.
type jsRun struct {
	ID      int    `json:"id"`
	Refused string `json:"refused"`
	Header  []int  `json:"header"`
	Back    []struct {
		Key   string         `json:"key"`
		Value map[string]any `json:"value"`
	} `json:"back"`
	// ReadRefused holds the deserializer's errors for old, whose age
	// only the READ condition plausibleAge refuses.
	ReadRefused []string `json:"readRefused"`
}

// TestConfluentJSClientUp runs Confluent's JavaScript client
// (@confluentinc/schemaregistry) and kafkajs against `sluice up`: Avro,
// JSON Schema and Protobuf schemas registered with metadata (ssn tagged
// PII, name tagged INTERNAL) and a rule set (WRITE: CEL condition
// checkAge, CEL_FIELD maskPII; READ: condition plausibleAge, CEL_FIELD
// redactInternal), the Protobuf one importing srtest/money.proto, all in
// the serialized format. The client's serializers run the WRITE rules the
// registry serves — ssn masked, a negative age refused naming checkAge —
// and the records go through Sluice's broker and back through its
// deserializers, which run the READ rules: name redacted, old (aged 200,
// which no WRITE rule checks) refused naming plausibleAge. franz-go's sr
// client then reads the subjects, metadata and rule sets, and Sluice's
// Avro, JSON Schema and Protobuf converters in FileStreamSink connectors
// read what the JavaScript client wrote, running the same READ rules: the
// files hold the redacted names, and old goes to the dead letter queue
// with plausibleAge named.
func TestConfluentJSClientUp(t *testing.T) {
	js := jsClientDir(t)
	dir := t.TempDir()
	brokerAddr, restAddr, regAddr := freeAddr(t), freeAddr(t), freeAddr(t)
	log := &procLog{}
	dumpOnFailure(t, "sluice up", log)
	startProcUntil(t, log, workerReady, "up", "--data-dir", filepath.Join(dir, "data"),
		"--broker-addr", brokerAddr, "--rest-addr", restAddr, "--registry-addr", regAddr)
	srURL := "http://" + regAddr

	nodeCtx, stop := context.WithTimeout(context.Background(), 60*time.Second)
	defer stop()
	cmd := exec.CommandContext(nodeCtx, "node", "contracts.mjs")
	cmd.Dir = js
	cmd.Env = append(os.Environ(), "SR_URL="+srURL, "BROKER="+brokerAddr)
	start := time.Now()
	out, err := cmd.Output()
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		t.Fatalf("node contracts.mjs (killed after 60s if it hangs): %v\n%s", err, exit.Stderr)
	}
	require.NoError(t, err)
	t.Logf("node contracts.mjs took %s: %s", time.Since(start).Round(time.Millisecond), out)
	var got struct {
		Money struct{ ID, Version int }
		Avro  jsRun `json:"avro"`
		JSON  jsRun `json:"json"`
		Proto jsRun `json:"proto"`
	}
	require.NoError(t, json.Unmarshal(out, &got), "%s", out)

	person := func(name string) map[string]any {
		return map[string]any{"name": "redacted", "ssn": "XXX", "age": float64(map[string]int{"ada": 36, "bob": 41}[name])}
	}
	withBalance := func(name string) map[string]any {
		p := person(name)
		p["balance"] = map[string]any{"units": "42", "currency": "EUR"}
		return p
	}
	for _, c := range []struct {
		format string
		run    jsRun
		want   func(string) map[string]any
	}{
		{"avro", got.Avro, person},
		{"json", got.JSON, person},
		{"proto", got.Proto, withBalance},
	} {
		require.Len(t, c.run.Header, 6, c.format)
		assert.Equal(t, []int{0, 0, 0, 0, c.run.ID}, c.run.Header[:5], "%s: magic byte and the registered schema's id", c.format)
		if c.format == "proto" {
			assert.Equal(t, 0, c.run.Header[5], "proto: message indexes [0], written as a single 0")
		}
		assert.Contains(t, c.run.Refused, "checkAge", "%s: the condition refuses a negative age", c.format)
		require.Len(t, c.run.Back, 2, c.format)
		for _, r := range c.run.Back {
			assert.Equal(t, c.want(r.Key), r.Value, "%s: consumed from Sluice's broker with ssn masked (WRITE) and name redacted (READ)", c.format)
		}
		require.Len(t, c.run.ReadRefused, 1, "%s: the deserializer refuses old", c.format)
		assert.Contains(t, c.run.ReadRefused[0], "plausibleAge", "%s: the READ condition refuses an age of 200", c.format)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	jsCheckSRClient(ctx, t, srURL, got.Money.Version, got.Proto.ID)

	jsCheckSinks(t, "http://"+restAddr, srURL, brokerAddr, dir)
}

// jsCheckSRClient reads what the JavaScript client registered with
// franz-go's sr client.
func jsCheckSRClient(ctx context.Context, t *testing.T, srURL string, moneyVersion, personID int) {
	t.Helper()
	cl, err := sr.NewClient(sr.URLs(srURL))
	require.NoError(t, err)
	subjects, err := cl.Subjects(ctx)
	require.NoError(t, err)
	assert.ElementsMatch(t, []string{"people-avro-value", "people-json-value", "people-proto-value", "srtest/money.proto"}, subjects)

	money, err := cl.SchemaByVersion(ctx, "srtest/money.proto", -1)
	require.NoError(t, err)
	assert.Equal(t, moneyVersion, money.Version)
	assert.Equal(t, sr.TypeProtobuf, money.Type)
	assert.Contains(t, money.Schema.Schema, "message Money {", "served as .proto text by default")

	// The Protobuf schema, registered serialized, is served as text and,
	// on request, serialized again.
	person, err := cl.SchemaByID(ctx, personID)
	require.NoError(t, err)
	assert.Contains(t, person.Schema, `import "srtest/money.proto";`)
	assert.Contains(t, person.Schema, "message Person {")
	person, err = cl.SchemaByID(sr.WithParams(ctx, sr.Format("serialized")), personID)
	require.NoError(t, err)
	b, err := base64.StdEncoding.DecodeString(person.Schema)
	require.NoError(t, err, "format=serialized is base64: %s", person.Schema)
	var fdp descriptorpb.FileDescriptorProto
	require.NoError(t, proto.Unmarshal(b, &fdp))
	assert.Equal(t, []string{"srtest/money.proto"}, fdp.GetDependency())
	require.Len(t, fdp.GetMessageType(), 1)
	assert.Equal(t, "Person", fdp.GetMessageType()[0].GetName())
	assert.Len(t, fdp.GetMessageType()[0].GetField(), 4)

	checkAge := sr.SchemaRule{Name: "checkAge", Kind: sr.SchemaRuleKindCondition, Mode: sr.SchemaRuleModeWrite, Type: "CEL", Expr: "message.age >= 0"}
	plausibleAge := sr.SchemaRule{Name: "plausibleAge", Kind: sr.SchemaRuleKindCondition, Mode: sr.SchemaRuleModeRead, Type: "CEL", Expr: "message.age < 150"}
	plausibleAgeField := sr.SchemaRule{Name: "plausibleAge", Kind: sr.SchemaRuleKindCondition, Mode: sr.SchemaRuleModeRead, Type: "CEL_FIELD", Expr: "name == 'age' ; value < 150"}
	for subject, c := range map[string]struct {
		ssnPath                string
		checkAge, plausibleAge sr.SchemaRule
	}{
		"people-avro-value": {"User.ssn", checkAge, plausibleAgeField},
		"people-json-value": {"$.ssn", checkAge, plausibleAge},
		"people-proto-value": {"srtest.Person.ssn",
			sr.SchemaRule{Name: "checkAge", Kind: sr.SchemaRuleKindCondition, Mode: sr.SchemaRuleModeWrite, Type: "CEL_FIELD", Expr: "name == 'age' ; value >= 0"},
			plausibleAgeField},
	} {
		s, err := cl.SchemaByVersion(ctx, subject, -1)
		require.NoError(t, err, subject)
		require.NotNil(t, s.SchemaMetadata, subject)
		namePath := strings.TrimSuffix(c.ssnPath, "ssn") + "name"
		assert.Equal(t, map[string][]string{c.ssnPath: {"PII"}, namePath: {"INTERNAL"}}, s.SchemaMetadata.Tags, subject)
		assert.Equal(t, map[string]string{"owner": "team-a"}, s.SchemaMetadata.Properties, subject)
		require.NotNil(t, s.SchemaRuleSet, subject)
		rules := s.SchemaRuleSet.DomainRules
		require.Len(t, rules, 4, subject)
		assert.Equal(t, c.checkAge, jsRuleWithoutEmptyTags(rules[0]), subject)
		assert.Equal(t, sr.SchemaRule{Name: "maskPII", Kind: sr.SchemaRuleKindTransform, Mode: sr.SchemaRuleModeWrite,
			Type: "CEL_FIELD", Tags: []string{"PII"}, Expr: "name == 'ssn' ; 'XXX'"}, rules[1], subject)
		assert.Equal(t, c.plausibleAge, jsRuleWithoutEmptyTags(rules[2]), subject)
		assert.Equal(t, sr.SchemaRule{Name: "redactInternal", Kind: sr.SchemaRuleKindTransform, Mode: sr.SchemaRuleModeRead,
			Type: "CEL_FIELD", Tags: []string{"INTERNAL"}, Expr: "name == 'name' ; 'redacted'"}, rules[3], subject)
		if subject == "people-proto-value" {
			assert.Equal(t, []sr.SchemaReference{{Name: "srtest/money.proto", Subject: "srtest/money.proto", Version: moneyVersion}}, s.References)
		}
	}
}

func jsRuleWithoutEmptyTags(r sr.SchemaRule) sr.SchemaRule {
	if len(r.Tags) == 0 {
		r.Tags = nil
	}
	return r
}

// jsCheckSinks runs one FileStreamSink per topic with Sluice's converter for
// its format, reading the records the JavaScript client wrote. The
// converters run the READ rules of the writer's schema: the files hold
// names redacted, and old, which breaks plausibleAge, goes to the
// sink's dead letter queue with the rule named.
func jsCheckSinks(t *testing.T, base, srURL, brokerAddr, dir string) {
	t.Helper()
	converters := map[string]string{
		"avro":  "io.confluent.connect.avro.AvroConverter",
		"json":  "io.confluent.connect.json.JsonSchemaConverter",
		"proto": "io.confluent.connect.protobuf.ProtobufConverter",
	}
	files := map[string]string{}
	for format, class := range converters {
		files[format] = filepath.Join(dir, format+".txt")
		config := map[string]string{
			"connector.class":                     "FileStreamSink",
			"file":                                files[format],
			"topics":                              "people-" + format,
			"key.converter":                       "org.apache.kafka.connect.storage.StringConverter",
			"value.converter":                     class,
			"value.converter.schema.registry.url": srURL,
			"errors.tolerance":                    "all",
			"errors.deadletterqueue.topic.name":   "dlq-" + format,
			"errors.deadletterqueue.context.headers.enable": "true",
		}
		code := rest(t, "POST", base+"/connectors", map[string]any{"name": format + "-sink", "config": config}, nil)
		require.Equal(t, 201, code, "create %s-sink", format)
	}
	want := map[string][]string{
		"avro": {"Struct{name=redacted,ssn=XXX,age=36}", "Struct{name=redacted,ssn=XXX,age=41}"},
		// Without connect.index, the JSON Schema converter orders fields by name.
		"json":  {"Struct{age=36,name=redacted,ssn=XXX}", "Struct{age=41,name=redacted,ssn=XXX}"},
		"proto": {"Struct{name=redacted,ssn=XXX,age=36,balance=Struct{units=42,currency=EUR}}", "Struct{name=redacted,ssn=XXX,age=41,balance=Struct{units=42,currency=EUR}}"},
	}
	for format, file := range files {
		var lines []string
		deadline := time.Now().Add(30 * time.Second)
		for len(lines) < 2 && time.Now().Before(deadline) {
			b, _ := os.ReadFile(file)
			lines = strings.Split(strings.TrimSpace(string(b)), "\n")
			if lines[0] == "" {
				lines = nil
			}
			if len(lines) < 2 {
				time.Sleep(100 * time.Millisecond)
			}
		}
		var status connectorStatus
		rest(t, "GET", base+"/connectors/"+format+"-sink/status", nil, &status)
		assert.Equal(t, want[format], lines, "%s: %s reads what the JavaScript client wrote, name redacted (status %+v)", format, converters[format], status)
	}

	topics := make([]string, 0, len(converters))
	for format := range converters {
		topics = append(topics, "dlq-"+format)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokerAddr), kgo.ConsumeTopics(topics...),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.AllowAutoTopicCreation())
	require.NoError(t, err)
	defer cl.Close()
	dlq := map[string][]*kgo.Record{}
	for len(dlq) < len(converters) && ctx.Err() == nil {
		fetches := cl.PollFetches(ctx)
		fetches.EachRecord(func(r *kgo.Record) { dlq[r.Topic] = append(dlq[r.Topic], r) })
	}
	for format := range converters {
		recs := dlq["dlq-"+format]
		require.Len(t, recs, 1, "%s: the record that broke plausibleAge, in the dead letter queue", format)
		assert.Equal(t, "old", string(recs[0].Key), format)
		headers := map[string]string{}
		for _, h := range recs[0].Headers {
			headers[h.Key] = string(h.Value)
		}
		assert.Equal(t, "people-"+format, headers["__connect.errors.topic"], format)
		assert.Equal(t, "VALUE_CONVERTER", headers["__connect.errors.stage"], format)
		assert.Equal(t, converters[format], headers["__connect.errors.class.name"], format)
		msg := headers["__connect.errors.exception.message"]
		assert.Contains(t, msg, "plausibleAge", "%s: the DLQ names the READ rule the record broke (headers %v)", format, headers)
		assert.Contains(t, msg, "< 150", "%s: and its expression", format)
		require.NotEmpty(t, recs[0].Value, format)
		assert.Equal(t, byte(0), recs[0].Value[0], "%s: the record as the JavaScript client wrote it, magic byte first", format)
	}
	ends, err := kadm.NewClient(cl).ListEndOffsets(ctx, topics...)
	require.NoError(t, err)
	assert.Len(t, ends.Offsets(), len(converters))
	ends.Each(func(o kadm.ListedOffset) {
		assert.Equal(t, int64(1), o.Offset, "%s: only old broke a READ rule", o.Topic)
	})
}
