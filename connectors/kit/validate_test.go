package kit

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/sluicehq/sluice/runtime/connect"
)

func TestAddConfigErrors(t *testing.T) {
	results := []connect.ConfigValue{{Name: "a"}, {Name: "b", Errors: []string{"per-key"}}, {Name: "c"}}
	err := errors.Join(
		connect.NewConfigError("a", "a is wrong"),
		errors.Join(connect.NewConfigError("b", "b again"), connect.NewConfigError("c", "c is wrong")),
		errors.New("no key"))
	got := AddConfigErrors(results, err)
	assert.Equal(t, []string{"a is wrong"}, got[0].Errors)
	assert.Equal(t, []string{"per-key"}, got[1].Errors, "a key already wrong is not reported twice")
	assert.Equal(t, []string{"c is wrong"}, got[2].Errors)
	assert.Equal(t, results, AddConfigErrors(results, nil))
}
