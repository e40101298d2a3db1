package worker

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"
)

// forwardClient carries the worker's own requests to other workers.
var forwardClient = &http.Client{Timeout: 30 * time.Second}

// forwardTaskConfigs posts task configs to the leader's internal endpoint.
func (h *Herder) forwardTaskConfigs(ctx context.Context, leaderURL, name string, configs []map[string]string) error {
	if configs == nil {
		configs = []map[string]string{}
	}
	body, err := json.Marshal(configs)
	if err != nil {
		return err
	}
	u := leaderURL + "/connectors/" + url.PathEscape(name) + "/tasks?forward=true"
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := forwardClient.Do(req)
	if err != nil {
		return fmt.Errorf("forward task configs of %s to the leader %s: %w", name, leaderURL, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		return fmt.Errorf("forward task configs of %s to the leader %s: %s: %s", name, leaderURL, resp.Status, msg)
	}
	return nil
}
