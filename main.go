// Command ams-cluster is the Pulumi program that deploys a scalable Ant Media
// Server cluster on AWS: a VPC, a MongoDB node for cluster state, origin and
// edge Auto Scaling groups and an Application Load Balancer in front.
//
// The stack graph is internal/stack.Program: configuration read and
// validated, then Network -> StreamingLoadBalancer -> NodeSecurityGroup ->
// MongoNode -> ScalingGroup (origin, edge), then the outputs exported. It
// lives in a package so that the tests in tests/ run exactly the program that
// `pulumi up` runs.
package main

import (
	"github.com/ams-cluster/ams-aws/internal/stack"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

func main() {
	pulumi.Run(stack.Program)
}
