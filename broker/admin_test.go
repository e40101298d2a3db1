package broker_test

import (
	"context"
	"testing"
	"time"

	"github.com/sluicehq/sluice/broker/log"
	"github.com/sluicehq/sluice/internal/testenv"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"github.com/twmb/franz-go/pkg/kversion"
)

// newAdmin returns an admin client (and its kgo client, for raw requests)
// for the broker at addr, closed when the test ends.
func newAdmin(t *testing.T, addr string) (*kadm.Client, *kgo.Client) {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr))
	require.NoError(t, err)
	t.Cleanup(cl.Close)
	return kadm.NewClient(cl), cl
}

func adminCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// topicConfigs describes one topic's configs, keyed by name.
func topicConfigs(t *testing.T, adm *kadm.Client, topic string) map[string]*kadm.Config {
	t.Helper()
	rcs, err := adm.DescribeTopicConfigs(adminCtx(t), topic)
	require.NoError(t, err)
	rc, err := rcs.On(topic, nil)
	require.NoError(t, err)
	require.NoError(t, rc.Err, rc.ErrMessage)
	out := map[string]*kadm.Config{}
	for _, c := range rc.Configs {
		out[c.Key] = &c
	}
	return out
}

// topicMetadata asks the broker for one topic's metadata, bypassing the
// client's metadata cache.
func topicMetadata(t *testing.T, cl *kgo.Client, topic string) kmsg.MetadataResponseTopic {
	t.Helper()
	req := kmsg.NewPtrMetadataRequest()
	rt := kmsg.NewMetadataRequestTopic()
	rt.Topic = kmsg.StringPtr(topic)
	req.Topics = append(req.Topics, rt)
	resp, err := req.RequestWith(adminCtx(t), cl)
	require.NoError(t, err)
	require.Len(t, resp.Topics, 1)
	return resp.Topics[0]
}

func topicExists(t *testing.T, cl *kgo.Client, topic string) bool {
	t.Helper()
	return topicMetadata(t, cl, topic).ErrorCode == 0
}

func partitionCount(t *testing.T, cl *kgo.Client, topic string) int {
	t.Helper()
	mt := topicMetadata(t, cl, topic)
	require.Zero(t, mt.ErrorCode)
	return len(mt.Partitions)
}

