package broker

import (
	"errors"
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/sluicehq/sluice/broker/log"
)

// Config is the broker's configuration, read from Kafka's server.properties
// key names. Properties holds every key as given; the typed fields are what
// the broker acts on.
type Config struct {
	NodeID                 int32
	Listener               string // host:port to listen on
	AdvertisedHost         string
	AdvertisedPort         int32
	DataDir                string
	NumPartitions          int
	AutoCreateTopics       bool
	DefaultReplication     int
	MaxRequestBytes        int
	RetentionCheckInterval time.Duration
	CheckpointInterval     time.Duration
	CleanerBackoff         time.Duration // log.cleaner.backoff.ms
	// IdleTimeout (connections.max.idle.ms) closes a connection with no
	// request activity for that long; 0 never does (the key set to -1).
	IdleTimeout time.Duration
	// QueuedMaxRequestBytes (queued.max.request.bytes) bounds the bytes of
	// requests and responses held at once, broker-wide; 0 is unbounded
	// (the key set to -1).
	QueuedMaxRequestBytes int64
	// FetchMaxBytes (fetch.max.bytes) caps every fetch response.
	FetchMaxBytes int
	// MaxOpenFiles (log.max.open.files, Sluice's key) bounds the file
	// descriptors held for segment files; 0 is half the process's limit.
	MaxOpenFiles int
	// TopicDefaults are broker-level topic config defaults keyed by the
	// topic config name (retention.ms), derived from log.* keys.
	TopicDefaults map[string]string
	// Properties are all keys as set, for DescribeConfigs.
	Properties map[string]string
}

// brokerDefaults are the broker configs Sluice understands, with Kafka's
// defaults where Kafka has one.
var brokerDefaults = map[string]string{
	"node.id":                                 "1",
	"listeners":                               "PLAINTEXT://127.0.0.1:9092",
	"log.dirs":                                "./sluice-data",
	"num.partitions":                          "1",
	"auto.create.topics.enable":               "true",
	"default.replication.factor":              "1",
	"socket.request.max.bytes":                "104857600",
	"log.retention.check.interval.ms":         "300000",
	"log.flush.offset.checkpoint.interval.ms": "60000",
	"log.cleaner.backoff.ms":                  "15000",
	"connections.max.idle.ms":                 "600000",
	// Kafka's default is -1 (unbounded); Sluice reads fetch responses into
	// memory, so it needs a finite budget.
	"queued.max.request.bytes": "536870912",
	"fetch.max.bytes":          "57671680",
	// Sluice's key: Kafka keeps every segment file open.
	"log.max.open.files": "0",
}

// NewConfig resolves a Config from properties, checking every value and
// returning all problems at once.
func NewConfig(props map[string]string) (Config, error) {
	all := map[string]string{}
	for k, v := range brokerDefaults {
		all[k] = v
	}
	// Values are trimmed, as Kafka's ConfigDef does when it parses them:
	// a .properties file keeps a value's trailing whitespace.
	for k, v := range props {
		all[k] = strings.TrimSpace(v)
	}
	if v, ok := props["broker.id"]; ok {
		if _, set := props["node.id"]; !set {
			all["node.id"] = v
		}
	}
	if v, ok := props["log.dir"]; ok {
		if _, set := props["log.dirs"]; !set {
			all["log.dirs"] = v
		}
	}
	var errs []error
	integer := func(key string, lo, hi int64) int64 {
		n, err := strconv.ParseInt(strings.TrimSpace(all[key]), 10, 64)
		if err != nil || n < lo || n > hi {
			errs = append(errs, fmt.Errorf("%s=%q: want a whole number from %d to %d", key, all[key], lo, hi))
		}
		return n
	}
	c := Config{Properties: all}
	c.NodeID = int32(integer("node.id", 0, 1<<31-1))
	c.NumPartitions = int(integer("num.partitions", 1, 100000))
	c.DefaultReplication = int(integer("default.replication.factor", 1, 32767))
	c.MaxRequestBytes = int(integer("socket.request.max.bytes", 1024, 1<<31-1))
	c.RetentionCheckInterval = time.Duration(integer("log.retention.check.interval.ms", 1, 1<<62)) * time.Millisecond
	c.CheckpointInterval = time.Duration(integer("log.flush.offset.checkpoint.interval.ms", 1, 1<<62)) * time.Millisecond
	c.CleanerBackoff = time.Duration(integer("log.cleaner.backoff.ms", 1, 1<<62)) * time.Millisecond
	c.FetchMaxBytes = int(integer("fetch.max.bytes", 1024, 1<<31-1))
	if n := integer("log.max.open.files", 0, 1<<20); n != 0 && n < 16 {
		errs = append(errs, fmt.Errorf("log.max.open.files=%d: want 0 (half the process's open-file limit) or at least 16", n))
	} else {
		c.MaxOpenFiles = int(n)
	}
	errs = append(errs, c.networkLimits(all)...)
	switch all["auto.create.topics.enable"] {
	case "true":
		c.AutoCreateTopics = true
	case "false":
	default:
		errs = append(errs, fmt.Errorf("auto.create.topics.enable=%q: want true or false", all["auto.create.topics.enable"]))
	}
	// One directory: the store owns (and locks) one. A list is refused, not
	// cut to its first entry, so no directory the user named is ignored.
	switch dirs := strings.Split(all["log.dirs"], ","); {
	case len(dirs) > 1:
		errs = append(errs, fmt.Errorf("log.dirs=%q: Sluice keeps its log in one directory; name one", all["log.dirs"]))
	case strings.TrimSpace(dirs[0]) == "":
		errs = append(errs, errors.New("log.dirs is empty: name the data directory"))
	default:
		c.DataDir = strings.TrimSpace(dirs[0])
	}
	var err error
	if c.Listener, err = parseListener("listeners", all["listeners"]); err != nil {
		errs = append(errs, err)
	}
	adv := all["advertised.listeners"]
	if adv == "" {
		adv = all["listeners"]
	}
	if hp, err := parseListener("advertised.listeners", adv); err != nil {
		errs = append(errs, err)
	} else if host, port, err := net.SplitHostPort(hp); err == nil {
		p, _ := strconv.Atoi(port)
		if host == "" || host == "0.0.0.0" || host == "::" {
			host = "127.0.0.1"
		}
		c.AdvertisedHost, c.AdvertisedPort = host, int32(p)
	}
	c.TopicDefaults, err = topicDefaults(all)
	if err != nil {
		errs = append(errs, err)
	}
	return c, errors.Join(errs...)
}

