package tests

import (
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"
	"testing"
)

// Recordings (issue 18, item 3): what reaches AWS when recordings are on.

func recordingsOn(t *testing.T, extra map[string]string) *run {
	t.Helper()
	config := map[string]string{"recordings": "true"}
	for k, v := range extra {
		config[k] = v
	}
	return deploy(t, config)
}

// statements parses a policy document's statements.
func statements(t *testing.T, doc string) []map[string]any {
	t.Helper()
	var parsed struct{ Statement []map[string]any }
	if err := json.Unmarshal([]byte(doc), &parsed); err != nil {
		t.Fatalf("policy %s: %v", doc, err)
	}
	return parsed.Statement
}

// strList reads a policy value that is a string or a list of strings.
func strList(v any) []string {
	switch x := v.(type) {
	case string:
		return []string{x}
	case []any:
		var out []string
		for _, s := range x {
			out = append(out, fmt.Sprint(s))
		}
		sort.Strings(out)
		return out
	}
	return nil
}

func TestNoRecordingStoreByDefault(t *testing.T) {
	r := deploy(t, nil)
	if got := r.ofType("aws:s3/bucketV2:BucketV2"); slices.ContainsFunc(got, func(b *registered) bool { return strings.HasSuffix(b.Name, "-recordings") }) {
		t.Error("a recording bucket exists with recordings off")
	}
	if len(r.ofType("aws:iam/user:User")) != 0 {
		t.Error("an IAM user exists with recordings off")
	}
	for _, name := range []string{"recordingsBucket", "recordingUrlPattern"} {
		if _, ok := r.outputs[name]; ok {
			t.Errorf("output %s exists with recordings off", name)
		}
	}
}

// The bucket is private, encrypted, ACL-less, TLS-only and kept like the
// database's volumes; its lifecycle expires recordings.
func TestRecordingBucketSettings(t *testing.T) {
	r := recordingsOn(t, nil)
	bucket := r.one(t, "aws:s3/bucketV2:BucketV2", "-recordings")
	if !bucket.Protect || !bucket.RetainOnDelete || bucket.str("forceDestroy") == "true" {
		t.Errorf("bucket protect=%v retainOnDelete=%v forceDestroy=%s, want protected, retained, no force destroy",
			bucket.Protect, bucket.RetainOnDelete, bucket.str("forceDestroy"))
	}
	if got := r.one(t, "aws:s3/bucketOwnershipControls:BucketOwnershipControls", "-recordings").str("rule.objectOwnership"); got != "BucketOwnerEnforced" {
		t.Errorf("object ownership %q, want BucketOwnerEnforced (ACLs disabled)", got)
	}
	block := r.one(t, "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", "-recordings")
	for _, k := range []string{"blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets"} {
		if block.str(k) != "true" {
			t.Errorf("public access block %s = %q, want true", k, block.str(k))
		}
	}
	sse := r.one(t, "aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2", "-recordings")
	if got := sse.str("rules.0.applyServerSideEncryptionByDefault.sseAlgorithm"); got != "AES256" {
		t.Errorf("encryption %q, want AES256", got)
	}
	policy := r.one(t, "aws:s3/bucketPolicy:BucketPolicy", "-recordings")
	st := statements(t, policy.str("policy"))
	arn := stateString(bucket, "arn")
	if len(st) != 1 || st[0]["Effect"] != "Deny" || st[0]["Action"] != "s3:*" ||
		!slices.Equal(strList(st[0]["Resource"]), []string{arn, arn + "/*"}) ||
		fmt.Sprint(st[0]["Condition"]) != "map[Bool:map[aws:SecureTransport:false]]" {
		t.Errorf("bucket policy %v, want only a deny of every request without TLS on %s and its objects", st, arn)
	}
	rule := r.one(t, "aws:s3/bucketLifecycleConfigurationV2:BucketLifecycleConfigurationV2", "-recordings")
	if rule.str("rules.0.filter.prefix") != "streams/" || rule.num("rules.0.expiration.days") != 365 ||
		rule.num("rules.0.abortIncompleteMultipartUpload.daysAfterInitiation") != 1 || !rule.input("rules.0.transitions").IsNull() {
		t.Errorf("lifecycle %v, want streams/ expired after 365 days, unfinished uploads aborted after 1, no transition", rule.Inputs)
	}

	r = recordingsOn(t, map[string]string{"recordingsExpireDays": "400", "recordingsTransitionDays": "30", "recordingsTransitionClass": "GLACIER_IR"})
	rule = r.one(t, "aws:s3/bucketLifecycleConfigurationV2:BucketLifecycleConfigurationV2", "-recordings")
	if rule.num("rules.0.expiration.days") != 400 || rule.num("rules.0.transitions.0.days") != 30 || rule.str("rules.0.transitions.0.storageClass") != "GLACIER_IR" {
		t.Errorf("lifecycle %v, want expiry after 400 days and GLACIER_IR after 30", rule.Inputs)
	}
}

