package awsapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ams-cluster/ams-aws/internal/sandbox"
	"github.com/ams-cluster/ams-aws/internal/sandbox/awsapi"
	"github.com/ams-cluster/ams-aws/internal/sandbox/machine"
)

// testInstance is an instance with a metadata service, without a World:
// its root directory and its IMDS.
func testInstance(t *testing.T, a *awsapi.AWS, id, role, group string) (string, *awsapi.IMDS) {
	t.Helper()
	root := t.TempDir()
	n := awsapi.Instance{ID: id, PrivateIP: "10.0.1.5", Role: role, Group: group, Clock: func() int { return (&machine.Env{Root: root}).Now() }}
	return root, awsapi.NewIMDS(t, a, n)
}

// imdsCredentials fetches the instance's role credentials through IMDSv2.
func imdsCredentials(t *testing.T, m *awsapi.IMDS, role string) *awsapi.Credential {
	t.Helper()
	status, tok := imdsDo(t, m, "PUT", "/latest/api/token", map[string]string{"X-aws-ec2-metadata-token-ttl-seconds": "60"})
	if status != 200 {
		t.Fatalf("IMDS token: want 200, got %d", status)
	}
	status, body := imdsDo(t, m, "GET", "/latest/meta-data/iam/security-credentials/"+role, map[string]string{"X-aws-ec2-metadata-token": tok})
	if status != 200 {
		t.Fatalf("IMDS credentials: want 200, got %d %s", status, body)
	}
	var c struct{ AccessKeyId, SecretAccessKey, Token, Code string }
	if err := json.Unmarshal([]byte(body), &c); err != nil || c.Code != "Success" {
		t.Fatalf("IMDS credentials: %v %s", err, body)
	}
	return &awsapi.Credential{AccessKeyID: c.AccessKeyId, Secret: c.SecretAccessKey, Token: c.Token}
}

