package kit

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"

	"github.com/sluicehq/sluice/runtime/connect"
)

// S3Keys are the keys every S3 connector shares to reach its bucket,
// named as Confluent's S3 sink and source name them. ConfluentS3Keys
// declares them; a connector adds Def() to its own definition and builds
// its client with Client.
type S3Keys struct {
	Bucket          Key[string]        // s3.bucket.name, required
	Region          Key[string]        // s3.region, us-west-2
	Endpoint        Key[string]        // store.url, null: AWS's endpoint for the region
	PathStyle       Key[bool]          // s3.path.style.access.enabled, true
	AccessKeyID     Key[string]        // aws.access.key.id, null: the default credential chain
	SecretAccessKey Key[string]        // aws.secret.access.key (PASSWORD)
	ProxyURL        Key[string]        // s3.proxy.url, null: none (HTTPS_PROXY and friends still apply)
	ProxyUser       Key[string]        // s3.proxy.user
	ProxyPassword   Key[string]        // s3.proxy.password (PASSWORD)
	PartRetries     Key[int64]         // s3.part.retries, 3
	RetryBackoff    Key[time.Duration] // s3.retry.backoff.ms, 200 ms
	WanMode         Key[bool]          // s3.wan.mode, false: S3 Transfer Acceleration
	// CredentialsProvider is s3.credentials.provider.class: only the AWS
	// SDKs' default chains, which the Go SDK's default chain stands for.
	CredentialsProvider Key[string]
}

// defaultCredentialsProviders are the Java classes of the AWS SDKs'
// default credential chains (v2's is Confluent's default, v1's its older
// one): environment, shared files, web identity, container and instance
// roles, which is the Go SDK's default chain too.
var defaultCredentialsProviders = []string{
	"software.amazon.awssdk.auth.credentials.DefaultCredentialsProvider",
	"com.amazonaws.auth.DefaultAWSCredentialsProviderChain",
}

// s3MaxBackoff caps one retry's wait: Confluent caps it at a day, which
// no task should sleep; a minute keeps a retried part within a flush.
const s3MaxBackoff = time.Minute

// ConfluentS3Keys declares the shared S3 keys with Confluent's names and
// defaults, in the docs group named group.
func ConfluentS3Keys(group string) S3Keys {
	n := 0
	g := func() Option { n++; return Group(group, n) }
	return S3Keys{
		Bucket: String("s3.bucket.name", "", connect.High, "The S3 bucket.", Required(), g()),
		Region: String("s3.region", "us-west-2", connect.Medium, "The AWS region of the bucket.", g()),
		Endpoint: String("store.url", "", connect.High,
			"The S3 endpoint's URL, for an S3-compatible store (MinIO, versitygw, Ceph); empty means AWS's endpoint for s3.region.", NullDefault(), g()),
		PathStyle: Bool("s3.path.style.access.enabled", true, connect.Low,
			"Whether to address the bucket in the path (endpoint/bucket/key) rather than as a host name (bucket.endpoint/key).", g()),
		AccessKeyID: String("aws.access.key.id", "", connect.High,
			"The AWS access key id; empty means the SDK's default credential chain (environment, shared files, instance role).", NullDefault(), g()),
		SecretAccessKey: Password("aws.secret.access.key", connect.High, "The AWS secret access key, with aws.access.key.id.", g()),
		ProxyURL: String("s3.proxy.url", "", connect.Low,
			"The URL of an HTTP proxy for S3 requests; empty means none beyond the HTTP(S)_PROXY environment.", NullDefault(), g()),
		ProxyUser:     String("s3.proxy.user", "", connect.Low, "The proxy's user name.", NullDefault(), g()),
		ProxyPassword: Password("s3.proxy.password", connect.Low, "The proxy's password.", g()),
		PartRetries: Int("s3.part.retries", 3, connect.Medium,
			"How many times one S3 request (a part upload among them) is retried after a retriable failure.", g(),
			Validate(connect.Between(0, 100))),
		RetryBackoff: Millis("s3.retry.backoff.ms", 200*time.Millisecond, connect.Low,
			"The wait before the first retry of an S3 request, doubled on each further retry up to a minute.", g(),
			Validate(connect.AtLeast(0))),
		WanMode: Bool("s3.wan.mode", false, connect.Medium,
			"Whether to use S3 Transfer Acceleration (the bucket's accelerate endpoint), for buckets far from the worker; it needs AWS's endpoint, so it cannot go with store.url.", g()),
		CredentialsProvider: Class("s3.credentials.provider.class", defaultCredentialsProviders[0], connect.Low,
			"The credentials provider when aws.access.key.id is unset. Java classes cannot be loaded here: the AWS SDKs' default chains ("+
				strings.Join(defaultCredentialsProviders, ", ")+") are accepted and mean the Go SDK's default chain (environment, shared files, web identity, container and instance roles); any other class is refused.", g(),
			Validate(connect.OneOf{Values: defaultCredentialsProviders})),
	}
}

