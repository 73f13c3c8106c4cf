package tests

import (
	"slices"
	"strings"
	"testing"
)

// TestSandboxCatchesV14BootDefects runs, on the boot scripts of main at
// stop 14, the scenarios that the strict systemd and cloud-init models
// make meaningful, and requires each defect issue 16 names to break the
// property that names it; then the stack's scripts must pass the same
// scenarios.
//
//   - ams-node.sh ends with a blocking `systemctl enable --now
//     ams-agent.service` from inside the oneshot ams-node.service, while
//     ams-agent.service is ordered after it: every start after the first
//     (leaving the warm pool, a reboot) deadlocks and the agent never runs.
//   - mongo-bootstrap.sh is the user data itself: cloud-init never runs it
//     again, so a first boot cut short or failed early never converges.
func TestSandboxCatchesV14BootDefects(t *testing.T) {
	for _, tc := range []struct {
		defect   string
		scenario scenario
		want     string
	}{
		{"leaving the warm pool deadlocks ams-node and ams-agent", leavingThePoolJoinsOnce, "deadlock"},
		{"a reboot deadlocks ams-node and ams-agent", rebootedNodeStartsItsAgent, "deadlock"},
		{"a MongoDB first boot cut short never converges", mongoInterruptedAnywhere, "after an interruption at"},
		{"a MongoDB first boot failed early never converges", mongoFailsEarlyThenConverges, "after an early failure"},
	} {
		t.Run(tc.defect, func(t *testing.T) {
			t.Parallel()
			got := tc.scenario(newBootCluster(t, v14Scripts()))
			if !slices.ContainsFunc(got, func(f string) bool { return strings.Contains(f, tc.want) }) {
				t.Errorf("the sandbox did not catch %q on stop 14's scripts: no failure mentions %q; failures:\n  %s", tc.defect, tc.want, strings.Join(got, "\n  "))
			}
		})
		t.Run("stack/"+tc.defect, func(t *testing.T) {
			t.Parallel()
			for _, f := range tc.scenario(newBootCluster(t, stackScripts())) {
				t.Error(f)
			}
		})
	}
}
