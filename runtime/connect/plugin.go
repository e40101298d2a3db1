package connect

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
)

// PluginType is a plugin's kind, as the REST API reports it.
type PluginType string

// The plugin types.
const (
	PluginSource          PluginType = "source"
	PluginSink            PluginType = "sink"
	PluginConverter       PluginType = "converter"
	PluginHeaderConverter PluginType = "header_converter"
	PluginTransformation  PluginType = "transformation"
	PluginPredicate       PluginType = "predicate"
)

// Connector is the control half of a connector: it reads its config and
// splits the work into task configs. The worker calls Start once, then
// TaskConfigs whenever it (re)creates tasks, then Stop once; never
// concurrently. The Connector runs on one worker; its tasks may run on
// others.
type Connector interface {
	// Start begins watching the source or sink for changes that need new
	// task configs (ctx.RequestTaskReconfiguration). It must not block.
	Start(ctx ConnectorContext, config map[string]string) error
	// TaskConfigs returns one config per task, at most maxTasks.
	TaskConfigs(maxTasks int) ([]map[string]string, error)
	// Stop releases what Start acquired.
	Stop() error
}

// ConnectorValidator is an optional Connector capability: extra validation
// beyond the declared config keys (e.g. cross-key rules, reaching the
// source system). It receives the per-key results of the declared keys
// and returns them amended.
type ConnectorValidator interface {
	Validate(ctx context.Context, config map[string]string, results []ConfigValue) []ConfigValue
}

// ConnectorContext is the connector's handle on the worker.
type ConnectorContext interface {
	// RequestTaskReconfiguration asks the worker to call TaskConfigs again
	// and restart the tasks if the configs changed. Safe from any
	// goroutine.
	RequestTaskReconfiguration()
	// RaiseError fails the connector with err.
	RaiseError(err error)
	// Logger returns the connector's logger: its records name the
	// connector class and the connector. Never nil.
	Logger() *slog.Logger
}

// SourceTask reads records from a source system. The worker calls Start,
// then Poll in a loop from one goroutine; Commit and CommitRecord may be
// called from another goroutine while Poll runs; Stop is called once after
// the last Poll returned.
type SourceTask interface {
	// Start begins reading. ctx.Offset gives the offsets committed for
	// this connector's source partitions, to resume from.
	Start(ctx SourceTaskContext, config map[string]string) error
	// Poll returns the next records, blocking until some are available or
	// ctx is cancelled (the worker stopping or pausing the task); it may
	// return nil, nil. An error wrapping ErrRetriable makes the worker
	// call Poll again after a backoff; any other error fails the task.
	Poll(ctx context.Context) ([]*Record, error)
	// Stop releases the task's resources.
	Stop() error
}

// SourceTaskCommitter is an optional SourceTask capability, told about
// progress the worker has made durable.
type SourceTaskCommitter interface {
	// CommitRecord is called once the broker acknowledged r, or r was
	// filtered out, sent to the dead letter queue or dropped under
	// errors.tolerance=all: r is the very record Poll returned.
	CommitRecord(r *Record) error
	// Commit is called after the worker committed source offsets to the
	// offsets topic (or, under exactly-once, in the transaction that just
	// committed); a task whose source needs acknowledging (a replication
	// slot, a queue, a client waiting for its answer) acknowledges up to
	// those offsets here, without reading them back. committed holds, in
	// no particular order, each of this task's source partitions whose
	// offset advanced since the last commit and the offset written: the
	// SourceOffset of its last acknowledged record, as the task built it
	// (not normalised; read it with Offset's accessors). It is not called
	// after a failed commit; those offsets come again with the next one.
	// It may run concurrently with Poll.
	Commit(committed []SourceOffset) error
}

// TaskInfo is an optional SourceTask or SinkTask capability: facts about
// the running task that its status shows (GET
// /connectors/{name}/status and /connectors/{name}/tasks/{id}/status
// answer them as "info", an extension of Kafka's status), such as the
// address a push source listens on. Info may be called from any
// goroutine at any time, before Start and after Stop too (it returns nil
// when it has nothing to say).
type TaskInfo interface {
	Info() map[string]string
}

