package awsapi

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
)

// The S3 calls Ant Media 3.0.x makes for a recording (AmazonS3StorageClient
// with the AWS SDK for Java 1.x), as S3 judges them:
//   - authentication: an access key ID S3 does not know is refused with
//     InvalidAccessKeyId, a wrong secret with SignatureDoesNotMatch (S3 API
//     Reference, "Error responses");
//   - the bucket policy: an explicit Deny (aws:SecureTransport false for a
//     request without TLS) wins over any grant ("Policy evaluation logic");
//   - IAM: the caller's identity policies must allow the action on the
//     resource: s3:ListBucket on the bucket for ListObjectsV2, s3:GetObject
//     on the object for HeadObject, s3:PutObject on the object for PutObject
//     and every step of a multipart upload, s3:AbortMultipartUpload for an
//     abort ("Actions, resources, and condition keys for Amazon S3");
//   - HeadObject of a missing key is 404 only for a caller allowed
//     s3:ListBucket; otherwise 403 (S3 API Reference, HeadObject);
//   - Object Ownership BucketOwnerEnforced: a request that sets an ACL other
//     than bucket-owner-full-control fails with
//     AccessControlListNotSupported (S3 User Guide, "Controlling ownership of
//     objects and disabling ACLs"); the ACL of a multipart upload is sent
//     with CreateMultipartUpload.
// The SDK's TransferManager uploads in one PutObject up to its multipart
// threshold (AmazonS3StorageClient: 5 MiB) and in parts above it.

// S3MultipartThreshold is the size above which Ant Media's TransferManager
// uploads in parts (AmazonS3StorageClient.multipartUploadThreshold).
const S3MultipartThreshold = 5 << 20

// S3Request is one S3 request as a client sends it.
type S3Request struct {
	// AccessKeyID and Secret are the static credentials the client signs with.
	AccessKeyID, Secret string
	// TLS reports an HTTPS request.
	TLS bool
	// Bucket and Key name the bucket and (but for a listing) the object.
	Bucket, Key string
	// CannedACL is the x-amz-acl header, "" for none.
	CannedACL string
	// StorageClass is the x-amz-storage-class header, "" for STANDARD.
	StorageClass string
	// Size is the object's size in bytes (uploads).
	Size int64
	// At is the caller's clock, in virtual seconds, when the request completes.
	At int
}

// S3Object is an object stored in a bucket.
type S3Object struct {
	Size         int64
	StorageClass string
	// Owner is the principal that wrote it; At the writer's clock then.
	Owner string
	At    int
}

// s3Bucket is a bucket of the stand-in.
type s3Bucket struct {
	ownershipEnforced bool
	policy            *policyDoc
	objects           map[string]S3Object
}

// s3User is an IAM user with an access key.
type s3User struct {
	name, secret string
	policies     []*policyDoc
}

// S3Error is an S3 error response.
type S3Error struct {
	Status  int
	Code    string
	Message string
}

func (e *S3Error) Error() string { return fmt.Sprintf("%d %s: %s", e.Status, e.Code, e.Message) }

