package tests

import (
	"testing"

	"github.com/ams-cluster/ams-aws/components"
)

// TestInstanceRefreshReplacesBusyOriginsThroughTheDrain: an instance
// refresh must reach origins that the agent protects from scale-in while
// they carry a publisher (the provider's default, Ignore, skips them for
// good), and every node it replaces, protected or not, goes through the
// terminating hook that the agent completes once drained, bounded by
// drainSeconds.
func TestInstanceRefreshReplacesBusyOriginsThroughTheDrain(t *testing.T) {
	r := deploy(t, map[string]string{"drainSeconds": "900"})
	for _, role := range []string{"origin", "edge"} {
		asg := r.one(t, "aws:autoscaling/group:Group", "-"+role)
		expectInputs(t, asg, map[string]string{
			"instanceRefresh.strategy":                              "Rolling",
			"instanceRefresh.preferences.scaleInProtectedInstances": components.RefreshProtectedInstances,
			"instanceRefresh.preferences.minHealthyPercentage":      "100",
		})
		hook := r.one(t, "aws:autoscaling/lifecycleHook:LifecycleHook", "-"+role+"-drain")
		expectInputs(t, hook, map[string]string{
			"autoscalingGroupName": stateString(asg, "name"),
			"lifecycleTransition":  "autoscaling:EC2_INSTANCE_TERMINATING",
			"heartbeatTimeout":     "900",
			"defaultResult":        "CONTINUE",
		})
	}
}