// SourceTaskContext is a source task's handle on the worker.
type SourceTaskContext interface {
	// Offset returns the committed offset of one source partition, or nil
	// when it has none. Values come back as the offset store reads them
	// from JSON, whatever Go type the task wrote (Kafka's JsonConverter
	// rules):
	//
	//   - integers (any Go integer type, json.Number without '.', 'e' or
	//     'E') as int64; one beyond int64's range as float64;
	//   - other numbers (float32, float64, 1.5, 1e3) as float64, so an
	//     integer another writer put as 1e3 comes back as float64 1000;
	//   - strings as string, booleans as bool, JSON null as nil;
	//   - []byte as its base64 text, a string.
	//
	// Read values with Offset's Int, String and Bool, which accept every
	// form above and name the key and the type when a value is wrong.
	Offset(partition map[string]any) (Offset, error)
	// Config returns the task's config.
	Config() map[string]string
	// Logger returns the task's logger: its records name the task class,
	// the connector and the task. Never nil.
	Logger() *slog.Logger
}

// SinkTask writes records to a destination. The worker calls Start, Open,
// then Put with batches and Flush before committing consumer offsets, all
// from one goroutine; Stop once at the end.
type SinkTask interface {
	// Start prepares the task.
	Start(ctx SinkTaskContext, config map[string]string) error
	// Put delivers records, possibly asynchronously; an error wrapping
	// ErrRetriable makes the worker deliver the same batch again after a
	// backoff (Kafka's RetriableException); any other error fails the task.
	// ctx is cancelled when the task must stop.
	Put(ctx context.Context, records []*Record) error
	// Flush makes everything delivered by Put durable and returns the
	// offsets that are safe to commit (Kafka's preCommit): usually
	// current itself; a task that writes asynchronously may return less,
	// or nil to commit nothing. Offsets are the next offset to read.
	Flush(ctx context.Context, current map[TopicPartition]int64) (map[TopicPartition]int64, error)
	// Stop releases the task's resources.
	Stop() error
}

// SinkPartitionHandler is an optional SinkTask capability: told when the
// consumer is assigned or loses partitions (Kafka's open/close).
type SinkPartitionHandler interface {
	Open(partitions []TopicPartition) error
	Close(partitions []TopicPartition) error
}

// SinkTaskContext is a sink task's handle on the worker.
type SinkTaskContext interface {
	// Report sends a record the task could not handle to the errant record
	// reporter (dead letter queue and error log) under errors.tolerance=all;
	// under none it returns an error the task should fail with (KIP-610).
	Report(r *Record, err error) error
	// Rewind asks the worker to redeliver from offset on tp.
	Rewind(tp TopicPartition, offset int64)
	// Config returns the task's config.
	Config() map[string]string
	// Logger returns the task's logger: its records name the task class,
	// the connector and the task. Never nil.
	Logger() *slog.Logger
}

// ErrRetriable marks an error after which the operation may be retried
// (Kafka's RetriableException).
var ErrRetriable = errors.New("retriable")

// Retriable wraps err so that errors.Is(err, ErrRetriable) holds.
func Retriable(err error) error { return &retriable{err} }

type retriable struct{ err error }

func (r *retriable) Error() string   { return r.err.Error() }
func (r *retriable) Unwrap() []error { return []error{r.err, ErrRetriable} }

// Converter turns Connect data into bytes and back (Kafka's Converter).
// Configure is called once before use (after SetLogger, for a
// LoggerSetter); the other methods may be called concurrently afterwards
// only if the converter says so, otherwise the worker gives each task its
// own instance.
type Converter interface {
	Configure(config map[string]string, isKey bool) error
	FromConnect(topic string, headers Headers, schema *Schema, value any) ([]byte, error)
	ToConnect(topic string, headers Headers, data []byte) (*Schema, any, error)
}

// HeaderConverter turns one header value into bytes and back.
type HeaderConverter interface {
	Configure(config map[string]string) error
	FromConnectHeader(topic, key string, schema *Schema, value any) ([]byte, error)
	ToConnectHeader(topic, key string, data []byte) (*Schema, any, error)
}