func TestAdminCreateTopics(t *testing.T) {
	b := testenv.StartBroker(t, map[string]string{"num.partitions": "2"})
	adm, cl := newAdmin(t, b.Addr)
	ctx := adminCtx(t)

	t.Run("with configs", func(t *testing.T) {
		resp, err := adm.CreateTopic(ctx, 3, 1, map[string]*string{
			"retention.ms":   kadm.StringPtr("3600000"),
			"cleanup.policy": kadm.StringPtr("compact"),
		}, "orders")
		require.NoError(t, err, resp.ErrMessage)
		assert.NotEqual(t, kadm.TopicID{}, resp.ID)
		assert.Equal(t, int32(3), resp.NumPartitions)
		assert.Equal(t, int16(1), resp.ReplicationFactor)
		assert.Len(t, resp.Configs, len(log.TopicConfigDefs()))
		retention := resp.Configs["retention.ms"]
		assert.Equal(t, "3600000", retention.MaybeValue())
		assert.Equal(t, kmsg.ConfigSourceDynamicTopicConfig, resp.Configs["retention.ms"].Source)
		assert.Equal(t, kmsg.ConfigSourceDefaultConfig, resp.Configs["segment.bytes"].Source)
		assert.Equal(t, 3, partitionCount(t, cl, "orders"))
		assert.Equal(t, "compact", topicConfigs(t, adm, "orders")["cleanup.policy"].MaybeValue())
	})

	t.Run("broker defaults for -1", func(t *testing.T) {
		resp, err := adm.CreateTopic(ctx, -1, -1, nil, "defaults")
		require.NoError(t, err, resp.ErrMessage)
		assert.Equal(t, int32(2), resp.NumPartitions)
		assert.Equal(t, 2, partitionCount(t, cl, "defaults"))
	})

	t.Run("validate only creates nothing", func(t *testing.T) {
		resps, err := adm.ValidateCreateTopics(ctx, 4, 1, map[string]*string{"retention.ms": kadm.StringPtr("1000")}, "dry")
		require.NoError(t, err)
		require.NoError(t, resps["dry"].Err, resps["dry"].ErrMessage)
		assert.Equal(t, int32(4), resps["dry"].NumPartitions)
		assert.Equal(t, kadm.TopicID{}, resps["dry"].ID)
		assert.False(t, topicExists(t, cl, "dry"))
		// And the name is still free.
		resp, err := adm.CreateTopic(ctx, 1, 1, nil, "dry")
		require.NoError(t, err, resp.ErrMessage)
	})

	dotted, err := adm.CreateTopic(ctx, 1, 1, nil, "my.events")
	require.NoError(t, err, dotted.ErrMessage)

	refused := []struct {
		name       string
		partitions int32
		rf         int16
		configs    map[string]*string
		topic      string
		want       error
		msg        string
	}{
		{"replication factor 3", 1, 3, nil, "rf3", kerr.InvalidReplicationFactor, "single-node"},
		{"replication factor 0", 1, 0, nil, "rf0", kerr.InvalidReplicationFactor, ""},
		{"zero partitions", 0, 1, nil, "p0", kerr.InvalidPartitions, ""},
		{"unknown config key", 1, 1, map[string]*string{"no.such.config": kadm.StringPtr("1")}, "badkey", kerr.InvalidConfig, "no.such.config"},
		{"bad config value", 1, 1, map[string]*string{"retention.ms": kadm.StringPtr("soon")}, "badvalue", kerr.InvalidConfig, "retention.ms"},
		{"null config value", 1, 1, map[string]*string{"retention.ms": nil}, "nullvalue", kerr.InvalidConfig, "retention.ms"},
		{"already exists", 1, 1, nil, "my.events", kerr.TopicAlreadyExists, "my.events"},
		{"invalid name", 1, 1, nil, "bad/name", kerr.InvalidTopicException, ""},
		{"dot name", 1, 1, nil, "..", kerr.InvalidTopicException, ""},
		{"collides with existing", 1, 1, nil, "my_events", kerr.InvalidTopicException, "my.events"},
	}
	for _, c := range refused {
		t.Run(c.name, func(t *testing.T) {
			resps, err := adm.CreateTopics(ctx, c.partitions, c.rf, c.configs, c.topic)
			require.NoError(t, err)
			r := resps[c.topic]
			require.ErrorIs(t, r.Err, c.want)
			assert.Contains(t, r.ErrMessage, c.msg)
			if c.want != kerr.TopicAlreadyExists {
				assert.False(t, topicExists(t, cl, c.topic))
			}
		})
	}
	t.Run("duplicate topic in one request", func(t *testing.T) {
		req := kmsg.NewPtrCreateTopicsRequest()
		for range 2 {
			rt := kmsg.NewCreateTopicsRequestTopic()
			rt.Topic, rt.NumPartitions, rt.ReplicationFactor = "twice", 1, 1
			req.Topics = append(req.Topics, rt)
		}
		resp, err := req.RequestWith(ctx, cl)
		require.NoError(t, err)
		require.Len(t, resp.Topics, 1)
		assert.Equal(t, kerr.InvalidRequest.Code, resp.Topics[0].ErrorCode)
		assert.False(t, topicExists(t, cl, "twice"))
	})

	t.Run("manual replica assignment", func(t *testing.T) {
		create := func(topic string, replicas ...[]int32) kmsg.CreateTopicsResponseTopic {
			req := kmsg.NewPtrCreateTopicsRequest()
			rt := kmsg.NewCreateTopicsRequestTopic()
			rt.Topic, rt.NumPartitions, rt.ReplicationFactor = topic, -1, -1
			for i, r := range replicas {
				a := kmsg.NewCreateTopicsRequestTopicReplicaAssignment()
				a.Partition, a.Replicas = int32(i), r
				rt.ReplicaAssignment = append(rt.ReplicaAssignment, a)
			}
			req.Topics = append(req.Topics, rt)
			resp, err := req.RequestWith(ctx, cl)
			require.NoError(t, err)
			require.Len(t, resp.Topics, 1)
			return resp.Topics[0]
		}
		ok := create("assigned", []int32{1}, []int32{1})
		require.Zero(t, ok.ErrorCode, ok.ErrorMessage)
		assert.Equal(t, 2, partitionCount(t, cl, "assigned"))
		other := create("elsewhere", []int32{1}, []int32{1, 2})
		assert.Equal(t, kerr.InvalidReplicaAssignment.Code, other.ErrorCode)
		require.NotNil(t, other.ErrorMessage)
		assert.Contains(t, *other.ErrorMessage, "single-node")
		dup := create("dupreplica", []int32{1, 1})
		assert.Equal(t, kerr.InvalidReplicaAssignment.Code, dup.ErrorCode)
	})
}

