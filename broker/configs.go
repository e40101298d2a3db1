package broker

// DescribeConfigs: v0-4. AlterConfigs: v0-2. IncrementalAlterConfigs: v0-1.
//
// Two resources have configs: topics (type 2) and this broker (type 4, named
// by its node id or "" for "the broker you reached").
//
// A topic lists every entry of the topic config table: its override, source
// DYNAMIC_TOPIC_CONFIG; else the broker's default from server.properties,
// source STATIC_BROKER_CONFIG; else the built-in default, DEFAULT_CONFIG.
// v1+ synonyms list the same chain in that order (override, broker key,
// built-in default); v3+ carries the config type and, when asked, its
// documentation. v0's is_default is true for built-in defaults. A topic's
// configs are writable, never sensitive.
//
// The broker lists the keys it was started with, read-only, as
// STATIC_BROKER_CONFIG, or DEFAULT_CONFIG where the value is Sluice's own
// default. Broker configs cannot be altered: there are no dynamic broker
// configs, so both alter APIs answer INVALID_REQUEST for the broker.
//
// AlterConfigs replaces a topic's whole override set; IncrementalAlterConfigs
// applies SET, DELETE, and for list configs such as cleanup.policy APPEND and
// SUBTRACT, to the current overrides (APPEND and SUBTRACT start from the
// effective value when there is no override). Either way the resulting set is
// validated as a whole (INVALID_CONFIG naming the key) and stored durably
// before the answer; validate_only changes nothing. Other resource types are
// INVALID_REQUEST.

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/sluicehq/sluice/broker/log"
	"github.com/twmb/franz-go/pkg/kmsg"
)

var (
	describeConfigsAPI         = api{key: 32, min: 0, max: 4, handle: handleDescribeConfigs}
	alterConfigsAPI            = api{key: 33, min: 0, max: 2, handle: handleAlterConfigs}
	incrementalAlterConfigsAPI = api{key: 44, min: 0, max: 1, handle: handleIncrementalAlterConfigs}
)

// configEntry is one config as DescribeConfigs reports it. synonyms[0] is
// where the value comes from; the rest are what it would fall back to.
type configEntry struct {
	name      string
	value     *string
	source    kmsg.ConfigSource
	readOnly  bool
	sensitive bool
	typ       kmsg.ConfigType
	doc       string
	synonyms  []kmsg.DescribeConfigsResponseResourceConfigConfigSynonym
}

// add appends a source to the fallback chain; the first one is the value.
func (e *configEntry) add(name, value string, source kmsg.ConfigSource) {
	syn := kmsg.NewDescribeConfigsResponseResourceConfigConfigSynonym()
	syn.Name, syn.Value, syn.Source = name, &value, source
	if e.sensitive {
		syn.Value = nil
	}
	if len(e.synonyms) == 0 {
		e.value, e.source = syn.Value, source
	}
	e.synonyms = append(e.synonyms, syn)
}

// topicConfigEntries resolves every topic config for a topic with these
// overrides.
func (s *Server) topicConfigEntries(overrides map[string]string) []configEntry {
	defs := log.TopicConfigDefs()
	entries := make([]configEntry, 0, len(defs))
	for _, def := range defs {
		e := configEntry{name: def.Name, typ: kmsg.ConfigType(def.Type), doc: def.Doc}
		brokerKey := def.BrokerKey
		if brokerKey == "" {
			brokerKey = def.Name
		}
		if v, ok := overrides[def.Name]; ok {
			e.add(def.Name, v, kmsg.ConfigSourceDynamicTopicConfig)
		}
		if v, ok := s.cfg.TopicDefaults[def.Name]; ok {
			e.add(brokerKey, v, kmsg.ConfigSourceStaticBrokerConfig)
		}
		e.add(brokerKey, def.Default, kmsg.ConfigSourceDefaultConfig)
		entries = append(entries, e)
	}
	return entries
}

