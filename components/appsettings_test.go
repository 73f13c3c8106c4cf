package components

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi/internals"
)

func secretParameter(name string) *SecretParameter {
	return &SecretParameter{Name: pulumi.String(name), Arn: pulumi.String("arn:aws:ssm:eu-central-1:123456789012:parameter" + name)}
}

// The defaults: both Marketplace applications, publishing with a JWT,
// playing without; a field other settings manage cannot be taken twice.
func TestApplicationSettingsDefaultsAndChecks(t *testing.T) {
	s, err := (&ApplicationSettings{JWTSecret: secretParameter("/p/s/apps/jwt")}).withDefaults("ScalingGroup")
	if err != nil || strings.Join(s.Apps, ",") != "LiveApp,WebRTCAppEE" || s.PublishAuth != AuthJWT || s.PlayAuth != AuthNone {
		t.Fatalf("defaults: %+v, %v", s, err)
	}
	_, err = (&ApplicationSettings{
		Apps: []string{"Live App"}, PublishAuth: "token", PlayAuth: AuthJWT, WebhookURL: "http://x.example.com",
		Extra: []AppSetting{
			{Name: "publishJwtControlEnabled", Value: pulumi.Bool(false)},
			{Name: "s3BucketName", Value: pulumi.String("a")},
			{Name: "s3BucketName", Value: pulumi.String("b")},
			{Name: "turnServerCredential"},
		},
	}).withDefaults("ScalingGroup")
	for _, want := range []string{`Apps = "Live App"`, `PublishAuth = "token"`, `AppSettings.JWTSecret`, `WebhookURL = "http://x.example.com"`,
		`Extra = "publishJwtControlEnabled"`, `Extra = "s3BucketName"`, `Extra = "turnServerCredential"`} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("want a rejection naming %s, got %v", want, err)
		}
	}
}

// The document carries plain values (outputs resolved), the names of the
// secret parameters and no secret, and the node may read exactly those.
func TestApplicationSettingsDocument(t *testing.T) {
	bucket := pulumi.String("recordings-123").ToStringOutput()
	s, err := (&ApplicationSettings{
		JWTSecret:  secretParameter("/p/s/apps/jwt"),
		WebhookURL: "https://hooks.example.com/ams",
		Extra: []AppSetting{
			{Name: "s3BucketName", Value: bucket},
			{Name: "s3RecordingEnabled", Value: pulumi.Bool(true)},
			{Name: "uploadExtensionsToS3", Value: pulumi.Int(1)},
			{Name: "turnServerCredential", Secret: secretParameter("/p/s/turn/credential")},
		},
	}).withDefaults("ScalingGroup")
	if err != nil {
		t.Fatal(err)
	}
	doc, arns := s.document("https://status.example.com/ams")
	res, err := internals.UnsafeAwaitOutput(context.Background(), doc)
	if err != nil {
		t.Fatal(err)
	}
	var d SettingsDocument
	if err := json.Unmarshal([]byte(res.Value.(string)), &d); err != nil {
		t.Fatal(err)
	}
	if d.Settings["s3BucketName"] != "recordings-123" || d.Settings["s3RecordingEnabled"] != true || d.Settings["uploadExtensionsToS3"] != float64(1) ||
		d.Settings["publishJwtControlEnabled"] != true || d.Settings["listenerHookURL"] != "https://hooks.example.com/ams" {
		t.Errorf("settings %v", d.Settings)
	}
	if d.Secrets["jwtStreamSecretKey"] != "/p/s/apps/jwt" || d.Secrets["turnServerCredential"] != "/p/s/turn/credential" || len(d.Secrets) != 2 {
		t.Errorf("secrets %v", d.Secrets)
	}
	if d.Server[StatusWebhookProperty] != "https://status.example.com/ams" {
		t.Errorf("server %v", d.Server)
	}
	if len(arns) != 2 {
		t.Errorf("the node reads %d secret parameters, want 2", len(arns))
	}
}
