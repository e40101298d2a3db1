package worker

import (
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/sluicehq/sluice/runtime/connect"
)

// Connector-level config keys every connector accepts (Kafka's
// ConnectorConfig, SinkConnectorConfig, SourceConnectorConfig).
const (
	KeyName                 = "name"
	KeyConnectorClass       = "connector.class"
	KeyTasksMax             = "tasks.max"
	KeyTasksMaxEnforce      = "tasks.max.enforce"
	KeyTransforms           = "transforms"
	KeyPredicates           = "predicates"
	KeyConfigReload         = "config.action.reload"
	KeyErrorsRetryTimeout   = "errors.retry.timeout"
	KeyErrorsRetryDelayMax  = "errors.retry.delay.max.ms"
	KeyErrorsTolerance      = "errors.tolerance"
	KeyErrorsLogEnable      = "errors.log.enable"
	KeyErrorsLogMessages    = "errors.log.include.messages"
	KeyDLQTopic             = "errors.deadletterqueue.topic.name"
	KeyDLQRF                = "errors.deadletterqueue.topic.replication.factor"
	KeyDLQHeaders           = "errors.deadletterqueue.context.headers.enable"
	KeyTopics               = "topics"
	KeyTopicsRegex          = "topics.regex"
	KeyTopicCreationGroups  = "topic.creation.groups"
	KeyExactlyOnceSupport   = "exactly.once.support"
	KeyTransactionBoundary  = "transaction.boundary"
	KeyOffsetsStorageTopic  = "offsets.storage.topic"
	KeyTopicCreationDefault = "topic.creation.default."

	groupCommon       = "Common"
	groupTransforms   = "Transforms"
	groupPredicates   = "Predicates"
	groupErrors       = "Error Handling"
	groupTopicCreate  = "Topic Creation"
	groupExactlyOnce  = "Exactly Once Support"
	groupOffsets      = "Source Offsets"
	toleranceNone     = "none"
	toleranceAll      = "all"
	errorsRetryNoWait = 0
)

