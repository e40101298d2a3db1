package broker_test

import (
	"testing"
	"time"

	"github.com/sluicehq/sluice/internal/testenv"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// TestDeleteTopicsDuplicates: as in Kafka, a name or id given more than
// once in one DeleteTopics is answered once, INVALID_REQUEST, and nothing
// is deleted for it; a million repeats cost no more than one.
func TestDeleteTopicsDuplicates(t *testing.T) {
	b := testenv.StartBroker(t, nil)
	_, cl := newAdmin(t, b.Addr)
	ctx := adminCtx(t)
	for _, topic := range []string{"victim", "other", "by-id", "both", "dup-id-and-name", "dup-name-and-id"} {
		createTopic(t, b.Addr, topic, 1, nil)
	}

	t.Run("names", func(t *testing.T) {
		req := kmsg.NewPtrDeleteTopicsRequest()
		req.Version = 5
		for range 1_000_000 {
			req.TopicNames = append(req.TopicNames, "victim")
		}
		req.TopicNames = append(req.TopicNames, "other")
		began := time.Now()
		resp := dialRaw(t, b.Addr).roundTrip(req).(*kmsg.DeleteTopicsResponse)
		t.Logf("1,000,001 names answered in %v", time.Since(began))
		require.Len(t, resp.Topics, 2)
		byName := map[string]kmsg.DeleteTopicsResponseTopic{}
		for _, rt := range resp.Topics {
			require.NotNil(t, rt.Topic)
			byName[*rt.Topic] = rt
		}
		assert.Equal(t, kerr.InvalidRequest.Code, byName["victim"].ErrorCode)
		require.NotNil(t, byName["victim"].ErrorMessage)
		assert.Contains(t, *byName["victim"].ErrorMessage, "appears 1000000 times")
		assert.Zero(t, byName["other"].ErrorCode)
		assert.True(t, topicExists(t, cl, "victim"), "a duplicated name is not deleted")
		assert.False(t, topicExists(t, cl, "other"))
	})

	t.Run("ids", func(t *testing.T) {
		id := topicMetadata(t, cl, "by-id").TopicID
		both := topicMetadata(t, cl, "both").TopicID
		req := kmsg.NewPtrDeleteTopicsRequest()
		add := func(name *string, id [16]byte) {
			rt := kmsg.NewDeleteTopicsRequestTopic()
			rt.Topic, rt.TopicID = name, id
			req.Topics = append(req.Topics, rt)
		}
		dupID := topicMetadata(t, cl, "dup-id-and-name").TopicID
		dupName := topicMetadata(t, cl, "dup-name-and-id").TopicID
		add(nil, id)
		add(nil, id)
		add(nil, both) // its name is given below: answered there
		add(kmsg.StringPtr("both"), [16]byte{})
		add(nil, [16]byte{}) // neither name nor id
		add(nil, dupID)
		add(kmsg.StringPtr("dup-id-and-name"), [16]byte{})
		add(nil, dupID)
		add(kmsg.StringPtr("dup-name-and-id"), [16]byte{})
		add(kmsg.StringPtr("dup-name-and-id"), [16]byte{})
		add(nil, dupName) // deleted: the name is a duplicate, the id is not
		resp, err := req.RequestWith(ctx, cl)
		require.NoError(t, err)
		require.Len(t, resp.Topics, 7)
		for _, rt := range resp.Topics[:6] {
			assert.Equal(t, kerr.InvalidRequest.Code, rt.ErrorCode)
		}
		assert.Equal(t, id, resp.Topics[0].TopicID)
		assert.Equal(t, "both", *resp.Topics[1].Topic)
		assert.Equal(t, both, resp.Topics[1].TopicID)
		assert.Equal(t, dupID, resp.Topics[3].TopicID)
		assert.Equal(t, "dup-id-and-name", *resp.Topics[4].Topic)
		assert.Equal(t, "dup-name-and-id", *resp.Topics[5].Topic)
		assert.Zero(t, resp.Topics[6].ErrorCode)
		assert.Equal(t, dupName, resp.Topics[6].TopicID)
		for _, topic := range []string{"by-id", "both", "dup-id-and-name"} {
			assert.True(t, topicExists(t, cl, topic), topic)
		}
		assert.False(t, topicExists(t, cl, "dup-name-and-id"))
	})
}

// TestCreateTopicsDuplicates: a name given a million times in one
// CreateTopics is answered once, INVALID_REQUEST, and not created.
func TestCreateTopicsDuplicates(t *testing.T) {
	b := testenv.StartBroker(t, nil)
	_, cl := newAdmin(t, b.Addr)
	req := kmsg.NewPtrCreateTopicsRequest()
	rt := kmsg.NewCreateTopicsRequestTopic()
	rt.Topic, rt.NumPartitions, rt.ReplicationFactor = "twice", 1, 1
	for range 1_000_000 {
		req.Topics = append(req.Topics, rt)
	}
	once := rt
	once.Topic = "once"
	req.Topics = append(req.Topics, once)
	began := time.Now()
	resp, err := req.RequestWith(adminCtx(t), cl)
	require.NoError(t, err)
	t.Logf("1,000,001 topics answered in %v", time.Since(began))
	require.Len(t, resp.Topics, 2)
	assert.Equal(t, "twice", resp.Topics[0].Topic)
	assert.Equal(t, kerr.InvalidRequest.Code, resp.Topics[0].ErrorCode)
	assert.Zero(t, resp.Topics[1].ErrorCode)
	assert.False(t, topicExists(t, cl, "twice"))
	assert.True(t, topicExists(t, cl, "once"))
}
