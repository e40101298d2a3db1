package cluster

import (
	"fmt"
	"strconv"
)

// ProtocolType is the group protocol type Connect workers join with.
const ProtocolType = "connect"

// Connect protocol versions, one per sub-protocol a worker can offer.
const (
	// VersionEager is the "default" protocol: every rebalance stops
	// everything and assigns it again.
	VersionEager int16 = 0
	// VersionCompatible is the "compatible" protocol: incremental
	// cooperative rebalancing (KIP-415).
	VersionCompatible int16 = 1
	// VersionSessioned is the "sessioned" protocol: V1 plus session keys
	// for internal REST requests (KIP-507); the same bytes as V1.
	VersionSessioned int16 = 2
)

// Values of the connect.protocol worker setting.
const (
	ModeEager      = "eager"
	ModeCompatible = "compatible"
	ModeSessioned  = "sessioned"
)

// Assignment error codes.
const (
	// NoError: the assignment is valid.
	NoError int16 = 0
	// ConfigMismatch: the leader could not read the config topic as far as
	// some member had; members read it to ConfigOffset and rejoin.
	ConfigMismatch int16 = 1
)

// ConnectorTask is the task id that stands for the Connector object itself.
const ConnectorTask int32 = -1

// TaskID names a task of a connector; Task ConnectorTask names the
// Connector object.
type TaskID struct {
	Connector string
	Task      int32
}

// String is Kafka's ConnectorTaskId form: "<connector>-<task>".
func (t TaskID) String() string { return t.Connector + "-" + strconv.Itoa(int(t.Task)) }

// Allocation is what a worker runs.
type Allocation struct {
	Connectors []string
	Tasks      []TaskID
}

// MemberMetadata is what a worker sends in JoinGroup.
type MemberMetadata struct {
	// Version is the protocol version; Member sets it for each protocol it
	// offers, and on the leader it is the version of the chosen protocol.
	Version int16
	// URL is the worker's advertised REST URL.
	URL string
	// ConfigOffset is how far the worker has read the config topic.
	ConfigOffset int64
	// Allocation is what the worker runs; written only for V1 and later.
	Allocation Allocation
}

// Assignment is what the leader tells one worker in SyncGroup.
type Assignment struct {
	Version int16
	// Error is NoError or ConfigMismatch.
	Error int16
	// Leader is the leader's member id, LeaderURL its REST URL.
	Leader, LeaderURL string
	// ConfigOffset is the config topic offset the assignment was made at;
	// a member runs it only once it has read that far.
	ConfigOffset int64
	// Connectors and Tasks are newly assigned (V1+) or, for V0, all the
	// member runs.
	Connectors []string
	Tasks      []TaskID
	// RevokedConnectors and RevokedTasks must stop before the member
	// rejoins (V1+).
	RevokedConnectors []string
	RevokedTasks      []TaskID
	// Delay, in milliseconds, is when members should rejoin for a scheduled
	// rebalance; 0 if none (V1+).
	Delay int32
}

// EncodeMetadata returns md in the layout of md.Version. For V1 and later
// the allocation is embedded as an assignment of the same version; an
// empty allocation is written as null, as a worker that never had an
// assignment writes it.
func EncodeMetadata(md MemberMetadata) []byte {
	w := writer{b: make([]byte, 0, 64)}
	w.int16(md.Version)
	w.string(md.URL)
	w.int64(md.ConfigOffset)
	if md.Version >= VersionCompatible {
		var alloc []byte
		if len(md.Allocation.Connectors) > 0 || len(md.Allocation.Tasks) > 0 {
			alloc = EncodeAssignment(Assignment{
				Version:      md.Version,
				ConfigOffset: md.ConfigOffset,
				Connectors:   md.Allocation.Connectors,
				Tasks:        md.Allocation.Tasks,
			})
		}
		w.bytes(alloc)
	}
	return w.b
}

// DecodeMetadata parses JoinGroup metadata of any version. An allocation is
// read whenever one follows the config offset, as Kafka's V1 reader does.
func DecodeMetadata(b []byte) (MemberMetadata, error) {
	r := reader{b: b}
	var md MemberMetadata
	md.Version = r.int16("version")
	if r.err == nil && md.Version < 0 {
		r.fail("version", "version %d is negative", md.Version)
	}
	md.URL = r.string("url")
	md.ConfigOffset = r.int64("config offset")
	if r.err == nil && r.left() > 0 {
		if alloc := r.bytes("allocation"); alloc != nil {
			a, err := DecodeAssignment(alloc)
			if err != nil {
				return MemberMetadata{}, fmt.Errorf("decode connect member metadata allocation: %w", err)
			}
			md.Allocation = Allocation{Connectors: a.Connectors, Tasks: a.Tasks}
		}
	}
	if r.err != nil {
		return MemberMetadata{}, fmt.Errorf("decode connect member metadata: %w", r.err)
	}
	return md, nil
}