// Transform is a single message transform. Apply returns the transformed
// record, or nil to drop it. Each task has its own instances.
type Transform interface {
	Configure(config map[string]string) error
	Apply(r *Record) (*Record, error)
}

// Predicate decides whether a transform applies to a record.
type Predicate interface {
	Configure(config map[string]string) error
	Test(r *Record) bool
}

// ConnectorPlugin describes a connector plugin: its names, config and
// constructors. Exactly one of NewSourceTask and NewSinkTask is set.
type ConnectorPlugin struct {
	// Class is the canonical class name; Aliases are other accepted names
	// (well-known Java class names of the connector this one replaces).
	Class   string
	Aliases []string
	Version string
	Config  ConfigDef
	// Doc is one paragraph for the README and the plugin list.
	Doc string
	// ExactlyOnce says a source connector's offsets let a restarted task
	// resume exactly after the last record of a committed transaction, so
	// it supports exactly-once delivery (KIP-618's exactlyOnceSupport).
	ExactlyOnce   bool
	NewConnector  func() Connector
	NewSourceTask func() SourceTask
	NewSinkTask   func() SinkTask
}

// Type returns PluginSource or PluginSink.
func (p *ConnectorPlugin) Type() PluginType {
	if p.NewSinkTask != nil {
		return PluginSink
	}
	return PluginSource
}

// Plugin describes a converter, header converter, transform or predicate.
// Exactly one constructor is set, the one Type names (see Check); each
// returns a fresh, unconfigured instance.
type Plugin struct {
	Class   string
	Aliases []string
	Type    PluginType
	Version string
	Config  ConfigDef
	Doc     string

	NewConverter       func() Converter       // Type PluginConverter
	NewHeaderConverter func() HeaderConverter // Type PluginHeaderConverter
	NewTransform       func() Transform       // Type PluginTransformation
	NewPredicate       func() Predicate       // Type PluginPredicate
}

// Check reports a plugin whose constructors do not match its Type: the
// one Type names must be set and no other.
func (p *Plugin) Check() error {
	set := []struct {
		typ PluginType
		set bool
	}{
		{PluginConverter, p.NewConverter != nil},
		{PluginHeaderConverter, p.NewHeaderConverter != nil},
		{PluginTransformation, p.NewTransform != nil},
		{PluginPredicate, p.NewPredicate != nil},
	}
	known := false
	for _, c := range set {
		switch {
		case c.typ == p.Type && !c.set:
			return fmt.Errorf("plugin %s: type %s without its constructor", p.Class, p.Type)
		case c.typ != p.Type && c.set:
			return fmt.Errorf("plugin %s: type %s with a %s constructor", p.Class, p.Type, c.typ)
		}
		known = known || c.typ == p.Type
	}
	if !known {
		return fmt.Errorf("plugin %s: type %q is not a converter, header converter, transformation or predicate", p.Class, p.Type)
	}
	return nil
}

// MatchesClass reports whether name refers to the plugin with this class
// and aliases: the full name, an alias, the simple name, or the simple name
// without its type suffix (Kafka's plugin alias rules: FileStreamSink,
// FileStreamSinkConnector, org.apache...FileStreamSinkConnector).
func MatchesClass(class string, aliases []string, name string) bool {
	if name == "" {
		return false
	}
	for _, c := range append([]string{class}, aliases...) {
		if c == name {
			return true
		}
		simple := c[strings.LastIndexByte(c, '.')+1:]
		if simple == name {
			return true
		}
		for _, suffix := range []string{"Connector", "Converter", "Transformation", "Predicate"} {
			if trimmed, ok := strings.CutSuffix(simple, suffix); ok && trimmed != "" && trimmed == name {
				return true
			}
		}
	}
	return false
}

// BuiltinVersion is the version the built-in plugins report.
const BuiltinVersion = "0.4.0"

// FindPlugin returns the plugin of type typ that name refers to (by class,
// alias or simple name), or nil.
func FindPlugin(plugins []Plugin, typ PluginType, name string) *Plugin {
	for i := range plugins {
		p := &plugins[i]
		if p.Type == typ && MatchesClass(p.Class, p.Aliases, name) {
			return p
		}
	}
	return nil
}
