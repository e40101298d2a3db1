package cluster

import (
	"encoding/binary"
	"encoding/hex"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// The values of Kafka's ConnectProtocolCompatibilityTest.
const (
	testLeader    = "leader"
	testLeaderURL = "leaderUrl:8083"
)

// kafkaBytes writes Kafka's Struct layout by hand, independently of the
// encoder under test, so the golden files are anchored to Kafka's schema
// rather than to whatever the encoder happens to write.
type kafkaBytes []byte

func (k kafkaBytes) i16(v int16) kafkaBytes { return binary.BigEndian.AppendUint16(k, uint16(v)) }
func (k kafkaBytes) i32(v int32) kafkaBytes { return binary.BigEndian.AppendUint32(k, uint32(v)) }
func (k kafkaBytes) i64(v int64) kafkaBytes { return binary.BigEndian.AppendUint64(k, uint64(v)) }
func (k kafkaBytes) str(s string) kafkaBytes {
	return append(k.i16(int16(len(s))), s...)
}

// entry writes one CONNECTOR_ASSIGNMENT_V0 struct.
func (k kafkaBytes) entry(connector string, tasks ...int32) kafkaBytes {
	k = k.str(connector).i32(int32(len(tasks)))
	for _, t := range tasks {
		k = k.i32(t)
	}
	return k
}

func TestGolden(t *testing.T) {
	// ASSIGNMENT_V0 of Kafka's testEagerToEagerAssignment leader assignment.
	assignmentV0 := kafkaBytes{}.i16(0).i16(0).str(testLeader).str(testLeaderURL).i64(1).
		i32(3).entry("connector1", -1).entry("connector3", -1).entry("connector2", 0)
	// ASSIGNMENT_V1 with revocations and a scheduled delay.
	assignmentV1 := kafkaBytes{}.i16(1).i16(0).str(testLeader).str(testLeaderURL).i64(1).
		i32(2).entry("connector1", -1, 0, 1).entry("connector2", 0).
		i32(2).entry("connector3", -1).entry("connector2", 1).
		i32(300000)
	// Config state V0 behind the protocol header.
	metadataV0 := kafkaBytes{}.i16(0).str(testLeaderURL).i64(1)
	// ALLOCATION_V1 holds a whole V2 assignment; leader fields empty.
	alloc := kafkaBytes{}.i16(2).i16(0).str("").str("").i64(7).
		i32(2).entry("c1", -1, 0).entry("c2", 1).i32(0).i32(0)
	metadataV2 := kafkaBytes{}.i16(2).str(testLeaderURL).i64(7).i32(int32(len(alloc)))
	metadataV2 = append(metadataV2, alloc...)

	tests := []struct {
		name  string
		got   []byte
		kafka []byte // nil where only the golden file anchors the bytes
	}{
		{"assignment_v0", EncodeAssignment(Assignment{
			Leader: testLeader, LeaderURL: testLeaderURL, ConfigOffset: 1,
			Connectors: []string{"connector1", "connector3"},
			Tasks:      []TaskID{{"connector2", 0}},
		}), assignmentV0},
		{"assignment_v1", EncodeAssignment(Assignment{
			Version: 1, Leader: testLeader, LeaderURL: testLeaderURL, ConfigOffset: 1,
			Connectors:        []string{"connector1"},
			Tasks:             []TaskID{{"connector1", 0}, {"connector1", 1}, {"connector2", 0}},
			RevokedConnectors: []string{"connector3"},
			RevokedTasks:      []TaskID{{"connector2", 1}},
			Delay:             300000,
		}), assignmentV1},
		{"assignment_v2_config_mismatch", EncodeAssignment(Assignment{
			Version: 2, Error: ConfigMismatch, Leader: testLeader, LeaderURL: testLeaderURL, ConfigOffset: 42,
		}), nil},
		{"metadata_v0", EncodeMetadata(MemberMetadata{URL: testLeaderURL, ConfigOffset: 1}), metadataV0},
		{"metadata_v1_null_allocation", EncodeMetadata(MemberMetadata{Version: 1, URL: testLeaderURL, ConfigOffset: 1}),
			kafkaBytes{}.i16(1).str(testLeaderURL).i64(1).i32(-1)},
		{"metadata_v2_allocation", EncodeMetadata(MemberMetadata{
			Version: 2, URL: testLeaderURL, ConfigOffset: 7,
			Allocation: Allocation{Connectors: []string{"c1"}, Tasks: []TaskID{{"c1", 0}, {"c2", 1}}},
		}), metadataV2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.kafka != nil {
				require.Equal(t, hex.EncodeToString(tt.kafka), hex.EncodeToString(tt.got), "bytes differ from Kafka's layout")
			}
			path := filepath.Join("testdata", tt.name+".hex")
			if *update {
				require.NoError(t, os.WriteFile(path, []byte(hexLines(tt.got)), 0o644))
			}
			want, err := os.ReadFile(path)
			require.NoError(t, err)
			require.Equal(t, string(want), hexLines(tt.got))
		})
	}
}