// EncodeAssignment returns a in the layout of a.Version: revocations and
// delay are written for V1 and later only.
func EncodeAssignment(a Assignment) []byte {
	w := writer{b: make([]byte, 0, 128)}
	w.int16(a.Version)
	w.int16(a.Error)
	w.string(a.Leader)
	w.string(a.LeaderURL)
	w.int64(a.ConfigOffset)
	writeGroups(&w, a.Connectors, a.Tasks)
	if a.Version >= VersionCompatible {
		writeGroups(&w, a.RevokedConnectors, a.RevokedTasks)
		w.int32(a.Delay)
	}
	return w.b
}

// DecodeAssignment parses a SyncGroup assignment of any version. Trailing
// V1 fields that are absent take their defaults.
func DecodeAssignment(b []byte) (Assignment, error) {
	r := reader{b: b}
	var a Assignment
	a.Version = r.int16("version")
	if r.err == nil && a.Version < 0 {
		r.fail("version", "version %d is negative", a.Version)
	}
	a.Error = r.int16("error")
	a.Leader = r.string("leader")
	a.LeaderURL = r.string("leader url")
	a.ConfigOffset = r.int64("config offset")
	a.Connectors, a.Tasks = readGroups(&r, "assignment")
	if r.err == nil && r.left() > 0 {
		a.RevokedConnectors, a.RevokedTasks = readGroups(&r, "revoked")
	}
	if r.err == nil && r.left() > 0 {
		a.Delay = r.int32("delay")
	}
	if r.err != nil {
		return Assignment{}, fmt.Errorf("decode connect assignment: %w", r.err)
	}
	return a, nil
}

// group is one connector's entry on the wire.
type group struct {
	connector string
	tasks     []int32
}

// writeGroups writes connectors and tasks grouped by connector, in order of
// first appearance, each connector's Connector object (-1) first.
func writeGroups(w *writer, connectors []string, tasks []TaskID) {
	var groups []group
	index := make(map[string]int, len(connectors)+len(tasks))
	add := func(connector string, task int32) {
		i, ok := index[connector]
		if !ok {
			i = len(groups)
			index[connector] = i
			groups = append(groups, group{connector: connector})
		}
		groups[i].tasks = append(groups[i].tasks, task)
	}
	seen := make(map[string]bool, len(connectors))
	for _, c := range connectors {
		if !seen[c] {
			seen[c] = true
			add(c, ConnectorTask)
		}
	}
	for _, t := range tasks {
		add(t.Connector, t.Task)
	}
	w.int32(int32(len(groups)))
	for _, g := range groups {
		w.string(g.connector)
		w.int32(int32(len(g.tasks)))
		for _, t := range g.tasks {
			w.int32(t)
		}
	}
}

// readGroups reads a nullable array of connector entries and flattens it.
func readGroups(r *reader, what string) (connectors []string, tasks []TaskID) {
	n := r.arrayLen(what, 6) // a connector entry is at least 2+4 bytes
	for range n {
		name := r.string(what + " connector")
		m := r.arrayLen(what+" tasks", 4)
		for range m {
			id := r.int32(what + " task")
			if r.err != nil {
				return nil, nil
			}
			if id == ConnectorTask {
				connectors = append(connectors, name)
			} else {
				tasks = append(tasks, TaskID{Connector: name, Task: id})
			}
		}
		if r.err != nil {
			return nil, nil
		}
	}
	return connectors, tasks
}

// protocolVersion maps a sub-protocol name to its version.
func protocolVersion(name string) (int16, bool) {
	switch name {
	case "default":
		return VersionEager, true
	case "compatible":
		return VersionCompatible, true
	case "sessioned":
		return VersionSessioned, true
	}
	return 0, false
}

// offer is one sub-protocol a member offers in JoinGroup.
type offer struct {
	name    string
	version int16
}

// offers lists the sub-protocols a connect.protocol mode offers, most
// preferred first, as Kafka's WorkerCoordinator does.
func offers(mode string) ([]offer, error) {
	eager := offer{"default", VersionEager}
	compatible := offer{"compatible", VersionCompatible}
	sessioned := offer{"sessioned", VersionSessioned}
	switch mode {
	case ModeEager:
		return []offer{eager}, nil
	case ModeCompatible:
		return []offer{compatible, eager}, nil
	case ModeSessioned, "":
		return []offer{sessioned, compatible, eager}, nil
	}
	return nil, fmt.Errorf("connect.protocol %q: want %s, %s or %s", mode, ModeEager, ModeCompatible, ModeSessioned)
}
