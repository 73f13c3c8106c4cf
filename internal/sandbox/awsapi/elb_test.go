package awsapi_test

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ams-cluster/ams-aws/internal/sandbox/awsapi"
	"github.com/ams-cluster/ams-aws/internal/sandbox/machine"
)

// healthWorld is a group "edge" with a drain hook and two InService
// instances behind a target group probing every 10 s (thresholds 2/2),
// each instance's endpoint answering 200 while its ok flag is set.
type healthWorld struct {
	a     *awsapi.AWS
	cred  *awsapi.Credential
	roots map[string]string
	ok    map[string]*atomic.Bool
}

const healthPolicy = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow",
	"Action":["autoscaling:SetInstanceHealth","autoscaling:CompleteLifecycleAction"],
	"Resource":"*","Condition":{"StringEquals":{"autoscaling:ResourceTag/ams:group":"edge"}}}]}`

func newHealthWorld(t *testing.T, checkType string, grace int) *healthWorld {
	t.Helper()
	return newHealthWorldOn(t, checkType, grace, nil)
}

// newHealthWorldOn is newHealthWorld on a world's one clock, when clock
// is not nil.
func newHealthWorldOn(t *testing.T, checkType string, grace int, clock awsapi.Clock) *healthWorld {
	t.Helper()
	w := &healthWorld{a: awsapi.New(t, awsapi.TestRegion, awsapi.TestAccount), roots: map[string]string{}, ok: map[string]*atomic.Bool{}}
	if clock != nil {
		w.a.ShareClock(clock)
	}
	w.a.AddRole("node", healthPolicy)
	w.a.AddGroup("edge", awsapi.LifecycleHook{Name: "drain", Transition: awsapi.TransitionTerminating, DefaultResult: "CONTINUE"})
	w.a.TagGroup("edge", map[string]string{"ams:group": "edge"})
	w.a.SetGroupHealthCheck("edge", checkType, grace)
	urls := map[string]string{}
	for _, id := range []string{"i-1", "i-2"} {
		root, m := testInstance(t, w.a, id, "node", "edge")
		if err := os.MkdirAll(filepath.Join(root, machine.StateDir), 0o755); err != nil {
			t.Fatal(err)
		}
		w.roots[id] = root
		ok := &atomic.Bool{}
		ok.Store(true)
		w.ok[id] = ok
		srv := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/capacity" && ok.Load() {
				rw.WriteHeader(200)
				return
			}
			rw.WriteHeader(503)
		}))
		t.Cleanup(srv.Close)
		urls[id] = srv.URL
		w.a.Launch("edge", id)
		w.a.SetLifecycleState(id, "InService")
		if id == "i-1" {
			w.cred = imdsCredentials(t, m, "node")
		}
	}
	w.a.SetEndpoint(func(id string, port int) (string, bool) { u, ok := urls[id]; return u, ok && port == 5090 })
	w.a.AddTargetGroup("tg-edge", "edge", awsapi.TargetGroupHealth{Port: 5090, Path: "/capacity", Interval: 10, Timeout: 5, HealthyThreshold: 2, UnhealthyThreshold: 2})
	return w
}

// advance moves an instance's clock by seconds, one second at a time, and
// gives the probes time to run.
func (w *healthWorld) advance(t *testing.T, id string, seconds int) {
	t.Helper()
	e := &machine.Env{Root: w.roots[id]}
	for i := 0; i < seconds; i++ {
		if err := e.Advance(1); err != nil {
			t.Fatal(err)
		}
		time.Sleep(3 * time.Millisecond)
	}
	time.Sleep(30 * time.Millisecond)
}

func (w *healthWorld) both(t *testing.T, seconds int) {
	t.Helper()
	for i := 0; i < seconds; i += 5 {
		w.advance(t, "i-1", 5)
		w.advance(t, "i-2", 5)
	}
}

func TestTargetHealthThresholdsAndFailOpen(t *testing.T) {
	w := newHealthWorld(t, awsapi.HealthCheckTypeEC2, 0)
	w.both(t, 30)
	if got := w.a.Routed("tg-edge"); !slices.Equal(got, []string{"i-1", "i-2"}) {
		t.Fatalf("routed %v, want both healthy targets", got)
	}
	w.ok["i-1"].Store(false)
	w.advance(t, "i-1", 10)
	if got := w.a.TargetHealth("tg-edge", "i-1"); got != awsapi.TargetHealthy {
		t.Errorf("after one failed probe i-1 is %s, want still healthy (threshold 2)", got)
	}
	w.advance(t, "i-1", 10)
	if got := w.a.TargetHealth("tg-edge", "i-1"); got != awsapi.TargetUnhealthy {
		t.Errorf("after two failed probes i-1 is %s, want unhealthy", got)
	}
	if got := w.a.Routed("tg-edge"); !slices.Equal(got, []string{"i-2"}) {
		t.Errorf("routed %v, want only the healthy i-2", got)
	}
	w.ok["i-2"].Store(false)
	w.advance(t, "i-2", 30)
	if got := w.a.Routed("tg-edge"); !slices.Equal(got, []string{"i-1", "i-2"}) {
		t.Errorf("with every target unhealthy routed %v, want all (fail open)", got)
	}
	// EC2 health checks: the load balancer's verdict replaces nobody.
	if r := w.a.Replacements("edge"); len(r) != 0 || w.a.LifecycleState("i-1") != "InService" {
		t.Errorf("with HealthCheckType EC2 the group replaced %v", r)
	}
}

func TestELBHealthCheckTypeReplacesAnUnhealthyTargetAfterGrace(t *testing.T) {
	w := newHealthWorld(t, awsapi.HealthCheckTypeELB, 60)
	w.ok["i-1"].Store(false)
	w.advance(t, "i-1", 30)
	if w.a.TargetHealth("tg-edge", "i-1") != awsapi.TargetUnhealthy || w.a.LifecycleState("i-1") != "InService" {
		t.Fatalf("within the grace period i-1 is %s and %s, want unhealthy and still InService",
			w.a.TargetHealth("tg-edge", "i-1"), w.a.LifecycleState("i-1"))
	}
	w.advance(t, "i-1", 40)
	if got := w.a.LifecycleState("i-1"); got != "Terminating:Wait" || !slices.Equal(w.a.Replacements("edge"), []string{"i-1"}) {
		t.Errorf("past the grace period i-1 is %s, replacements %v; want Terminating:Wait (its drain hook) and replaced", got, w.a.Replacements("edge"))
	}
}

func TestSetInstanceHealthRespectsGraceAndOwnGroup(t *testing.T) {
	w := newHealthWorld(t, awsapi.HealthCheckTypeEC2, 60)
	set := func(id string) url.Values {
		return url.Values{"Action": {"SetInstanceHealth"}, "InstanceId": {id}, "HealthStatus": {"Unhealthy"}, "ShouldRespectGracePeriod": {"true"}}
	}
	if _, code := asCall(t, w.a, w.cred, set("i-1")); code != "" {
		t.Fatalf("SetInstanceHealth within grace: error %q", code)
	}
	if _, marked := w.a.UnhealthyAt("i-1"); marked {
		t.Errorf("SetInstanceHealth within the grace period took effect; AWS respects the grace period by default")
	}
	w.advance(t, "i-1", 61)
	if _, code := asCall(t, w.a, w.cred, set("i-1")); code != "" {
		t.Fatalf("SetInstanceHealth past grace: error %q", code)
	}
	if at, marked := w.a.UnhealthyAt("i-1"); !marked || w.a.LifecycleState("i-1") != "Terminating:Wait" {
		t.Errorf("past the grace period i-1 is %s (marked %v at %d), want replaced through its drain hook", w.a.LifecycleState("i-1"), marked, at)
	}
	if _, code := asCall(t, w.a, w.cred, url.Values{"Action": {"SetInstanceHealth"}, "InstanceId": {"i-2"}, "HealthStatus": {"Sick"}}); code != "ValidationError" {
		t.Errorf("HealthStatus Sick: error %q, want ValidationError", code)
	}
	w.a.AddGroup("origin")
	w.a.TagGroup("origin", map[string]string{"ams:group": "origin"})
	w.a.Launch("origin", "i-9")
	w.a.SetLifecycleState("i-9", "InService")
	if _, code := asCall(t, w.a, w.cred, set("i-9")); code != "AccessDenied" {
		t.Errorf("SetInstanceHealth on another group's instance: error %q, want AccessDenied", code)
	}

}
