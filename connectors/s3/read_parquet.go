package s3

import (
	"context"
	"fmt"
)

func newParquetFileReader(ctx context.Context, st store, key string) (recordReader, error) {
	return nil, fmt.Errorf("object %s: reading Parquet is not implemented yet", key)
}
