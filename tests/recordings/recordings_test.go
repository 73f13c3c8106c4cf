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
// stack's recording bucket (its policy and ACL-less ownership) and its
// uploader the stack's IAM user with the stack's policy and access key,
// whose secret the world's Parameter Store holds under the stack's
// parameter. The node applies the stack's settings document at boot
// (appsettings.py), and Ant Media's stand-in records and uploads with what
// its applications' settings then hold.

// recordingCluster is a boot cluster with recordings on and the world's
// S3 holding the stack's bucket and uploader.
type recordingCluster struct {
	*bootCluster
	bucket string
}

// newRecordingCluster builds the world; edit, when set, changes the
// groups' settings documents before any node boots.
func newRecordingCluster(t *testing.T, scripts func() scriptSet, timing sandbox.Timing, edit func(*components.SettingsDocument)) *recordingCluster {
	t.Helper()
	c := newBootClusterWith(t, scripts(), map[string]string{"recordings": "true"}).timed(timing)
	r := c.r
	name := stateString(r.one(t, "aws:s3/bucketV2:BucketV2", "-recordings"), "bucket")
	enforced := r.one(t, "aws:s3/bucketOwnershipControls:BucketOwnershipControls", "-recordings").str("rule.objectOwnership") == "BucketOwnerEnforced"
	c.w.AWS.AddBucket(name, r.one(t, "aws:s3/bucketPolicy:BucketPolicy", "-recordings").str("policy"), enforced)
	keyID := r.one(t, "aws:iam/accessKey:AccessKey", "-recordings-uploader").ID
	secretParam := r.one(t, "aws:ssm/parameter:Parameter", "-recordings-uploader-secret-key").str("name")
	const secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
	c.w.AWS.AddUserKey("uploader", r.one(t, "aws:iam/userPolicy:UserPolicy", "-recordings-uploader").str("policy"), keyID, secret)
	c.w.AWS.PutParameter(secretParam, secret, true)
	for _, p := range r.ofType("aws:ssm/parameter:Parameter") {
		if !strings.HasSuffix(p.str("name"), "/app-settings") {
			continue
		}
		var doc components.SettingsDocument
		if err := json.Unmarshal([]byte(c.params[p.str("name")]), &doc); err != nil {
			t.Fatalf("%s: %v", p.str("name"), err)
		}
		if doc.Settings["s3AccessKey"] != keyID || doc.Secrets["s3SecretKey"] != secretParam {
			t.Fatalf("%s does not name the uploader's key: %+v", p.str("name"), doc)
		}
		if edit != nil {
			edit(&doc)
			b, err := json.Marshal(doc)
			if err != nil {
				t.Fatal(err)
			}
			c.w.AWS.PutParameter(p.str("name"), string(b), true)
		}
	}
	return &recordingCluster{bootCluster: c, bucket: name}
}

// recordOnOrigin boots an origin that records with settings, publishes
// stream for 30 s and scales it in 10 s into the stream: it returns the
// agent's log from the termination on.
func (c *recordingCluster) recordOnOrigin(f *failures, stream string) string {
	c.checkRun(f, c.bootMongo(c.mongoNode(c.mongoID, 5)), "the MongoDB boot script")
	n := c.amsNode(components.RoleOrigin, "i-0a1b2c3d4e5f60301", "10.20.0.80")
	c.checkRun(f, c.bootAMS(n, components.RoleOrigin).Wait(), "the origin's boot script")
	f.check(c.inService(n.ID), "the origin is in state %s, want InService", c.w.AWS.LifecycleState(n.ID))
	if len(f.list) > 0 {
		return ""
	}
	applied := n.AMS().AppRecordingSettings("WebRTCAppEE")
	f.check(applied.MP4MuxingEnabled && applied.S3RecordingEnabled && applied.S3BucketName == c.bucket && applied.S3SecretKey != "",
		"the node did not apply the stack's recording settings to WebRTCAppEE: %+v", redactSecret(applied))
	n.RecordToS3()
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
			c := newRecordingCluster(t, stackScripts, tm.timing, nil)
			f := &failures{t: t}
			out := c.recordOnOrigin(f, "keynote")
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
			const call = `  wait_for_recordings "$waited" "$limit"` + "\n"
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
			c := newRecordingCluster(t, mutant, tm.timing, nil)
			f := &failures{t: t}
			c.recordOnOrigin(f, "keynote")
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
// public-read (a settings document that leaves the field to Ant Media),
// the ACL-less bucket refuses the upload
// (AccessControlListNotSupported); the MP4 stays on the node, and the drain
// waits for it until drainSeconds, then says what it leaves behind.
func TestPublicReadRecordingIsRefused(t *testing.T) {
	t.Parallel()
	for _, tm := range timings() {
		t.Run(tm.name, func(t *testing.T) {
			t.Parallel()
			c := newRecordingCluster(t, stackScripts, tm.timing, func(d *components.SettingsDocument) { delete(d.Settings, "s3Permission") })
			f := &failures{t: t}
			out := c.recordOnOrigin(f, "townhall")
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

// redactSecret hides the secret key of settings for a message.
func redactSecret(s antmedia.RecordingSettings) antmedia.RecordingSettings {
	if s.S3SecretKey != "" {
		s.S3SecretKey = "(set)"
	}
	return s
}