// Def declares the keys.
func (k S3Keys) Def() connect.ConfigDef {
	return Def(k.Bucket, k.Region, k.Endpoint, k.PathStyle, k.AccessKeyID, k.SecretAccessKey,
		k.ProxyURL, k.ProxyUser, k.ProxyPassword, k.PartRetries, k.RetryBackoff, k.WanMode, k.CredentialsProvider)
}

// Client builds an S3 client from cfg, parsed by a definition holding
// Def's keys. It checks the settings only; CheckBucket checks that the
// bucket answers.
func (k S3Keys) Client(ctx context.Context, cfg connect.Config) (*s3.Client, error) {
	if k.Bucket.Get(cfg) == "" {
		return nil, keyError(k.Bucket.Name(), "%s is empty", k.Bucket.Name())
	}
	id, secret := k.AccessKeyID.Get(cfg), k.SecretAccessKey.Get(cfg)
	if (id == "") != (secret == "") {
		key := k.AccessKeyID.Name()
		if id != "" {
			key = k.SecretAccessKey.Name()
		}
		return nil, keyError(key, "%s and %s go together: set both or neither", k.AccessKeyID.Name(), k.SecretAccessKey.Name())
	}
	endpoint := k.Endpoint.Get(cfg)
	accelerate := k.WanMode.Get(cfg)
	if accelerate && endpoint != "" {
		return nil, keyError(k.WanMode.Name(), "%s=true uses AWS's accelerate endpoint and cannot go with %s %q; unset one of them", k.WanMode.Name(), k.Endpoint.Name(), endpoint)
	}
	if endpoint != "" {
		u, err := url.Parse(endpoint)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, keyError(k.Endpoint.Name(), "%s %q is not an http or https URL", k.Endpoint.Name(), endpoint)
		}
	}
	// The SDK's buildable client, not a plain one: the config loader
	// adds AWS_CA_BUNDLE's roots to it.
	httpClient := awshttp.NewBuildableClient()
	if p := k.ProxyURL.Get(cfg); p != "" {
		u, err := url.Parse(p)
		if err != nil || u.Host == "" {
			return nil, keyError(k.ProxyURL.Name(), "%s %q is not a URL", k.ProxyURL.Name(), p)
		}
		if user := k.ProxyUser.Get(cfg); user != "" {
			u.User = url.UserPassword(user, k.ProxyPassword.Get(cfg))
		}
		httpClient = httpClient.WithTransportOptions(func(tr *http.Transport) { tr.Proxy = http.ProxyURL(u) })
	}
	retries, base := int(k.PartRetries.Get(cfg)), k.RetryBackoff.Get(cfg)
	opts := []func(*config.LoadOptions) error{
		config.WithRegion(k.Region.Get(cfg)),
		config.WithHTTPClient(httpClient),
		config.WithRetryer(func() aws.Retryer {
			return retry.NewStandard(func(o *retry.StandardOptions) {
				o.MaxAttempts = retries + 1
				o.Backoff = retry.BackoffDelayerFunc(func(attempt int, _ error) (time.Duration, error) {
					return s3Backoff(base, attempt), nil
				})
			})
		}),
	}
	if id != "" {
		opts = append(opts, config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider(id, secret, "")))
	}
	awsCfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("%w: load the AWS configuration: %v", connect.ErrConfig, err)
	}
	pathStyle := k.PathStyle.Get(cfg)
	return s3.NewFromConfig(awsCfg, func(o *s3.Options) {
		o.UsePathStyle = pathStyle
		o.UseAccelerate = accelerate
		// Ranged GETs carry no checksum; the SDK would write a line to
		// stderr for each.
		o.DisableLogOutputChecksumValidationSkipped = true
		if endpoint != "" {
			o.BaseEndpoint = aws.String(endpoint)
		}
	}), nil
}

// keyError is a configuration error about key: its message reads
// "invalid configuration: <msg>", and errors.As finds the
// *connect.ConfigError naming the key (for a validate answer).
func keyError(key, format string, args ...any) error {
	return fmt.Errorf("%w: %w", connect.ErrConfig, connect.NewConfigError(key, format, args...))
}

