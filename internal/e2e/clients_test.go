package e2e

import (
	"context"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// createTopicsKey is CreateTopics' API key.
const createTopicsKey = 19

// createTopic creates topic with the given partition count through kadm.
// When the broker does not serve CreateTopics yet, it falls back to
// auto-creation by a Metadata request, which only gives the right count if
// the broker runs with num.partitions=partitions; either way the count is
// checked afterwards.
func createTopic(t testing.TB, addr, topic string, partitions int32) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr))
	if err != nil {
		t.Fatalf("admin client: %v", err)
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)

	versions, err := adm.ApiVersions(ctx)
	if err != nil {
		t.Fatalf("ApiVersions: %v", err)
	}
	served := false
	versions.Each(func(v kadm.BrokerApiVersions) {
		if _, ok := v.KeyMaxVersion(createTopicsKey); ok {
			served = true
		}
	})
	if served {
		if _, err := adm.CreateTopic(ctx, partitions, 1, nil, topic); err != nil {
			t.Fatalf("create topic %s: %v", topic, err)
		}
	} else {
		t.Logf("broker does not serve CreateTopics; creating %s by auto-creation (num.partitions=%d)", topic, partitions)
		req := kmsg.NewPtrMetadataRequest()
		rt := kmsg.NewMetadataRequestTopic()
		rt.Topic = kmsg.StringPtr(topic)
		req.Topics = append(req.Topics, rt)
		req.AllowAutoTopicCreation = true
		if _, err := req.RequestWith(ctx, cl); err != nil {
			t.Fatalf("auto-create topic %s: %v", topic, err)
		}
	}

	for {
		md, err := adm.Metadata(ctx, topic)
		if err == nil {
			td := md.Topics[topic]
			if td.Err == nil {
				if got := int32(len(td.Partitions)); got != partitions {
					t.Fatalf("topic %s has %d partitions, want %d", topic, got, partitions)
				}
				return
			}
			err = td.Err
		}
		select {
		case <-ctx.Done():
			t.Fatalf("topic %s not ready: %v", topic, err)
		case <-time.After(50 * time.Millisecond):
		}
	}
}
