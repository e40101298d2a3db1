package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/sluicehq/sluice/internal/javaprops"
)

// readmeRESTURL is the Connect REST API the README's examples talk to.
const readmeRESTURL = "http://127.0.0.1:8083"

// parseReadmeJSON reads a json block: a whole document, or a fragment of
// `"key": value` lines, read inside braces.
func parseReadmeJSON(text string) (map[string]any, error) {
	text = strings.TrimSpace(text)
	if !strings.HasPrefix(text, "{") {
		text = "{" + text + "}"
	}
	var v map[string]any
	if err := json.Unmarshal([]byte(text), &v); err != nil {
		return nil, err
	}
	return v, nil
}

// connectorConfig is the flat string config of a json block: the "config"
// of a create request, or the block itself.
func connectorConfig(v map[string]any) (map[string]string, error) {
	if c, ok := v["config"].(map[string]any); ok {
		v = c
	}
	cfg := map[string]string{}
	for k, x := range v {
		s, ok := x.(string)
		if !ok {
			return nil, fmt.Errorf("%s: want a string value, as Kafka Connect configs have, not %v", k, x)
		}
		cfg[k] = s
	}
	return cfg, nil
}

// checkJSON parses a json block and, with validate=CLASS, has the running
// worker validate it as a config of that connector (named readme-LINE
// unless it has a name).
func (e *readmeEnv) checkJSON(b *readmeBlock) {
	v, err := parseReadmeJSON(e.rewrite(b.text))
	if err != nil {
		e.fail("%s is not JSON: %v", b.where(), err)
		return
	}
	if b.marker.validate == "" {
		return
	}
	cfg, err := connectorConfig(v)
	if err != nil {
		e.fail("%s: %v", b.where(), err)
		return
	}
	for k, v := range b.marker.config {
		cfg[k] = v
	}
	if _, ok := cfg["connector.class"]; !ok {
		cfg["connector.class"] = b.marker.validate
	}
	if _, ok := cfg["name"]; !ok {
		cfg["name"] = fmt.Sprintf("readme-%d", b.line)
	}
	errs, err := validateConnector(b.marker.validate, cfg)
	if err != nil {
		e.fail("%s: %v", b.where(), err)
		return
	}
	if len(errs) > 0 {
		e.fail("%s: the worker finds errors in the config:\n%s", b.where(), strings.Join(errs, "\n"))
	}
}

// validateConnector asks the worker at readmeRESTURL to validate cfg as a
// config of class and returns each error as "key: message".
func validateConnector(class string, cfg map[string]string) ([]string, error) {
	body, err := json.Marshal(cfg)
	if err != nil {
		return nil, err
	}
	u := readmeRESTURL + "/connector-plugins/" + url.PathEscape(class) + "/config/validate"
	req, err := http.NewRequest(http.MethodPut, u, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	client := http.Client{Timeout: 30 * time.Second}
	resp, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("validate config: %w", err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("validate config: read answer: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("validate config: %s: %s", resp.Status, raw)
	}
	var infos struct {
		ErrorCount int `json:"error_count"`
		Configs    []struct {
			Value struct {
				Name   string   `json:"name"`
				Errors []string `json:"errors"`
			} `json:"value"`
		} `json:"configs"`
	}
	if err := json.Unmarshal(raw, &infos); err != nil {
		return nil, fmt.Errorf("validate config: decode %s: %w", raw, err)
	}
	var errs []string
	for _, c := range infos.Configs {
		for _, msg := range c.Value.Errors {
			errs = append(errs, c.Value.Name+": "+msg)
		}
	}
	if infos.ErrorCount > 0 && len(errs) == 0 {
		errs = append(errs, fmt.Sprintf("error_count %d: %s", infos.ErrorCount, raw))
	}
	return errs, nil
}

// checkProperties parses a properties block as Kafka's tools read one.
func (e *readmeEnv) checkProperties(b *readmeBlock) {
	if _, err := javaprops.Load(strings.NewReader(b.text)); err != nil {
		e.fail("%s: %v", b.where(), err)
	}
}
