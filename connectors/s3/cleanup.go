package s3

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"

	"github.com/sluicehq/sluice/runtime/connect"
)

// A worker killed while a file's multipart upload is under way leaves the
// upload behind: its parts stay in the bucket (and are billed) until
// someone aborts it, and nobody else knows its id. Confluent's sink leaves
// that to a bucket lifecycle rule; Sluice also cleans up when a task is
// given the partition: the uploads whose key is a file of that Kafka
// partition and that began before the assignment belong to an owner that
// is gone, so they are aborted.
//
// "Before the assignment" is why no live upload is touched: the worker
// calls Open only after the previous owner's Close, which aborts its own
// uploads, or after that owner left the group (killed, or cut off as a
// zombie, whose offsets the group no longer accepts: its file would be
// written again by the new owner under the same name). This task's own
// uploads of the partition begin after Open. The cut-off is taken by the
// worker's clock and compared with the store's Initiated times: clocks
// more than a second apart on either side make cleanup miss uploads
// (worker behind) or, at worst, abort an upload begun within that skew
// before the assignment, by the previous owner.

const (
	// staleTimeout bounds one Open's cleanup: the worker calls Open while
	// the consumer group waits, so a slow store must not hold it up.
	staleTimeout = 30 * time.Second
	// stalePages bounds the listing: 100 pages of up to 1,000 uploads.
	stalePages = 100
)

// staleUploads aborts the multipart uploads a previous owner of a
// partition left behind.
type staleUploads struct {
	client   *s3.Client
	s        *settings
	pageSize int32 // uploads per listing page; 0: the store's default (1,000)
}

// abortStale aborts the stale uploads of partitions, just assigned to the
// task; t.mu is held. Cleanup is best effort: a failure is logged, and the
// uploads are left to the next owner or a lifecycle rule.
func (t *sinkTask) abortStale(partitions []connect.TopicPartition) {
	if t.s == nil || t.ctx == nil || len(partitions) == 0 {
		return // Open before Start or after Stop: no store to clean
	}
	cutoff := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), staleTimeout)
	defer cancel()
	c, err := newClient(ctx, t.s)
	if err != nil {
		t.ctx.Logger().Warn("incomplete multipart uploads not cleaned up", "error", err)
		return
	}
	// On connections of its own, closed after each request, as
	// kit.CheckBucket's: Open is rare, and an idle connection left in a
	// pool would outlive the task.
	if b, ok := c.Options().HTTPClient.(*awshttp.BuildableClient); ok {
		c = s3.New(c.Options(), func(o *s3.Options) {
			o.HTTPClient = b.WithTransportOptions(func(tr *http.Transport) { tr.DisableKeepAlives = true })
		})
	}
	u := &staleUploads{client: c, s: t.s}
	aborted, err := u.abort(ctx, partitions, cutoff)
	for _, key := range aborted {
		t.ctx.Logger().Info("aborted an incomplete multipart upload left by a previous owner of the partition", "key", key)
	}
	if err != nil {
		t.ctx.Logger().Warn("incomplete multipart uploads not all cleaned up", "error", err)
	}
}

// abort aborts every multipart upload of a file of partitions begun before
// cutoff, and returns the keys of those it aborted.
func (u *staleUploads) abort(ctx context.Context, partitions []connect.TopicPartition, cutoff time.Time) ([]string, error) {
	byTopic := map[string][]int32{}
	for _, tp := range partitions {
		byTopic[tp.Topic] = append(byTopic[tp.Topic], tp.Partition)
	}
	var aborted []string
	var errs []error
	for topic, parts := range byTopic {
		keys, err := u.abortTopic(ctx, topic, parts, cutoff)
		aborted = append(aborted, keys...)
		if err != nil {
			errs = append(errs, err)
		}
	}
	return aborted, errors.Join(errs...)
}