// s3Backoff is the wait before retry attempt (1 for the first): base
// doubled attempt-1 times, capped at s3MaxBackoff.
func s3Backoff(base time.Duration, attempt int) time.Duration {
	d := base
	for i := 1; i < attempt && d < s3MaxBackoff; i++ {
		d *= 2
	}
	return min(d, s3MaxBackoff)
}

// CheckBucket checks that bucket answers to client, and when it does not,
// says why in words: the bucket is missing, the credentials are wrong,
// the region is wrong, or the endpoint is unreachable.
func CheckBucket(ctx context.Context, client *s3.Client, bucket string) error {
	// On connections of its own, closed after each request: the check
	// leaves no idle connection (and its goroutines) behind in the
	// client's pool.
	if b, ok := client.Options().HTTPClient.(*awshttp.BuildableClient); ok {
		client = s3.New(client.Options(), func(o *s3.Options) {
			o.HTTPClient = b.WithTransportOptions(func(tr *http.Transport) { tr.DisableKeepAlives = true })
		})
	}
	_, err := client.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String(bucket)})
	if err == nil {
		return nil
	}
	// A HEAD answer has no body, so no error code beyond its status; a
	// GET on the bucket says which error it is.
	var api smithy.APIError
	if errors.As(err, &api) {
		_, lerr := client.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(bucket), MaxKeys: aws.Int32(1)})
		var coded smithy.APIError
		if lerr != nil && errors.As(lerr, &coded) && coded.ErrorCode() != "" && coded.ErrorCode() != api.ErrorCode() {
			err = lerr
		}
	}
	return bucketError(client, bucket, err)
}

// BucketError is CheckBucket's error: why the bucket did not answer, and
// Key, the config key to fix (for a validate answer to put it on).
type BucketError struct {
	Key string
	msg string
	Err error
}

func (e *BucketError) Error() string { return e.msg + ": " + e.Err.Error() }
func (e *BucketError) Unwrap() error { return e.Err }

// bucketError words err, a failure to reach bucket, by its cause.
func bucketError(client *s3.Client, bucket string, err error) error {
	region := client.Options().Region
	wrap := func(key, format string, args ...any) error {
		return &BucketError{Key: key, msg: fmt.Sprintf(format, args...), Err: err}
	}
	// Without store.url the endpoint is AWS's for the region.
	endpointKey := "s3.region"
	if client.Options().BaseEndpoint != nil {
		endpointKey = "store.url"
	}
	if noCredentials(err) {
		return wrap("aws.access.key.id", "S3 bucket %q: no AWS credentials (aws.access.key.id): set aws.access.key.id and aws.secret.access.key, or give the SDK's default chain some: AWS_ACCESS_KEY_ID, ~/.aws/credentials, an instance role", bucket)
	}
	var api smithy.APIError
	if errors.As(err, &api) {
		switch api.ErrorCode() {
		case "NoSuchBucket", "NotFound":
			return wrap("s3.bucket.name", "S3 bucket %q does not exist (s3.bucket.name)", bucket)
		case "InvalidAccessKeyId", "XAdminUserNotFound": // the second is versitygw's
			return wrap("aws.access.key.id", "S3 bucket %q: the access key id is unknown to the store (aws.access.key.id)", bucket)
		case "SignatureDoesNotMatch":
			return wrap("aws.secret.access.key", "S3 bucket %q: the secret access key does not match the access key id (aws.secret.access.key)", bucket)
		case "PermanentRedirect", "AuthorizationHeaderMalformed", "IllegalLocationConstraintException", "301":
			return wrap("s3.region", "S3 bucket %q is not in region %s (s3.region)", bucket, region)
		case "AccessDenied", "Forbidden", "AllAccessDisabled":
			return wrap("aws.access.key.id", "S3 bucket %q: access denied to these credentials (aws.access.key.id)", bucket)
		}
		return wrap("s3.bucket.name", "S3 bucket %q", bucket)
	}
	var op *net.OpError
	var dns *net.DNSError
	if errors.As(err, &op) || errors.As(err, &dns) {
		return wrap(endpointKey, "S3 endpoint unreachable for bucket %q (store.url, s3.region)", bucket)
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return wrap(endpointKey, "S3 endpoint did not answer in time for bucket %q (store.url, s3.region)", bucket)
	}
	return wrap("s3.bucket.name", "S3 bucket %q", bucket)
}

// noCredentials reports whether err is the SDK failing to find
// credentials before sending the request. The SDK has no type for it: its
// S3 client wraps the credential chain's error as "get identity: …"
// (service/s3 auth.go), and the chain's own errors, an instance metadata
// service's unreachable address among them, are not the endpoint's.
func noCredentials(err error) bool {
	return strings.Contains(err.Error(), "get identity: ")
}
