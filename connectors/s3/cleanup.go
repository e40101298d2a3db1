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
// No live upload is touched. The cleanup runs inside Open, before this
// task writes anything of the partitions, so every upload it finds is
// someone else's; and the worker calls Open only after the previous
// owner's Close, which aborts its own uploads, or after that owner left
// the group: killed, or cut off as a zombie, whose offsets the group no
// longer accepts (its file is written again, under the same name, by the
// new owner). What remains is a writer outside the group (say, a second
// connector writing the same files): its uploads begun after the
// assignment are spared by their Initiated time. Stores give that time in
// whole seconds (versitygw) or milliseconds (AWS), so an upload of the
// assignment's own second counts as begun before it: a worker restarted
// within a second of being killed finds the killed one's uploads there.
// The cut-off is read from the worker's clock: when the store's clock runs
// ahead, uploads begun within that lead before the assignment look later
// and are left to the next owner or a lifecycle rule.

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

// abortStaleOpened aborts the stale uploads of the partitions the worker
// opened before Start, when the task had no settings to clean with (the
// worker's consumer may join its group and Open partitions before the
// task starts); t.mu is held.
func (t *sinkTask) abortStaleOpened() {
	partitions := make([]connect.TopicPartition, 0, len(t.writers))
	for tp := range t.writers {
		partitions = append(partitions, tp)
	}
	t.abortStale(partitions)
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

// abort aborts every multipart upload of a file of partitions begun by
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
// those of a file of one of parts begun by cutoff.
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
			if !u.isFileOf(key, prefix, topic, parts) || !begunBy(up.Initiated, cutoff) {
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

// begunBy reports whether an upload initiated at initiated may have
// begun by cutoff: a time in whole seconds stands for anywhere in its
// second.
func begunBy(initiated *time.Time, cutoff time.Time) bool {
	return initiated != nil && !initiated.After(cutoff)
}
