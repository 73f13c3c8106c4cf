package tests

import (
	"strings"
	"testing"
)

// A configuration with several bad values is refused with every one of
// them, each once, naming the key, the value and what is accepted, in the
// components' own words; a key feeding several components (drainSeconds:
// both groups and the load balancer) is reported once.
func TestEveryBadSettingIsReportedAtOnce(t *testing.T) {
	r := runProgram(t, stackConfig(t, "Pulumi.dev.yaml", map[string]string{
		"zoneCount":              "7",
		"drainSeconds":           "10",
		"originCpuTargetPercent": "95",
		"edgeMinSize":            "-1",
		"alarm5xxPercent":        "150",
		"snapshotIntervalHours":  "5",
		"healthyThreshold":       "ten",
	}))
	if r.err == nil {
		t.Fatal("stack accepted seven bad values")
	}
	msg := r.err.Error()
	for _, want := range []string{
		"ams-cluster:zoneCount = 7 is not valid; accepted: 2 to 6 availability zones",
		"ams-cluster:drainSeconds = 10 is not valid; accepted: 30 to 3600 seconds",
		"ams-cluster:originCpuTargetPercent = 95 is not valid; accepted: 10 to 90 percent",
		"ams-cluster:edgeMinSize = -1 is not valid; accepted: 1 to 1000",
		"ams-cluster:alarm5xxPercent = 150 is not valid; accepted: a percentage from 1 to 100",
		"ams-cluster:snapshotIntervalHours = 5 is not valid; accepted: 1, 2, 3, 4, 6, 8, 12 or 24",
		`ams-cluster:healthyThreshold = "ten" is not valid; accepted: a whole number`,
	} {
		if n := strings.Count(msg, want); n != 1 {
			t.Errorf("message states %q %d times, want once:\n%s", want, n, msg)
		}
	}
	if n := strings.Count(msg, "ams-cluster:drainSeconds"); n != 1 {
		t.Errorf("drainSeconds reported %d times:\n%s", n, msg)
	}
}
