package testenv

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
)

// S3 is a versitygw server (a real S3-protocol gateway) over a temporary
// directory (its "posix" backend), listening on a loopback port.
type S3 struct {
	// Endpoint is the server's base URL, http://127.0.0.1:PORT.
	Endpoint string
	// Region is the region the server signs for (us-east-1).
	Region string
	// AccessKey and SecretKey are the root account's credentials.
	AccessKey, SecretKey string
	// Dir is the backend directory: one folder per bucket.
	Dir string
}

// findVersitygw looks for versitygw on PATH, then in $GOBIN, $GOPATH/bin
// and ~/go/bin, where `go install` puts it.
func findVersitygw() (string, error) {
	path, err := exec.LookPath("versitygw")
	if err == nil {
		return path, nil
	}
	var dirs []string
	if gobin := os.Getenv("GOBIN"); gobin != "" {
		dirs = append(dirs, gobin)
	}
	if gopath := os.Getenv("GOPATH"); gopath != "" {
		dirs = append(dirs, filepath.Join(filepath.SplitList(gopath)[0], "bin"))
	}
	if home, herr := os.UserHomeDir(); herr == nil {
		dirs = append(dirs, filepath.Join(home, "go", "bin"))
	}
	for _, d := range dirs {
		if p := filepath.Join(d, "versitygw"); isExecutable(p) {
			return p, nil
		}
	}
	return "", fmt.Errorf("versitygw not on PATH nor in $GOBIN, $GOPATH/bin or ~/go/bin (go install github.com/versity/versitygw/cmd/versitygw@v1.8.0): %w", err)
}

// StartS3 starts versitygw for the test and stops it at cleanup. It skips
// the test when versitygw is missing (fails under
// SLUICE_REQUIRE_SERVERS=1).
func StartS3(t testing.TB) *S3 {
	t.Helper()
	bin, err := findVersitygw()
	if err != nil {
		missingServer(t, "versitygw", err)
	}
	s := &S3{
		Region:    "us-east-1",
		AccessKey: "sluice-test-access",
		SecretKey: "sluice-test-secret-key",
		Dir:       t.TempDir(),
	}
	port, err := freePort()
	if err != nil {
		t.Fatalf("versitygw: pick a port: %v", err)
	}
	addr := "127.0.0.1:" + strconv.Itoa(port)
	s.Endpoint = "http://" + addr
	logFile, err := os.Create(filepath.Join(t.TempDir(), "versitygw.log"))
	if err != nil {
		t.Fatalf("versitygw: %v", err)
	}
	cmd := exec.Command(bin,
		"--access", s.AccessKey, "--secret", s.SecretKey,
		"--region", s.Region, "--port", addr,
		"posix", s.Dir)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		t.Fatalf("versitygw: start: %v", err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
		logFile.Close()
	})
	s.waitReady(t, exited, logFile.Name())
	return s
}

// waitReady polls the listener until it answers an HTTP request, for at
// most 30 seconds, failing the test with the server's log otherwise.
func (s *S3) waitReady(t testing.TB, exited <-chan struct{}, logPath string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	client := &http.Client{Timeout: time.Second}
	for {
		resp, err := client.Get(s.Endpoint + "/")
		if err == nil {
			resp.Body.Close()
			return
		}
		select {
		case <-exited:
			log, _ := os.ReadFile(logPath)
			t.Fatalf("versitygw exited before answering: %s", log)
		default:
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(logPath)
			t.Fatalf("versitygw did not answer on %s within 30s: %v\n%s", s.Endpoint, err, log)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Client returns an S3 client for the server: path-style addressing and
// the root account's static credentials.
func (s *S3) Client(t testing.TB) *s3.Client {
	return s3.New(s3.Options{
		Region:       s.Region,
		BaseEndpoint: aws.String(s.Endpoint),
		UsePathStyle: true,
		Credentials:  credentials.NewStaticCredentialsProvider(s.AccessKey, s.SecretKey, ""),
	})
}

// s3ctx is a context bounded to 30 seconds for one helper call.
func s3ctx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// CreateBucket creates a bucket, failing the test on error.
func (s *S3) CreateBucket(t testing.TB, name string) {
	t.Helper()
	if _, err := s.Client(t).CreateBucket(s3ctx(t), &s3.CreateBucketInput{Bucket: aws.String(name)}); err != nil {
		t.Fatalf("create bucket %s: %v", name, err)
	}
}

// List returns the keys under prefix in the bucket, in the server's
// (lexicographic) order.
func (s *S3) List(t testing.TB, bucket, prefix string) []string {
	t.Helper()
	ctx := s3ctx(t)
	var keys []string
	p := s3.NewListObjectsV2Paginator(s.Client(t), &s3.ListObjectsV2Input{Bucket: aws.String(bucket), Prefix: aws.String(prefix)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Fatalf("list %s/%s: %v", bucket, prefix, err)
		}
		for _, o := range page.Contents {
			keys = append(keys, aws.ToString(o.Key))
		}
	}
	return keys
}

// Get returns an object's bytes, failing the test when it is missing.
func (s *S3) Get(t testing.TB, bucket, key string) []byte {
	t.Helper()
	out, err := s.Client(t).GetObject(s3ctx(t), &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		t.Fatalf("get %s/%s: %v", bucket, key, err)
	}
	defer out.Body.Close()
	b, err := io.ReadAll(out.Body)
	if err != nil {
		t.Fatalf("read %s/%s: %v", bucket, key, err)
	}
	return b
}

// ListMultipartUploads returns the multipart uploads still open in the
// bucket (begun, neither completed nor aborted).
func (s *S3) ListMultipartUploads(t testing.TB, bucket string) []types.MultipartUpload {
	t.Helper()
	ctx := s3ctx(t)
	var ups []types.MultipartUpload
	in := &s3.ListMultipartUploadsInput{Bucket: aws.String(bucket)}
	for range 1000 {
		out, err := s.Client(t).ListMultipartUploads(ctx, in)
		if err != nil {
			t.Fatalf("list multipart uploads in %s: %v", bucket, err)
		}
		ups = append(ups, out.Uploads...)
		if !aws.ToBool(out.IsTruncated) {
			return ups
		}
		in.KeyMarker, in.UploadIdMarker = out.NextKeyMarker, out.NextUploadIdMarker
	}
	t.Fatalf("list multipart uploads in %s: more than 1000 pages", bucket)
	return nil
}

// ClosedEndpoint returns an http URL on a loopback port nothing listens
// on, for tests of an unreachable S3 endpoint.
func ClosedEndpoint(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("closed endpoint: %v", err)
	}
	addr := l.Addr().String()
	if err := l.Close(); err != nil && !errors.Is(err, net.ErrClosed) {
		t.Fatalf("closed endpoint: %v", err)
	}
	return "http://" + addr
}
