package awsapi_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/ams-cluster/ams-aws/internal/sandbox/awsapi"
)

// TestIMDSSpotNotices: the interruption notice and the rebalance
// recommendation are absent (404) until EC2 gives them, need a token like
// every item, and then carry the documented JSON.
func TestIMDSSpotNotices(t *testing.T) {
	a := awsapi.New(t, awsapi.TestRegion, awsapi.TestAccount)
	_, m := testInstance(t, a, "i-1", "", "")
	_, tok := imdsDo(t, m, "PUT", "/latest/api/token", map[string]string{"X-aws-ec2-metadata-token-ttl-seconds": "60"})
	auth := map[string]string{"X-aws-ec2-metadata-token": tok}
	paths := []string{"/latest/meta-data/spot/instance-action", "/latest/meta-data/events/recommendations/rebalance"}
	for _, p := range paths {
		if got, _ := imdsDo(t, m, "GET", p, auth); got != 404 {
			t.Errorf("%s before any notice: %d, want 404", p, got)
		}
	}
	at := time.Date(2026, 12, 3, 20, 0, 0, 0, time.UTC)
	m.RecommendRebalance(at.Add(-time.Hour))
	if got, body := imdsDo(t, m, "GET", paths[1], auth); got != 200 || body != `{"noticeTime":"2026-12-03T19:00:00Z"}` {
		t.Errorf("rebalance: %d %s", got, body)
	}
	if got, _ := imdsDo(t, m, "GET", paths[0], auth); got != 404 {
		t.Errorf("a rebalance recommendation is no interruption notice: %d", got)
	}
	m.InterruptSpot(at)
	got, body := imdsDo(t, m, "GET", paths[0], auth)
	var notice map[string]string
	if err := json.Unmarshal([]byte(body), &notice); got != 200 || err != nil || notice["action"] != "terminate" || notice["time"] != "2026-12-03T20:00:00Z" {
		t.Errorf("interruption: %d %s", got, body)
	}
	if got, _ := imdsDo(t, m, "GET", paths[0], nil); got != 401 {
		t.Errorf("interruption notice without a token: %d, want 401", got)
	}
}