// commonConfigDef is ConnectorConfig's definition: the keys every
// connector accepts, with Kafka's groups and order.
var commonConfigDef = connect.ConfigDef{
	{Name: KeyName, Type: connect.ConfigString, Default: connect.NoDefault, Validator: connect.NonEmpty{}, Importance: connect.High, Group: groupCommon, OrderInGroup: 1, Width: connect.WidthMedium, DisplayName: "Connector name",
		Doc: "Globally unique name to use for this connector."},
	{Name: KeyConnectorClass, Type: connect.ConfigString, Default: connect.NoDefault, Importance: connect.High, Group: groupCommon, OrderInGroup: 2, Width: connect.WidthLong, DisplayName: "Connector class",
		Doc: "Name or alias of the class for this connector, e.g. org.apache.kafka.connect.file.FileStreamSinkConnector, FileStreamSink or FileStreamSinkConnector."},
	{Name: KeyTasksMax, Type: connect.ConfigInt, Default: 1, Validator: connect.AtLeast(1), Importance: connect.High, Group: groupCommon, OrderInGroup: 3, Width: connect.WidthShort, DisplayName: "Tasks max",
		Doc: "Maximum number of tasks to use for this connector."},
	{Name: KeyTasksMaxEnforce, Type: connect.ConfigBoolean, Default: true, Importance: connect.Low, Group: groupCommon, OrderInGroup: 4, Width: connect.WidthShort, DisplayName: "Enforce tasks max",
		Doc: "Fail the connector when it generates more task configs than tasks.max (deprecated in Kafka)."},
	{Name: KeyKeyConverter, Type: connect.ConfigClass, Default: nil, Importance: connect.Low, Group: groupCommon, OrderInGroup: 5, Width: connect.WidthShort, DisplayName: "Key converter class",
		Doc: "Converter for this connector's record keys; overrides the worker's key.converter."},
	{Name: KeyValueConverter, Type: connect.ConfigClass, Default: nil, Importance: connect.Low, Group: groupCommon, OrderInGroup: 6, Width: connect.WidthShort, DisplayName: "Value converter class",
		Doc: "Converter for this connector's record values; overrides the worker's value.converter."},
	{Name: KeyHeaderConverter, Type: connect.ConfigClass, Default: nil, Importance: connect.Low, Group: groupCommon, OrderInGroup: 7, Width: connect.WidthShort, DisplayName: "Header converter class",
		Doc: "Converter for this connector's header values; overrides the worker's header.converter."},
	{Name: KeyConfigReload, Type: connect.ConfigString, Default: "restart", Validator: connect.OneOf{Values: []string{"none", "restart"}, CaseInsensitive: true}, Importance: connect.Low, Group: groupCommon, OrderInGroup: 8, Width: connect.WidthMedium, DisplayName: "Reload Action",
		Doc: "What to do when a config provider's value changes: none or restart."},
	{Name: KeyTransforms, Type: connect.ConfigList, Default: "", Importance: connect.Low, Group: groupTransforms, OrderInGroup: 1, Width: connect.WidthLong, DisplayName: "Transforms",
		Doc: "Aliases for the transformations to apply to records, in order."},
	{Name: KeyPredicates, Type: connect.ConfigList, Default: "", Importance: connect.Low, Group: groupPredicates, OrderInGroup: 1, Width: connect.WidthLong, DisplayName: "Predicates",
		Doc: "Aliases for the predicates used by transformations."},
	{Name: KeyErrorsRetryTimeout, Type: connect.ConfigLong, Default: 0, Importance: connect.Medium, Group: groupErrors, OrderInGroup: 1, Width: connect.WidthMedium, DisplayName: "Retry Timeout for Errors",
		Doc: "Maximum time in ms a failed operation is retried; 0 means no retries, -1 infinite."},
	{Name: KeyErrorsRetryDelayMax, Type: connect.ConfigLong, Default: 60000, Importance: connect.Medium, Group: groupErrors, OrderInGroup: 2, Width: connect.WidthMedium, DisplayName: "Maximum Delay Between Retries for Errors",
		Doc: "Longest delay in ms between consecutive retries; the backoff grows exponentially with jitter up to it."},
	{Name: KeyErrorsTolerance, Type: connect.ConfigString, Default: toleranceNone, Validator: connect.OneOf{Values: []string{toleranceNone, toleranceAll}, CaseInsensitive: true}, Importance: connect.Medium, Group: groupErrors, OrderInGroup: 3, Width: connect.WidthShort, DisplayName: "Error Tolerance",
		Doc: "none fails the task on the first error; all skips problematic records (logging them and sending them to the dead letter queue when configured)."},
	{Name: KeyErrorsLogEnable, Type: connect.ConfigBoolean, Default: false, Importance: connect.Medium, Group: groupErrors, OrderInGroup: 4, Width: connect.WidthShort, DisplayName: "Log Errors",
		Doc: "Log every error, failed operation and problematic record."},
	{Name: KeyErrorsLogMessages, Type: connect.ConfigBoolean, Default: false, Importance: connect.Medium, Group: groupErrors, OrderInGroup: 5, Width: connect.WidthShort, DisplayName: "Log Error Details",
		Doc: "Include the record's key, value and headers in error logs."},
	{Name: KeyDLQTopic, Type: connect.ConfigString, Default: "", Importance: connect.Medium, Group: groupErrors, OrderInGroup: 6, Width: connect.WidthMedium, DisplayName: "Dead Letter Queue Topic Name",
		Doc: "Topic receiving records that failed conversion, transformation or delivery under errors.tolerance=all. Sluice accepts it on source connectors too."},
	{Name: KeyDLQRF, Type: connect.ConfigShort, Default: -1, Importance: connect.Medium, Group: groupErrors, OrderInGroup: 7, Width: connect.WidthMedium, DisplayName: "Dead Letter Queue Topic Replication Factor",
		Doc: "Replication factor of the dead letter queue topic when it is created (-1: broker default; Kafka defaults to 3)."},
	{Name: KeyDLQHeaders, Type: connect.ConfigBoolean, Default: false, Importance: connect.Medium, Group: groupErrors, OrderInGroup: 8, Width: connect.WidthMedium, DisplayName: "Enable Error Context Headers",
		Doc: "Add __connect.errors.* headers describing the failure to dead letter queue records."},
}

// sinkConfigDef adds SinkConnectorConfig's keys.
var sinkConfigDef = commonConfigDef.With(
	connect.ConfigKey{Name: KeyTopics, Type: connect.ConfigList, Default: "", Importance: connect.High, Group: groupCommon, OrderInGroup: 4, Width: connect.WidthLong, DisplayName: "Topics",
		Doc: "List of topics to consume; exactly one of topics and topics.regex must be set."},
	connect.ConfigKey{Name: KeyTopicsRegex, Type: connect.ConfigString, Default: "", Validator: connect.ValidRegex{}, Importance: connect.High, Group: groupCommon, OrderInGroup: 4, Width: connect.WidthLong, DisplayName: "Topics regex",
		Doc: "Regular expression of topics to consume; exactly one of topics and topics.regex must be set."},
)