func TestAdminDescribeConfigs(t *testing.T) {
	b := testenv.StartBroker(t, map[string]string{"log.retention.ms": "7200000"})
	adm, cl := newAdmin(t, b.Addr)
	ctx := adminCtx(t)
	resp, err := adm.CreateTopic(ctx, 1, 1, map[string]*string{"segment.bytes": kadm.StringPtr("1048576")}, "described")
	require.NoError(t, err, resp.ErrMessage)

	cfgs := topicConfigs(t, adm, "described")
	require.Len(t, cfgs, len(log.TopicConfigDefs()))
	for _, want := range []string{"cleanup.policy", "retention.ms", "segment.bytes", "max.message.bytes", "compression.type", "min.insync.replicas", "message.timestamp.type"} {
		assert.Contains(t, cfgs, want)
	}

	seg := cfgs["segment.bytes"]
	assert.Equal(t, "1048576", seg.MaybeValue())
	assert.Equal(t, kmsg.ConfigSourceDynamicTopicConfig, seg.Source)
	require.Len(t, seg.Synonyms, 2)
	assert.Equal(t, kadm.ConfigSynonym{Key: "segment.bytes", Value: kadm.StringPtr("1048576"), Source: kmsg.ConfigSourceDynamicTopicConfig}, seg.Synonyms[0])
	assert.Equal(t, kadm.ConfigSynonym{Key: "log.segment.bytes", Value: kadm.StringPtr("1073741824"), Source: kmsg.ConfigSourceDefaultConfig}, seg.Synonyms[1])

	ret := cfgs["retention.ms"]
	assert.Equal(t, "7200000", ret.MaybeValue())
	assert.Equal(t, kmsg.ConfigSourceStaticBrokerConfig, ret.Source)
	require.Len(t, ret.Synonyms, 2)
	assert.Equal(t, "log.retention.ms", ret.Synonyms[0].Key)
	assert.Equal(t, kmsg.ConfigSourceStaticBrokerConfig, ret.Synonyms[0].Source)
	assert.Equal(t, "604800000", *ret.Synonyms[1].Value)

	pol := cfgs["cleanup.policy"]
	assert.Equal(t, "delete", pol.MaybeValue())
	assert.Equal(t, kmsg.ConfigSourceDefaultConfig, pol.Source)

	// Raw requests go straight to the broker: the client would route a
	// broker resource named "7" to a node 7 that does not exist.
	describeWith := func(cl *kgo.Client, rr kmsg.DescribeConfigsRequestResource) kmsg.DescribeConfigsResponseResource {
		req := kmsg.NewPtrDescribeConfigsRequest()
		req.IncludeDocumentation = true
		req.Resources = append(req.Resources, rr)
		resp, err := req.RequestWith(ctx, cl.Broker(1))
		require.NoError(t, err)
		require.Len(t, resp.Resources, 1)
		return resp.Resources[0]
	}
	describe := func(rr kmsg.DescribeConfigsRequestResource) kmsg.DescribeConfigsResponseResource {
		return describeWith(cl, rr)
	}
	topicResource := func(name string, configs ...string) kmsg.DescribeConfigsRequestResource {
		rr := kmsg.NewDescribeConfigsRequestResource()
		rr.ResourceType, rr.ResourceName, rr.ConfigNames = kmsg.ConfigResourceTypeTopic, name, configs
		return rr
	}

	t.Run("filter, type and documentation", func(t *testing.T) {
		r := describe(topicResource("described", "retention.ms", "cleanup.policy"))
		require.Zero(t, r.ErrorCode)
		require.Len(t, r.Configs, 2)
		for _, c := range r.Configs {
			require.NotNil(t, c.Documentation, c.Name)
			assert.NotEmpty(t, *c.Documentation, c.Name)
			assert.False(t, c.ReadOnly)
			assert.False(t, c.IsSensitive)
			assert.Empty(t, c.ConfigSynonyms, "synonyms were not asked for")
			switch c.Name {
			case "retention.ms":
				assert.Equal(t, kmsg.ConfigTypeLong, c.ConfigType)
			case "cleanup.policy":
				assert.Equal(t, kmsg.ConfigTypeList, c.ConfigType)
			default:
				t.Errorf("config %s was not asked for", c.Name)
			}
		}
	})

	t.Run("v0 is_default", func(t *testing.T) {
		v0 := kversion.Stable()
		v0.SetMaxKeyVersion(kmsg.DescribeConfigs.Int16(), 0)
		cl0, err := kgo.NewClient(kgo.SeedBrokers(b.Addr), kgo.MaxVersions(v0))
		require.NoError(t, err)
		defer cl0.Close()
		require.NoError(t, cl0.Ping(ctx))
		r := describeWith(cl0, topicResource("described", "segment.bytes", "cleanup.policy"))
		require.Zero(t, r.ErrorCode)
		def := map[string]bool{}
		for _, c := range r.Configs {
			def[c.Name] = c.IsDefault
		}
		assert.Equal(t, map[string]bool{"segment.bytes": false, "cleanup.policy": true}, def)
	})

	t.Run("unknown topic", func(t *testing.T) {
		r := describe(topicResource("missing"))
		assert.Equal(t, kerr.UnknownTopicOrPartition.Code, r.ErrorCode)
		assert.Empty(t, r.Configs)
	})

	t.Run("unknown resource type", func(t *testing.T) {
		rr := kmsg.NewDescribeConfigsRequestResource()
		rr.ResourceType, rr.ResourceName = kmsg.ConfigResourceTypeGroupConfig, "g"
		r := describe(rr)
		assert.Equal(t, kerr.InvalidRequest.Code, r.ErrorCode)
	})

	t.Run("broker", func(t *testing.T) {
		for _, name := range []string{"", "1"} {
			rr := kmsg.NewDescribeConfigsRequestResource()
			rr.ResourceType, rr.ResourceName = kmsg.ConfigResourceTypeBroker, name
			r := describe(rr)
			require.Zero(t, r.ErrorCode, name)
			got := map[string]kmsg.DescribeConfigsResponseResourceConfig{}
			for _, c := range r.Configs {
				assert.True(t, c.ReadOnly, c.Name)
				got[c.Name] = c
			}
			require.Contains(t, got, "log.retention.ms")
			assert.Equal(t, "7200000", *got["log.retention.ms"].Value)
			assert.Equal(t, kmsg.ConfigSourceStaticBrokerConfig, got["log.retention.ms"].Source)
			assert.Equal(t, kmsg.ConfigTypeLong, got["log.retention.ms"].ConfigType)
			require.Contains(t, got, "num.partitions")
			assert.Equal(t, "1", *got["num.partitions"].Value)
			assert.Equal(t, kmsg.ConfigSourceDefaultConfig, got["num.partitions"].Source)
			require.Contains(t, got, "log.dirs")
			assert.Equal(t, b.Dir, *got["log.dirs"].Value)
		}
		rr := kmsg.NewDescribeConfigsRequestResource()
		rr.ResourceType, rr.ResourceName = kmsg.ConfigResourceTypeBroker, "7"
		r := describe(rr)
		assert.Equal(t, kerr.InvalidRequest.Code, r.ErrorCode)

		// kadm asks for synonyms; the static value falls back to the default.
		rcs, err := adm.DescribeBrokerConfigs(ctx)
		require.NoError(t, err)
		require.Len(t, rcs, 1)
		for _, c := range rcs[0].Configs {
			if c.Key == "num.partitions" {
				require.Len(t, c.Synonyms, 1)
				assert.Equal(t, kmsg.ConfigSourceDefaultConfig, c.Synonyms[0].Source)
			}
		}
	})
}