// networkLimits reads connections.max.idle.ms and queued.max.request.bytes,
// where -1 switches the limit off as in Kafka.
func (c *Config) networkLimits(all map[string]string) []error {
	var errs []error
	idle, err := strconv.ParseInt(strings.TrimSpace(all["connections.max.idle.ms"]), 10, 64)
	switch {
	case err != nil || idle < -1 || idle == 0 || idle > 1<<62/int64(time.Millisecond):
		errs = append(errs, fmt.Errorf("connections.max.idle.ms=%q: want -1 (never close idle connections) or a whole number of milliseconds from 1", all["connections.max.idle.ms"]))
	case idle > 0:
		c.IdleTimeout = time.Duration(idle) * time.Millisecond
	}
	queued, err := strconv.ParseInt(strings.TrimSpace(all["queued.max.request.bytes"]), 10, 64)
	switch {
	case err != nil || queued < -1 || queued == 0:
		errs = append(errs, fmt.Errorf("queued.max.request.bytes=%q: want -1 (unbounded) or a whole number of bytes", all["queued.max.request.bytes"]))
	case queued > 0 && queued < int64(c.MaxRequestBytes):
		// As in Kafka: a request of the largest allowed size must fit.
		errs = append(errs, fmt.Errorf("queued.max.request.bytes=%d: must be -1 or at least socket.request.max.bytes=%d", queued, c.MaxRequestBytes))
	case queued > 0:
		c.QueuedMaxRequestBytes = queued
	}
	return errs
}

// parseListener takes the first listener of a Kafka listeners value such
// as "PLAINTEXT://0.0.0.0:9092", which must be PLAINTEXT.
func parseListener(key, v string) (string, error) {
	first, _, _ := strings.Cut(v, ",")
	l := strings.TrimSpace(first)
	name, hp, ok := strings.Cut(l, "://")
	if !ok {
		hp, name = l, "PLAINTEXT"
	}
	if name != "PLAINTEXT" {
		return "", fmt.Errorf("%s=%q: only PLAINTEXT listeners are supported", key, v)
	}
	if _, _, err := net.SplitHostPort(hp); err != nil {
		return "", fmt.Errorf("%s=%q: %w", key, v, err)
	}
	return hp, nil
}

// topicDefaults maps broker log.* keys onto topic config defaults,
// including Kafka's hours/minutes variants.
func topicDefaults(all map[string]string) (map[string]string, error) {
	d := map[string]string{}
	var errs []error
	for _, def := range log.TopicConfigDefs() {
		if v, ok := all[def.BrokerKey]; ok && def.BrokerKey != "" {
			if err := def.Validate(v); err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", def.BrokerKey, err))
				continue
			}
			d[def.Name] = v
		}
	}
	scaled := []struct {
		key, target string
		unit        int64
	}{
		{"log.retention.minutes", "retention.ms", 60_000},
		{"log.retention.hours", "retention.ms", 3_600_000},
		{"log.roll.hours", "segment.ms", 3_600_000},
	}
	for _, s := range scaled {
		v, ok := all[s.key]
		if !ok {
			continue
		}
		if _, set := d[s.target]; set {
			continue // the ms form wins, as in Kafka
		}
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s=%q: not a whole number", s.key, v))
			continue
		}
		if n > 0 {
			n *= s.unit
		}
		d[s.target] = strconv.FormatInt(n, 10)
	}
	return d, errors.Join(errs...)
}

// sortedKeys lists the broker config keys for DescribeConfigs.
func (c Config) sortedKeys() []string {
	keys := make([]string, 0, len(c.Properties))
	for k := range c.Properties {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
