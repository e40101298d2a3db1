package broker

// ApiVersions: v0-5.
//
// Lists every API this broker serves with exactly the versions it handles;
// minimum versions stay at 0 where clients (librdkafka 2.0.2) switch features
// off otherwise. A request above v5 is answered with a v0 body carrying
// UNSUPPORTED_VERSION and our ApiVersions range (KIP-511), so the client
// retries at a version we speak. v3+ validates the client software name and
// version; v5 checks the cluster and node the client thinks it reached
// (KIP-1242) and answers REBOOTSTRAP_REQUIRED if they are not ours.

import (
	"regexp"
	"slices"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

var apiVersionsAPI = api{key: 18, min: 0, max: 5, handle: handleApiVersions}

var softwareNameRE = regexp.MustCompile(`^[a-zA-Z0-9](?:[a-zA-Z0-9\-.]*[a-zA-Z0-9])?$`)

func handleApiVersions(c *conn, kreq kmsg.Request) *pending {
	req := kreq.(*kmsg.ApiVersionsRequest)
	resp := req.ResponseKind().(*kmsg.ApiVersionsResponse)
	if req.Version >= 3 && (!softwareNameRE.MatchString(req.ClientSoftwareName) || !softwareNameRE.MatchString(req.ClientSoftwareVersion)) {
		resp.ErrorCode = kerr.InvalidRequest.Code
		return ready(resp)
	}
	if req.Version >= 5 {
		hasCluster, hasNode := req.ClusterID != nil, req.NodeID != -1
		switch {
		case hasCluster != hasNode:
			resp.ErrorCode = kerr.InvalidRequest.Code
			return ready(resp)
		case hasCluster && (*req.ClusterID != c.s.clusterID || req.NodeID != c.s.cfg.NodeID):
			resp.ErrorCode = kerr.RebootstrapRequired.Code
			return ready(resp)
		}
	}
	resp.ApiKeys = c.s.apiKeys()
	return ready(resp)
}

// apiKeys lists the served APIs sorted by key.
func (s *Server) apiKeys() []kmsg.ApiVersionsResponseApiKey {
	keys := make([]kmsg.ApiVersionsResponseApiKey, 0, len(s.apis))
	for _, a := range s.apis {
		k := kmsg.NewApiVersionsResponseApiKey()
		k.ApiKey, k.MinVersion, k.MaxVersion = a.key, a.min, a.max
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b kmsg.ApiVersionsResponseApiKey) int { return int(a.ApiKey) - int(b.ApiKey) })
	return keys
}

func (s *Server) apiVersionsTooNew() kmsg.Response {
	resp := kmsg.NewPtrApiVersionsResponse()
	resp.Version = 0
	resp.ErrorCode = kerr.UnsupportedVersion.Code
	k := kmsg.NewApiVersionsResponseApiKey()
	k.ApiKey, k.MinVersion, k.MaxVersion = apiVersionsAPI.key, apiVersionsAPI.min, apiVersionsAPI.max
	resp.ApiKeys = []kmsg.ApiVersionsResponseApiKey{k}
	return resp
}