// brokerConfigEntries lists the broker's own configs, all read-only: the
// keys it was started with, and the coordinators' keys with their defaults.
func (s *Server) brokerConfigEntries() []configEntry {
	defs := log.TopicConfigDefs()
	keys := s.cfg.sortedKeys()
	for _, d := range coordinatorConfigDefs {
		if _, set := s.cfg.Properties[d.name]; !set {
			keys = append(keys, d.name)
		}
	}
	slices.Sort(keys)
	var entries []configEntry
	for _, k := range keys {
		v, set := s.cfg.Properties[k]
		e := configEntry{name: k, readOnly: true, sensitive: sensitiveKey(k)}
		if i := slices.IndexFunc(defs, func(d log.ConfigDef) bool { return d.BrokerKey == k }); i >= 0 {
			e.typ, e.doc = kmsg.ConfigType(defs[i].Type), defs[i].Doc
		}
		def, hasDefault := brokerDefaults[k]
		if i := slices.IndexFunc(coordinatorConfigDefs, func(d coordinatorConfigDef) bool { return d.name == k }); i >= 0 {
			d := coordinatorConfigDefs[i]
			def, hasDefault, e.typ, e.doc = d.def, true, d.typ, d.doc
		}
		if set && (!hasDefault || def != v) {
			e.add(k, v, kmsg.ConfigSourceStaticBrokerConfig)
		}
		if hasDefault {
			e.add(k, def, kmsg.ConfigSourceDefaultConfig)
		}
		entries = append(entries, e)
	}
	return entries
}

// coordinatorConfigDef is a broker config of the group or transaction
// coordinator (read by groupConfig and txnConfig) with the default it takes
// when not set.
type coordinatorConfigDef struct {
	name, def string
	typ       kmsg.ConfigType
	doc       string
}

// coordinatorConfigDefs are listed by DescribeConfigs whether set or not.
// The defaults are Kafka's except where the doc says otherwise.
var coordinatorConfigDefs = []coordinatorConfigDef{
	{"group.min.session.timeout.ms", "6000", kmsg.ConfigTypeInt, "The smallest session timeout a group member may ask for."},
	{"group.max.session.timeout.ms", "1800000", kmsg.ConfigTypeInt, "The largest session timeout a group member may ask for."},
	{"group.initial.rebalance.delay.ms", "0", kmsg.ConfigTypeInt, "How long the first rebalance of an empty group waits for more members (Sluice: 0, Kafka: 3000)."},
	{"offset.metadata.max.bytes", "4096", kmsg.ConfigTypeInt, "The largest metadata string a committed offset may carry."},
	{"offsets.topic.num.partitions", "50", kmsg.ConfigTypeInt, "Partitions of __consumer_offsets when it is created."},
	{"offsets.topic.segment.bytes", "104857600", kmsg.ConfigTypeInt, "segment.bytes of __consumer_offsets when it is created."},
	{"offsets.retention.minutes", "10080", kmsg.ConfigTypeInt, "How long committed offsets are kept: from when the group became empty; for a group without a protocol (standalone consumers), and for topics a stable consumer group no longer subscribes to, from the commit."},
	{"offsets.retention.check.interval.ms", "600000", kmsg.ConfigTypeLong, "How often expired offsets, and empty groups without offsets, are removed."},
	{"transaction.max.timeout.ms", "900000", kmsg.ConfigTypeInt, "The largest transaction.timeout.ms a producer may ask for."},
	{"transaction.state.log.num.partitions", "50", kmsg.ConfigTypeInt, "Partitions of __transaction_state when it is created."},
	{"transaction.abort.timed.out.transaction.cleanup.interval.ms", "100", kmsg.ConfigTypeInt, "How often transactions past their timeout are aborted (Sluice: 100, Kafka: 10000)."},
	{"transactional.id.expiration.ms", "604800000", kmsg.ConfigTypeInt, "How long a transactional id not in a transaction is kept after its last use."},
	{"transaction.remove.expired.transaction.cleanup.interval.ms", "3600000", kmsg.ConfigTypeInt, "How often expired transactional ids are removed."},
}

// sensitiveKey reports whether a broker config's value must not be shown.
func sensitiveKey(k string) bool {
	return strings.Contains(k, "password") || strings.Contains(k, "secret") || strings.HasSuffix(k, "sasl.jaas.config")
}

func (e configEntry) describe(req *kmsg.DescribeConfigsRequest) kmsg.DescribeConfigsResponseResourceConfig {
	rc := kmsg.NewDescribeConfigsResponseResourceConfig()
	rc.Name, rc.Value, rc.Source = e.name, e.value, e.source
	rc.ReadOnly, rc.IsSensitive = e.readOnly, e.sensitive
	rc.IsDefault = e.source == kmsg.ConfigSourceDefaultConfig
	rc.ConfigType = e.typ
	if req.IncludeSynonyms {
		rc.ConfigSynonyms = e.synonyms
	}
	if req.IncludeDocumentation && e.doc != "" {
		rc.Documentation = &e.doc
	}
	return rc
}

