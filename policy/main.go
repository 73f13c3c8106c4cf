// Command policy is the ams-cluster-policies policy pack: every rule of
// package rules, served as a mandatory resource validation policy.
//
// Run it against the stack from the project directory:
//
//	pulumi preview --policy-pack policy
//	pulumi up --policy-pack policy
//
// The CLI reads PulumiPolicy.yaml (runtime: go), and the Go language host
// compiles this package and serves it to the engine. A mandatory violation
// fails the preview or update and names the resource, the property and the
// offending value. Unknown values are skipped during a preview and checked
// by `pulumi up`, which analyzes every resource again with its final inputs.
//
// The same rules run in `go test ./tests/ -run Policy` against the resources
// the stack registers under mocks.
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/blang/semver"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi/config"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi/policyx"

	"github.com/ams-cluster/ams-aws/policy/rules"
)

const (
	packName    = "ams-cluster-policies"
	packVersion = "0.1.0"
)

func main() {
	if err := policyx.Main(newPolicyPack); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

// newPolicyPack builds the pack. The engine calls it once it has configured
// the stack (ConfigureStack): the public port list follows the stack's
// ingest, webrtcPortMin and webrtcPortMax keys.
func newPolicyPack(ctx *pulumi.Context) (policyx.PolicyPack, error) {
	ports, err := rules.PortsFromConfig(func(key string) (string, bool) {
		v, err := config.Try(ctx, ctx.Project()+":"+key)
		return v, err == nil
	})
	if err != nil {
		return nil, fmt.Errorf("stack configuration %s: %w", ctx.Project(), err)
	}
	all := rules.AllFor(ports)
	policies := make([]policyx.Policy, 0, len(all))
	for _, rule := range all {
		policies = append(policies, policyx.NewResourceValidationPolicy(rule.Name, policyx.ResourceValidationPolicyArgs{
			Description:      rule.Description,
			EnforcementLevel: policyx.EnforcementLevelMandatory,
			ValidateResource: func(_ context.Context, args policyx.ResourceValidationArgs) error {
				for _, message := range rule.Check(resourceView(args.Resource)) {
					// An empty URN reports against the resource being analyzed.
					args.Manager.ReportViolation(message, "")
				}
				return nil
			},
		}))
	}
	// policyx v3.274.1 ignores the pack-level enforcement level; every
	// policy above carries its own.
	return policyx.NewPolicyPack(packName, semver.MustParse(packVersion), policyx.EnforcementLevelMandatory, policies)
}

// resourceView is what the rules see of a resource the engine analyzes: its
// inputs (secrets still marked, unknowns as property.Computed) and its
// protect option.
func resourceView(r policyx.AnalyzerResource) rules.Resource {
	return rules.Resource{
		Type:       r.Type,
		Name:       r.Name,
		Properties: r.Properties,
		Protect:    r.Options.Protect,
	}
}
