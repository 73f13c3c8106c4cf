package awsapi_test

import (
	"errors"
	"testing"

	"github.com/ams-cluster/ams-aws/internal/sandbox/awsapi"
)

const (
	recBucket = "rec-bucket"
	// recPolicy is the bucket policy RecordingStore registers.
	recPolicy = `{"Version":"2012-10-17","Statement":[{"Sid":"DenyInsecureTransport","Effect":"Deny","Principal":"*","Action":"s3:*",` +
		`"Resource":["arn:aws:s3:::rec-bucket","arn:aws:s3:::rec-bucket/*"],"Condition":{"Bool":{"aws:SecureTransport":"false"}}}]}`
	// uploader is the grant RecordingStore gives its uploader.
	uploader = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:ListBucket"],"Resource":"arn:aws:s3:::rec-bucket"},` +
		`{"Effect":"Allow","Action":["s3:GetObject","s3:PutObject","s3:AbortMultipartUpload","s3:ListMultipartUploadParts"],"Resource":"arn:aws:s3:::rec-bucket/streams/*"}]}`
	noList  = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:GetObject","s3:PutObject"],"Resource":"arn:aws:s3:::rec-bucket/streams/*"}]}`
	putOnly = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:PutObject","Resource":"arn:aws:s3:::rec-bucket/streams/*"}]}`
)

func s3Code(err error) string {
	var e *awsapi.S3Error
	if errors.As(err, &e) {
		return e.Code
	}
	if err != nil {
		return err.Error()
	}
	return ""
}

// TestS3AsAWSEnforcesIt: the requests Ant Media's storage client makes, as
// S3 judges them on a bucket with ACLs disabled and TLS required.
func TestS3AsAWSEnforcesIt(t *testing.T) {
	a := awsapi.New(t, "eu-west-1", "123456789012")
	a.AddBucket(recBucket, recPolicy, true)
	id, secret := a.AddUser("uploader", uploader)
	putID, putSecret := a.AddUser("put-only", putOnly)
	req := func(key, acl string, size int64) awsapi.S3Request {
		return awsapi.S3Request{AccessKeyID: id, Secret: secret, TLS: true, Bucket: recBucket, Key: key, CannedACL: acl, Size: size}
	}
	for _, tc := range []struct {
		name string
		req  awsapi.S3Request
		want string
	}{
		{"Ant Media's default ACL, public-read", req("streams/a.mp4", "public-read", 1000), "AccessControlListNotSupported"},
		{"public-read in parts", req("streams/a.mp4", "public-read", 50<<20), "AccessControlListNotSupported"},
		{"bucket-owner-full-control", req("streams/b.mp4", "bucket-owner-full-control", 1000), ""},
		{"bucket-owner-full-control in parts", req("streams/c.mp4", "bucket-owner-full-control", 50<<20), ""},
		{"no ACL", req("streams/d.mp4", "", 1000), ""},
		{"outside the prefix", req("other/e.mp4", "bucket-owner-full-control", 1000), "AccessDenied"},
		{"without TLS", func() awsapi.S3Request { r := req("streams/f.mp4", "", 1000); r.TLS = false; return r }(), "AccessDenied"},
		{"the empty access key Ant Media defaults to", func() awsapi.S3Request { r := req("streams/g.mp4", "", 1000); r.AccessKeyID = ""; return r }(), "InvalidAccessKeyId"},
		{"a wrong secret", func() awsapi.S3Request { r := req("streams/h.mp4", "", 1000); r.Secret = "x"; return r }(), "SignatureDoesNotMatch"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := s3Code(a.S3Upload(tc.req)); got != tc.want {
				t.Errorf("upload: %q, want %q", got, tc.want)
			}
		})
	}
	if _, ok := a.S3Objects(recBucket)["streams/a.mp4"]; ok {
		t.Error("a refused upload stored its object")
	}
	// Ant Media's client lists the bucket when it starts, then asks whether
	// the key exists before each upload.
	if _, err := a.S3ListObjects(req("", "", 0)); err != nil {
		t.Errorf("list with s3:ListBucket: %v", err)
	}
	if ok, err := a.S3HeadObject(req("streams/new.mp4", "", 0)); ok || err != nil {
		t.Errorf("head of a missing key with s3:ListBucket: %v %v, want false and no error", ok, err)
	}
	if ok, err := a.S3HeadObject(req("streams/b.mp4", "", 0)); !ok || err != nil {
		t.Errorf("head of a stored key: %v %v, want true", ok, err)
	}
	put := awsapi.S3Request{AccessKeyID: putID, Secret: putSecret, TLS: true, Bucket: recBucket, Key: "streams/new.mp4"}
	if _, err := a.S3ListObjects(put); s3Code(err) != "AccessDenied" {
		t.Errorf("list with s3:PutObject only: %v, want AccessDenied", err)
	}
	if _, err := a.S3HeadObject(put); s3Code(err) != "AccessDenied" {
		t.Errorf("head with s3:PutObject only: %v, want AccessDenied (no s3:GetObject)", err)
	}
	nlID, nlSecret := a.AddUser("no-list", noList)
	if _, err := a.S3HeadObject(awsapi.S3Request{AccessKeyID: nlID, Secret: nlSecret, TLS: true, Bucket: recBucket, Key: "streams/new.mp4"}); s3Code(err) != "Forbidden" {
		t.Errorf("head of a missing key without s3:ListBucket: %v, want 403 Forbidden", err)
	}
}