// The uploader may do exactly Ant Media's upload calls, on exactly the
// prefix; the nodes may read its key and nothing of S3.
func TestRecordingUploaderGetsExactlyThePrefix(t *testing.T) {
	r := recordingsOn(t, nil)
	arn := stateString(r.one(t, "aws:s3/bucketV2:BucketV2", "-recordings"), "arn")
	st := statements(t, r.one(t, "aws:iam/userPolicy:UserPolicy", "-recordings-uploader").str("policy"))
	grants := map[string][]string{}
	for _, s := range st {
		if s["Effect"] != "Allow" || s["Condition"] != nil {
			t.Errorf("statement %v, want unconditioned allows only", s)
		}
		for _, res := range strList(s["Resource"]) {
			grants[res] = append(grants[res], strList(s["Action"])...)
		}
	}
	want := map[string][]string{
		arn:                {"s3:ListBucket"},
		arn + "/streams/*": {"s3:AbortMultipartUpload", "s3:GetObject", "s3:ListMultipartUploadParts", "s3:PutObject"},
	}
	if fmt.Sprint(grants) != fmt.Sprint(want) {
		t.Errorf("uploader grants %v, want %v", grants, want)
	}
	key := r.one(t, "aws:ssm/parameter:Parameter", "-recordings-uploader-secret-key")
	if key.str("type") != "SecureString" || key.str("name") != "/ams-cluster/dev/recordings/uploader-secret-key" || !key.input("value").ContainsSecrets() {
		t.Errorf("uploader key parameter %s type %s secret %v, want a SecureString /ams-cluster/dev/recordings/uploader-secret-key with a secret value",
			key.str("name"), key.str("type"), key.input("value").ContainsSecrets())
	}
	keyArn := stateString(key, "arn")
	for _, rp := range r.ofType("aws:iam/rolePolicy:RolePolicy") {
		doc := rp.str("policy")
		if strings.Contains(doc, `"s3:`) {
			t.Errorf("role policy %s grants S3: %s", rp.Name, doc)
		}
		isNode := strings.HasSuffix(rp.Name, "-origin") || strings.HasSuffix(rp.Name, "-edge")
		if isNode != strings.Contains(doc, keyArn) {
			t.Errorf("role policy %s names the uploader key: %v, want only the AMS nodes' roles", rp.Name, !isNode)
		}
	}
}

// The applications record MP4 and upload it into the bucket, under the
// granted prefix, with the one ACL an ACL-less bucket takes, as the
// uploader; the secret key reaches the document by name only.
func TestRecordingApplicationSettings(t *testing.T) {
	r := recordingsOn(t, nil)
	bucket := stateString(r.one(t, "aws:s3/bucketV2:BucketV2", "-recordings"), "bucket")
	keyID := r.one(t, "aws:iam/accessKey:AccessKey", "-recordings-uploader").ID
	documents := 0
	for _, p := range r.ofType("aws:ssm/parameter:Parameter") {
		if !strings.HasSuffix(p.str("name"), "/app-settings") {
			continue
		}
		documents++
		var doc struct {
			Settings map[string]any
			Secrets  map[string]string
		}
		if err := json.Unmarshal([]byte(p.str("value")), &doc); err != nil {
			t.Fatalf("%s: %v", p.str("name"), err)
		}
		want := map[string]any{
			"mp4MuxingEnabled": true, "s3RecordingEnabled": true, "s3BucketName": bucket, "s3RegionName": "eu-central-1",
			"s3StreamsFolderPath": "streams", "s3Permission": "bucket-owner-full-control", "s3StorageClass": "STANDARD",
			"uploadExtensionsToS3": float64(1), "s3AccessKey": keyID,
		}
		for k, v := range want {
			if doc.Settings[k] != v {
				t.Errorf("%s: %s = %v, want %v", p.str("name"), k, doc.Settings[k], v)
			}
		}
		if got := doc.Secrets["s3SecretKey"]; got != "/ams-cluster/dev/recordings/uploader-secret-key" {
			t.Errorf("%s: s3SecretKey read from %q, want the uploader's secret parameter", p.str("name"), got)
		}
		if _, plain := doc.Settings["s3SecretKey"]; plain {
			t.Errorf("%s holds the secret key itself", p.str("name"))
		}
	}
	if documents != 2 {
		t.Errorf("%d settings documents, want one per group", documents)
	}
}

func TestRecordingOutputs(t *testing.T) {
	r := recordingsOn(t, nil)
	name := stateString(r.one(t, "aws:s3/bucketV2:BucketV2", "-recordings"), "bucket")
	if got := r.outputString(t, "recordingsBucket"); got != name || name == "" {
		t.Errorf("recordingsBucket %q, want the bucket's name %q", got, name)
	}
	if got, want := r.outputString(t, "recordingUrlPattern"), "s3://"+name+"/streams/{streamId}.mp4"; got != want {
		t.Errorf("recordingUrlPattern %q, want %q", got, want)
	}
}

// Every bad recording key is reported at once, under its own name.
func TestBadRecordingKeysReportedTogether(t *testing.T) {
	msg := rejectedConfig(t, map[string]string{
		"recordings": "true", "recordingsExpireDays": "0", "recordingsTransitionClass": "COLD", "recordingsTransitionDays": "-3",
	}, nil)
	got := keyMessages(t, msg)
	for _, key := range []string{"recordingsExpireDays", "recordingsTransitionClass", "recordingsTransitionDays"} {
		if len(got[key]) != 1 {
			t.Errorf("%s: %d messages, want 1:\n%s", key, len(got[key]), msg)
		}
	}
	msg = rejectedConfig(t, map[string]string{"recordingsTransitionDays": "10"}, nil)
	if lines := keyMessages(t, msg)["recordingsTransitionDays"]; len(lines) != 1 || !strings.Contains(lines[0], "at least 30 for STANDARD_IA") {
		t.Errorf("a 10-day transition to STANDARD_IA: %q, want refused with AWS's 30-day minimum", lines)
	}
}

// The plan shows the recording store, its outputs and what its cost
// depends on.
func TestPlanShowsRecordingStore(t *testing.T) {
	_, text := planDev(t, map[string]string{"recordings": "true"})
	for _, want := range []string{"ams:cluster:RecordingStore ams-cluster-dev-recordings", "s3:BucketV2", "iam:UserPolicy",
		"recordingsBucket", "recordingUrlPattern", "/streams/{streamId}.mp4", "the recordings it keeps"} {
		if !strings.Contains(text, want) {
			t.Errorf("the plan lacks %q:\n%s", want, text)
		}
	}
}