func handleDescribeConfigs(c *conn, kreq kmsg.Request) *pending {
	req := kreq.(*kmsg.DescribeConfigsRequest)
	resp := req.ResponseKind().(*kmsg.DescribeConfigsResponse)
	for _, rr := range req.Resources {
		r := kmsg.NewDescribeConfigsResponseResource()
		r.ResourceType, r.ResourceName = rr.ResourceType, rr.ResourceName
		entries, err := c.s.configEntries(rr.ResourceType, rr.ResourceName)
		if err != nil {
			r.ErrorCode = errorCode(err)
			r.ErrorMessage = errorMessage(err)
			resp.Resources = append(resp.Resources, r)
			continue
		}
		for _, e := range entries {
			// Null or empty ConfigNames means every config, as in Kafka.
			if len(rr.ConfigNames) == 0 || slices.Contains(rr.ConfigNames, e.name) {
				r.Configs = append(r.Configs, e.describe(req))
			}
		}
		resp.Resources = append(resp.Resources, r)
	}
	return ready(resp)
}

// configEntries resolves the configs of one resource.
func (s *Server) configEntries(typ kmsg.ConfigResourceType, name string) ([]configEntry, error) {
	switch typ {
	case kmsg.ConfigResourceTypeTopic:
		if err := log.ValidateTopicName(name); err != nil {
			return nil, err
		}
		t, ok := s.store.Topic(name)
		if !ok {
			return nil, fmt.Errorf("topic %s: %w", name, log.ErrUnknownTopic)
		}
		return s.topicConfigEntries(t.Overrides), nil
	case kmsg.ConfigResourceTypeBroker:
		if err := s.checkBrokerName(name); err != nil {
			return nil, err
		}
		return s.brokerConfigEntries(), nil
	}
	return nil, fmt.Errorf("%w: config resource type %d is not supported; use 2 (topic) or 4 (broker)", errInvalidRequest, typ)
}

// checkBrokerName accepts "" or this node's id as a broker resource name.
func (s *Server) checkBrokerName(name string) error {
	if name == "" || name == strconv.Itoa(int(s.cfg.NodeID)) {
		return nil
	}
	return fmt.Errorf("%w: broker %q: this cluster is the single node %d", errInvalidRequest, name, s.cfg.NodeID)
}

// alterTarget checks that a resource's configs can be altered: only a
// topic's can.
func (s *Server) alterTarget(typ kmsg.ConfigResourceType, name string) error {
	switch typ {
	case kmsg.ConfigResourceTypeTopic:
		return nil
	case kmsg.ConfigResourceTypeBroker:
		if err := s.checkBrokerName(name); err != nil {
			return err
		}
		return fmt.Errorf("%w: broker configs are static: set them in server.properties or with --set", errInvalidRequest)
	}
	return fmt.Errorf("%w: config resource type %d cannot be altered; only topics (2) can", errInvalidRequest, typ)
}

// currentOverrides returns a copy of a topic's overrides.
func (s *Server) currentOverrides(topic string) (map[string]string, error) {
	if err := log.ValidateTopicName(topic); err != nil {
		return nil, err
	}
	t, ok := s.store.Topic(topic)
	if !ok {
		return nil, fmt.Errorf("topic %s: %w", topic, log.ErrUnknownTopic)
	}
	return t.Overrides, nil
}

func handleAlterConfigs(c *conn, kreq kmsg.Request) *pending {
	req := kreq.(*kmsg.AlterConfigsRequest)
	resp := req.ResponseKind().(*kmsg.AlterConfigsResponse)
	c.s.createMu.Lock()
	defer c.s.createMu.Unlock()
	for _, rr := range req.Resources {
		r := kmsg.NewAlterConfigsResponseResource()
		r.ResourceType, r.ResourceName = rr.ResourceType, rr.ResourceName
		if err := c.s.alterConfigs(rr, req.ValidateOnly); err != nil {
			r.ErrorCode = errorCode(err)
			r.ErrorMessage = errorMessage(err)
			c.log.Debug("alter configs refused", "resource", rr.ResourceName, "err", err)
		}
		resp.Resources = append(resp.Resources, r)
	}
	return ready(resp)
}

// alterConfigs replaces a topic's overrides with the request's. A null value
// leaves the key unset. The caller holds createMu.
func (s *Server) alterConfigs(rr kmsg.AlterConfigsRequestResource, validateOnly bool) error {
	if err := s.alterTarget(rr.ResourceType, rr.ResourceName); err != nil {
		return err
	}
	if _, err := s.currentOverrides(rr.ResourceName); err != nil {
		return err
	}
	overrides := map[string]string{}
	seen := map[string]bool{}
	for _, rc := range rr.Configs {
		if seen[rc.Name] {
			return fmt.Errorf("%w: config %s is given twice", errInvalidRequest, rc.Name)
		}
		seen[rc.Name] = true
		if rc.Value != nil {
			overrides[rc.Name] = *rc.Value
		}
	}
	return s.setTopicConfig(rr.ResourceName, overrides, validateOnly)
}

