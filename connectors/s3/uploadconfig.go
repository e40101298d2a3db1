package s3

import (
	"crypto/md5"
	"encoding/base64"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/sluicehq/sluice/runtime/connect"
)

// Keys of the upload, failure handling, conditional writes and tagging, as
// Confluent's S3 sink names them.
const (
	RetryBackoffConfig        = "retry.backoff.ms"
	SSEAlgorithmConfig        = "s3.ssea.name"
	SSECustomerKeyConfig      = "s3.sse.customer.key"
	SSEKMSKeyIDConfig         = "s3.sse.kms.key.id"
	CannedACLConfig           = "s3.acl.canned"
	CompressionLevelConfig    = "s3.compression.level"
	SendDigestConfig          = "s3.send.digest"
	ExpectContinueConfig      = "s3.http.send.expect.continue"
	TaggingConfig             = "s3.object.tagging"
	TaggingPairsConfig        = "s3.object.tagging.key.value.pairs"
	TaggingErrorConfig        = "s3.object.behavior.on.tagging.error"
	ElasticBufferConfig       = "s3.elastic.buffer.enable"
	ElasticBufferInitConfig   = "s3.elastic.buffer.init.capacity"
	ConditionalWritesConfig   = "enable.conditional.writes"
	MaxFilesScanLimitConfig   = "max.files.scan.limit"
	rotateScheduleConfig      = "rotate.schedule.interval.ms" // helper B's key
	storeKeysConfig           = "store.kafka.keys"            // helper A's keys
	storeHeadersConfig        = "store.kafka.headers"         //
	defaultElasticInitCap     = 128 << 10
	defaultRetryBackoffMillis = 5000
)

// uploadKeys declares the keys this file implements.
var uploadKeys = connect.ConfigDef{
	{Name: RetryBackoffConfig, Type: connect.ConfigLong, Default: int64(defaultRetryBackoffMillis), Importance: connect.Low, Group: groupStore,
		Validator: connect.AtLeast(0),
		Doc:       "After a failed upload the partition's files are dropped and its records read again from the last committed offset; this is the wait in milliseconds before they are written again."},
	{Name: SSEAlgorithmConfig, Type: connect.ConfigString, Default: "", Importance: connect.Low, Group: groupS3,
		Validator: connect.OneOf{Values: []string{"", "AES256", "aws:kms", "aws:kms:dsse"}},
		Doc:       "Server-side encryption of the objects: AES256 (S3-managed keys, or SSE-C with s3.sse.customer.key), aws:kms or aws:kms:dsse (with s3.sse.kms.key.id, or the bucket's AWS-managed key when that is empty); empty means none."},
	{Name: SSECustomerKeyConfig, Type: connect.ConfigPassword, Default: nil, Importance: connect.Low, Group: groupS3,
		Doc: "SSE-C: the base64 of a 256-bit key S3 encrypts the objects with; needs s3.ssea.name=AES256."},
	{Name: SSEKMSKeyIDConfig, Type: connect.ConfigString, Default: "", Importance: connect.Low, Group: groupS3,
		Doc: "The AWS KMS key id or ARN of aws:kms encryption; needs s3.ssea.name=aws:kms or aws:kms:dsse."},
	{Name: CannedACLConfig, Type: connect.ConfigString, Default: nil, Importance: connect.Low, Group: groupS3,
		Validator: cannedACLValidator{},
		Doc:       "A canned ACL the objects are written with (private, public-read, bucket-owner-full-control, ...); unset means none."},
	{Name: CompressionLevelConfig, Type: connect.ConfigInt, Default: int64(-1), Importance: connect.Low, Group: groupS3,
		Validator: connect.Between(-1, 9),
		Doc:       "gzip level of s3.compression.type=gzip: -1 for the default (6), 0 (none) to 9 (best)."},
	{Name: SendDigestConfig, Type: connect.ConfigBoolean, Default: false, Importance: connect.Low, Group: groupS3,
		Doc: "Whether every part (and single-request object) carries its Content-MD5, which S3 checks."},
	{Name: ExpectContinueConfig, Type: connect.ConfigBoolean, Default: true, Importance: connect.Low, Group: groupS3,
		Doc: "Whether uploads of parts and objects over 2 MB ask for a 100 Continue answer (Expect: 100-continue) before sending the body; false sends the body at once."},
	{Name: TaggingConfig, Type: connect.ConfigBoolean, Default: false, Importance: connect.Low, Group: groupS3,
		Doc: "Whether each uploaded file is tagged with startOffset, endOffset and recordCount."},
	{Name: TaggingPairsConfig, Type: connect.ConfigList, Default: []string{}, Importance: connect.Low, Group: groupS3,
		Doc: "Further tags of s3.object.tagging, as key:value pairs."},
	{Name: TaggingErrorConfig, Type: connect.ConfigString, Default: "ignore", Importance: connect.Low, Group: groupS3,
		Validator: connect.OneOf{Values: []string{"ignore", "fail"}, CaseInsensitive: true},
		Doc:       "What a failure to tag an uploaded file does: ignore logs it, fail stops the task."},
	{Name: ElasticBufferConfig, Type: connect.ConfigBoolean, Default: false, Importance: connect.Low, Group: groupS3,
		Doc: "false: each open file holds a buffer of s3.part.size from the start; true: its buffer starts at s3.elastic.buffer.init.capacity and doubles up to s3.part.size, saving memory when many files stay small, at the cost of copies."},
	{Name: ElasticBufferInitConfig, Type: connect.ConfigInt, Default: int64(defaultElasticInitCap), Importance: connect.Low, Group: groupS3,
		Validator: connect.AtLeast(4096),
		Doc:       "The first size of an elastic buffer (s3.elastic.buffer.enable)."},
	{Name: ConditionalWritesConfig, Type: connect.ConfigBoolean, Default: true, Importance: connect.Low, Group: groupS3,
		Doc: "Whether uploads send If-None-Match: * so an object of the same name is never replaced; as in Confluent's sink it applies only with rotate.schedule.interval.ms set and neither store.kafka.keys nor store.kafka.headers, where names are not deterministic. A name already taken then moves the file to the next free start offset."},
	{Name: MaxFilesScanLimitConfig, Type: connect.ConfigInt, Default: int64(100), Importance: connect.Low, Group: groupS3,
		Validator: connect.AtLeast(1),
		Doc:       "How many start offsets past a taken name the conditional-write scan checks for a free one."},
}

