package awsapi_test

import (
	"strings"
	"testing"

	"github.com/ams-cluster/ams-aws/internal/sandbox/awsapi"
)

// TestSSMParameters runs GetParameter and PutParameter through SigV4 and
// the role's policy.
func TestSSMParameters(t *testing.T) {
	a := awsapi.New(t, awsapi.TestRegion, awsapi.TestAccount)
	a.AddRole("node", `{"Version":"2012-10-17","Statement":[
		{"Effect":"Allow","Action":"ssm:GetParameter","Resource":"arn:aws:ssm:eu-west-1:123456789012:parameter/app/*"},
		{"Effect":"Allow","Action":"ssm:PutParameter","Resource":"arn:aws:ssm:eu-west-1:123456789012:parameter/app/ready"}]}`)
	a.PutParameter("/app/url", "mongodb://u:p@h/db", true)
	a.PutParameter("/app/plain", "hello", false)
	a.PutParameter("/other", "x", false)
	_, m := testInstance(t, a, "i-1", "node", "")
	c := imdsCredentials(t, m, "node")
	tests := []struct {
		name      string
		op        string
		in        map[string]any
		wantType  string
		wantValue string
	}{
		{"plain", "GetParameter", map[string]any{"Name": "/app/plain"}, "", "hello"},
		{"secure decrypted", "GetParameter", map[string]any{"Name": "/app/url", "WithDecryption": true}, "", "mongodb://u:p@h/db"},
		{"not allowed", "GetParameter", map[string]any{"Name": "/other"}, "AccessDeniedException", ""},
		{"missing but allowed", "GetParameter", map[string]any{"Name": "/app/none"}, "ParameterNotFound", ""},
		{"missing and not allowed", "GetParameter", map[string]any{"Name": "/none"}, "AccessDeniedException", ""},
		{"put new", "PutParameter", map[string]any{"Name": "/app/ready", "Value": "yes", "Type": "String"}, "", ""},
		{"put existing", "PutParameter", map[string]any{"Name": "/app/ready", "Value": "again", "Type": "String"}, "ParameterAlreadyExists", ""},
		{"put overwrite", "PutParameter", map[string]any{"Name": "/app/ready", "Value": "again", "Type": "String", "Overwrite": true}, "", ""},
		{"put not allowed", "PutParameter", map[string]any{"Name": "/app/url", "Value": "x", "Type": "String", "Overwrite": true}, "AccessDeniedException", ""},
		{"unknown operation", "DeleteParameter", map[string]any{"Name": "/app/ready"}, "UnknownOperationException", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, out := ssmCall(t, a.URL(), c, tt.op, tt.in)
			if tt.wantType != "" {
				if status != 400 || out["__type"] != tt.wantType {
					t.Fatalf("want 400 %s, got %d %v", tt.wantType, status, out)
				}
				return
			}
			if status != 200 {
				t.Fatalf("want 200, got %d %v", status, out)
			}
			if tt.op == "GetParameter" {
				p, _ := out["Parameter"].(map[string]any)
				for _, k := range []string{"Name", "Type", "Value", "Version", "ARN", "DataType", "LastModifiedDate"} {
					if _, ok := p[k]; !ok {
						t.Errorf("Parameter lacks %s: %v", k, p)
					}
				}
				if p["Value"] != tt.wantValue || p["ARN"] != "arn:aws:ssm:eu-west-1:123456789012:parameter"+tt.in["Name"].(string) {
					t.Errorf("want value %q and the parameter ARN, got %v", tt.wantValue, p)
				}
			}
		})
	}
	if v, _ := a.Parameter("/app/ready"); v != "again" {
		t.Errorf("want /app/ready = again, got %q", v)
	}
	_, out := ssmCall(t, a.URL(), c, "PutParameter", map[string]any{"Name": "/app/ready", "Value": "3", "Overwrite": true})
	if out["Version"] != float64(3) || out["Tier"] != "Standard" {
		t.Errorf("want Version 3 Tier Standard, got %v", out)
	}
}

// TestSSMSecureStringWithoutDecryption checks that the plain text of a
// SecureString never leaves without WithDecryption.
func TestSSMSecureStringWithoutDecryption(t *testing.T) {
	a := awsapi.New(t, awsapi.TestRegion, awsapi.TestAccount)
	a.AddRole("node", `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"ssm:GetParameter","Resource":"*"}}`)
	a.PutParameter("/s", "s3cr3t-value", true)
	_, m := testInstance(t, a, "i-1", "node", "")
	c := imdsCredentials(t, m, "node")
	_, out := ssmCall(t, a.URL(), c, "GetParameter", map[string]any{"Name": "/s"})
	p, _ := out["Parameter"].(map[string]any)
	v, _ := p["Value"].(string)
	if v == "" || strings.Contains(v, "s3cr3t") || p["Type"] != "SecureString" {
		t.Errorf("want an opaque SecureString value, got %v", p)
	}
}

// TestSSMThrottle checks the throttling knob.
func TestSSMThrottle(t *testing.T) {
	a := awsapi.New(t, awsapi.TestRegion, awsapi.TestAccount)
	a.AddRole("node", `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"ssm:GetParameter","Resource":"*"}}`)
	a.PutParameter("/p", "v", false)
	_, m := testInstance(t, a, "i-1", "node", "")
	c := imdsCredentials(t, m, "node")
	a.Throttle(2)
	var got []string
	for range 3 {
		_, out := ssmCall(t, a.URL(), c, "GetParameter", map[string]any{"Name": "/p"})
		typ, _ := out["__type"].(string)
		got = append(got, typ)
	}
	if strings.Join(got, ",") != "ThrottlingException,ThrottlingException," {
		t.Errorf("want two throttled calls then success, got %q", got)
	}
}
