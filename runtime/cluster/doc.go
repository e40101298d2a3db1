// Package cluster makes Connect workers one group, as Kafka Connect's
// distributed mode does: the workers join a classic Kafka consumer group
// with protocol type "connect", the coordinator picks a leader, and the
// leader assigns connectors and tasks to every member.
//
// Three pieces, each usable alone:
//
//   - protocol.go: the member metadata and assignment bytes, byte for byte
//     as Kafka's ConnectProtocol and IncrementalCooperativeConnectProtocol
//     write them, so a Sluice worker and a Kafka Connect worker can read
//     each other's group messages.
//   - Assignor: the leader's incremental cooperative assignment (KIP-415),
//     with the scheduled rebalance delay for lost work and a backoff between
//     consecutive revoking rebalances (KAFKA-12495).
//   - Member: JoinGroup, SyncGroup, Heartbeat and LeaveGroup against the
//     group coordinator through a franz-go client, calling a Handler.
//
// # Wire format
//
// Integers are big-endian; a string is an int16 length and its UTF-8
// bytes; an array is an int32 count (-1: null) and its elements; bytes are
// an int32 length (-1: null) and the bytes. Every message starts with an
// int16 version: 0 for the "default" protocol (eager), 1 for "compatible",
// 2 for "sessioned". V1 and V2 have the same layout.
//
//	metadata (JoinGroup)              assignment (SyncGroup)
//	  version     int16                 version      int16
//	  url         string                error        int16   0 none, 1 config mismatch
//	  configOffset int64                leader       string  the leader's member id
//	  allocation  bytes   (V1+)         leaderUrl    string
//	              └ an assignment       configOffset int64
//	                whose assigned      assigned     [connectorTasks]
//	                list is what the    revoked      [connectorTasks]  (V1+)
//	                member runs         delay        int32 ms          (V1+)
//
//	connectorTasks
//	  connector string
//	  tasks     [int32]   task ids; -1 stands for the Connector object itself
//
// For example the V0 assignment of connectors c1 and the task c2-0, by
// leader "l" at "u", config offset 1:
//
//	00 00  00 00  00 01 'l'  00 01 'u'  00 00 00 00 00 00 00 01
//	00 00 00 02
//	  00 02 'c' '1'  00 00 00 01  ff ff ff ff
//	  00 02 'c' '2'  00 00 00 01  00 00 00 00
//
// Readers follow Kafka's leniency: V1 fields missing at the end of a
// message take their defaults (empty lists, delay 0) and bytes after the
// last known field are ignored, so newer and older workers understand each
// other. Anything else malformed is an error wrapping ErrMalformed.
package cluster