// uploadSettings are the parsed keys of uploads and their failures.
type uploadSettings struct {
	retryBackoff time.Duration
	sse          types.ServerSideEncryption
	kmsKeyID     string
	// sseCKey and sseCKeyMD5 are the SSE-C key and the base64 of its MD5.
	sseCKey, sseCKeyMD5 string
	acl                 types.ObjectCannedACL
	gzipLevel           int
	digest              bool
	expectContinue      bool
	tagging             bool
	extraTags           [][2]string
	failOnTagError      bool
	elastic             bool
	elasticInit         int
	// conditional: If-None-Match on uploads, where Confluent applies it.
	conditional bool
	scanLimit   int64
}

// parseUpload parses the keys of uploadKeys into s.
func parseUpload(cfg connect.Config, s *settings) error {
	u := &s.uploadSettings
	u.retryBackoff = time.Duration(cfg.Int(RetryBackoffConfig)) * time.Millisecond
	u.sse = types.ServerSideEncryption(cfg.String(SSEAlgorithmConfig))
	u.kmsKeyID = cfg.String(SSEKMSKeyIDConfig)
	if u.kmsKeyID != "" && !strings.HasPrefix(string(u.sse), "aws:kms") {
		return fmt.Errorf("%s is set but %s is %q: set %s=aws:kms to encrypt with that key", SSEKMSKeyIDConfig, SSEAlgorithmConfig, u.sse, SSEAlgorithmConfig)
	}
	if key := cfg.String(SSECustomerKeyConfig); key != "" {
		if u.sse != types.ServerSideEncryptionAes256 {
			return fmt.Errorf("%s is set but %s is %q: SSE-C needs %s=AES256", SSECustomerKeyConfig, SSEAlgorithmConfig, u.sse, SSEAlgorithmConfig)
		}
		raw, err := base64.StdEncoding.DecodeString(key)
		if err != nil || len(raw) != 32 {
			return fmt.Errorf("%s must be the base64 of a 32-byte (256-bit) key", SSECustomerKeyConfig)
		}
		sum := md5.Sum(raw)
		u.sseCKey, u.sseCKeyMD5 = key, base64.StdEncoding.EncodeToString(sum[:])
	}
	u.acl = types.ObjectCannedACL(strings.TrimSpace(cfg.String(CannedACLConfig)))
	u.gzipLevel = int(cfg.Int(CompressionLevelConfig))
	u.digest = cfg.Bool(SendDigestConfig)
	u.expectContinue = cfg.Bool(ExpectContinueConfig)
	u.tagging = cfg.Bool(TaggingConfig)
	for _, kv := range cfg.List(TaggingPairsConfig) {
		k, v, ok := strings.Cut(kv, ":")
		if !ok || k == "" || strings.Contains(v, ":") {
			return fmt.Errorf("%s: %q is not a key:value pair", TaggingPairsConfig, kv)
		}
		u.extraTags = append(u.extraTags, [2]string{k, v})
	}
	u.failOnTagError = strings.EqualFold(cfg.String(TaggingErrorConfig), "fail")
	u.elastic = cfg.Bool(ElasticBufferConfig)
	u.elasticInit = int(cfg.Int(ElasticBufferInitConfig))
	// Confluent's shouldEnableConditionalWrites: only where names are not
	// deterministic (scheduled rotation) and a file is one object.
	u.conditional = cfg.Bool(ConditionalWritesConfig) && cfg.Int(rotateScheduleConfig) > 0 &&
		!cfg.Bool(storeKeysConfig) && !cfg.Bool(storeHeadersConfig)
	u.scanLimit = cfg.Int(MaxFilesScanLimitConfig)
	return nil
}

// cannedACLValidator accepts the canned ACLs S3 knows.
type cannedACLValidator struct{}

// Validate implements connect.Validator.
func (cannedACLValidator) Validate(_ string, v any) string {
	s, _ := v.(string)
	if v == nil || slices.Contains(types.ObjectCannedACL("").Values(), types.ObjectCannedACL(strings.TrimSpace(s))) {
		return ""
	}
	return "must be one of " + cannedACLValidator{}.String()
}

func (cannedACLValidator) String() string {
	var names []string
	for _, a := range types.ObjectCannedACL("").Values() {
		names = append(names, string(a))
	}
	return "[" + strings.Join(names, ", ") + "]"
}
