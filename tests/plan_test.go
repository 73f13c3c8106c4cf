package tests

import (
	"os"
	"strings"
	"testing"

	"github.com/ams-cluster/ams-aws/internal/mockaws"
	"github.com/ams-cluster/ams-aws/internal/plan"
)

// TestPlan prints what `pulumi up` would build for a stack, as
// `go run ./cmd/plan` does (the README's first command): the real program
// under the AWS-like mocks, printed by internal/plan. AMS_STACK=prod plans
// the production file (with an example domain, which it requires). It also
// fails when the plan is empty or incomplete.
func TestPlan(t *testing.T) {
	stackName := "dev"
	if s := os.Getenv("AMS_STACK"); s != "" {
		stackName = s
	}
	var overrides map[string]string
	if stackName == "prod" {
		overrides = map[string]string{"domainName": testDomain, "hostedZoneId": testZoneID}
	}
	cfg, secretKeys, err := mockaws.StackConfig("..", stackName, overrides)
	if err != nil {
		t.Fatal(err)
	}
	r := mockaws.RunStack(mockaws.New(), stackName, cfg, secretKeys)
	if r.Err != nil {
		t.Fatalf("Pulumi.%s.yaml: the program stops before building anything:\n%v", stackName, r.Err)
	}
	var b strings.Builder
	if err := plan.New(stackName, r).WriteText(&b); err != nil {
		t.Fatal(err)
	}
	t.Log("\n" + b.String())
	for _, want := range []string{"ams:cluster:StreamingLoadBalancer", "ams:cluster:ScalingGroup", "ams:cluster:MongoNode", "Entry points\n", "Who can reach what", "  publishUrl "} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("the plan lacks %q", want)
		}
	}
}
