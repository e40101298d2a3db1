package rest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/sluicehq/sluice/runtime/worker"
)

// Request bodies, decoded as Kafka's Jackson mapper reads them: a config is
// Map<String,String>, so numbers and booleans are taken as their text
// ("tasks.max": 1 is "1"). Objects or arrays where a string belongs are a
// malformed body.

var errNotScalar = errors.New("expected a string, number, boolean or null")

// scalarText returns a JSON scalar as config text; null reports ok false.
func scalarText(raw json.RawMessage) (text string, ok bool, err error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return "", false, errNotScalar
	}
	switch raw[0] {
	case 'n':
		return "", false, nil
	case '"':
		if err := json.Unmarshal(raw, &text); err != nil {
			return "", false, err
		}
		return text, true, nil
	case '{', '[':
		return "", false, errNotScalar
	}
	return string(raw), true, nil // number, true or false: their JSON text
}

// configMap is a flat connector config. A null value drops the key.
type configMap map[string]string

// UnmarshalJSON reads an object of scalars.
func (m *configMap) UnmarshalJSON(b []byte) error {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	if raw == nil {
		*m = nil
		return nil
	}
	out := make(configMap, len(raw))
	for k, v := range raw {
		text, ok, err := scalarText(v)
		if err != nil {
			return fmt.Errorf("config key %s: %w", k, err)
		}
		if ok {
			out[k] = text
		}
	}
	*m = out
	return nil
}

// patchMap is a KIP-477 config patch: a null value removes the key.
type patchMap map[string]*string

// UnmarshalJSON reads an object of scalars, keeping nulls.
func (m *patchMap) UnmarshalJSON(b []byte) error {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	out := make(patchMap, len(raw))
	for k, v := range raw {
		text, ok, err := scalarText(v)
		if err != nil {
			return fmt.Errorf("config key %s: %w", k, err)
		}
		if ok {
			out[k] = &text
		} else {
			out[k] = nil
		}
	}
	*m = out
	return nil
}

// createRequest is Kafka's CreateConnectorRequest.
type createRequest struct {
	Name         json.RawMessage `json:"name"`
	Config       configMap       `json:"config"`
	InitialState *string         `json:"initial_state"`
}

// name is the trimmed name, "" when absent, so the herder's validation
// reports it as Kafka's does.
func (c createRequest) name() (string, error) {
	if c.Name == nil {
		return "", nil
	}
	text, _, err := scalarText(c.Name)
	if err != nil {
		return "", fmt.Errorf("%w: name: %w", errBody, err)
	}
	return strings.TrimSpace(text), nil
}

// targetState reads initial_state (KIP-980), any case; "" lets the herder
// choose (RUNNING).
func (c createRequest) targetState() (worker.TargetState, error) {
	if c.InitialState == nil {
		return "", nil
	}
	switch strings.ToUpper(*c.InitialState) {
	case "RUNNING":
		return worker.TargetStarted, nil
	case "PAUSED":
		return worker.TargetPaused, nil
	case "STOPPED":
		return worker.TargetStopped, nil
	}
	return "", fmt.Errorf("%w: initial_state %s is not one of RUNNING, PAUSED, STOPPED", errBody, *c.InitialState)
}

// checkConfigName applies Kafka's rule for a body that names the connector
// in its config: the name must match, and is filled in when absent.
func checkConfigName(name string, config map[string]string) error {
	included, ok := config["name"]
	if !ok {
		config["name"] = name
		return nil
	}
	if included != name {
		return fmt.Errorf("%w: Connector name configuration (%s) doesn't match connector name in the URL (%s)",
			worker.ErrBadRequest, included, name)
	}
	return nil
}

// normalizeNumbers turns the json.Number values of an offsets map into
// int64 when integral, else float64, as Jackson yields Long or Double.
func normalizeNumbers(m map[string]any) map[string]any {
	for k, v := range m {
		m[k] = normalizeValue(v)
	}
	return m
}

func normalizeValue(v any) any {
	switch x := v.(type) {
	case json.Number:
		if i, err := x.Int64(); err == nil {
			return i
		}
		if f, err := x.Float64(); err == nil {
			return f
		}
		return x.String()
	case map[string]any:
		return normalizeNumbers(x)
	case []any:
		for i := range x {
			x[i] = normalizeValue(x[i])
		}
		return x
	}
	return v
}
