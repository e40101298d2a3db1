package datagen

import (
	"context"
	"maps"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sluicehq/sluice/internal/connecttest"
	"github.com/sluicehq/sluice/runtime/connect"
)

func taskConfig(extra map[string]string) map[string]string {
	cfg := map[string]string{TopicConfig: "gen", MaxIntervalConfig: "0", RandomSeedConfig: "42", TaskIDConfig: "0"}
	maps.Copy(cfg, extra)
	return cfg
}

// contextWith returns a task context whose task 0 committed offset.
func contextWith(t *testing.T, cfg map[string]string, offset map[string]any) *connecttest.SourceContext {
	t.Helper()
	ctx := connecttest.NewSourceContext(t, cfg)
	require.NoError(t, ctx.Offsets.Put(map[string]any{taskField: 0}, offset))
	return ctx
}

func startTask(t *testing.T, cfg map[string]string, committed map[string]any) *task {
	t.Helper()
	tk := Plugin.NewSourceTask().(*task)
	require.NoError(t, tk.Start(contextWith(t, cfg, committed), cfg))
	t.Cleanup(func() { assert.NoError(t, tk.Stop()) })
	return tk
}

func poll(t *testing.T, tk *task) []*connect.Record {
	t.Helper()
	recs, err := tk.Poll(context.Background())
	require.NoError(t, err)
	return recs
}

func TestQuickstartSchemas(t *testing.T) {
	for _, tc := range []struct {
		quickstart string
		name       string
		fields     []string
		keyPrefix  string
		keyField   string
	}{
		{"users", "ksql.users", []string{"registertime", "userid", "regionid", "gender", "seq"}, "User_", "userid"},
		{"pageviews", "ksql.pageviews", []string{"viewtime", "userid", "pageid", "seq"}, "User_", "userid"},
		{"orders", "ksql.orders", []string{"ordertime", "orderid", "itemid", "orderunits", "address", "seq"}, "Item_", "itemid"},
		{"BENCH", "io.sluice.datagen.Bench", []string{"seq", "task", "ts", "payload"}, "key_", ""},
	} {
		t.Run(tc.quickstart, func(t *testing.T) {
			recs := poll(t, startTask(t, taskConfig(map[string]string{QuickstartConfig: tc.quickstart, BatchSizeConfig: "3"}), nil))
			require.Len(t, recs, 3)
			for i, r := range recs {
				assert.Equal(t, "gen", r.Topic)
				assert.Equal(t, connect.AnyPartition, r.Partition)
				assert.Same(t, connect.StringSchema, r.KeySchema)
				assert.Contains(t, r.Key, tc.keyPrefix)
				assert.Equal(t, tc.name, r.ValueSchema.Name)
				var names []string
				for _, f := range r.ValueSchema.Fields {
					names = append(names, f.Name)
				}
				assert.Equal(t, tc.fields, names)
				v := r.Value.(*connect.Struct)
				require.NoError(t, v.Validate(), "every field set with its schema's type")
				seq, _ := v.Get("seq")
				assert.Equal(t, int64(i), seq)
				if tc.keyField != "" {
					k, _ := v.Get(tc.keyField)
					assert.Equal(t, r.Key, k, "the key is the value's %s", tc.keyField)
				}
				assert.Equal(t, map[string]any{"task": int64(0)}, r.SourcePartition)
				assert.Equal(t, map[string]any{"seq": int64(i)}, r.SourceOffset)
			}
		})
	}
}

func TestBenchPayloadSize(t *testing.T) {
	recs := poll(t, startTask(t, taskConfig(map[string]string{QuickstartConfig: "bench", MessageSizeConfig: "300", BatchSizeConfig: "50"}), nil))
	distinct := map[string]bool{}
	for _, r := range recs {
		p, _ := r.Value.(*connect.Struct).Get("payload")
		assert.Len(t, p, 300)
		distinct[p.(string)] = true
	}
	assert.Greater(t, len(distinct), 40, "payloads vary between records")
}