// abortTopic lists the uploads under <topics.dir>/<topic>/ and aborts
// those of a file of one of parts begun before cutoff.
//
// A page where something was aborted is listed again from the same
// markers (what was aborted is gone, the rest moves up); a page with
// nothing to abort is passed with the next markers. So a store that pages
// by key alone (versitygw v1.8.0 refuses an upload-id-marker and lists
// only the keys after key-marker) misses nothing: the uploads of a key
// come oldest first, so when a page ends inside a key with nothing to
// abort, the key's later uploads, begun later still, are not stale
// either.
func (u *staleUploads) abortTopic(ctx context.Context, topic string, parts []int32, cutoff time.Time) ([]string, error) {
	bucket := aws.String(u.s.bucket)
	prefix := u.s.topicsDir + u.s.dirDelim + topic + u.s.dirDelim
	in := &s3.ListMultipartUploadsInput{Bucket: bucket, Prefix: aws.String(prefix)}
	if u.pageSize > 0 {
		in.MaxUploads = aws.Int32(u.pageSize)
	}
	byKeyOnly := false
	var aborted []string
	for range stalePages {
		out, err := u.client.ListMultipartUploads(ctx, in)
		var api smithy.APIError
		if err != nil && in.UploadIdMarker != nil && errors.As(err, &api) && api.ErrorCode() == "InvalidArgument" {
			byKeyOnly, in.UploadIdMarker = true, nil
			continue
		}
		if err != nil {
			return aborted, fmt.Errorf("list multipart uploads under s3://%s/%s: %w", u.s.bucket, prefix, err)
		}
		n := 0
		for _, up := range out.Uploads {
			key := aws.ToString(up.Key)
			if !u.isFileOf(key, prefix, topic, parts) || !begunBefore(up.Initiated, cutoff) {
				continue
			}
			_, err := u.client.AbortMultipartUpload(ctx, &s3.AbortMultipartUploadInput{Bucket: bucket, Key: up.Key, UploadId: up.UploadId})
			if errors.As(err, &api) && api.ErrorCode() == "NoSuchUpload" {
				continue // completed or aborted since the listing
			}
			if err != nil {
				return aborted, fmt.Errorf("abort multipart upload %s of s3://%s/%s: %w", aws.ToString(up.UploadId), u.s.bucket, key, err)
			}
			aborted = append(aborted, key)
			n++
		}
		if !aws.ToBool(out.IsTruncated) {
			return aborted, nil
		}
		if n == 0 {
			in.KeyMarker = out.NextKeyMarker
			if !byKeyOnly {
				in.UploadIdMarker = out.NextUploadIdMarker
			}
		}
	}
	return aborted, fmt.Errorf("list multipart uploads under s3://%s/%s: more than %d pages; the rest are left", u.s.bucket, prefix, stalePages)
}

// isFileOf reports whether key, under prefix, names a file of one of
// parts: its last path element is <topic><file.delim><partition><file.delim>
// followed by the start offset's digits, whatever the partitioner put
// between the prefix and the name.
func (u *staleUploads) isFileOf(key, prefix, topic string, parts []int32) bool {
	name := strings.TrimPrefix(key, prefix)
	if u.s.dirDelim != "" {
		if i := strings.LastIndex(name, u.s.dirDelim); i >= 0 {
			name = name[i+len(u.s.dirDelim):]
		}
	}
	rest, ok := strings.CutPrefix(name, topic+u.s.fileDelim)
	if !ok {
		return false
	}
	for _, p := range parts {
		after, ok := strings.CutPrefix(rest, strconv.Itoa(int(p))+u.s.fileDelim)
		if ok && after != "" && after[0] >= '0' && after[0] <= '9' {
			return true
		}
	}
	return false
}

// begunBefore reports whether an upload initiated at initiated surely
// began before cutoff. A store may give whole seconds (truncated), so a
// time without a fraction stands for anywhere in its second.
func begunBefore(initiated *time.Time, cutoff time.Time) bool {
	if initiated == nil {
		return false
	}
	latest := *initiated
	if latest.Nanosecond() == 0 {
		latest = latest.Add(time.Second - time.Nanosecond)
	}
	return latest.Before(cutoff)
}
