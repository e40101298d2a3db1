package s3

import (
	"context"
	"errors"
	"slices"
	"time"

	"github.com/sluicehq/sluice/connectors/kit"
	"github.com/sluicehq/sluice/runtime/connect"
)

// validateTimeout bounds the bucket check of /config/validate, credential
// lookup and the SDK's retries included.
const validateTimeout = 15 * time.Second

var _ connect.ConnectorValidator = (*sinkConnector)(nil)

// Validate implements connect.ConnectorValidator: when the connection keys
// are valid on their own, it reaches the bucket as a task's start would
// (kit.CheckBucket) and puts what is wrong on the key to fix: a missing
// bucket on s3.bucket.name, unknown or missing credentials on
// aws.access.key.id, a wrong secret on aws.secret.access.key, a wrong
// region on s3.region, an unreachable endpoint on store.url (or s3.region,
// which names AWS's endpoint when store.url is unset).
func (*sinkConnector) Validate(ctx context.Context, config map[string]string, results []connect.ConfigValue) []connect.ConfigValue {
	for _, k := range s3Keys.Def() {
		i := slices.IndexFunc(results, func(cv connect.ConfigValue) bool { return cv.Name == k.Name })
		if i >= 0 && len(results[i].Errors) > 0 {
			return results // the key's own error says what to fix first
		}
	}
	cfg, err := s3Keys.Def().Parse(config)
	if err != nil {
		return results // reported per key above
	}
	ctx, cancel := context.WithTimeout(ctx, validateTimeout)
	defer cancel()
	client, err := s3Keys.Client(ctx, cfg)
	if err == nil {
		err = kit.CheckBucket(ctx, client, s3Keys.Bucket.Get(cfg))
	}
	if err == nil {
		return results
	}
	var bucketErr *kit.BucketError
	var keyErr *connect.ConfigError
	switch {
	case errors.As(err, &bucketErr):
		return connect.AddError(results, bucketErr.Key, err.Error())
	case errors.As(err, &keyErr):
		return connect.AddError(results, keyErr.Key, keyErr.Msg)
	}
	return connect.AddError(results, s3Keys.Bucket.Name(), err.Error())
}