func imdsDo(t *testing.T, m *awsapi.IMDS, method, path string, headers map[string]string) (int, string) {
	t.Helper()
	r, _ := http.NewRequest(method, m.URL()+path, nil)
	for k, v := range headers {
		r.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(r)
	if err != nil {
		t.Fatalf("IMDS %s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// ssmCall sends a signed SSM JSON 1.1 request.
func ssmCall(t *testing.T, endpoint string, c *awsapi.Credential, op string, in any) (int, map[string]any) {
	t.Helper()
	body, _ := json.Marshal(in)
	r, _ := http.NewRequest("POST", endpoint+"/", bytes.NewReader(body))
	r.Header.Set("Content-Type", "application/x-amz-json-1.1")
	r.Header.Set("X-Amz-Target", "AmazonSSM."+op)
	r.Header.Set("X-Amz-Security-Token", c.Token)
	awsapi.SignForTest(r, body, c.AccessKeyID, c.Secret, awsapi.TestRegion, "ssm", time.Now())
	return awsapi.DoJSON(t, r)
}

// asCall sends a signed Auto Scaling Query request and returns the status
// and the error code ("" on success).
func asCall(t *testing.T, a *awsapi.AWS, c *awsapi.Credential, params url.Values) (int, string) {
	t.Helper()
	status, code, _ := asCallMessage(t, a, c, params)
	return status, code
}

// asCallMessage is asCall with the error message.
func asCallMessage(t *testing.T, a *awsapi.AWS, c *awsapi.Credential, params url.Values) (status int, code, message string) {
	t.Helper()
	params.Set("Version", "2011-01-01")
	body := []byte(params.Encode())
	r, _ := http.NewRequest("POST", a.URL()+"/", bytes.NewReader(body))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	r.Header.Set("X-Amz-Security-Token", c.Token)
	awsapi.SignForTest(r, body, c.AccessKeyID, c.Secret, awsapi.TestRegion, "autoscaling", time.Now())
	resp, err := http.DefaultClient.Do(r)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var e struct {
		Error struct{ Code, Message string }
	}
	if resp.StatusCode != 200 {
		if err := xml.Unmarshal(b, &e); err != nil {
			t.Fatalf("decoding error %q: %v", b, err)
		}
		return resp.StatusCode, e.Error.Code, e.Error.Message
	}
	if !strings.Contains(string(b), `xmlns="`+awsapi.AutoScalingNS+`"`) {
		t.Errorf("response %q lacks the 2011-01-01 namespace", b)
	}
	return resp.StatusCode, "", ""
}

// TestAWSCallsRecord checks the call log and the access-denied message.
func TestAWSCallsRecord(t *testing.T) {
	a := awsapi.New(t, awsapi.TestRegion, awsapi.TestAccount)
	a.AddRole("node", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"ssm:GetParameter","Resource":"arn:aws:ssm:eu-west-1:123456789012:parameter/ok"}]}`)
	a.PutParameter("/ok", "1", false)
	a.PutParameter("/secret", "2", false)
	_, m := testInstance(t, a, "i-0a", "node", "")
	c := imdsCredentials(t, m, "node")
	ssmCall(t, a.URL(), c, "GetParameter", map[string]any{"Name": "/ok"})
	status, out := ssmCall(t, a.URL(), c, "GetParameter", map[string]any{"Name": "/secret"})
	want := "User: arn:aws:sts::123456789012:assumed-role/node/i-0a is not authorized to perform: ssm:GetParameter on resource: arn:aws:ssm:eu-west-1:123456789012:parameter/secret because no identity-based policy allows the ssm:GetParameter action"
	if status != 400 || out["__type"] != "AccessDeniedException" || out["Message"] != want {
		t.Errorf("want 400 AccessDeniedException %q, got %d %v", want, status, out)
	}
	calls := a.Calls()
	wantCalls := []awsapi.APICall{
		{Service: "ssm", Action: "GetParameter", Principal: "arn:aws:sts::123456789012:assumed-role/node/i-0a", Resource: "arn:aws:ssm:eu-west-1:123456789012:parameter/ok", Allowed: true},
		{Service: "ssm", Action: "GetParameter", Principal: "arn:aws:sts::123456789012:assumed-role/node/i-0a", Resource: "arn:aws:ssm:eu-west-1:123456789012:parameter/secret", Error: "AccessDeniedException"},
	}
	if len(calls) != len(wantCalls) {
		t.Fatalf("want %d calls, got %+v", len(wantCalls), calls)
	}
	for i := range calls {
		if calls[i] != wantCalls[i] {
			t.Errorf("call %d: want %+v, got %+v", i, wantCalls[i], calls[i])
		}
	}
}

// TestAWSRepoKey checks the MongoDB key URLs.
func TestAWSRepoKey(t *testing.T) {
	a := awsapi.New(t, awsapi.TestRegion, awsapi.TestAccount)
	for path, want := range map[string]int{
		"/repo/mongodb.org/static/pgp/server-8.0.asc": 200, "/repo/mongodb.org/server-7.0.asc": 200,
		"/repo/mongodb.org/static/pgp/server-x.asc": 404, "/repo/elsewhere/key.asc": 404,
	} {
		resp, err := http.Get(a.URL() + path)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != want || want == 200 && !strings.HasPrefix(string(b), "-----BEGIN PGP PUBLIC KEY BLOCK-----") {
			t.Errorf("%s: want %d (armored key), got %d %q", path, want, resp.StatusCode, b)
		}
	}
}

// requireTool finds a host tool a conformance test needs: missing, it
// skips the test, or fails it in CI (CI=true).
func requireTool(t *testing.T, name string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is required in CI: %v", name, err)
		}
		t.Skipf("%s not on PATH (%v): conformance test skipped", name, err)
	}
	return path
}

// TestAWSCLIConformance runs the real AWS CLI (botocore) against the
// stand-in, with credentials from the instance's IMDS, as a node with the
// CLI would.
func TestAWSCLIConformance(t *testing.T) {
	bin := requireTool(t, "aws")
	a := awsapi.New(t, awsapi.TestRegion, awsapi.TestAccount)
	a.AddRole("node", `{"Version":"2012-10-17","Statement":[
		{"Effect":"Allow","Action":"ssm:GetParameter","Resource":"arn:aws:ssm:eu-west-1:123456789012:parameter/app/*"},
		{"Effect":"Allow","Action":["autoscaling:CompleteLifecycleAction","autoscaling:SetInstanceProtection"],"Resource":"*",
		 "Condition":{"StringEquals":{"autoscaling:ResourceTag/ams:group":"ams-cluster/dev/ams-cluster-dev-origin"}}}]}`)
	a.PutParameter("/app/db-url", "mongodb://app:p%40ss@10.0.1.9:27017/serverdb", true)
	a.PutParameter("/other", "x", false)
	a.AddGroup("origin", awsapi.LifecycleHook{Name: "launch", Transition: awsapi.TransitionLaunching})
	a.TagGroup("origin", map[string]string{"ams:group": "ams-cluster/dev/ams-cluster-dev-origin"})
	a.Launch("origin", "i-1")
	_, m := testInstance(t, a, "i-1", "node", "origin")
	home := t.TempDir()
	for _, f := range []string{"config", "credentials"} {
		if err := os.WriteFile(filepath.Join(home, f), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	run := func(args ...string) (string, string, error) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, bin, append(args, "--output", "json")...)
		cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + home, "AWS_CONFIG_FILE=" + filepath.Join(home, "config"),
			"AWS_SHARED_CREDENTIALS_FILE=" + filepath.Join(home, "credentials"), "AWS_EC2_METADATA_SERVICE_ENDPOINT=" + m.URL(),
			"AWS_ENDPOINT_URL=" + a.URL(), "AWS_DEFAULT_REGION=" + awsapi.TestRegion, "AWS_MAX_ATTEMPTS=1"}
		var out, errOut bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errOut
		err := cmd.Run()
		return out.String(), errOut.String(), err
	}
	tests := []struct {
		name      string
		args      []string
		wantOut   string // substring of stdout on success
		wantError string // substring of stderr on failure
	}{
		{"get decrypted", []string{"ssm", "get-parameter", "--name", "/app/db-url", "--with-decryption"}, `"Value": "mongodb://app:p%40ss@10.0.1.9:27017/serverdb"`, ""},
		{"denied", []string{"ssm", "get-parameter", "--name", "/other"}, "", "AccessDeniedException"},
		{"not found", []string{"ssm", "get-parameter", "--name", "/app/none"}, "", "ParameterNotFound"},
		{"complete", []string{"autoscaling", "complete-lifecycle-action", "--auto-scaling-group-name", "origin", "--lifecycle-hook-name", "launch",
			"--instance-id", "i-1", "--lifecycle-action-result", "CONTINUE"}, "", ""},
		{"complete again", []string{"autoscaling", "complete-lifecycle-action", "--auto-scaling-group-name", "origin", "--lifecycle-hook-name", "launch",
			"--instance-id", "i-1", "--lifecycle-action-result", "CONTINUE"}, "", "No active Lifecycle Action found with instance ID i-1"},
		{"protect", []string{"autoscaling", "set-instance-protection", "--auto-scaling-group-name", "origin", "--instance-ids", "i-1", "--protected-from-scale-in"}, "", ""},
	}
	for _, tt := range tests {
		out, errOut, err := run(tt.args...)
		switch {
		case tt.wantError == "" && (err != nil || !strings.Contains(out, tt.wantOut)):
			t.Errorf("%s: want success with %q, got %v\nstdout: %s\nstderr: %s", tt.name, tt.wantOut, err, out, errOut)
		case tt.wantError != "" && (err == nil || !strings.Contains(errOut, tt.wantError)):
			t.Errorf("%s: want failure with %q, got %v\nstdout: %s\nstderr: %s", tt.name, tt.wantError, err, out, errOut)
		}
	}
	if a.LifecycleState("i-1") != "InService" || !a.Protected("i-1") {
		t.Errorf("want i-1 InService and protected, got %s/%v", a.LifecycleState("i-1"), a.Protected("i-1"))
	}
	for _, r := range m.Requests() {
		if r.Path != "/latest/api/token" && !r.Token {
			t.Errorf("the CLI fell back to IMDSv1: %+v", r)
		}
	}
}

// startMoto runs moto_server on a free local port until the test ends.
func startMoto(t *testing.T, bin string) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
	l.Close()
	cmd := exec.Command(bin, "-H", "127.0.0.1", "-p", port)
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting moto_server: %v", err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	endpoint := "http://127.0.0.1:" + port
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if resp, err := http.Get(endpoint + "/moto-api/"); err == nil {
			resp.Body.Close()
			return endpoint
		} else if errors.Is(err, context.DeadlineExceeded) {
			break
		}
	}
	t.Fatalf("moto_server did not answer on %s", endpoint)
	return ""
}

func sortedMapKeys(m map[string]any) string {
	var keys []string
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return strings.Join(keys, ",")
}

// TestSSMMotoConformance compares the stand-in's SSM answers (status,
// error __type, response fields) with moto's for the same requests. moto
// does not evaluate IAM, so the stand-in's role allows everything here.
func TestSSMMotoConformance(t *testing.T) {
	moto := startMoto(t, requireTool(t, "moto_server"))
	a := awsapi.New(t, awsapi.TestRegion, awsapi.TestAccount)
	a.AddRole("node", `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"ssm:*","Resource":"*"}}`)
	_, m := testInstance(t, a, "i-1", "node", "")
	ours := imdsCredentials(t, m, "node")
	theirs := &awsapi.Credential{AccessKeyID: "AKIAIOSFODNN7EXAMPLE", Secret: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", Token: "moto"}
	steps := []struct {
		op string
		in map[string]any
	}{
		{"PutParameter", map[string]any{"Name": "/c/plain", "Value": "v1", "Type": "String"}},
		{"PutParameter", map[string]any{"Name": "/c/secure", "Value": "s3cr3t", "Type": "SecureString"}},
		{"GetParameter", map[string]any{"Name": "/c/plain"}},
		{"GetParameter", map[string]any{"Name": "/c/secure"}},
		{"GetParameter", map[string]any{"Name": "/c/secure", "WithDecryption": true}},
		{"GetParameter", map[string]any{"Name": "/c/missing"}},
		{"PutParameter", map[string]any{"Name": "/c/plain", "Value": "v2", "Type": "String"}},
		{"PutParameter", map[string]any{"Name": "/c/plain", "Value": "v2", "Type": "String", "Overwrite": true}},
		{"GetParameter", map[string]any{"Name": "/c/plain"}},
	}
	for i, s := range steps {
		gotStatus, got := ssmCall(t, a.URL(), ours, s.op, s.in)
		wantStatus, want := ssmCall(t, moto, theirs, s.op, s.in)
		name := strconv.Itoa(i) + " " + s.op + " " + s.in["Name"].(string)
		if gotStatus != wantStatus || got["__type"] != want["__type"] {
			t.Errorf("%s: want (moto) %d %v, got %d %v", name, wantStatus, want["__type"], gotStatus, got["__type"])
			continue
		}
		if want["__type"] != nil {
			continue
		}
		if sortedMapKeys(got) != sortedMapKeys(want) {
			t.Errorf("%s: response fields: want (moto) %s, got %s", name, sortedMapKeys(want), sortedMapKeys(got))
		}
		gp, _ := got["Parameter"].(map[string]any)
		wp, _ := want["Parameter"].(map[string]any)
		if wp == nil {
			continue
		}
		if sortedMapKeys(gp) != sortedMapKeys(wp) {
			t.Errorf("%s: Parameter fields: want (moto) %s, got %s", name, sortedMapKeys(wp), sortedMapKeys(gp))
		}
		for _, k := range []string{"Name", "Type", "Version", "DataType"} {
			if gp[k] != wp[k] {
				t.Errorf("%s: Parameter.%s: want (moto) %v, got %v", name, k, wp[k], gp[k])
			}
		}
		if (gp["Value"] == "s3cr3t") != (wp["Value"] == "s3cr3t") {
			t.Errorf("%s: plain text disclosure differs: want (moto) %v, got %v", name, wp["Value"], gp["Value"])
		}
	}
}

// TestAWSCLIShim runs `aws` from a script on a node that has the CLI: the
// stand-in must hand it the node's IMDS and the AWS endpoint, and nothing
// else; on a node without the CLI the command is missing.
func TestAWSCLIShim(t *testing.T) {
	sandbox.Require(t)
	requireTool(t, "aws")
	w := sandbox.NewWorld(t, awsapi.TestRegion, awsapi.TestAccount)
	w.AWS.AddRole("node", `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"ssm:GetParameter","Resource":"arn:aws:ssm:eu-west-1:123456789012:parameter/app/*"}}`)
	w.AWS.PutParameter("/app/x", "from-ssm", false)
	w.AWS.PutParameter("/y", "hidden", false)
	n := w.NewNode(sandbox.NodeSpec{InstanceID: "i-0cli", PrivateIP: "10.0.1.20", Role: "node", HasAWSCLI: true})
	res := n.Run("cli.sh", "aws ssm get-parameter --name /app/x --query Parameter.Value --output text\naws ssm get-parameter --name /y || echo denied:$?\n")
	if res.Err != nil || !strings.Contains(res.Output, "from-ssm") || !strings.Contains(res.Output, "AccessDeniedException") || strings.Contains(res.Output, "hidden") {
		t.Errorf("want the value, then AccessDenied; got %v\n%s", res.Err, res.Output)
	}
	bare := w.NewNode(sandbox.NodeSpec{InstanceID: "i-0bare", PrivateIP: "10.0.1.21", Role: "node"})
	if res := bare.Run("cli.sh", "aws ssm get-parameter --name /app/x\n"); res.ExitCode != 127 {
		t.Errorf("without the CLI: want exit 127, got %d\n%s", res.ExitCode, res.Output)
	}
}
