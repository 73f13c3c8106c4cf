package tests

import (
	"slices"
	"strings"
	"testing"

	"github.com/ams-cluster/ams-aws/internal/sandbox"
)

// TestSandboxCatchesV14TimingDefects runs the scripts of stop 14 under the
// adversarial timing of Auto Scaling and IAM, one eventually consistent
// behaviour at a time: each defect of issue 16 must break the property
// that names it, and the stack's scripts must pass the same scenario under
// that timing.
func TestSandboxCatchesV14TimingDefects(t *testing.T) {
	adv := sandbox.Adversarial()
	credentials := sandbox.Timing{CredentialsMissingFor: adv.CredentialsMissingFor, KeysUnknownFor: adv.KeysUnknownFor, PolicyMissingFor: adv.PolicyMissingFor}
	for _, tc := range []struct {
		defect   string
		timing   sandbox.Timing
		scenario scenario
		want     string
	}{
		// ams-node.sh read "No active Lifecycle Action" as "already in
		// service": the warm node stays in Warmed:Pending:Wait until the
		// hook's timeout abandons it (aws-samples/amazon-ec2-auto-scaling-
		// group-examples issue 5).
		{"a warm node completes its launch too early and is abandoned",
			sandbox.Timing{LifecycleActionDelay: adv.LifecycleActionDelay}, warmingNeverJoins, "want Warmed:Stopped"},
		// awsapi.py took a missing credentials path and refused new keys as
		// final: the first boot of a new instance fails.
		{"a warm node's boot fails on its fresh credentials", credentials, warmingNeverJoins, "the user data of a warming node exited"},
		{"MongoDB's first boot fails on its fresh credentials", credentials, mongoFirstBoot, "the MongoDB boot script exited"},
	} {
		t.Run(tc.defect, func(t *testing.T) {
			t.Parallel()
			got := tc.scenario(newBootCluster(t, v14Scripts()).timed(tc.timing))
			if !slices.ContainsFunc(got, func(f string) bool { return strings.Contains(f, tc.want) }) {
				t.Errorf("the sandbox did not catch %q on the scripts of stop 14: no failure mentions %q; failures:\n  %s", tc.defect, tc.want, strings.Join(got, "\n  "))
			}
			// TestBootScenarios runs them under the whole adversarial timing.
			for _, f := range tc.scenario(newBootCluster(t, stackScripts()).timed(tc.timing)) {
				t.Errorf("the stack's scripts under %+v: %s", tc.timing, f)
			}
		})
	}
}
