package worker

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"sync"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
)

// topicSetup creates a source connector's topics on first use with its
// topic.creation.* settings (KIP-158) and records the topics it uses
// (KIP-558 topic tracking).
type topicSetup struct {
	admin  *kadm.Client // nil: no creation
	groups []creationGroup
	track  func(topic string, task int)

	mu   sync.Mutex
	seen map[string]bool
}

// creationGroup is one topic.creation group; the default group matches
// every topic.
type creationGroup struct {
	name        string
	include     []*regexp.Regexp
	exclude     []*regexp.Regexp
	partitions  int32
	replication int16
	configs     map[string]*string
}

// newTopicSetup reads topic.creation.* from a source connector config.
// Creation is on when the worker allows it and the connector sets the
// default group's partitions and replication factor, as Kafka requires.
func newTopicSetup(admin *kadm.Client, enabled bool, props map[string]string, track func(string, int)) (*topicSetup, error) {
	ts := &topicSetup{track: track, seen: map[string]bool{}}
	if !enabled {
		return ts, nil
	}
	if _, ok := props["topic.creation.default.partitions"]; !ok {
		return ts, nil
	}
	names := []string{}
	for _, g := range strings.Split(props[KeyTopicCreationGroups], ",") {
		if g = strings.TrimSpace(g); g != "" && g != "default" {
			names = append(names, g)
		}
	}
	names = append(names, "default")
	for _, name := range names {
		g, err := parseCreationGroup(name, props)
		if err != nil {
			return nil, err
		}
		ts.groups = append(ts.groups, g)
	}
	ts.admin = admin
	return ts, nil
}

func parseCreationGroup(name string, props map[string]string) (creationGroup, error) {
	prefix := "topic.creation." + name + "."
	g := creationGroup{name: name, partitions: -1, replication: -1, configs: map[string]*string{}}
	for k, v := range props {
		rest, ok := strings.CutPrefix(k, prefix)
		if !ok {
			continue
		}
		switch rest {
		case "include", "exclude":
			for _, p := range strings.Split(v, ",") {
				if p = strings.TrimSpace(p); p == "" {
					continue
				}
				re, err := regexp.Compile("^(?:" + p + ")$")
				if err != nil {
					return g, fmt.Errorf("%s%s: invalid regex %q: %w", prefix, rest, p, err)
				}
				if rest == "include" {
					g.include = append(g.include, re)
				} else {
					g.exclude = append(g.exclude, re)
				}
			}
		case "partitions":
			n, err := strconv.ParseInt(v, 10, 32)
			if err != nil || (n < 1 && n != -1) {
				return g, fmt.Errorf("%spartitions: %q is not a positive number or -1", prefix, v)
			}
			g.partitions = int32(n)
		case "replication.factor":
			n, err := strconv.ParseInt(v, 10, 16)
			if err != nil || (n < 1 && n != -1) {
				return g, fmt.Errorf("%sreplication.factor: %q is not a positive number or -1", prefix, v)
			}
			g.replication = int16(n)
		default:
			val := v
			g.configs[rest] = &val
		}
	}
	if name == "default" {
		g.include = []*regexp.Regexp{regexp.MustCompile(".*")}
	}
	return g, nil
}

func (g *creationGroup) matches(topic string) bool {
	for _, re := range g.exclude {
		if re.MatchString(topic) {
			return false
		}
	}
	for _, re := range g.include {
		if re.MatchString(topic) {
			return true
		}
	}
	return false
}

// ensure creates topic on its first use when creation is configured, and
// tracks it.
func (ts *topicSetup) ensure(ctx context.Context, topic string, id ConnectorTaskID) error {
	ts.mu.Lock()
	seen := ts.seen[topic]
	ts.seen[topic] = true
	ts.mu.Unlock()
	if seen {
		return nil
	}
	if ts.track != nil {
		ts.track(topic, id.Task)
	}
	if ts.admin == nil {
		return nil
	}
	for i := range ts.groups {
		g := &ts.groups[i]
		if !g.matches(topic) {
			continue
		}
		resp, err := ts.admin.CreateTopic(ctx, g.partitions, g.replication, g.configs, topic)
		if err == nil {
			err = resp.Err
		}
		if err != nil && !errors.Is(err, kerr.TopicAlreadyExists) {
			ts.mu.Lock()
			delete(ts.seen, topic)
			ts.mu.Unlock()
			return fmt.Errorf("create topic %s (topic.creation group %s): %w", topic, g.name, err)
		}
		return nil
	}
	return nil
}
