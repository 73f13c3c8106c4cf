package components

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/lb"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/s3"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// elbLogAccounts are the Elastic Load Balancing accounts that deliver access
// logs in the regions opened before August 2022 (Elastic Load Balancing
// User Guide, "Enable access logs": step 2, bucket policy). Newer regions
// have no such account; there the log delivery service principal writes.
var elbLogAccounts = map[string]string{
	"us-east-1": "127311923021", "us-east-2": "033677994240", "us-west-1": "027434742980", "us-west-2": "797873946194",
	"af-south-1": "098369216593", "ap-east-1": "754344448648", "ap-south-1": "718504428378",
	"ap-northeast-1": "582318560864", "ap-northeast-2": "600734575887", "ap-northeast-3": "383597477331",
	"ap-southeast-1": "114774131450", "ap-southeast-2": "783225319266", "ap-southeast-3": "589379963580",
	"ca-central-1": "985666609251", "eu-central-1": "054676820928", "eu-west-1": "156460612806",
	"eu-west-2": "652711504416", "eu-west-3": "009996457667", "eu-south-1": "635631232127",
	"eu-north-1": "897822967062", "me-south-1": "076674570225", "sa-east-1": "507241528517",
	"us-gov-west-1": "048591011584", "us-gov-east-1": "190560391635",
	"cn-north-1": "638102146993", "cn-northwest-1": "037604701340",
}

// elbLogDeliveryService is the service principal that writes load balancer
// access logs in regions opened in or after August 2022.
const elbLogDeliveryService = "logdelivery.elasticloadbalancing.amazonaws.com"

// elbLogDeliveryPrincipal returns the bucket policy principal that Elastic
// Load Balancing writes access logs as in region: {"AWS": the regional ELB
// account's root} where there is one, {"Service": elbLogDeliveryService}
// elsewhere.
func elbLogDeliveryPrincipal(partition, region string) map[string]string {
	if account, ok := elbLogAccounts[region]; ok {
		return map[string]string{"AWS": fmt.Sprintf("arn:%s:iam::%s:root", partition, account)}
	}
	return map[string]string{"Service": elbLogDeliveryService}
}

var logPrefixPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,62}$`)

// AccessLogBucketArgs configures an AccessLogBucket.
type AccessLogBucketArgs struct {
	// Prefix is the key prefix the load balancer writes under, lower case,
	// never "AWSLogs". Defaults to "alb".
	Prefix string
	// RetentionDays is how long a log file is kept, 1 to 3650 days. Defaults to 90.
	RetentionDays int
	// ForceDestroy lets `pulumi destroy` delete the bucket with its logs.
	// Defaults to false: a bucket holding logs survives a mistaken destroy.
	ForceDestroy bool
	// Tags are added to the bucket.
	Tags map[string]string
}

// AccessLogBucket is the S3 bucket an Application Load Balancer in the same
// region writes its access logs to: SSE-S3 encryption (the only one Elastic
// Load Balancing supports), public access blocked, ACLs disabled, log files
// expired after RetentionDays, and a policy that lets exactly the region's
// log delivery principal put objects under exactly Prefix/AWSLogs/<account>/.
type AccessLogBucket struct {
	pulumi.ResourceState

	// BucketName is the bucket's name, known once the policy is in place, so
	// that a load balancer using it is created after the policy.
	BucketName pulumi.StringOutput `pulumi:"bucketName"`
	// BucketArn is the bucket's ARN.
	BucketArn pulumi.StringOutput `pulumi:"bucketArn"`
	// Prefix is the key prefix for the load balancer's access log settings.
	Prefix pulumi.StringOutput `pulumi:"prefix"`
}

// Validate applies the defaults to a copy of the arguments and reports the
// first one that is not acceptable.
func (a *AccessLogBucketArgs) Validate() error {
	_, err := a.withDefaults()
	return err
}

func (a *AccessLogBucketArgs) withDefaults() (AccessLogBucketArgs, error) {
	const component = "AccessLogBucket"
	bad := fieldErrors{component: component}
	out := AccessLogBucketArgs{}
	if a != nil {
		out = *a
	}
	setDefault(&out.Prefix, "alb")
	setDefaultInt(&out.RetentionDays, 90)
	if !logPrefixPattern.MatchString(out.Prefix) || strings.Contains(strings.ToLower(out.Prefix), "awslogs") {
		bad.reject("Prefix", out.Prefix, "lower-case letters, digits and hyphens, up to 63, without AWSLogs")
	}
	bad.within("RetentionDays", out.RetentionDays, 1, 3650, "days")
	return out, bad.err()
}

// NewAccessLogBucket creates the bucket, its encryption, public access block,
// ownership controls, lifecycle and policy.
func NewAccessLogBucket(ctx *pulumi.Context, name string, args *AccessLogBucketArgs, opts ...pulumi.ResourceOption) (*AccessLogBucket, error) {
	a, err := args.withDefaults()
	if err != nil {
		return nil, err
	}
	b := &AccessLogBucket{}
	if err := ctx.RegisterComponentResource(typePrefix+"AccessLogBucket", name, b, opts...); err != nil {
		return nil, err
	}
	parent := pulumi.Parent(b)
	region, err := aws.GetRegion(ctx, nil, parent)
	if err != nil {
		return nil, fmt.Errorf("access log bucket %s: region: %w", name, err)
	}
	caller, err := aws.GetCallerIdentity(ctx, nil, parent)
	if err != nil {
		return nil, fmt.Errorf("access log bucket %s: account: %w", name, err)
	}
	partition := "aws"
	if parts := strings.SplitN(caller.Arn, ":", 3); len(parts) == 3 && parts[0] == "arn" {
		partition = parts[1]
	}

	bucket, block, err := privateBucket(ctx, name, a.ForceDestroy, tagMap(a.Tags, map[string]string{"Name": name}), parent)
	if err != nil {
		return nil, fmt.Errorf("access log bucket %s: %w", name, err)
	}
	if _, err := s3.NewBucketLifecycleConfigurationV2(ctx, name, &s3.BucketLifecycleConfigurationV2Args{
		Bucket: bucket.ID(),
		Rules: s3.BucketLifecycleConfigurationV2RuleArray{&s3.BucketLifecycleConfigurationV2RuleArgs{
			Id:         pulumi.String("expire-access-logs"),
			Status:     pulumi.String("Enabled"),
			Filter:     &s3.BucketLifecycleConfigurationV2RuleFilterArgs{Prefix: pulumi.String(a.Prefix + "/")},
			Expiration: &s3.BucketLifecycleConfigurationV2RuleExpirationArgs{Days: pulumi.Int(a.RetentionDays)},
			AbortIncompleteMultipartUpload: &s3.BucketLifecycleConfigurationV2RuleAbortIncompleteMultipartUploadArgs{
				DaysAfterInitiation: pulumi.Int(1),
			},
		}},
	}, parent); err != nil {
		return nil, fmt.Errorf("access log bucket %s: lifecycle: %w", name, err)
	}

	principal := elbLogDeliveryPrincipal(partition, region.Name)
	document := bucket.Arn.ApplyT(func(arn string) (string, error) {
		doc, err := json.Marshal(map[string]any{
			"Version": "2012-10-17",
			"Statement": []map[string]any{
				{
					"Sid":       "ElbLogDelivery",
					"Effect":    "Allow",
					"Principal": principal,
					"Action":    "s3:PutObject",
					"Resource":  fmt.Sprintf("%s/%s/AWSLogs/%s/*", arn, a.Prefix, caller.AccountId),
				},
				denyInsecureTransport(arn),
			},
		})
		return string(doc), err
	}).(pulumi.StringOutput)
	policy, err := s3.NewBucketPolicy(ctx, name, &s3.BucketPolicyArgs{
		Bucket: bucket.ID(),
		Policy: document,
	}, parent, pulumi.DependsOn([]pulumi.Resource{block}))
	if err != nil {
		return nil, fmt.Errorf("access log bucket %s: policy: %w", name, err)
	}

	// Elastic Load Balancing checks that it may write when logging is turned on.
	b.BucketName = pulumi.All(bucket.Bucket, policy.ID()).ApplyT(func(v []any) string { return v[0].(string) }).(pulumi.StringOutput)
	b.BucketArn = bucket.Arn
	b.Prefix = pulumi.String(a.Prefix).ToStringOutput()
	if err := ctx.RegisterResourceOutputs(b, pulumi.Map{
		"bucketName": b.BucketName,
		"bucketArn":  b.BucketArn,
		"prefix":     b.Prefix,
	}); err != nil {
		return nil, err
	}
	return b, nil
}

// accessLogs is a load balancer's access log setting: on when there is a
// bucket.
func accessLogs(bucket pulumi.StringInput, prefix string) lb.LoadBalancerAccessLogsPtrInput {
	if bucket == nil {
		return nil
	}
	return &lb.LoadBalancerAccessLogsArgs{Bucket: bucket, Prefix: pulumi.String(prefix), Enabled: pulumi.Bool(true)}
}