func TestKeyCardinality(t *testing.T) {
	for _, card := range []string{"5", "100000"} { // from the prebuilt table and built per record
		t.Run(card, func(t *testing.T) {
			tk := startTask(t, taskConfig(map[string]string{KeyCardinalityConfig: card, BatchSizeConfig: "2000"}), nil)
			keys := map[any]bool{}
			for _, r := range poll(t, tk) {
				keys[r.Key] = true
			}
			if card == "5" {
				assert.Len(t, keys, 5)
			} else {
				assert.Greater(t, len(keys), 1900)
			}
		})
	}
}

func TestIterationsStop(t *testing.T) {
	tk := startTask(t, taskConfig(map[string]string{IterationsConfig: "5", BatchSizeConfig: "3"}), nil)
	assert.Len(t, poll(t, tk), 3)
	assert.Len(t, poll(t, tk), 2)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel()
	recs, err := tk.Poll(ctx)
	require.NoError(t, err)
	assert.Empty(t, recs, "done: idle until stopped")
}

func TestResumeAfterCommittedSeq(t *testing.T) {
	fresh := poll(t, startTask(t, taskConfig(map[string]string{BatchSizeConfig: "20"}), nil))
	for _, committed := range []any{int64(9), float64(9)} {
		resumed := poll(t, startTask(t, taskConfig(map[string]string{BatchSizeConfig: "10"}), map[string]any{seqField: committed}))
		require.Len(t, resumed, 10)
		for i, r := range resumed {
			assert.Equal(t, fresh[10+i].Key, r.Key)
			assert.True(t, connect.ValuesEqual(fresh[10+i].Value, r.Value), "seq %d regenerates the same value", 10+i)
		}
	}
	// iterations count the task's whole life, across restarts.
	tk := startTask(t, taskConfig(map[string]string{IterationsConfig: "12"}), map[string]any{seqField: int64(9)})
	assert.Len(t, poll(t, tk), 2)
}

func TestResumeRejectsBadOffset(t *testing.T) {
	tk := Plugin.NewSourceTask()
	for seq, want := range map[any]string{
		"nine":    `resume task 0: committed seq nine: invalid source offset: key "seq" holds string nine, not an integer`,
		9.5:       `resume task 0: committed seq 9.5: invalid source offset: key "seq" holds float64 9.5, not an integer`,
		int64(-2): "resume task 0: committed seq -2: invalid source offset: a seq is not negative",
	} {
		err := tk.Start(contextWith(t, taskConfig(nil), map[string]any{seqField: seq}), taskConfig(nil))
		require.ErrorIs(t, err, connect.ErrOffset)
		require.EqualError(t, err, want)
	}
}

func TestDeterminism(t *testing.T) {
	gen := func(seed, taskID string) []*connect.Record {
		return poll(t, startTask(t, taskConfig(map[string]string{QuickstartConfig: "orders", RandomSeedConfig: seed, TaskIDConfig: taskID, BatchSizeConfig: "20"}), nil))
	}
	same := func(a, b []*connect.Record) bool {
		for i := range a {
			if a[i].Key != b[i].Key || !connect.ValuesEqual(a[i].Value, b[i].Value) {
				return false
			}
		}
		return true
	}
	assert.True(t, same(gen("7", "0"), gen("7", "0")), "same seed, same task: same records")
	assert.False(t, same(gen("7", "0"), gen("8", "0")), "another seed: other records")
	assert.False(t, same(gen("7", "0"), gen("7", "1")), "another task: other records")
}

func TestRate(t *testing.T) {
	// rate replaces max.interval, which alone would allow one record a minute.
	tk := startTask(t, taskConfig(map[string]string{RateConfig: "500", MaxIntervalConfig: "60000", BatchSizeConfig: "1000"}), nil)
	start := time.Now()
	n := 0
	for time.Since(start) < 400*time.Millisecond {
		n += len(poll(t, tk))
	}
	elapsed := time.Since(start).Seconds()
	assert.InDelta(t, 500*elapsed, n, 500*elapsed*0.25, "%d records in %.2fs", n, elapsed)
}

func TestMaxInterval(t *testing.T) {
	tk := startTask(t, taskConfig(map[string]string{MaxIntervalConfig: "20"}), nil)
	start := time.Now()
	n := 0
	for time.Since(start) < 400*time.Millisecond {
		n += len(poll(t, tk))
	}
	// Gaps average 10ms: about 40 records.
	assert.Greater(t, n, 20)
	assert.Less(t, n, 80)
}