func TestAdminAlterConfigs(t *testing.T) {
	b := testenv.StartBroker(t, nil)
	adm, _ := newAdmin(t, b.Addr)
	ctx := adminCtx(t)
	const topic = "altered"
	resp, err := adm.CreateTopic(ctx, 1, 1, nil, topic)
	require.NoError(t, err, resp.ErrMessage)

	alter := func(ops ...kadm.AlterConfig) kadm.AlterConfigsResponse {
		t.Helper()
		rs, err := adm.AlterTopicConfigs(ctx, ops, topic)
		require.NoError(t, err)
		r, err := rs.On(topic, nil)
		require.NoError(t, err)
		return r
	}
	value := func(name string) (string, kmsg.ConfigSource) {
		t.Helper()
		c := topicConfigs(t, adm, topic)[name]
		return c.MaybeValue(), c.Source
	}
	set, del := kadm.SetConfig, kadm.DeleteConfig

	r := alter(kadm.AlterConfig{Op: set, Name: "retention.ms", Value: kadm.StringPtr("1000")})
	require.NoError(t, r.Err, r.ErrMessage)
	v, src := value("retention.ms")
	assert.Equal(t, "1000", v)
	assert.Equal(t, kmsg.ConfigSourceDynamicTopicConfig, src)

	r = alter(kadm.AlterConfig{Op: del, Name: "retention.ms"})
	require.NoError(t, r.Err, r.ErrMessage)
	v, src = value("retention.ms")
	assert.Equal(t, "604800000", v)
	assert.Equal(t, kmsg.ConfigSourceDefaultConfig, src)

	r = alter(kadm.AlterConfig{Op: kadm.AppendConfig, Name: "cleanup.policy", Value: kadm.StringPtr("compact")})
	require.NoError(t, r.Err, r.ErrMessage)
	v, _ = value("cleanup.policy")
	assert.Equal(t, "delete,compact", v)
	r = alter(kadm.AlterConfig{Op: kadm.SubtractConfig, Name: "cleanup.policy", Value: kadm.StringPtr("delete")})
	require.NoError(t, r.Err, r.ErrMessage)
	v, _ = value("cleanup.policy")
	assert.Equal(t, "compact", v)

	refused := []struct {
		name string
		op   kadm.AlterConfig
		want error
		msg  string
	}{
		{"append to a non-list", kadm.AlterConfig{Op: kadm.AppendConfig, Name: "retention.ms", Value: kadm.StringPtr("1")}, kerr.InvalidConfig, "retention.ms"},
		{"subtract to empty", kadm.AlterConfig{Op: kadm.SubtractConfig, Name: "cleanup.policy", Value: kadm.StringPtr("compact")}, kerr.InvalidConfig, "cleanup.policy"},
		{"bad value", kadm.AlterConfig{Op: set, Name: "segment.bytes", Value: kadm.StringPtr("big")}, kerr.InvalidConfig, "segment.bytes"},
		{"unknown key", kadm.AlterConfig{Op: set, Name: "no.such.config", Value: kadm.StringPtr("1")}, kerr.InvalidConfig, "no.such.config"},
	}
	for _, c := range refused {
		t.Run(c.name, func(t *testing.T) {
			r := alter(c.op)
			require.ErrorIs(t, r.Err, c.want)
			assert.Contains(t, r.ErrMessage, c.msg)
			v, _ := value("cleanup.policy")
			assert.Equal(t, "compact", v, "a refused alter changes nothing")
		})
	}

	t.Run("validate only changes nothing", func(t *testing.T) {
		rs, err := adm.ValidateAlterTopicConfigs(ctx, []kadm.AlterConfig{{Op: set, Name: "retention.ms", Value: kadm.StringPtr("5000")}}, topic)
		require.NoError(t, err)
		require.NoError(t, rs[0].Err, rs[0].ErrMessage)
		rs, err = adm.ValidateAlterTopicConfigsState(ctx, []kadm.AlterConfig{{Name: "retention.ms", Value: kadm.StringPtr("5000")}}, topic)
		require.NoError(t, err)
		require.NoError(t, rs[0].Err, rs[0].ErrMessage)
		v, src := value("retention.ms")
		assert.Equal(t, "604800000", v)
		assert.Equal(t, kmsg.ConfigSourceDefaultConfig, src)
		v, _ = value("cleanup.policy")
		assert.Equal(t, "compact", v)
	})

	t.Run("AlterConfigs replaces the whole set", func(t *testing.T) {
		rs, err := adm.AlterTopicConfigsState(ctx, []kadm.AlterConfig{
			{Name: "segment.bytes", Value: kadm.StringPtr("1048576")},
			{Name: "max.message.bytes", Value: kadm.StringPtr("2000000")},
		}, topic)
		require.NoError(t, err)
		require.NoError(t, rs[0].Err, rs[0].ErrMessage)
		cfgs := topicConfigs(t, adm, topic)
		assert.Equal(t, "1048576", cfgs["segment.bytes"].MaybeValue())
		assert.Equal(t, "2000000", cfgs["max.message.bytes"].MaybeValue())
		assert.Equal(t, "delete", cfgs["cleanup.policy"].MaybeValue(), "the earlier override is gone")
		assert.Equal(t, kmsg.ConfigSourceDefaultConfig, cfgs["cleanup.policy"].Source)

		rs, err = adm.AlterTopicConfigsState(ctx, []kadm.AlterConfig{{Name: "retention.ms", Value: kadm.StringPtr("forever")}}, topic)
		require.NoError(t, err)
		require.ErrorIs(t, rs[0].Err, kerr.InvalidConfig)
		assert.Contains(t, rs[0].ErrMessage, "retention.ms")
		assert.Equal(t, "1048576", topicConfigs(t, adm, topic)["segment.bytes"].MaybeValue())
	})

	t.Run("broker configs are static", func(t *testing.T) {
		rs, err := adm.AlterBrokerConfigs(ctx, []kadm.AlterConfig{{Op: set, Name: "num.partitions", Value: kadm.StringPtr("3")}})
		require.NoError(t, err)
		require.ErrorIs(t, rs[0].Err, kerr.InvalidRequest)
		assert.Contains(t, rs[0].ErrMessage, "static")
		rs, err = adm.AlterBrokerConfigsState(ctx, []kadm.AlterConfig{{Name: "num.partitions", Value: kadm.StringPtr("3")}})
		require.NoError(t, err)
		require.ErrorIs(t, rs[0].Err, kerr.InvalidRequest)
	})

	t.Run("unknown topic", func(t *testing.T) {
		rs, err := adm.AlterTopicConfigs(ctx, []kadm.AlterConfig{{Op: set, Name: "retention.ms", Value: kadm.StringPtr("1")}}, "missing")
		require.NoError(t, err)
		require.ErrorIs(t, rs[0].Err, kerr.UnknownTopicOrPartition)
	})

	t.Run("survives a restart", func(t *testing.T) {
		r := alter(
			kadm.AlterConfig{Op: set, Name: "segment.ms", Value: kadm.StringPtr("600000")},
			kadm.AlterConfig{Op: kadm.AppendConfig, Name: "cleanup.policy", Value: kadm.StringPtr("compact")},
		)
		require.NoError(t, r.Err, r.ErrMessage)
		b.Restart(t)
		adm, _ := newAdmin(t, b.Addr)
		cfgs := topicConfigs(t, adm, topic)
		assert.Equal(t, "600000", cfgs["segment.ms"].MaybeValue())
		assert.Equal(t, kmsg.ConfigSourceDynamicTopicConfig, cfgs["segment.ms"].Source)
		assert.Contains(t, cfgs["cleanup.policy"].MaybeValue(), "compact")
	})
}

