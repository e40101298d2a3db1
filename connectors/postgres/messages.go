package postgres

import (
	"bytes"
	"context"
	"fmt"
	"time"

	"github.com/jackc/pglogrepl"

	"github.com/sluicehq/sluice/connectors/debezium"
	"github.com/sluicehq/sluice/runtime/connect"
)

// Keys choosing which logical decoding messages (pg_logical_emit_message)
// become events, by prefix.
const (
	MessagePrefixIncludeListConfig = "message.prefix.include.list"
	MessagePrefixExcludeListConfig = "message.prefix.exclude.list"
)

// messagesConfig declares them.
var messagesConfig = connect.ConfigDef{
	list(MessagePrefixIncludeListConfig, "Regular expressions matching the prefixes of the logical decoding messages to emit; no other message is emitted."),
	list(MessagePrefixExcludeListConfig, "Regular expressions matching the prefixes of the logical decoding messages not to emit."),
}

// Schemas of message events, Debezium's (LogicalDecodingMessageMonitor).
var (
	messageKeySchema = connect.StructBuilder().Name("io.debezium.connector.postgresql.MessageKey").Version(1).
		Field("prefix", connect.OptionalStringSchema).Build()
)

// messageSchemas returns the message block and value schemas; content
// follows binary.handling.mode.
func messageSchemas(o TypeOptions) (block, value *connect.Schema) {
	content := connect.OptionalBytesSchema
	if o.withDefaults().BinaryMode != debezium.BinaryBytes {
		content = connect.OptionalStringSchema
	}
	block = connect.StructBuilder().Name("io.debezium.connector.postgresql.Message").Version(1).
		Field("prefix", connect.OptionalStringSchema).Field("content", content).Build()
	value = connect.StructBuilder().Name("io.debezium.connector.postgresql.MessageValue").Version(1).
		Field("op", connect.StringSchema).Field("ts_ms", connect.OptionalInt64Schema).
		Field("source", SourceSchema).Field("transaction", debezium.TransactionSchema).Field("message", block).Build()
	return block, value
}

// wantsMessage applies the prefix lists.
func (t *sourceTask) wantsMessage(prefix string) bool {
	if len(t.cfg.msgIn) > 0 {
		return debezium.MatchAny(t.cfg.msgIn, prefix)
	}
	return !debezium.MatchAny(t.cfg.msgEx, prefix)
}

// message turns a logical decoding message into an event on
// <topic.prefix>.message, op m. A transactional message belongs to its
// transaction (and its offset); a non-transactional one is emitted at
// once, positioned at the last commit.
func (t *sourceTask) message(ctx context.Context, s *stream, m *pglogrepl.LogicalDecodingMessage) error {
	if !t.wantsMessage(m.Prefix) {
		return nil
	}
	inTx := m.Transactional && s.tx != nil
	if inTx && s.tx.skip {
		return nil
	}
	src := Source{Version: connect.BuiltinVersion, Name: t.cfg.prefix, DB: t.cfg.db, Commit: time.Now(),
		Sequence: fmt.Sprintf(`["%d","%d"]`, s.lastCommit, m.LSN), LSN: int64(m.LSN)}
	if inTx {
		src.Commit, src.TxID = s.tx.commit, int64(s.tx.xid)
	}
	if t.msgValue == nil {
		t.msgBlock, t.msgValue = messageSchemas(t.cfg.types)
	}
	block, valueSchema := t.msgBlock, t.msgValue
	msg := connect.NewStruct(block).MustPut("prefix", m.Prefix).MustPut("content", t.messageContent(m.Content))
	value := connect.NewStruct(valueSchema).MustPut("op", "m").MustPut("ts_ms", time.Now().UnixMilli()).
		MustPut("source", sourceStruct(src, "", "")).MustPut("message", msg)
	key := connect.NewStruct(messageKeySchema).MustPut("prefix", m.Prefix)
	r := connect.NewSourceRecord(t.sourcePartition(), nil, t.cfg.prefix+".message", messageKeySchema, key, valueSchema, value)
	if inTx {
		t.queue(s, r)
		return t.flushTx(ctx, s, false)
	}
	r.SourceOffset = map[string]any{"lsn": int64(s.lastCommit), "lsn_commit": int64(s.lastCommit), "ts_usec": time.Now().UnixMicro()}
	return t.emit(ctx, []*connect.Record{r})
}

// messageContent renders content per binary.handling.mode.
func (t *sourceTask) messageContent(b []byte) any {
	// b is in the connection's read buffer: keep a copy.
	return debezium.BinaryValue(bytes.Clone(b), t.cfg.types.withDefaults().BinaryMode)
}
