// Package components holds the Pulumi component resources that make up a
// scalable Ant Media Server (AMS) cluster on AWS: a Network, a MongoNode for
// cluster state, a NodeSecurityGroup shared by every AMS node, one
// ScalingGroup per role (origin publishes, edge plays) and a
// StreamingLoadBalancer in front of them.
//
// The components take inputs rather than one another (subnet IDs rather than
// a Network, the name of an SSM parameter holding a database URL rather than
// a MongoNode), so other stacks can import them one at a time and swap any
// piece: an external MongoDB, an existing VPC, a different front door.
package components

// typePrefix is the package and module half of every component's type token.
// Changing it replaces the components in every user's stack.
const typePrefix = "ams:cluster:"
