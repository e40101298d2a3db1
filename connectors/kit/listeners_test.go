package kit

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestDealListeners(t *testing.T) {
	props := map[string]string{"name": "c", "listeners": "a,b,c"}
	got := DealListeners(props, []string{"a", " b", "c"}, "listeners", "task.id", 2)
	assert.Equal(t, []map[string]string{
		{"name": "c", "listeners": "a,c", "task.id": "0"},
		{"name": "c", "listeners": "b", "task.id": "1"},
	}, got)
	assert.Equal(t, "a,b,c", props["listeners"], "props are not changed")
	assert.Len(t, DealListeners(props, []string{"a"}, "listeners", "task.id", 8), 1, "no more tasks than listeners")
}

func TestBound(t *testing.T) {
	var b Bound
	assert.Nil(t, b.Addrs())
	b.Set("conn/1", []string{"mqtt://127.0.0.1:1883"})
	assert.Equal(t, []string{"mqtt://127.0.0.1:1883"}, b.Addrs())
	assert.Equal(t, []string{"mqtt://127.0.0.1:1883"}, BoundAddrs("conn", 1))
	assert.Nil(t, BoundAddrs("conn", 0))
	b.Clear()
	assert.Nil(t, b.Addrs())
	assert.Nil(t, BoundAddrs("conn", 1))
}
