package tests

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/ams-cluster/ams-aws/components"
	"github.com/ams-cluster/ams-aws/internal/sandbox"
	"github.com/ams-cluster/ams-aws/internal/sandbox/antmedia"
)

// Recordings in S3 (issue 18, item 3): an origin scaled in while it
// records keeps its MP4 until the bucket has it. The world's S3 is the
// stack's recording bucket (its policy and ACL-less ownership) and the
// uploader the stack's IAM user with the stack's policy; Ant Media's
// stand-in records and uploads with the application settings the stack's
// document gives (mp4MuxingEnabled, s3*), signing with the key IAM issued
// to that user (the node would read its secret from the parameter the
// document names).

// recordingCluster is a boot cluster with recordings on and the world's
// S3 holding the stack's bucket and uploader.
type recordingCluster struct {
	*bootCluster
	bucket   string
	settings antmedia.RecordingSettings
	apps     []string
}

func newRecordingCluster(t *testing.T, scripts func() scriptSet, timing sandbox.Timing) *recordingCluster {
	t.Helper()
	c := newBootClusterWith(t, scripts(), map[string]string{"recordings": "true"}).timed(timing)
	r := c.r
	bucket := r.one(t, "aws:s3/bucketV2:BucketV2", "-recordings")
	name := stateString(bucket, "bucket")
	enforced := r.one(t, "aws:s3/bucketOwnershipControls:BucketOwnershipControls", "-recordings").str("rule.objectOwnership") == "BucketOwnerEnforced"
	c.w.AWS.AddBucket(name, r.one(t, "aws:s3/bucketPolicy:BucketPolicy", "-recordings").str("policy"), enforced)
	id, secret := c.w.AWS.AddUser("uploader", r.one(t, "aws:iam/userPolicy:UserPolicy", "-recordings-uploader").str("policy"))

	var doc components.SettingsDocument
	for _, p := range r.ofType("aws:ssm/parameter:Parameter") {
		if strings.HasSuffix(p.str("name"), "-origin/app-settings") {
			if err := json.Unmarshal([]byte(p.str("value")), &doc); err != nil {
				t.Fatalf("the origin's settings document: %v", err)
			}
		}
	}
	s := antmedia.DefaultRecordingSettings()
	str := func(k string, into *string) {
		if v, ok := doc.Settings[k].(string); ok {
			*into = v
		}
	}
	s.MP4MuxingEnabled, _ = doc.Settings["mp4MuxingEnabled"].(bool)
	s.S3RecordingEnabled, _ = doc.Settings["s3RecordingEnabled"].(bool)
	str("s3BucketName", &s.S3BucketName)
	str("s3StreamsFolderPath", &s.S3StreamsFolderPath)
	str("s3Permission", &s.S3Permission)
	str("s3StorageClass", &s.S3StorageClass)
	if n, ok := doc.Settings["uploadExtensionsToS3"].(float64); ok {
		s.UploadExtensionsToS3 = int(n)
	}
	if doc.Settings["s3AccessKey"] == nil || doc.Secrets["s3SecretKey"] == "" {
		t.Fatalf("the settings document has no uploader key: %+v", doc)
	}
	s.S3AccessKey, s.S3SecretKey = id, secret
	return &recordingCluster{bootCluster: c, bucket: name, settings: s, apps: doc.Apps}
}

// recordOnOrigin boots an origin that records with settings, publishes
// stream for 30 s and scales it in 10 s into the stream: it returns the
// agent's log from the termination on.
func (c *recordingCluster) recordOnOrigin(f *failures, settings antmedia.RecordingSettings, stream string) string {
	c.checkRun(f, c.bootMongo(c.mongoNode(c.mongoID, 5)), "the MongoDB boot script")
	n := c.amsNode(components.RoleOrigin, "i-0a1b2c3d4e5f60301", "10.20.0.80")
	c.checkRun(f, c.bootAMS(n, components.RoleOrigin).Wait(), "the origin's boot script")
	f.check(c.inService(n.ID), "the origin is in state %s, want InService", c.w.AWS.LifecycleState(n.ID))
	if len(f.list) > 0 {
		return ""
	}
	n.RecordToS3(func(app string) antmedia.RecordingSettings {
		for _, a := range c.apps {
			if a == app {
				return settings
			}
		}
		return antmedia.DefaultRecordingSettings()
	})
	now := n.Clock()
	n.AMS().SetStreams(now, sandbox.AMSStream{App: "WebRTCAppEE", ID: stream, Publisher: true, WebRTCViewers: 2})
	n.AMS().SetStreams(now + 30)
	f.check(waitFor(60*time.Second, func() bool { return n.Clock() >= now+10 }), "the origin's clock stands still")
	before := len(n.Journal("ams-agent.service"))
	c.w.AWS.SetLifecycleState(n.ID, "Terminating:Wait")
	done := waitFor(120*time.Second, func() bool { return c.w.AWS.LifecycleState(n.ID) == "Terminated" })
	out := n.Journal("ams-agent.service")[before:]
	f.check(done, "the agent never completed the terminating hook:\n%s", tail(out, 10))
	// The instance goes with the hook: what its Ant Media Server had not
	// uploaded by then is lost.
	n.Terminate()
	return out
}

