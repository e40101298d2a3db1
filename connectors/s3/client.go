package s3

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/sluicehq/sluice/connectors/kit"
)

// s3Keys are Confluent's S3 connection keys, shared with every S3
// connector through the kit.
var s3Keys = kit.ConfluentS3Keys(groupS3)

// newClient builds the S3 client of a task from its connection keys.
func newClient(ctx context.Context, s *settings) (*s3.Client, error) {
	return s3Keys.Client(ctx, s.cfg)
}
