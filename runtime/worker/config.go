package worker

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/sluicehq/sluice/runtime/connect"
)

// Worker config key names (Kafka's WorkerConfig / DistributedConfig /
// StandaloneConfig), plus Sluice's automatic task restart keys.
const (
	KeyBootstrapServers       = "bootstrap.servers"
	KeyGroupID                = "group.id"
	KeyKeyConverter           = "key.converter"
	KeyValueConverter         = "value.converter"
	KeyHeaderConverter        = "header.converter"
	KeyConfigTopic            = "config.storage.topic"
	KeyOffsetTopic            = "offset.storage.topic"
	KeyStatusTopic            = "status.storage.topic"
	KeyConfigRF               = "config.storage.replication.factor"
	KeyOffsetRF               = "offset.storage.replication.factor"
	KeyStatusRF               = "status.storage.replication.factor"
	KeyOffsetPartitions       = "offset.storage.partitions"
	KeyStatusPartitions       = "status.storage.partitions"
	KeyOffsetFlushInterval    = "offset.flush.interval.ms"
	KeyOffsetFlushTimeout     = "offset.flush.timeout.ms"
	KeyOffsetFile             = "offset.storage.file.filename"
	KeyListeners              = "listeners"
	KeyAdvertisedHost         = "rest.advertised.host.name"
	KeyAdvertisedPort         = "rest.advertised.port"
	KeyTaskShutdownTimeout    = "task.shutdown.graceful.timeout.ms"
	KeyConfigProviders        = "config.providers"
	KeyTopicCreationEnable    = "topic.creation.enable"
	KeyTopicTrackingEnable    = "topic.tracking.enable"
	KeyTopicTrackingReset     = "topic.tracking.allow.reset"
	KeyAutoRestartEnable      = "task.auto.restart.enable"
	KeyAutoRestartInitialMs   = "task.auto.restart.initial.backoff.ms"
	KeyAutoRestartMaxMs       = "task.auto.restart.max.backoff.ms"
	KeyRestRequestTimeout     = "rest.request.timeout.ms"
	KeyClientID               = "client.id"
	KeySessionTimeout         = "session.timeout.ms"
	KeyHeartbeatInterval      = "heartbeat.interval.ms"
	KeyRebalanceTimeout       = "rebalance.timeout.ms"
	KeyScheduledRebalanceMax  = "scheduled.rebalance.max.delay.ms"
	KeyConnectProtocol        = "connect.protocol"
	KeyExactlyOnceSource      = "exactly.once.source.support"
	defaultHeaderConverter    = "org.apache.kafka.connect.storage.SimpleHeaderConverter"
	defaultConfigTopicName    = "connect-configs"
	defaultOffsetTopicName    = "connect-offsets"
	defaultStatusTopicName    = "connect-status"
	workerGroupCommon         = "Common"
	workerGroupRest           = "REST"
	workerGroupStorage        = "Storage"
	workerGroupRestart        = "Task restart"
	workerGroupDistributed    = "Distributed"
	defaultAdvertisedListener = "http://:8083"
)

