package components

import (
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// fakeEC2 answers the instance metadata and the two EC2 actions of
// awsapi.py's eip-claim as EC2 does: AssociateAddress with
// AllowReassociation=false fails with Resource.AlreadyAssociated when the
// address is associated already ("AssociateAddress", Amazon EC2 API
// Reference: "If false, ... the request fails if the Elastic IP address is
// already associated"), and DescribeAddresses filters by tag.
type fakeEC2 struct {
	mu        sync.Mutex
	instance  string
	addresses []*fakeAddress
	// stealFirst has another instance take the first free address between
	// this instance's DescribeAddresses and its AssociateAddress.
	stealFirst bool
	calls      []string
}

type fakeAddress struct{ ip, allocation, tag, instance string }

func (f *fakeEC2) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	switch {
	case r.URL.Path == "/latest/api/token":
		fmt.Fprint(w, "token")
	case r.URL.Path == "/latest/meta-data/instance-id":
		fmt.Fprint(w, f.instance)
	case r.URL.Path == "/latest/meta-data/iam/security-credentials/":
		fmt.Fprint(w, "turn-role")
	case r.URL.Path == "/latest/meta-data/iam/security-credentials/turn-role":
		fmt.Fprint(w, `{"AccessKeyId":"AKIA","SecretAccessKey":"s","Token":"t"}`)
	case r.URL.Path == "/ec2/":
		_ = r.ParseForm()
		action := r.Form.Get("Action")
		f.calls = append(f.calls, action+" "+r.Form.Get("AllocationId"))
		switch action {
		case "DescribeAddresses":
			if r.Form.Get("Filter.1.Name") != "tag:"+GroupTagKey {
				http.Error(w, "<Response><Errors><Error><Code>InvalidParameterValue</Code></Error></Errors></Response>", 400)
				return
			}
			var b bytes.Buffer
			b.WriteString(`<DescribeAddressesResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><addressesSet>`)
			for _, a := range f.addresses {
				if a.tag != r.Form.Get("Filter.1.Value.1") {
					continue
				}
				fmt.Fprintf(&b, "<item><publicIp>%s</publicIp><allocationId>%s</allocationId><domain>vpc</domain>", a.ip, a.allocation)
				if a.instance != "" {
					fmt.Fprintf(&b, "<instanceId>%s</instanceId><associationId>eipassoc-%s</associationId>", a.instance, a.allocation)
				}
				fmt.Fprintf(&b, "<tagSet><item><key>%s</key><value>%s</value></item></tagSet></item>", GroupTagKey, a.tag)
			}
			b.WriteString(`</addressesSet></DescribeAddressesResponse>`)
			_, _ = w.Write(b.Bytes())
			if f.stealFirst {
				f.stealFirst = false
				for _, a := range f.addresses {
					if a.instance == "" {
						a.instance = "i-other"
						break
					}
				}
			}
		case "AssociateAddress":
			for _, a := range f.addresses {
				if a.allocation != r.Form.Get("AllocationId") {
					continue
				}
				if a.instance != "" && r.Form.Get("AllowReassociation") != "true" {
					http.Error(w, "<Response><Errors><Error><Code>Resource.AlreadyAssociated</Code><Message>already associated</Message></Error></Errors></Response>", 400)
					return
				}
				a.instance = r.Form.Get("InstanceId")
				fmt.Fprint(w, "<AssociateAddressResponse><return>true</return></AssociateAddressResponse>")
				return
			}
			http.Error(w, "<Response><Errors><Error><Code>InvalidAllocationID.NotFound</Code></Error></Errors></Response>", 400)
		}
	default:
		http.NotFound(w, r)
	}
}

// claim runs awsapi.py eip-claim against f and returns its output and exit status.
func (f *fakeEC2) claim(t *testing.T) (string, int) {
	t.Helper()
	tmpl, err := bootTemplates()
	if err != nil {
		t.Fatal(err)
	}
	var src bytes.Buffer
	if err := tmpl.ExecuteTemplate(&src, "awsapi.py", nil); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "awsapi.py")
	if err := os.WriteFile(path, src.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(f)
	defer srv.Close()
	cmd := exec.Command("python3", "-I", "-S", path, "eip-claim", GroupTagKey, "ams-cluster/dev/turn")
	cmd.Env = []string{"AWSAPI_IMDS=" + srv.URL, "AWSAPI_REGION=eu-central-1", "AWSAPI_SSM=" + srv.URL + "/ssm/",
		"AWSAPI_AUTOSCALING=" + srv.URL + "/as/", "AWSAPI_EC2=" + srv.URL + "/ec2/", "NO_PROXY=*"}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	status := 0
	if err := cmd.Run(); err != nil {
		exit, ok := err.(*exec.ExitError)
		if !ok {
			t.Fatal(err)
		}
		status = exit.ExitCode()
	}
	if status != 0 {
		t.Logf("awsapi.py: %s", strings.TrimSpace(stderr.String()))
	}
	return stdout.String(), status
}

// A TURN node claims the address it holds already, else a free one of its
// own group, never one another node holds, even when another node takes
// the free one it saw first; with none free it fails (exit 3), which
// abandons its launch.
func TestTurnNodeClaimsAFreeAddressOfItsGroup(t *testing.T) {
	if _, err := exec.LookPath("python3"); err != nil {
		t.Skip("python3 is not installed")
	}
	group := "ams-cluster/dev/turn"
	t.Run("holds one already", func(t *testing.T) {
		f := &fakeEC2{instance: "i-me", addresses: []*fakeAddress{
			{"198.51.100.1", "eipalloc-1", group, ""}, {"198.51.100.2", "eipalloc-2", group, "i-me"},
		}}
		if ip, status := f.claim(t); status != 0 || ip != "198.51.100.2" {
			t.Errorf("claim = %q, exit %d; want the address it holds, 198.51.100.2", ip, status)
		}
		if strings.Join(f.calls, ",") != "DescribeAddresses " {
			t.Errorf("calls %q: a node that holds an address associates nothing", f.calls)
		}
	})
	t.Run("another node takes the first free address meanwhile", func(t *testing.T) {
		f := &fakeEC2{instance: "i-me", stealFirst: true, addresses: []*fakeAddress{
			{"198.51.100.1", "eipalloc-1", group, "i-a"}, {"198.51.100.2", "eipalloc-2", group, ""},
			{"198.51.100.3", "eipalloc-3", group, ""}, {"203.0.113.9", "eipalloc-9", "other/group", ""},
		}}
		if ip, status := f.claim(t); status != 0 || ip != "198.51.100.3" {
			t.Errorf("claim = %q, exit %d; want 198.51.100.3", ip, status)
		}
		if f.addresses[1].instance != "i-other" || f.addresses[0].instance != "i-a" || f.addresses[3].instance != "" {
			t.Errorf("addresses after the claim: %+v %+v %+v", *f.addresses[0], *f.addresses[1], *f.addresses[3])
		}
	})
	t.Run("none free", func(t *testing.T) {
		f := &fakeEC2{instance: "i-me", addresses: []*fakeAddress{{"198.51.100.1", "eipalloc-1", group, "i-a"}}}
		if ip, status := f.claim(t); status != 3 || ip != "" {
			t.Errorf("claim = %q, exit %d; want nothing and exit 3", ip, status)
		}
	})
}
