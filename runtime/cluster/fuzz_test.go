package cluster

import (
	"bytes"
	"testing"
)

// FuzzDecode feeds arbitrary bytes to both decoders: they must return an
// error or a value, never panic, and one encode brings any accepted input
// to a canonical form that encodes to itself.
func FuzzDecode(f *testing.F) {
	f.Add(EncodeAssignment(Assignment{Version: 1, Leader: "l", LeaderURL: "u", Connectors: []string{"a"},
		Tasks: []TaskID{{"a", 0}}, RevokedTasks: []TaskID{{"b", 1}}, Delay: 9}))
	f.Add(EncodeAssignment(Assignment{Leader: "l", Connectors: []string{"a", "a"}}))
	f.Add(EncodeMetadata(MemberMetadata{Version: 2, URL: "u", ConfigOffset: 3,
		Allocation: Allocation{Connectors: []string{"a"}, Tasks: []TaskID{{"a", 0}}}}))
	f.Add(EncodeMetadata(MemberMetadata{URL: "u"}))
	f.Add([]byte{0, 1, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		if a, err := DecodeAssignment(b); err == nil {
			once := EncodeAssignment(a)
			again, err := DecodeAssignment(once)
			if err != nil {
				t.Fatalf("re-decode assignment %x: %v", once, err)
			}
			if twice := EncodeAssignment(again); !bytes.Equal(once, twice) {
				t.Fatalf("assignment not canonical after one encode:\n%x\n%x", once, twice)
			}
		}
		if md, err := DecodeMetadata(b); err == nil {
			once := EncodeMetadata(md)
			again, err := DecodeMetadata(once)
			if err != nil {
				t.Fatalf("re-decode metadata %x: %v", once, err)
			}
			if twice := EncodeMetadata(again); !bytes.Equal(once, twice) {
				t.Fatalf("metadata not canonical after one encode:\n%x\n%x", once, twice)
			}
		}
	})
}