// hexLines is b in hex, 16 bytes a line.
func hexLines(b []byte) string {
	var sb strings.Builder
	for len(b) > 0 {
		n := min(16, len(b))
		sb.WriteString(hex.EncodeToString(b[:n]))
		sb.WriteByte('\n')
		b = b[n:]
	}
	return sb.String()
}

func TestRoundTrip(t *testing.T) {
	assignments := []Assignment{
		{Leader: "l", LeaderURL: "http://l:8083", ConfigOffset: 3, Connectors: []string{"a", "b"}, Tasks: []TaskID{{"a", 0}, {"b", 2}}},
		{Version: 1, Leader: "l", LeaderURL: "u", ConfigOffset: -1},
		{Version: 2, Error: ConfigMismatch, Leader: "l", LeaderURL: "u", ConfigOffset: 9,
			Tasks: []TaskID{{"a", 0}}, RevokedConnectors: []string{"b"}, RevokedTasks: []TaskID{{"b", 0}}, Delay: 5},
	}
	for _, a := range assignments {
		got, err := DecodeAssignment(EncodeAssignment(a))
		require.NoError(t, err)
		assert.Equal(t, a, got)
	}
	metadata := []MemberMetadata{
		{URL: "http://w:8083", ConfigOffset: 10},
		{Version: 1, URL: "u", ConfigOffset: 0},
		{Version: 2, URL: "u", ConfigOffset: 4, Allocation: Allocation{Connectors: []string{"a"}, Tasks: []TaskID{{"a", 0}, {"a", 1}}}},
		{Version: 2, URL: "u", ConfigOffset: 4, Allocation: Allocation{Tasks: []TaskID{{"a", 3}}}},
	}
	for _, md := range metadata {
		got, err := DecodeMetadata(EncodeMetadata(md))
		require.NoError(t, err)
		assert.Equal(t, md, got)
	}
}

// TestCompatibility follows Kafka's ConnectProtocolCompatibilityTest: each
// version's bytes are readable as the others.
func TestCompatibility(t *testing.T) {
	t.Run("V1 assignment read by a V0 reader", func(t *testing.T) {
		// A V0 reader stops after the assignment list; our reader of the
		// same bytes cut there must agree.
		full := EncodeAssignment(Assignment{Version: 1, Leader: testLeader, LeaderURL: testLeaderURL, ConfigOffset: 1,
			Connectors: []string{"connector1", "connector3"}, Tasks: []TaskID{{"connector2", 0}},
			RevokedTasks: []TaskID{{"connector1", 1}}, Delay: 10})
		v0len := len(EncodeAssignment(Assignment{Leader: testLeader, LeaderURL: testLeaderURL, ConfigOffset: 1,
			Connectors: []string{"connector1", "connector3"}, Tasks: []TaskID{{"connector2", 0}}}))
		got, err := DecodeAssignment(full[:v0len])
		require.NoError(t, err)
		assert.Equal(t, []string{"connector1", "connector3"}, got.Connectors)
		assert.Equal(t, []TaskID{{"connector2", 0}}, got.Tasks)
		assert.Empty(t, got.RevokedTasks)
		assert.Zero(t, got.Delay)
	})
	t.Run("V0 assignment read as V1", func(t *testing.T) {
		got, err := DecodeAssignment(EncodeAssignment(Assignment{Leader: "member", LeaderURL: testLeaderURL, ConfigOffset: 1,
			Connectors: []string{"connector2"}, Tasks: []TaskID{{"connector1", 0}, {"connector3", 0}}}))
		require.NoError(t, err)
		assert.Equal(t, Assignment{Leader: "member", LeaderURL: testLeaderURL, ConfigOffset: 1,
			Connectors: []string{"connector2"}, Tasks: []TaskID{{"connector1", 0}, {"connector3", 0}}}, got)
	})
	t.Run("V1 assignment without its delay", func(t *testing.T) {
		b := kafkaBytes{}.i16(1).i16(0).str("l").str("u").i64(1).i32(1).entry("a", 0).i32(-1)
		got, err := DecodeAssignment(b)
		require.NoError(t, err)
		assert.Equal(t, []TaskID{{"a", 0}}, got.Tasks)
		assert.Zero(t, got.Delay)
	})
	t.Run("sessioned metadata read as eager", func(t *testing.T) {
		b := EncodeMetadata(MemberMetadata{Version: 2, URL: testLeaderURL, ConfigOffset: 1,
			Allocation: Allocation{Connectors: []string{"a"}}})
		md, err := DecodeMetadata(b[:len(EncodeMetadata(MemberMetadata{URL: testLeaderURL}))])
		require.NoError(t, err)
		assert.Equal(t, MemberMetadata{Version: 2, URL: testLeaderURL, ConfigOffset: 1}, md)
	})
	t.Run("Kafka worker's allocation carries its last assignment", func(t *testing.T) {
		// Kafka embeds the worker's whole last assignment, leader included.
		alloc := kafkaBytes{}.i16(2).i16(0).str(testLeader).str(testLeaderURL).i64(1).
			i32(1).entry("c", -1, 0).i32(1).entry("d", 0).i32(0)
		b := append(kafkaBytes{}.i16(2).str("http://w2:8083").i64(1).i32(int32(len(alloc))), alloc...)
		md, err := DecodeMetadata(b)
		require.NoError(t, err)
		assert.Equal(t, MemberMetadata{Version: 2, URL: "http://w2:8083", ConfigOffset: 1,
			Allocation: Allocation{Connectors: []string{"c"}, Tasks: []TaskID{{"c", 0}}}}, md)
	})
	t.Run("trailing bytes are ignored", func(t *testing.T) {
		b := append(EncodeAssignment(Assignment{Version: 1, Delay: 7}), 1, 2, 3)
		got, err := DecodeAssignment(b)
		require.NoError(t, err)
		assert.Equal(t, int32(7), got.Delay)
	})
}

