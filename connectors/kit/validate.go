package kit

import (
	"errors"

	"github.com/sluicehq/sluice/runtime/connect"
)

// AddConfigErrors adds to a validate answer the *connect.ConfigError
// values err holds (joined errors included), each on its key, except on
// a key the per-key checks already found wrong, so that no problem is
// reported twice. A connector's Validate passes its cross-key checks'
// error through it.
func AddConfigErrors(results []connect.ConfigValue, err error) []connect.ConfigValue {
	for _, e := range leafErrors(err) {
		var ce *connect.ConfigError
		if errors.As(e, &ce) && !hasErrors(results, ce.Key) {
			results = connect.AddError(results, ce.Key, ce.Msg)
		}
	}
	return results
}

// leafErrors returns the errors errors.Join put together in err, at any
// depth; err itself when it joins nothing.
func leafErrors(err error) []error {
	if err == nil {
		return nil
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, e := range j.Unwrap() {
			out = append(out, leafErrors(e)...)
		}
		return out
	}
	return []error{err}
}

// hasErrors reports whether key already has errors in results.
func hasErrors(results []connect.ConfigValue, key string) bool {
	for _, r := range results {
		if r.Name == key && len(r.Errors) > 0 {
			return true
		}
	}
	return false
}