// TestScaleInDuringRecordingKeepsTheRecording: the origin is scaled in
// while it publishes a recorded stream; its drain outlasts the stream, the
// MP4's finalization and its upload, within drainSeconds, and only then
// lets the instance go: the recording is in the bucket, put by the
// uploader with the bucket owner's ACL.
func TestScaleInDuringRecordingKeepsTheRecording(t *testing.T) {
	t.Parallel()
	for _, tm := range timings() {
		t.Run(tm.name, func(t *testing.T) {
			t.Parallel()
			c := newRecordingCluster(t, stackScripts, tm.timing)
			f := &failures{t: t}
			out := c.recordOnOrigin(f, c.settings, "keynote")
			obj, ok := c.w.AWS.S3Objects(c.bucket)["streams/keynote.mp4"]
			f.check(ok, "the recording is not in the bucket after the scale-in; objects %v; agent:\n%s", c.w.AWS.S3Objects(c.bucket), tail(out, 10))
			f.check(!ok || obj.Owner == "uploader" && obj.Size == 30*antmedia.RecordingBytesPerSecond,
				"the recording is %+v, want the 30 s stream put by the uploader", obj)
			f.check(strings.Contains(out, "recordings finalized and uploaded after "), "the agent does not log that it waited for the recording:\n%s", tail(out, 10))
			for _, msg := range f.list {
				t.Error(msg)
			}
		})
	}
}

// TestDrainThatDoesNotWaitLosesTheRecording is the mutation the scenario
// above must catch: an agent whose drain does not wait for recordings lets
// the instance go before the upload, and the bucket never gets the file.
func TestDrainThatDoesNotWaitLosesTheRecording(t *testing.T) {
	t.Parallel()
	mutant := func() scriptSet {
		s := stackScripts()
		ams := s.ams
		s.ams = func(c *bootCluster, role string) string {
			script := ams(c, role)
			const call = `  wait_for_recordings "$waited"` + "\n"
			if !strings.Contains(script, call) {
				c.t.Fatal("the agent has no wait_for_recordings call to take out")
			}
			return strings.Replace(script, call, "", 1)
		}
		return s
	}
	for _, tm := range timings() {
		t.Run(tm.name, func(t *testing.T) {
			t.Parallel()
			c := newRecordingCluster(t, mutant, tm.timing)
			f := &failures{t: t}
			c.recordOnOrigin(f, c.settings, "keynote")
			for _, msg := range f.list {
				t.Error(msg)
			}
			if _, ok := c.w.AWS.S3Objects(c.bucket)["streams/keynote.mp4"]; ok {
				t.Error("without the wait the recording still reached the bucket: the scenario cannot tell a drain that waits from one that does not")
			}
		})
	}
}

// TestPublicReadRecordingIsRefused: with Ant Media's default s3Permission,
// public-read, the ACL-less bucket refuses the upload
// (AccessControlListNotSupported); the MP4 stays on the node, and the drain
// waits for it until drainSeconds, then says what it leaves behind.
func TestPublicReadRecordingIsRefused(t *testing.T) {
	t.Parallel()
	for _, tm := range timings() {
		t.Run(tm.name, func(t *testing.T) {
			t.Parallel()
			c := newRecordingCluster(t, stackScripts, tm.timing)
			f := &failures{t: t}
			settings := c.settings
			settings.S3Permission = antmedia.DefaultRecordingSettings().S3Permission
			out := c.recordOnOrigin(f, settings, "townhall")
			f.check(len(c.w.AWS.S3Objects(c.bucket)) == 0, "the bucket took a public-read upload: %v", c.w.AWS.S3Objects(c.bucket))
			refused := false
			for _, call := range c.w.AWS.Calls() {
				refused = refused || call.Service == "s3" && call.Error == "AccessControlListNotSupported"
			}
			f.check(refused, "S3 did not refuse the public-read upload with AccessControlListNotSupported")
			f.check(strings.Contains(out, "recordings not uploaded when the 60s window closed: WebRTCAppEE/townhall.mp4"),
				"the agent does not say which recording it leaves behind:\n%s", tail(out, 10))
			for _, msg := range f.list {
				t.Error(msg)
			}
		})
	}
}