// ConfigDef declares every worker config key Sluice reads, with Kafka's
// defaults except where noted in the doc. The README's worker key table is
// generated from it.
var ConfigDef = connect.ConfigDef{
	{Name: KeyBootstrapServers, Type: connect.ConfigList, Default: "localhost:9092", Importance: connect.High, Group: workerGroupCommon,
		Doc: "Kafka brokers the worker connects to (host:port list)."},
	{Name: KeyGroupID, Type: connect.ConfigString, Default: "connect-cluster", Importance: connect.High, Group: workerGroupDistributed,
		Doc: "The Connect cluster the worker belongs to; also the prefix of internal client ids."},
	{Name: KeyKeyConverter, Type: connect.ConfigClass, Default: "org.apache.kafka.connect.json.JsonConverter", Importance: connect.High, Group: workerGroupCommon,
		Doc: "Converter for record keys unless a connector overrides it (Kafka requires this key; Sluice defaults to JsonConverter)."},
	{Name: KeyValueConverter, Type: connect.ConfigClass, Default: "org.apache.kafka.connect.json.JsonConverter", Importance: connect.High, Group: workerGroupCommon,
		Doc: "Converter for record values unless a connector overrides it (Kafka requires this key; Sluice defaults to JsonConverter)."},
	{Name: KeyHeaderConverter, Type: connect.ConfigClass, Default: defaultHeaderConverter, Importance: connect.Low, Group: workerGroupCommon,
		Doc: "Converter for header values."},
	{Name: KeyConfigTopic, Type: connect.ConfigString, Default: defaultConfigTopicName, Importance: connect.High, Group: workerGroupStorage,
		Doc: "Compacted topic (1 partition) holding connector configs, task configs and target states."},
	{Name: KeyOffsetTopic, Type: connect.ConfigString, Default: defaultOffsetTopicName, Importance: connect.High, Group: workerGroupStorage,
		Doc: "Compacted topic holding source connector offsets."},
	{Name: KeyStatusTopic, Type: connect.ConfigString, Default: defaultStatusTopicName, Importance: connect.High, Group: workerGroupStorage,
		Doc: "Compacted topic holding connector and task status."},
	{Name: KeyConfigRF, Type: connect.ConfigShort, Default: -1, Importance: connect.Low, Group: workerGroupStorage,
		Doc: "Replication factor of the config topic when the worker creates it (-1: broker default; Kafka defaults to 3)."},
	{Name: KeyOffsetRF, Type: connect.ConfigShort, Default: -1, Importance: connect.Low, Group: workerGroupStorage,
		Doc: "Replication factor of the offsets topic when the worker creates it (-1: broker default)."},
	{Name: KeyStatusRF, Type: connect.ConfigShort, Default: -1, Importance: connect.Low, Group: workerGroupStorage,
		Doc: "Replication factor of the status topic when the worker creates it (-1: broker default)."},
	{Name: KeyOffsetPartitions, Type: connect.ConfigInt, Default: 25, Validator: connect.AtLeast(1), Importance: connect.Low, Group: workerGroupStorage,
		Doc: "Partitions of the offsets topic when the worker creates it."},
	{Name: KeyStatusPartitions, Type: connect.ConfigInt, Default: 5, Validator: connect.AtLeast(1), Importance: connect.Low, Group: workerGroupStorage,
		Doc: "Partitions of the status topic when the worker creates it."},
	{Name: KeyOffsetFlushInterval, Type: connect.ConfigLong, Default: 60000, Validator: connect.AtLeast(1), Importance: connect.Low, Group: workerGroupCommon,
		Doc: "How often source offsets are committed and sink offsets flushed and committed, in ms."},
	{Name: KeyOffsetFlushTimeout, Type: connect.ConfigLong, Default: 5000, Validator: connect.AtLeast(1), Importance: connect.Low, Group: workerGroupCommon,
		Doc: "How long an offset commit may wait for outstanding records before it is retried at the next interval, in ms."},
	{Name: KeyOffsetFile, Type: connect.ConfigString, Default: "", Importance: connect.High, Group: workerGroupStorage,
		Doc: "Standalone mode: file holding source offsets."},
	{Name: KeyListeners, Type: connect.ConfigList, Default: defaultAdvertisedListener, Importance: connect.Low, Group: workerGroupRest,
		Doc: "REST listener, as http://host:port (an empty host listens on every interface). Sluice serves one HTTP listener; https:// is refused until HTTPS is supported."},
	{Name: KeyAdvertisedHost, Type: connect.ConfigString, Default: nil, Importance: connect.Low, Group: workerGroupRest,
		Doc: "Host name other workers and the status API use for this worker."},
	{Name: KeyAdvertisedPort, Type: connect.ConfigInt, Default: nil, Importance: connect.Low, Group: workerGroupRest,
		Doc: "Port other workers and the status API use for this worker."},
	{Name: KeyRestRequestTimeout, Type: connect.ConfigLong, Default: 90000, Validator: connect.AtLeast(1), Importance: connect.Low, Group: workerGroupRest,
		Doc: "How long a REST request may take before it fails with 500 Request timed out, in ms."},
	{Name: KeyTaskShutdownTimeout, Type: connect.ConfigLong, Default: 5000, Validator: connect.AtLeast(0), Importance: connect.Low, Group: workerGroupCommon,
		Doc: "How long a stopping task may take to finish its last commit, in ms."},
	{Name: KeyConfigProviders, Type: connect.ConfigList, Default: "", Importance: connect.Low, Group: workerGroupCommon,
		Doc: "Names of the config providers resolved inside the worker; none by default, as Kafka, since a provider lets whoever can write a connector config read the worker's environment or files. " +
			"Each NAME takes config.providers.NAME.class=org.apache.kafka.common.config.provider.EnvVarConfigProvider (${NAME:VAR}), FileConfigProvider (${NAME:/path.properties:key}) or DirectoryConfigProvider (${NAME:/dir:file}); " +
			"Sluice also accepts the names env, file and directory without a class. A reference to a provider that is not enabled is left as written."},
	{Name: KeyTopicCreationEnable, Type: connect.ConfigBoolean, Default: true, Importance: connect.Low, Group: workerGroupCommon,
		Doc: "Let source connectors create their topics with topic.creation.* settings (KIP-158)."},
	{Name: KeyTopicTrackingEnable, Type: connect.ConfigBoolean, Default: true, Importance: connect.Low, Group: workerGroupCommon,
		Doc: "Track the topics each connector uses (GET /connectors/{name}/topics)."},
	{Name: KeyTopicTrackingReset, Type: connect.ConfigBoolean, Default: true, Importance: connect.Low, Group: workerGroupCommon,
		Doc: "Allow PUT /connectors/{name}/topics/reset."},
	{Name: KeyAutoRestartEnable, Type: connect.ConfigBoolean, Default: true, Importance: connect.Medium, Group: workerGroupRestart,
		Doc: "Restart failed tasks and connectors automatically with exponential backoff (false: stay FAILED until restarted through the REST API, as Kafka)."},
	{Name: KeyAutoRestartInitialMs, Type: connect.ConfigLong, Default: 1000, Validator: connect.AtLeast(1), Importance: connect.Low, Group: workerGroupRestart,
		Doc: "First automatic restart delay, in ms; doubles on every failure."},
	{Name: KeyAutoRestartMaxMs, Type: connect.ConfigLong, Default: 60000, Validator: connect.AtLeast(1), Importance: connect.Low, Group: workerGroupRestart,
		Doc: "Longest automatic restart delay, in ms."},
	{Name: KeyClientID, Type: connect.ConfigString, Default: "", Importance: connect.Low, Group: workerGroupCommon,
		Doc: "Prefix for the Kafka client ids of this worker."},
	{Name: KeySessionTimeout, Type: connect.ConfigInt, Default: 10000, Importance: connect.Low, Group: workerGroupDistributed,
		Doc: "Worker group session timeout, in ms."},
	{Name: KeyHeartbeatInterval, Type: connect.ConfigInt, Default: 3000, Importance: connect.Low, Group: workerGroupDistributed,
		Doc: "Worker group heartbeat interval, in ms."},
	{Name: KeyRebalanceTimeout, Type: connect.ConfigInt, Default: 60000, Importance: connect.Low, Group: workerGroupDistributed,
		Doc: "Worker group rebalance timeout, in ms."},
	{Name: KeyScheduledRebalanceMax, Type: connect.ConfigInt, Default: 10000, Importance: connect.Medium, Group: workerGroupDistributed,
		Doc: "How long a departed worker's tasks wait for it to return before they are reassigned, in ms (Kafka: 300000)."},
	{Name: KeyConnectProtocol, Type: connect.ConfigString, Default: "sessioned", Validator: connect.OneOf{Values: []string{"eager", "compatible", "sessioned"}, CaseInsensitive: true}, Importance: connect.Low, Group: workerGroupDistributed,
		Doc: "Worker group subprotocol."},
	{Name: KeyExactlyOnceSource, Type: connect.ConfigString, Default: "disabled", Validator: connect.OneOf{Values: []string{"disabled", "preparing", "enabled"}, CaseInsensitive: true}, Importance: connect.Medium, Group: workerGroupDistributed,
		Doc: "Exactly-once support for source connectors (KIP-618)."},
}