// sourceConfigDef adds SourceConnectorConfig's keys.
var sourceConfigDef = commonConfigDef.With(
	connect.ConfigKey{Name: KeyTopicCreationGroups, Type: connect.ConfigList, Default: "", Importance: connect.Low, Group: groupTopicCreate, OrderInGroup: 1, Width: connect.WidthLong, DisplayName: "Topic Creation Groups",
		Doc: "Groups of topic.creation.<group>.* settings besides the default group (KIP-158)."},
	connect.ConfigKey{Name: KeyExactlyOnceSupport, Type: connect.ConfigString, Default: "requested", Validator: connect.OneOf{Values: []string{"requested", "required"}, CaseInsensitive: true}, Importance: connect.Medium, Group: groupExactlyOnce, OrderInGroup: 1, Width: connect.WidthShort, DisplayName: "Exactly once support",
		Doc: "Whether the connector must support exactly-once delivery (KIP-618)."},
	connect.ConfigKey{Name: KeyTransactionBoundary, Type: connect.ConfigString, Default: "poll", Validator: connect.OneOf{Values: []string{"poll", "interval", "connector"}, CaseInsensitive: true}, Importance: connect.Medium, Group: groupExactlyOnce, OrderInGroup: 2, Width: connect.WidthShort, DisplayName: "Transaction Boundary",
		Doc: "Where exactly-once transactions begin and end (KIP-618)."},
	connect.ConfigKey{Name: KeyOffsetsStorageTopic, Type: connect.ConfigString, Default: nil, Importance: connect.Low, Group: groupOffsets, OrderInGroup: 1, Width: connect.WidthLong, DisplayName: "Offsets topic",
		Doc: "A separate offsets topic for this connector (KIP-618)."},
)

// connectorSettings are the typed common settings of one connector.
type connectorSettings struct {
	tasksMax         int
	tasksMaxEnforce  bool
	toleranceAll     bool
	retryTimeout     time.Duration // <0: infinite
	retryDelayMax    time.Duration
	logErrors        bool
	logMessages      bool
	dlqTopic         string
	dlqRF            int16
	dlqHeaders       bool
	topics           []string
	topicsRegex      *regexp.Regexp
	topicCreationDef map[string]string // topic.creation.default.* without prefix
}

// parseSettings reads the common keys of a validated connector config.
func parseSettings(p connect.Config, props map[string]string, sink bool) connectorSettings {
	s := connectorSettings{
		tasksMax:        int(p.Int(KeyTasksMax)),
		tasksMaxEnforce: p.Bool(KeyTasksMaxEnforce),
		toleranceAll:    strings.EqualFold(p.String(KeyErrorsTolerance), toleranceAll),
		retryTimeout:    time.Duration(p.Int(KeyErrorsRetryTimeout)) * time.Millisecond,
		retryDelayMax:   time.Duration(p.Int(KeyErrorsRetryDelayMax)) * time.Millisecond,
		logErrors:       p.Bool(KeyErrorsLogEnable),
		logMessages:     p.Bool(KeyErrorsLogMessages),
		dlqTopic:        p.String(KeyDLQTopic),
		dlqRF:           int16(p.Int(KeyDLQRF)),
		dlqHeaders:      p.Bool(KeyDLQHeaders),
	}
	if sink {
		s.topics = p.List(KeyTopics)
		if re := p.String(KeyTopicsRegex); re != "" {
			s.topicsRegex = regexp.MustCompile(re) // validated by ValidRegex
		}
	} else {
		s.topicCreationDef = map[string]string{}
		for k, v := range props {
			if rest, ok := strings.CutPrefix(k, KeyTopicCreationDefault); ok {
				s.topicCreationDef[rest] = v
			}
		}
	}
	return s
}

// sinkTopicsErrors checks Kafka's sink rules on topics / topics.regex /
// the dead letter queue topic; the messages are Kafka's.
func sinkTopicsErrors(props map[string]string) map[string]string {
	errs := map[string]string{}
	topics := strings.TrimSpace(props[KeyTopics])
	regex := strings.TrimSpace(props[KeyTopicsRegex])
	switch {
	case topics != "" && regex != "":
		msg := "topics and topics.regex are mutually exclusive options, but both are set."
		errs[KeyTopics], errs[KeyTopicsRegex] = msg, msg
	case topics == "" && regex == "":
		msg := "Must configure one of topics or topics.regex"
		errs[KeyTopics], errs[KeyTopicsRegex] = msg, msg
	}
	if dlq := strings.TrimSpace(props[KeyDLQTopic]); dlq != "" {
		for _, t := range strings.Split(topics, ",") {
			if strings.TrimSpace(t) == dlq {
				errs[KeyDLQTopic] = fmt.Sprintf("The DLQ topic '%s' may not be included in the list of topics ('%s=%s') consumed by the connector", dlq, KeyTopics, topics)
			}
		}
		if regex != "" {
			if re, err := regexp.Compile(regex); err == nil && re.MatchString(dlq) {
				errs[KeyDLQTopic] = fmt.Sprintf("The DLQ topic '%s' may not be included in the regex matching the topics ('%s=%s') consumed by the connector", dlq, KeyTopicsRegex, regex)
			}
		}
	}
	return errs
}

// SourceConfigDef returns the keys every source connector accepts.
func SourceConfigDef() connect.ConfigDef { return sourceConfigDef }

// SinkConfigDef returns the keys every sink connector accepts.
func SinkConfigDef() connect.ConfigDef { return sinkConfigDef }

// CommonConfigDef returns the keys every connector accepts.
func CommonConfigDef() connect.ConfigDef { return commonConfigDef }
