package bench

import (
	"context"
	"errors"
	"fmt"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
)

// ensureTopic returns the partition count of topic, creating it with
// partitions partitions and replication factor 1 if it does not exist. An
// existing topic is used as is.
func ensureTopic(ctx context.Context, brokers []string, topic string, partitions int) (int, error) {
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.ClientID("sluice-bench-admin"))
	if err != nil {
		return 0, fmt.Errorf("create admin client: %w", err)
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)

	n, err := partitionCount(ctx, adm, topic)
	if err == nil || !errors.Is(err, kerr.UnknownTopicOrPartition) {
		return n, err
	}
	resp, err := adm.CreateTopic(ctx, int32(partitions), 1, nil, topic)
	if err == nil {
		err = resp.Err
	}
	switch {
	case err == nil:
		return partitions, nil
	case errors.Is(err, kerr.TopicAlreadyExists): // created by someone else meanwhile
		return partitionCount(ctx, adm, topic)
	default:
		return 0, fmt.Errorf("create topic %s with %d partitions: %w", topic, partitions, err)
	}
}

// partitionCount returns the partition count of topic; the error wraps
// kerr.UnknownTopicOrPartition if it does not exist.
func partitionCount(ctx context.Context, adm *kadm.Client, topic string) (int, error) {
	details, err := adm.ListTopics(ctx, topic)
	if err != nil {
		return 0, fmt.Errorf("describe topic %s: %w", topic, err)
	}
	d, ok := details[topic]
	switch {
	case !ok:
		return 0, fmt.Errorf("describe topic %s: %w", topic, kerr.UnknownTopicOrPartition)
	case d.Err != nil:
		return 0, fmt.Errorf("describe topic %s: %w", topic, d.Err)
	}
	return len(d.Partitions), nil
}