// Config is a parsed worker configuration.
type Config struct {
	Props               map[string]string
	BootstrapServers    []string
	GroupID             string
	OffsetFlushInterval time.Duration
	OffsetFlushTimeout  time.Duration
	ShutdownTimeout     time.Duration
	RestListen          string // host:port
	WorkerID            string // advertised host:port
	AutoRestart         bool
	AutoRestartInitial  time.Duration
	AutoRestartMax      time.Duration
	RequestTimeout      time.Duration
	TopicCreation       bool
	TopicTracking       bool
	TopicTrackingReset  bool
	// ConfigProviders maps each enabled config provider's name to the
	// built-in provider it is (env, file or directory).
	ConfigProviders    map[string]string
	ConfigTopic        string
	OffsetTopic        string
	StatusTopic        string
	OffsetPartitions   int32
	StatusPartitions   int32
	ConfigRF, OffsetRF int16
	StatusRF           int16
	OffsetFile         string
	ClientID           string
	// Group membership (distributed mode).
	SessionTimeout          time.Duration
	HeartbeatInterval       time.Duration
	RebalanceTimeout        time.Duration
	ScheduledRebalanceDelay time.Duration
	ConnectProtocol         string
	ExactlyOnceSource       string
	parsed                  connect.Config
}

// NewConfig parses worker properties; the error names every bad key.
func NewConfig(props map[string]string) (Config, error) {
	p, err := ConfigDef.Parse(props)
	if err != nil {
		return Config{}, fmt.Errorf("worker config: %w", errors.Join(append([]error{err}, unsupportedKeys(props)...)...))
	}
	ms := func(k string) time.Duration { return time.Duration(p.Int(k)) * time.Millisecond }
	c := Config{
		Props:               props,
		parsed:              p,
		BootstrapServers:    p.List(KeyBootstrapServers),
		GroupID:             p.String(KeyGroupID),
		OffsetFlushInterval: ms(KeyOffsetFlushInterval),
		OffsetFlushTimeout:  ms(KeyOffsetFlushTimeout),
		ShutdownTimeout:     ms(KeyTaskShutdownTimeout),
		AutoRestart:         p.Bool(KeyAutoRestartEnable),
		AutoRestartInitial:  ms(KeyAutoRestartInitialMs),
		AutoRestartMax:      ms(KeyAutoRestartMaxMs),
		RequestTimeout:      ms(KeyRestRequestTimeout),
		TopicCreation:       p.Bool(KeyTopicCreationEnable),
		TopicTracking:       p.Bool(KeyTopicTrackingEnable),
		TopicTrackingReset:  p.Bool(KeyTopicTrackingReset),
		ConfigTopic:         p.String(KeyConfigTopic),
		OffsetTopic:         p.String(KeyOffsetTopic),
		StatusTopic:         p.String(KeyStatusTopic),
		OffsetPartitions:    int32(p.Int(KeyOffsetPartitions)),
		StatusPartitions:    int32(p.Int(KeyStatusPartitions)),
		ConfigRF:            int16(p.Int(KeyConfigRF)),
		OffsetRF:            int16(p.Int(KeyOffsetRF)),
		StatusRF:            int16(p.Int(KeyStatusRF)),
		OffsetFile:          p.String(KeyOffsetFile),
		ClientID:            p.String(KeyClientID),

		SessionTimeout:          ms(KeySessionTimeout),
		HeartbeatInterval:       ms(KeyHeartbeatInterval),
		RebalanceTimeout:        ms(KeyRebalanceTimeout),
		ScheduledRebalanceDelay: ms(KeyScheduledRebalanceMax),
		ConnectProtocol:         strings.ToLower(p.String(KeyConnectProtocol)),
		ExactlyOnceSource:       strings.ToLower(p.String(KeyExactlyOnceSource)),
	}
	var errs []error
	c.RestListen, err = restListen(p.List(KeyListeners))
	if err != nil {
		errs = append(errs, err)
	}
	if err := advertisedListenerError(props); err != nil {
		errs = append(errs, err)
	}
	var perrs []error
	c.ConfigProviders, perrs = providerKinds(props, p.List(KeyConfigProviders))
	errs = append(append(errs, perrs...), unsupportedKeys(props)...)
	errs = append(errs, workerClientErrors(props)...)
	if len(errs) > 0 {
		return Config{}, fmt.Errorf("worker config: %w", errors.Join(errs...))
	}
	host, port, _ := net.SplitHostPort(c.RestListen)
	c.SetAdvertised(host, port)
	return c, nil
}

// SetAdvertised fixes the worker id (advertised host:port) from the actual
// REST listener, honouring rest.advertised.host.name / .port.
func (c *Config) SetAdvertised(host, port string) {
	if !c.parsed.IsNull(KeyAdvertisedHost) {
		host = c.parsed.String(KeyAdvertisedHost)
	}
	if !c.parsed.IsNull(KeyAdvertisedPort) {
		port = strconv.FormatInt(c.parsed.Int(KeyAdvertisedPort), 10)
	}
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "localhost"
	}
	c.WorkerID = net.JoinHostPort(host, port)
}

// Parsed returns the typed view of every declared key.
func (c Config) Parsed() connect.Config { return c.parsed }
