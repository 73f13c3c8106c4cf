// Command existing-vpc is how another team would use the components: Ant
// Media Server origin and edge groups behind the load balancers, in a VPC
// and subnets that already exist, on a database they already run (Atlas,
// DocumentDB, their own replica set) whose URL they keep in an SSM
// SecureString parameter. No MongoNode, no Network.
//
//	pulumi config set vpcId vpc-0123456789abcdef0
//	pulumi config set --path 'subnetIds[0]' subnet-0123456789abcdef0
//	pulumi config set --path 'subnetIds[1]' subnet-0fedcba9876543210
//	pulumi config set databaseUrlParameter /live/atlas/url
package main

import (
	"fmt"

	"github.com/ams-cluster/ams-aws/components"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi/config"
)

func main() {
	pulumi.Run(run)
}

// run declares the cluster; main_test.go runs it under mocks.
func run(ctx *pulumi.Context) error {
	cfg := config.New(ctx, "")
	vpcID := pulumi.String(cfg.Require("vpcId"))
	var subnets []string
	cfg.RequireObject("subnetIds", &subnets)
	subnetIDs := pulumi.ToStringArray(subnets)
	urlParameter := cfg.Require("databaseUrlParameter")

	caller, err := aws.GetCallerIdentity(ctx, nil)
	if err != nil {
		return fmt.Errorf("caller identity: %w", err)
	}
	region, err := aws.GetRegion(ctx, nil)
	if err != nil {
		return fmt.Errorf("region: %w", err)
	}
	urlArn := fmt.Sprintf("arn:aws:ssm:%s:%s:parameter/%s", region.Name, caller.AccountId, urlParameter[1:])

	lb, err := components.NewStreamingLoadBalancer(ctx, "live", &components.StreamingLoadBalancerArgs{
		VpcID: vpcID, SubnetIDs: subnetIDs,
	})
	if err != nil {
		return err
	}
	ingest, err := components.NewIngestLoadBalancer(ctx, "live-ingest", &components.IngestLoadBalancerArgs{
		VpcID: vpcID, SubnetIDs: subnetIDs,
	})
	if err != nil {
		return err
	}
	nodes, err := components.NewNodeSecurityGroup(ctx, "live-ams", &components.NodeSecurityGroupArgs{
		VpcID:                        vpcID,
		LoadBalancerSecurityGroupIDs: pulumi.StringArray{lb.SecurityGroupID},
		IngestSecurityGroupIDs:       pulumi.StringArray{ingest.SecurityGroupID},
	})
	if err != nil {
		return err
	}
	for _, role := range components.Roles() {
		// Origins also take RTMP and SRT from the ingest load balancer.
		roleGroup, err := lb.TargetGroupArn(role)
		if err != nil {
			return err
		}
		tgs := pulumi.StringArray{roleGroup}
		if role == components.RoleOrigin {
			tgs = append(tgs, ingest.TargetGroupArns.Index(pulumi.Int(0)), ingest.TargetGroupArns.Index(pulumi.Int(1)))
		}
		group, err := components.NewScalingGroup(ctx, "live-"+string(role), &components.ScalingGroupArgs{
			Role:                     role,
			SubnetIDs:                subnetIDs,
			SecurityGroupIDs:         pulumi.StringArray{nodes.SecurityGroupID},
			TargetGroupArns:          tgs,
			DatabaseURLParameterName: pulumi.String(urlParameter),
			DatabaseURLParameterArn:  pulumi.String(urlArn),
		})
		if err != nil {
			return err
		}
		ctx.Export(string(role)+"GroupName", group.GroupName)
	}
	ctx.Export("publishUrl", pulumi.Sprintf("http://%s/WebRTCAppEE/", lb.DNSName))
	ctx.Export("playUrl", pulumi.Sprintf("http://%s:5080/WebRTCAppEE/", lb.DNSName))
	ctx.Export("rtmpUrl", pulumi.Sprintf("rtmp://%s/WebRTCAppEE/stream1", ingest.DNSName))
	return nil
}