// AddBucket creates a bucket with a bucket policy (JSON, "" for none) and,
// when ownershipEnforced, Object Ownership BucketOwnerEnforced (ACLs
// disabled).
func (a *AWS) AddBucket(name, policyJSON string, ownershipEnforced bool) {
	a.t.Helper()
	b := &s3Bucket{ownershipEnforced: ownershipEnforced, objects: map[string]S3Object{}}
	if policyJSON != "" {
		var doc policyDoc
		if err := json.Unmarshal([]byte(policyJSON), &doc); err != nil {
			a.t.Fatalf("AddBucket %s: MalformedPolicy: %v", name, err)
		}
		b.policy = &doc
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.buckets == nil {
		a.buckets = map[string]*s3Bucket{}
	}
	a.buckets[name] = b
}

// AddUser creates an IAM user with an inline policy (the JSON document the
// stack registers) and an access key; it returns the key's ID and secret.
func (a *AWS) AddUser(name, policyJSON string) (accessKeyID, secret string) {
	accessKeyID = "AKIA" + randomString(16, "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567")
	secret = randomString(40, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
	a.AddUserKey(name, policyJSON, accessKeyID, secret)
	return accessKeyID, secret
}

// AddUserKey is AddUser with the access key the stack created (its ID, and
// the secret its parameter holds).
func (a *AWS) AddUserKey(name, policyJSON, accessKeyID, secret string) {
	a.t.Helper()
	doc, err := parsePolicy(policyJSON)
	if err != nil {
		a.t.Fatalf("AddUser %s: MalformedPolicyDocument: %v", name, err)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.users == nil {
		a.users = map[string]*s3User{}
	}
	a.users[accessKeyID] = &s3User{name: name, secret: secret, policies: []*policyDoc{doc}}
}

// S3Objects lists a bucket's objects by key.
func (a *AWS) S3Objects(bucket string) map[string]S3Object {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := map[string]S3Object{}
	if b := a.buckets[bucket]; b != nil {
		for k, o := range b.objects {
			out[k] = o
		}
	}
	return out
}

// S3ListObjects is ListObjectsV2 with an empty prefix: the keys of the bucket.
func (a *AWS) S3ListObjects(req S3Request) ([]string, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	b, _, err := a.s3Authorize(req, "ListObjectsV2", "s3:ListBucket", "arn:aws:s3:::"+req.Bucket)
	if err != nil {
		return nil, err
	}
	keys := make([]string, 0, len(b.objects))
	for k := range b.objects {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys, nil
}

// S3HeadObject is HeadObject: whether the key exists.
func (a *AWS) S3HeadObject(req S3Request) (bool, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	b, user, err := a.s3Authorize(req, "HeadObject", "s3:GetObject", s3ObjectArn(req))
	if err != nil {
		return false, err
	}
	if _, ok := b.objects[req.Key]; ok {
		return true, nil
	}
	if evaluate(user.policies, a.s3Context(req, "s3:ListBucket", "arn:aws:s3:::"+req.Bucket)) != allowed {
		return false, &S3Error{403, "Forbidden", "HeadObject of a missing key without s3:ListBucket"}
	}
	return false, nil
}

// S3Upload is the TransferManager's upload of one file: a PutObject, or
// CreateMultipartUpload, UploadPart and CompleteMultipartUpload above
// S3MultipartThreshold (an AbortMultipartUpload when a part fails).
func (a *AWS) S3Upload(req S3Request) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	action := "PutObject"
	if req.Size > S3MultipartThreshold {
		action = "CreateMultipartUpload"
	}
	b, user, err := a.s3Authorize(req, action, "s3:PutObject", s3ObjectArn(req))
	if err != nil {
		return err
	}
	if b.ownershipEnforced && req.CannedACL != "" && req.CannedACL != "bucket-owner-full-control" {
		return a.s3Refuse(action, &S3Error{400, "AccessControlListNotSupported", "The bucket does not allow ACLs"})
	}
	class := req.StorageClass
	if class == "" {
		class = "STANDARD"
	}
	b.objects[req.Key] = S3Object{Size: req.Size, StorageClass: class, Owner: user.name, At: req.At}
	a.calls = append(a.calls, APICall{Service: "s3", Action: action, Principal: user.name, Resource: s3ObjectArn(req), Allowed: true})
	return nil
}

func s3ObjectArn(req S3Request) string { return "arn:aws:s3:::" + req.Bucket + "/" + req.Key }

// s3Context is the request context IAM and the bucket policy judge.
func (a *AWS) s3Context(req S3Request, action, resource string) authzRequest {
	k := conditionKeys{}
	k.set("aws:SecureTransport", fmt.Sprint(req.TLS))
	k.set("aws:RequestedRegion", a.Region)
	return authzRequest{Action: action, Resource: resource, Keys: k}
}

// s3Authorize authenticates req and authorizes action on resource. Callers
// hold a.mu.
func (a *AWS) s3Authorize(req S3Request, call, action, resource string) (*s3Bucket, *s3User, error) {
	user := a.users[req.AccessKeyID]
	switch {
	case user == nil:
		return nil, nil, a.s3Refuse(call, &S3Error{403, "InvalidAccessKeyId", "The AWS Access Key Id you provided does not exist in our records."})
	case user.secret != req.Secret:
		return nil, nil, a.s3Refuse(call, &S3Error{403, "SignatureDoesNotMatch", "The request signature we calculated does not match the signature you provided."})
	}
	b := a.buckets[req.Bucket]
	if b == nil {
		return nil, nil, a.s3Refuse(call, &S3Error{404, "NoSuchBucket", "The specified bucket does not exist"})
	}
	ctx := a.s3Context(req, action, resource)
	if b.policy != nil {
		for i := range b.policy.Statement {
			st := &b.policy.Statement[i]
			if st.Effect == "Deny" && strings.TrimSpace(string(st.Principal)) == `"*"` && st.applies(ctx) {
				return nil, nil, a.s3Refuse(call, &S3Error{403, "AccessDenied", "Access Denied (explicit deny in the bucket policy)"})
			}
		}
	}
	if evaluate(user.policies, ctx) != allowed {
		return nil, nil, a.s3Refuse(call, &S3Error{403, "AccessDenied", fmt.Sprintf("User %s is not authorized to perform %s on %s", user.name, action, resource)})
	}
	return b, user, nil
}

// s3Refuse records a refused call and returns its error.
func (a *AWS) s3Refuse(action string, err *S3Error) error {
	a.calls = append(a.calls, APICall{Service: "s3", Action: action, Error: err.Code})
	return err
}
