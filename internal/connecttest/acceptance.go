package connecttest

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sluicehq/sluice/runtime/connect"
)

// Spec describes a connector to the acceptance suite.
type Spec struct {
	// Plugin is the connector under test.
	Plugin connect.ConnectorPlugin
	// Config returns a valid connector config (without name and
	// connector.class). It is called once per check, so each can have its
	// own files, tables or topics.
	Config func(t *testing.T) map[string]string
	// Topic names the topic a source writes its records to, or a sink
	// reads them from, under config.
	Topic func(config map[string]string) string
	// ID returns the index of one record: for a source, from the value of
	// a record it wrote (decoded from schemaless JSON); for a sink, from
	// one item Written returned.
	ID func(value any) (int, error)

	// Produce makes records first, first+1, … first+n-1 appear at a
	// source (lines appended to a file, rows inserted); nil for a source
	// that generates records by itself.
	Produce func(t *testing.T, config map[string]string, first, n int)
	// OffsetFields names the committed offset fields a source task
	// resumes from, each of which the corrupt-offset check replaces with
	// values of the wrong type; nil means every non-null field.
	OffsetFields []string

	// Skip names checks (as "CorruptOffsetIsRefused/lsn=1.5", relative to
	// Acceptance's test) that are known to fail, with why: a finding to
	// fix, shown by go test -v, rather than a check quietly left out.
	Skip map[string]string

	// Value is the JSON value of record i a sink is fed (its index as a
	// JSON number when nil).
	Value func(i int) []byte
	// Written reads back, in order, what a sink wrote under config.
	Written func(t *testing.T, config map[string]string) []any

	// run runs a check as a subtest, honouring Skip.
	run func(t *testing.T, name string, check func(t *testing.T))
}

// The suite's bounds: how promptly Poll must see a cancelled context, how
// long stopped goroutines may take to exit, how long records may take.
const (
	cancelBound = 2 * time.Second
	leakSettle  = 5 * time.Second
	recordWait  = 60 * time.Second
)

// Acceptance runs the checks every connector must pass:
//
//   - RequiredKeys: /config/validate (the worker's validation) accepts the
//     config and refuses it without each required key, naming the key;
//   - StopIsIdempotentAndLeaksNothing: the connector and a task that ran
//     stop twice without error, and leave no goroutine behind;
//   - PollReturnsWhenCancelled (sources): Poll returns within 2s of its
//     context being cancelled;
//   - CorruptOffsetIsRefused (sources): a committed offset whose fields
//     have the wrong type fails Start or Poll with an error naming the
//     field, rather than a panic or a silent restart;
//   - ResumesAfterCommittedOffset: through the real worker, records
//     before and after a worker restart reach the topic (a source) or
//     the destination (a sink) exactly once each.
func Acceptance(t *testing.T, spec Spec) {
	t.Helper()
	if spec.Config == nil || spec.Topic == nil || spec.ID == nil {
		t.Fatal("acceptance: Spec needs Config, Topic and ID")
	}
	sink := spec.Plugin.Type() == connect.PluginSink
	if sink && spec.Written == nil {
		t.Fatal("acceptance: a sink's Spec needs Written")
	}
	root := t.Name() + "/"
	run := func(t *testing.T, name string, check func(t *testing.T)) {
		t.Helper()
		t.Run(name, func(t *testing.T) {
			if why, ok := spec.Skip[strings.TrimPrefix(t.Name(), root)]; ok {
				t.Skip("known failure: " + why)
			}
			check(t)
		})
	}
	spec.run = run
	run(t, "StopIsIdempotentAndLeaksNothing", func(t *testing.T) { checkStop(t, spec) })
	if !sink {
		run(t, "PollReturnsWhenCancelled", func(t *testing.T) { checkPollCancel(t, spec) })
		run(t, "CorruptOffsetIsRefused", func(t *testing.T) { checkCorruptOffset(t, spec) })
	}
	run(t, "RequiredKeys", func(t *testing.T) { checkRequiredKeys(t, spec) })
	run(t, "ResumesAfterCommittedOffset", func(t *testing.T) {
		if sink {
			checkSinkResume(t, spec)
		} else {
			checkSourceResume(t, spec)
		}
	})
}

// taskConfig runs the connector to get its first task's config.
func taskConfig(t *testing.T, spec Spec, config map[string]string) map[string]string {
	t.Helper()
	c := spec.Plugin.NewConnector()
	if err := c.Start(NewConnectorContext(t), maps.Clone(config)); err != nil {
		t.Fatalf("start connector: %v", err)
	}
	configs, err := c.TaskConfigs(1)
	if err != nil {
		t.Fatalf("task configs: %v", err)
	}
	if err := c.Stop(); err != nil {
		t.Fatalf("stop connector: %v", err)
	}
	if len(configs) == 0 {
		t.Fatal("connector gave no task config")
	}
	return configs[0]
}

func checkRequiredKeys(t *testing.T, spec Spec) {
	w := StartWorker(t, nil, []connect.ConnectorPlugin{spec.Plugin}, nil)
	config := spec.Config(t)
	config["name"] = resumeName
	if errs := w.ValidationErrors(spec.Plugin.Class, config); len(errs) > 0 {
		t.Fatalf("the valid config is refused: %v", errs)
	}
	for _, k := range spec.Plugin.Config {
		if !k.Required() || k.Unsupported != "" {
			continue
		}
		without := maps.Clone(config)
		delete(without, k.Name)
		errs := w.ValidationErrors(spec.Plugin.Class, without)
		if !slices.ContainsFunc(errs[k.Name], func(msg string) bool { return strings.Contains(msg, k.Name) }) {
			t.Errorf("a config without required key %s: validation errors %v, want one on %s naming it", k.Name, errs, k.Name)
		}
	}
}

func checkStop(t *testing.T, spec Spec) {
	config := spec.Config(t)
	before := Goroutines()

	c := spec.Plugin.NewConnector()
	if err := c.Start(NewConnectorContext(t), maps.Clone(config)); err != nil {
		t.Fatalf("start connector: %v", err)
	}
	configs, err := c.TaskConfigs(1)
	if err != nil || len(configs) == 0 {
		t.Fatalf("task configs: %v, %v", configs, err)
	}
	for i := range 2 {
		if err := c.Stop(); err != nil {
			t.Errorf("connector Stop #%d: %v", i+1, err)
		}
	}
	if spec.Plugin.Type() == connect.PluginSink {
		stopSink(t, spec, configs[0])
	} else {
		stopSource(t, spec, config, configs[0])
	}
	CheckNoLeak(t, before, leakSettle)
}

// resumeName is the connector the resume checks create.
const resumeName = "acceptance"

// checkExactlyOnce checks that ids are 0…n-1, each once, with at least
// one record past those written before the restart.
func checkExactlyOnce(t *testing.T, ids []int, before int) {
	t.Helper()
	seen := map[int]int{}
	for _, id := range ids {
		seen[id]++
	}
	var problems []string
	for id, n := range seen {
		if n > 1 {
			problems = append(problems, fmt.Sprintf("record %d %d times", id, n))
		}
	}
	for id := range len(seen) {
		if seen[id] == 0 {
			problems = append(problems, fmt.Sprintf("record %d missing", id))
		}
	}
	if len(seen) <= before {
		problems = append(problems, fmt.Sprintf("nothing new after the restart (%d records before it)", before))
	}
	slices.Sort(problems)
	if len(problems) > 0 {
		t.Errorf("records before and after a restart, %d before it: %s", before, strings.Join(problems, "; "))
	}
}