func TestAdminCreatePartitions(t *testing.T) {
	b := testenv.StartBroker(t, nil)
	adm, cl := newAdmin(t, b.Addr)
	ctx := adminCtx(t)
	const topic = "growing"
	resp, err := adm.CreateTopic(ctx, 2, 1, nil, topic)
	require.NoError(t, err, resp.ErrMessage)

	rs, err := adm.UpdatePartitions(ctx, 5, topic)
	require.NoError(t, err)
	require.NoError(t, rs.Error())
	assert.Equal(t, 5, partitionCount(t, cl, topic))

	// The new partitions take records.
	pcl, err := kgo.NewClient(kgo.SeedBrokers(b.Addr), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	require.NoError(t, err)
	defer pcl.Close()
	require.NoError(t, pcl.ProduceSync(ctx, &kgo.Record{Topic: topic, Partition: 4, Value: []byte("v")}).FirstErr())

	rs, err = adm.ValidateUpdatePartitions(ctx, 8, topic)
	require.NoError(t, err)
	require.NoError(t, rs.Error())
	assert.Equal(t, 5, partitionCount(t, cl, topic), "validate only adds nothing")

	for _, n := range []int{3, 5} {
		rs, err = adm.UpdatePartitions(ctx, n, topic)
		require.NoError(t, err)
		require.ErrorIs(t, rs[topic].Err, kerr.InvalidPartitions, "to %d", n)
		assert.NotEmpty(t, rs[topic].ErrMessage)
	}
	assert.Equal(t, 5, partitionCount(t, cl, topic))

	rs, err = adm.UpdatePartitions(ctx, 3, "missing")
	require.NoError(t, err)
	require.ErrorIs(t, rs["missing"].Err, kerr.UnknownTopicOrPartition)

	grow := func(replicas ...[]int32) kmsg.CreatePartitionsResponseTopic {
		req := kmsg.NewPtrCreatePartitionsRequest()
		rt := kmsg.NewCreatePartitionsRequestTopic()
		rt.Topic, rt.Count = topic, int32(5+len(replicas))
		for _, r := range replicas {
			a := kmsg.NewCreatePartitionsRequestTopicAssignment()
			a.Replicas = r
			rt.Assignment = append(rt.Assignment, a)
		}
		req.Topics = append(req.Topics, rt)
		resp, err := req.RequestWith(ctx, cl)
		require.NoError(t, err)
		require.Len(t, resp.Topics, 1)
		return resp.Topics[0]
	}
	bad := grow([]int32{1}, []int32{2})
	assert.Equal(t, kerr.InvalidReplicaAssignment.Code, bad.ErrorCode)
	assert.Equal(t, 5, partitionCount(t, cl, topic))
	good := grow([]int32{1})
	require.Zero(t, good.ErrorCode, good.ErrorMessage)
	assert.Equal(t, 6, partitionCount(t, cl, topic))
}

func TestAdminDeleteTopics(t *testing.T) {
	b := testenv.StartBroker(t, nil)
	adm, cl := newAdmin(t, b.Addr)
	ctx := adminCtx(t)
	const topic = "doomed"
	first, err := adm.CreateTopic(ctx, 2, 1, nil, topic)
	require.NoError(t, err, first.ErrMessage)

	rs, err := adm.DeleteTopics(ctx, topic)
	require.NoError(t, err)
	require.NoError(t, rs.Error())
	assert.False(t, topicExists(t, cl, topic))

	rs, err = adm.DeleteTopics(ctx, topic)
	require.NoError(t, err)
	require.ErrorIs(t, rs[topic].Err, kerr.UnknownTopicOrPartition)

	second, err := adm.CreateTopic(ctx, 1, 1, nil, topic)
	require.NoError(t, err, second.ErrMessage)
	assert.NotEqual(t, first.ID, second.ID, "a recreated topic gets a new id")
	assert.Equal(t, 1, partitionCount(t, cl, topic))

	byID := func(version int16, id [16]byte) kmsg.DeleteTopicsResponseTopic {
		req := kmsg.NewPtrDeleteTopicsRequest()
		req.Version = version
		rt := kmsg.NewDeleteTopicsRequestTopic()
		rt.TopicID = id
		req.Topics = append(req.Topics, rt)
		resp, err := req.RequestWith(ctx, cl)
		require.NoError(t, err)
		require.Len(t, resp.Topics, 1)
		return resp.Topics[0]
	}
	gone := byID(6, first.ID)
	assert.Equal(t, kerr.UnknownTopicID.Code, gone.ErrorCode, "the old id is not the new topic's")
	deleted := byID(6, second.ID)
	require.Zero(t, deleted.ErrorCode)
	require.NotNil(t, deleted.Topic)
	assert.Equal(t, topic, *deleted.Topic)
	assert.False(t, topicExists(t, cl, topic))

	t.Run("deletion disabled", func(t *testing.T) {
		b := testenv.StartBroker(t, map[string]string{"delete.topic.enable": "false"})
		adm, cl := newAdmin(t, b.Addr)
		resp, err := adm.CreateTopic(ctx, 1, 1, nil, "kept")
		require.NoError(t, err, resp.ErrMessage)
		rs, err := adm.DeleteTopics(ctx, "kept")
		require.NoError(t, err)
		require.ErrorIs(t, rs["kept"].Err, kerr.TopicDeletionDisabled)
		assert.True(t, topicExists(t, cl, "kept"))
	})
}

func TestAdminDeleteRecords(t *testing.T) {
	b := testenv.StartBroker(t, nil)
	adm, cl := newAdmin(t, b.Addr)
	ctx := adminCtx(t)
	const topic = "trimmed"
	resp, err := adm.CreateTopic(ctx, 1, 1, nil, topic)
	require.NoError(t, err, resp.ErrMessage)
	for range 10 {
		require.NoError(t, cl.ProduceSync(ctx, &kgo.Record{Topic: topic, Value: []byte("v")}).FirstErr())
	}

	deleteAt := func(offset int64) kadm.DeleteRecordsResponse {
		t.Helper()
		rs, err := adm.DeleteRecords(ctx, kadm.Offsets{topic: {0: {Topic: topic, Partition: 0, At: offset}}})
		require.NoError(t, err)
		r, err := rs.On(topic, 0, nil)
		require.NoError(t, err)
		return r
	}
	start := func() int64 {
		t.Helper()
		offs, err := adm.ListStartOffsets(ctx, topic)
		require.NoError(t, err)
		o, ok := offs.Lookup(topic, 0)
		require.True(t, ok)
		require.NoError(t, o.Err)
		return o.Offset
	}

	r := deleteAt(4)
	require.NoError(t, r.Err)
	assert.Equal(t, int64(4), r.LowWatermark)
	assert.Equal(t, int64(4), start())

	r = deleteAt(2)
	require.NoError(t, r.Err, "below the start changes nothing")
	assert.Equal(t, int64(4), r.LowWatermark)

	r = deleteAt(11)
	require.ErrorIs(t, r.Err, kerr.OffsetOutOfRange)
	assert.Equal(t, int64(4), start())

	r = deleteAt(-1)
	require.NoError(t, r.Err)
	assert.Equal(t, int64(10), r.LowWatermark, "-1 deletes up to the high watermark")
	assert.Equal(t, int64(10), start())

	t.Run("unknown partition", func(t *testing.T) {
		req := kmsg.NewPtrDeleteRecordsRequest()
		rt := kmsg.NewDeleteRecordsRequestTopic()
		rt.Topic = topic
		rp := kmsg.NewDeleteRecordsRequestTopicPartition()
		rp.Partition, rp.Offset = 0, 10
		rt.Partitions = append(rt.Partitions, rp)
		rp.Partition = 7
		rt.Partitions = append(rt.Partitions, rp)
		req.Topics = append(req.Topics, rt)
		// Send it straight to the broker: the client would refuse a
		// partition it has no leader for.
		resp, err := req.RequestWith(ctx, cl.Broker(1))
		require.NoError(t, err)
		require.Len(t, resp.Topics, 1)
		require.Len(t, resp.Topics[0].Partitions, 2)
		assert.Zero(t, resp.Topics[0].Partitions[0].ErrorCode)
		assert.Equal(t, kerr.UnknownTopicOrPartition.Code, resp.Topics[0].Partitions[1].ErrorCode)
		assert.Equal(t, int64(-1), resp.Topics[0].Partitions[1].LowWatermark)
	})
}
