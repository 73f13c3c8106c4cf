package sandbox

import (
	"github.com/ams-cluster/ams-aws/internal/sandbox/antmedia"
	"github.com/ams-cluster/ams-aws/internal/sandbox/awsapi"
)

// s3Store is the AWS stand-in's S3 as Ant Media's storage client reaches
// it: over HTTPS, the AWS SDK for Java's default.
type s3Store struct{ a *awsapi.AWS }

func s3Request(c antmedia.S3Call) awsapi.S3Request {
	return awsapi.S3Request{AccessKeyID: c.AccessKeyID, Secret: c.Secret, TLS: true, Bucket: c.Bucket, Key: c.Key,
		CannedACL: c.CannedACL, StorageClass: c.StorageClass, Size: c.Size, At: c.At}
}

func (s s3Store) ListObjects(c antmedia.S3Call) error {
	_, err := s.a.S3ListObjects(s3Request(c))
	return err
}

func (s s3Store) HeadObject(c antmedia.S3Call) (bool, error) { return s.a.S3HeadObject(s3Request(c)) }

func (s s3Store) Upload(c antmedia.S3Call) error { return s.a.S3Upload(s3Request(c)) }

// RecordToS3 has the node's Ant Media Server record its published streams
// and upload them to the world's S3 with the settings its applications
// hold at the time, until the node is terminated.
func (n *Node) RecordToS3() {
	n.ams.StartRecorder(s3Store{n.w.AWS}, n.ams.AppRecordingSettings)
}