// setTopicConfig validates and (unless validateOnly) stores a topic's whole
// override set.
func (s *Server) setTopicConfig(topic string, overrides map[string]string, validateOnly bool) error {
	if err := s.store.SetTopicConfig(topic, overrides, validateOnly); err != nil {
		return err
	}
	if !validateOnly {
		s.log.Info("altered topic configs", "topic", topic, "overrides", overrides)
	}
	return nil
}

func handleIncrementalAlterConfigs(c *conn, kreq kmsg.Request) *pending {
	req := kreq.(*kmsg.IncrementalAlterConfigsRequest)
	resp := req.ResponseKind().(*kmsg.IncrementalAlterConfigsResponse)
	c.s.createMu.Lock()
	defer c.s.createMu.Unlock()
	for _, rr := range req.Resources {
		r := kmsg.NewIncrementalAlterConfigsResponseResource()
		r.ResourceType, r.ResourceName = rr.ResourceType, rr.ResourceName
		if err := c.s.incrementalAlterConfigs(rr, req.ValidateOnly); err != nil {
			r.ErrorCode = errorCode(err)
			r.ErrorMessage = errorMessage(err)
			c.log.Debug("incremental alter configs refused", "resource", rr.ResourceName, "err", err)
		}
		resp.Resources = append(resp.Resources, r)
	}
	return ready(resp)
}

// incrementalAlterConfigs applies the request's operations to a topic's
// current overrides and stores the result. The caller holds createMu, so no
// other alteration can slip in between the read and the write.
func (s *Server) incrementalAlterConfigs(rr kmsg.IncrementalAlterConfigsRequestResource, validateOnly bool) error {
	if err := s.alterTarget(rr.ResourceType, rr.ResourceName); err != nil {
		return err
	}
	overrides, err := s.currentOverrides(rr.ResourceName)
	if err != nil {
		return err
	}
	seen := map[string]bool{}
	for _, rc := range rr.Configs {
		if seen[rc.Name] {
			return fmt.Errorf("%w: config %s is given twice", errInvalidRequest, rc.Name)
		}
		seen[rc.Name] = true
		if err := s.applyConfigOp(overrides, rc); err != nil {
			return err
		}
	}
	return s.setTopicConfig(rr.ResourceName, overrides, validateOnly)
}

// applyConfigOp applies one incremental operation to overrides. Values are
// validated later, all together.
func (s *Server) applyConfigOp(overrides map[string]string, rc kmsg.IncrementalAlterConfigsRequestResourceConfig) error {
	def, ok := log.LookupTopicConfig(rc.Name)
	if !ok {
		return fmt.Errorf("%w: unknown topic config %q", log.ErrInvalidConfig, rc.Name)
	}
	if rc.Op == kmsg.IncrementalAlterConfigOpDelete {
		delete(overrides, rc.Name)
		return nil
	}
	if rc.Value == nil {
		return fmt.Errorf("%w: %s of %s has a null value", errInvalidRequest, rc.Op, rc.Name)
	}
	switch rc.Op {
	case kmsg.IncrementalAlterConfigOpSet:
		overrides[rc.Name] = *rc.Value
		return nil
	case kmsg.IncrementalAlterConfigOpAppend, kmsg.IncrementalAlterConfigOpSubtract:
	default:
		return fmt.Errorf("%w: unknown config operation %d on %s", errInvalidRequest, rc.Op, rc.Name)
	}
	if def.Type != log.TypeList {
		return fmt.Errorf("%w: %s is not a list config; %s applies only to list configs such as cleanup.policy", log.ErrInvalidConfig, rc.Name, rc.Op)
	}
	current, ok := overrides[rc.Name]
	if !ok {
		current, ok = s.cfg.TopicDefaults[rc.Name]
	}
	if !ok {
		current = def.Default
	}
	list, change := splitList(current), splitList(*rc.Value)
	if rc.Op == kmsg.IncrementalAlterConfigOpAppend {
		for _, v := range change {
			if !slices.Contains(list, v) {
				list = append(list, v)
			}
		}
	} else {
		list = slices.DeleteFunc(list, func(v string) bool { return slices.Contains(change, v) })
	}
	overrides[rc.Name] = strings.Join(list, ",")
	return nil
}

// splitList parses a list config value: comma-separated, blanks dropped.
func splitList(v string) []string {
	var list []string
	for _, item := range strings.Split(v, ",") {
		if item = strings.TrimSpace(item); item != "" {
			list = append(list, item)
		}
	}
	return list
}
