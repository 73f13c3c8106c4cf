package awsapi

import (
	"bytes"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ams-cluster/ams-aws/internal/sandbox/machine"
)

// TestCWAgentPackage serves the regional package, fails on request and
// knows only Amazon's paths.
func TestCWAgentPackage(t *testing.T) {
	a := New(t, testRegion, testAccount)
	get := func(path string) (int, string) {
		t.Helper()
		resp, err := http.Get(a.URL() + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	const deb = CWAgentPrefix + "/ubuntu/amd64/latest/amazon-cloudwatch-agent.deb"
	a.FailAgentDownloads(1)
	if status, _ := get(deb); status != http.StatusServiceUnavailable {
		t.Errorf("first download after FailAgentDownloads(1): %d, want 503", status)
	}
	if status, body := get(deb); status != http.StatusOK || body != cwAgentPackage {
		t.Errorf("second download: %d %q, want the package", status, body)
	}
	if status, _ := get(CWAgentPrefix + "/ubuntu/x86_64/latest/amazon-cloudwatch-agent.deb"); status != http.StatusNotFound {
		t.Errorf("an architecture Amazon does not publish: %d, want 404", status)
	}
	if n := a.AgentDownloads(); n != 1 {
		t.Errorf("%d downloads counted, want 1", n)
	}
}

func testEnv(t *testing.T) (*machine.Env, *bytes.Buffer) {
	t.Helper()
	root := t.TempDir()
	if err := os.MkdirAll(filepath.Join(root, machine.StateDir), 0o755); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	return &machine.Env{Root: root, Stdout: &out, Stderr: &out}, &out
}

// TestDpkgAndAgentCtl installs only a Debian archive, after which the
// control command starts the agent with a JSON configuration and refuses
// anything else.
func TestDpkgAndAgentCtl(t *testing.T) {
	e, out := testEnv(t)
	if code := Dpkg(e, []string{"--print-architecture"}); code != 0 || strings.TrimSpace(out.String()) != "amd64" {
		t.Errorf("--print-architecture: %d %q", code, out.String())
	}
	write := func(p, content string) {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(e.Path(p)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(e.Path(p), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("/tmp/error.html", "<Error><Code>AccessDenied</Code></Error>")
	out.Reset()
	if code := Dpkg(e, []string{"-i", "-E", "/tmp/error.html"}); code == 0 || !strings.Contains(out.String(), "not a Debian format archive") {
		t.Errorf("dpkg -i of an S3 error page: %d %q, want a refusal", code, out.String())
	}
	if _, err := os.Lstat(e.Path(cwAgentCtl)); err == nil {
		t.Errorf("the control command exists without the package")
	}
	write("/tmp/agent.deb", cwAgentPackage)
	if code := Dpkg(e, []string{"-i", "-E", "/tmp/agent.deb"}); code != 0 {
		t.Fatalf("dpkg -i of the package: %d %q", code, out.String())
	}
	if _, err := os.Lstat(e.Path(cwAgentCtl)); err != nil {
		t.Errorf("the package did not install %s: %v", cwAgentCtl, err)
	}

	write("/opt/aws/amazon-cloudwatch-agent/etc/bad.json", `{"logs": `)
	write("/opt/aws/amazon-cloudwatch-agent/etc/good.json", `{"logs": {}}`)
	for _, tc := range []struct {
		args []string
		ok   bool
	}{
		{[]string{"-a", "fetch-config", "-m", "ec2", "-s", "-c", "file:/opt/aws/amazon-cloudwatch-agent/etc/bad.json"}, false},
		{[]string{"-a", "fetch-config", "-m", "onPremise", "-s", "-c", "file:/opt/aws/amazon-cloudwatch-agent/etc/good.json"}, false},
		{[]string{"-a", "fetch-config", "-m", "ec2", "-s", "-c", "file:/opt/aws/amazon-cloudwatch-agent/etc/missing.json"}, false},
		{[]string{"-a", "fetch-config", "-m", "ec2", "-s", "-c", "file:/opt/aws/amazon-cloudwatch-agent/etc/good.json"}, true},
	} {
		out.Reset()
		code := CWAgentCtlCmd(e, tc.args)
		if (code == 0) != tc.ok {
			t.Errorf("ctl %v: exit %d (%s), want success %v", tc.args, code, out.String(), tc.ok)
		}
	}
	if b, err := os.ReadFile(e.State("cwagent.json")); err != nil || string(b) != `{"logs": {}}` {
		t.Errorf("the running agent's configuration is %q (%v), want the good file", b, err)
	}
}
