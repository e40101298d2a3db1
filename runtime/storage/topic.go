package storage

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
)

// TopicPolicyError is returned by Start when the store's topic exists with
// a cleanup.policy other than exactly "compact"; its message is Kafka's.
type TopicPolicyError struct {
	Topic        string
	WorkerConfig string   // the worker property naming the topic
	Purpose      string   // what the topic keeps
	Policies     []string // the topic's cleanup policies
}

func (e *TopicPolicyError) Error() string {
	return fmt.Sprintf("Topic '%s' supplied via the '%s' property is required "+
		"to have 'cleanup.policy=compact' to guarantee consistency and durability of "+
		"%s, but found the topic currently has 'cleanup.policy=%s'. Continuing would likely "+
		"result in eventually losing %s and problems restarting this Connect "+
		"cluster in the future. Change the '%s' property in the "+
		"Connect worker configurations to use a topic with 'cleanup.policy=compact'.",
		e.Topic, e.WorkerConfig, e.Purpose, strings.Join(e.Policies, ","), e.Purpose, e.WorkerConfig)
}

// verifyCompact checks that an existing topic is compacted (Kafka's
// verifyTopicCleanupPolicyOnlyCompact).
func (l *kafkaLog) verifyCompact(ctx context.Context, adm *kadm.Client) error {
	configs, err := adm.DescribeTopicConfigs(ctx, l.opts.Topic)
	var rc kadm.ResourceConfig
	if err == nil {
		rc, err = configs.On(l.opts.Topic, nil)
	}
	if err == nil {
		err = rc.Err
	}
	if errors.Is(err, kerr.TopicAuthorizationFailed) || errors.Is(err, kerr.ClusterAuthorizationFailed) ||
		errors.Is(err, kerr.UnsupportedVersion) {
		// As Kafka does: without the right to look, trust the operator.
		l.log.Info("cannot verify that the topic's cleanup.policy is compact", "error", err)
		return nil
	}
	if err != nil {
		return fmt.Errorf("describe configs of topic %s: %w", l.opts.Topic, err)
	}
	var policies []string
	for _, c := range rc.Configs {
		if c.Key == "cleanup.policy" && c.Value != nil {
			policies = parsePolicies(*c.Value)
		}
	}
	if len(policies) == 0 {
		l.log.Info("cannot verify that the topic's cleanup.policy is compact: the broker did not report it")
		return nil
	}
	if !slices.Equal(policies, []string{"compact"}) {
		return &TopicPolicyError{
			Topic: l.opts.Topic, WorkerConfig: l.role.workerConfig,
			Purpose: l.role.purpose, Policies: policies,
		}
	}
	return nil
}

// parsePolicies splits a cleanup.policy value into its distinct, trimmed,
// lower-case entries.
func parsePolicies(v string) []string {
	var out []string
	for _, p := range strings.Split(v, ",") {
		p = strings.ToLower(strings.TrimSpace(p))
		if p != "" && !slices.Contains(out, p) {
			out = append(out, p)
		}
	}
	return out
}