func TestDecodeMalformed(t *testing.T) {
	valid := EncodeAssignment(Assignment{Version: 1, Leader: "l", Connectors: []string{"a"}, Delay: 3})
	tests := []struct {
		name string
		b    []byte
	}{
		{"empty", nil},
		{"short version", []byte{0}},
		{"negative version", kafkaBytes{}.i16(-1).i16(0).str("").str("").i64(0).i32(0)},
		{"negative string length", kafkaBytes{}.i16(0).i16(0).i16(-2)},
		{"string past the end", kafkaBytes{}.i16(0).i16(0).i16(100).str("x")},
		{"huge array", kafkaBytes{}.i16(0).i16(0).str("").str("").i64(0).i32(1 << 30)},
		{"negative array", kafkaBytes{}.i16(0).i16(0).str("").str("").i64(0).i32(-5)},
		{"huge task array", kafkaBytes{}.i16(0).i16(0).str("").str("").i64(0).i32(1).str("a").i32(1 << 28)},
		{"partial delay", valid[:len(valid)-2]},
		{"cut in the config offset", valid[:12]},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := DecodeAssignment(tt.b)
			require.ErrorIs(t, err, ErrMalformed)
		})
	}
	metadata := []struct {
		name string
		b    []byte
	}{
		{"empty", nil},
		{"negative version", kafkaBytes{}.i16(-3).str("u").i64(0)},
		{"cut offset", kafkaBytes{}.i16(1).str("u").i32(0)},
		{"allocation past the end", kafkaBytes{}.i16(1).str("u").i64(0).i32(50)},
		{"negative allocation length", kafkaBytes{}.i16(1).str("u").i64(0).i32(-2)},
		{"allocation not an assignment", kafkaBytes{}.i16(1).str("u").i64(0).i32(3).i16(0)},
		{"zero-length allocation", kafkaBytes{}.i16(1).str("u").i64(0).i32(0)},
	}
	for _, tt := range metadata {
		t.Run("metadata "+tt.name, func(t *testing.T) {
			_, err := DecodeMetadata(tt.b)
			require.ErrorIs(t, err, ErrMalformed)
		})
	}
}

func TestOffers(t *testing.T) {
	names := func(mode string) []string {
		list, err := offers(mode)
		require.NoError(t, err)
		var out []string
		for _, o := range list {
			v, ok := protocolVersion(o.name)
			require.True(t, ok)
			require.Equal(t, o.version, v)
			out = append(out, o.name)
		}
		return out
	}
	assert.Equal(t, []string{"sessioned", "compatible", "default"}, names(ModeSessioned))
	assert.Equal(t, []string{"sessioned", "compatible", "default"}, names(""))
	assert.Equal(t, []string{"compatible", "default"}, names(ModeCompatible))
	assert.Equal(t, []string{"default"}, names(ModeEager))
	_, err := offers("cooperative")
	require.Error(t, err)
	assert.Equal(t, "c-3", TaskID{"c", 3}.String())
}
