// Package awsapi is the sandbox's model of the AWS APIs the nodes call: the
// instance metadata service (IMDSv2) of each node, SSM Parameter Store, EC2
// Auto Scaling (lifecycle hooks and actions, instance protection),
// CloudWatch metrics, with an instant or an adversarial timing of what is
// eventually consistent (Timing), all behind one endpoint authenticated
// with Signature Version 4 and authorized by the IAM policies of the
// instances' roles; the AWS CLI stand-in; and the CloudWatch agent's
// package and control command.
//
// Upstream sources it follows, cited beside each model: the Amazon EC2
// User Guide ("Use the Instance Metadata Service", "Retrieve security
// credentials from instance metadata", "View tags for your EC2 instances
// from instance metadata"), the Amazon EC2 Auto Scaling API reference
// (CompleteLifecycleAction, RecordLifecycleActionHeartbeat,
// SetInstanceProtection) and User Guide ("Amazon EC2 Auto Scaling lifecycle
// hooks"), the AWS Systems Manager API reference (GetParameter,
// PutParameter), the IAM User Guide ("Policy evaluation logic", condition
// operators), the Signature Version 4 reference, and
// hashicorp/terraform-provider-aws and moto for the wire formats.
package awsapi
