package plan

// Type tokens the cost estimate prices, beside those the plan reads already.
const (
	typeVolume     = "aws:ebs/volume:Volume"
	typeEIP        = "aws:ec2/eip:Eip"
	typeNAT        = "aws:ec2/natGateway:NatGateway"
	typeDashboard  = "aws:cloudwatch/dashboard:Dashboard"
	typeLogGroup   = "aws:cloudwatch/logGroup:LogGroup"
	typeBucket     = "aws:s3/bucketV2:BucketV2"
	typeBucketV1   = "aws:s3/bucket:Bucket"
	typeLifecycle  = "aws:s3/bucketLifecycleConfigurationV2:BucketLifecycleConfigurationV2"
	typeZone       = "aws:route53/zone:Zone"
	typeKMSKey     = "aws:kms/key:Key"
	typeSnapshots  = "aws:dlm/lifecyclePolicy:LifecyclePolicy"
	typeSSMParam   = "aws:ssm/parameter:Parameter"
	typeTopic      = "aws:sns/topic:Topic"
	typeTopicSub   = "aws:sns/topicSubscription:TopicSubscription"
	typeVolumeAtt  = "aws:ec2/volumeAttachment:VolumeAttachment"
	typeLaunchHook = "aws:autoscaling/lifecycleHook:LifecycleHook"
)

// costing says how the estimate treats one resource type.
type costing struct {
	// priced is true when the estimate has a line for it; otherwise it
	// costs nothing by itself.
	priced bool
	// why says where its price is, or why it is free.
	why string
}

// resourceCosts lists every resource type the estimate knows: priced, or
// free and why. A type the program registers that is in neither is
// reported as unpriced, and the plan's tests fail on it.
func resourceCosts() map[string]costing {
	free := func(why string) costing { return costing{why: why} }
	priced := func(where string) costing { return costing{priced: true, why: where} }
	return map[string]costing{
		typeInstance:            priced("instance hours, root volume, detailed monitoring, public IPv4"),
		typeGroup:               priced("desired capacity: instance hours, root volumes, detailed monitoring, public IPv4; warm pool volumes"),
		typeLaunchTmpl:          free("priced through the groups that launch it"),
		"command:local:Command": free("runs on the machine that runs pulumi up (the MongoDB members' waits: SSM Run Command, which has no charge)"),
		typeVolume:              priced("GB-month by volume type; gp3 IOPS and throughput above the baseline"),
		typeSnapshots:           priced("snapshot storage of the volumes it targets (assumed size)"),
		typeEIP:                 priced("public IPv4 address hours"),
		typeNAT:                 priced("NAT gateway hours (data processed not included)"),
		typeLoadBalancer:        priced("load balancer hours, capacity units (assumed), public IPv4 per zone when internet-facing"),
		typeAlarm:               priced("per metric it evaluates; high resolution below 60 s"),
		typePolicy:              priced("target tracking: the two alarms AWS creates for it"),
		typeDashboard:           priced("per dashboard"),
		typeLogGroup:            priced("ingestion (assumed per instance that ships logs) and storage for its retention"),
		typeBucket:              priced("storage and PUTs of the load balancer access logs written to it (assumed volume)"),
		typeBucketV1:            priced("storage and PUTs of the load balancer access logs written to it (assumed volume)"),
		typeZone:                priced("per hosted zone"),
		typeKMSKey:              priced("per customer managed key"),

		typeListener:            free("part of the load balancer's hours and capacity units"),
		typeListenerRule:        free("part of the load balancer's capacity units (rule evaluations)"),
		typeTargetGroup:         free("part of the load balancer's hours and capacity units"),
		typeLaunchHook:          free("no charge"),
		typeENI:                 free("no charge; its public address is priced with the Elastic IP"),
		typeVolumeAtt:           free("no charge"),
		typeSecurityGroup:       free("no charge"),
		typeIngress:             free("no charge"),
		typeEgress:              free("no charge"),
		typeRecord:              free("alias queries to load balancers are free, others (turn.<domain>) $0.40 per million, negligible at a 300 s TTL; the hosted zone is not the stack's"),
		typeSSMParam:            free("standard tier, default aws/ssm key"),
		typeTopic:               free("the first 1,000 e-mail notifications a month are free"),
		typeTopicSub:            free("see the topic"),
		typeLifecycle:           free("no charge (it lowers the bucket's storage)"),
		"aws:ec2/vpc:Vpc":       free("no charge"),
		"aws:ec2/subnet:Subnet": free("no charge"),
		"aws:ec2/internetGateway:InternetGateway":                                                    free("no charge (data transfer is not estimated)"),
		"aws:ec2/routeTable:RouteTable":                                                              free("no charge"),
		"aws:ec2/routeTableAssociation:RouteTableAssociation":                                        free("no charge"),
		"aws:ec2/keyPair:KeyPair":                                                                    free("no charge"),
		"aws:iam/role:Role":                                                                          free("no charge"),
		"aws:iam/rolePolicy:RolePolicy":                                                              free("no charge"),
		"aws:iam/rolePolicyAttachment:RolePolicyAttachment":                                          free("no charge"),
		"aws:iam/instanceProfile:InstanceProfile":                                                    free("no charge"),
		"aws:acm/certificate:Certificate":                                                            free("public ACM certificates are free"),
		"aws:acm/certificateValidation:CertificateValidation":                                        free("no charge"),
		"aws:s3/bucketPolicy:BucketPolicy":                                                           free("no charge"),
		"aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock":                                     free("no charge"),
		"aws:s3/bucketOwnershipControls:BucketOwnershipControls":                                     free("no charge"),
		"aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2": free("SSE-S3 is free"),
		"random:index/randomPassword:RandomPassword":                                                 free("not an AWS resource"),
	}
}