func TestPollReturnsOnCancel(t *testing.T) {
	for _, cfg := range []map[string]string{
		{RateConfig: "0.001"},
		{MaxIntervalConfig: "3600000"},
		{IterationsConfig: "1"},
	} {
		tk := startTask(t, taskConfig(cfg), nil)
		poll(t, tk) // the first record is due at once
		ctx, cancel := context.WithCancel(context.Background())
		time.AfterFunc(20*time.Millisecond, cancel)
		start := time.Now()
		recs, err := tk.Poll(ctx)
		require.NoError(t, err)
		assert.Empty(t, recs)
		assert.Less(t, time.Since(start), 500*time.Millisecond, "%v", cfg)
	}
}

func TestConfigErrors(t *testing.T) {
	for _, tc := range []struct {
		name  string
		props map[string]string
		key   string
		want  string
	}{
		{"missing topic", map[string]string{}, TopicConfig, `Missing required configuration "kafka.topic" which has no default value.`},
		{"empty topic", map[string]string{TopicConfig: ""}, TopicConfig, "String must be non-empty"},
		{"unknown quickstart", map[string]string{TopicConfig: "t", QuickstartConfig: "clicks"}, QuickstartConfig,
			"Invalid value clicks for configuration quickstart: String must be one of: users, pageviews, orders, bench"},
		{"negative rate", map[string]string{TopicConfig: "t", RateConfig: "-1"}, RateConfig, "Value must be at least 0"},
		{"zero cardinality", map[string]string{TopicConfig: "t", KeyCardinalityConfig: "0"}, KeyCardinalityConfig, "Value must be at least 1"},
		{"zero batch", map[string]string{TopicConfig: "t", BatchSizeConfig: "0"}, BatchSizeConfig, "Value must be at least 1"},
		{"huge message", map[string]string{TopicConfig: "t", MessageSizeConfig: "999999999"}, MessageSizeConfig, "Value must be no more than"},
		{"seed not a number", map[string]string{TopicConfig: "t", RandomSeedConfig: "x"}, RandomSeedConfig, "Not a number of type LONG"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var errs []string
			for _, r := range Plugin.Config.Validate(tc.props) {
				if r.Name == tc.key {
					errs = r.Errors
				}
			}
			require.Len(t, errs, 1)
			assert.Contains(t, errs[0], tc.want)
			assert.ErrorIs(t, Plugin.NewConnector().Start(connecttest.NewConnectorContext(t), tc.props), connect.ErrConfig)
		})
	}
	err := Plugin.NewSourceTask().Start(connecttest.NewSourceContext(t, nil), taskConfig(map[string]string{TaskIDConfig: "x"}))
	assert.ErrorIs(t, err, connect.ErrConfig)
}

func TestTaskConfigs(t *testing.T) {
	c := Plugin.NewConnector()
	require.NoError(t, c.Start(connecttest.NewConnectorContext(t), map[string]string{TopicConfig: "t"}))
	cfgs, err := c.TaskConfigs(3)
	require.NoError(t, err)
	require.Len(t, cfgs, 3)
	for i, cfg := range cfgs {
		assert.Equal(t, map[string]string{TopicConfig: "t", TaskIDConfig: string(rune('0' + i))}, cfg)
	}
	assert.True(t, connect.MatchesClass(Plugin.Class, Plugin.Aliases, "io.confluent.kafka.connect.datagen.DatagenConnector"))
	assert.True(t, connect.MatchesClass(Plugin.Class, Plugin.Aliases, "DatagenConnector"))
}

func TestPacerDoesNotBurstAfterStall(t *testing.T) {
	p := pacer{rate: 1000}
	ctx := context.Background()
	require.Equal(t, 1, p.take(ctx, 10000))
	p.start = p.start.Add(-5 * time.Second) // the task was stalled for 5s
	assert.Equal(t, 1, p.take(ctx, 10000), "the schedule restarts instead of releasing 5000 records")

	q := pacer{maxInterval: time.Millisecond}
	require.Equal(t, 1, q.take(ctx, 10000))
	q.next = q.next.Add(-5 * time.Second)
	assert.Less(t, q.take(ctx, 10000), 100)
}
