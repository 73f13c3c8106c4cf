// Package sandbox runs the cluster's boot scripts for real, touching nothing
// outside a temporary directory, against stand-ins that behave like the
// machines and services the scripts meet on AWS.
//
// A World is one scenario's outside world: the AWS APIs a node reaches
// (IMDSv2 per node, SSM Parameter Store and Auto Scaling, with the IAM
// policies the stack registered), the private network that maps addresses
// to nodes, and the EBS volumes that outlive instances. A Node is one EC2
// instance: a root directory that stands for its disk, an image ("ubuntu"
// or "ams"), attached volumes and a virtual clock.
//
// Node.Run rewrites the absolute paths of a rendered script into the node's
// root (/etc/fstab becomes <root>/etc/fstab, http://169.254.169.254 the
// node's IMDS server) and refuses to run a script that still names a host
// path. The script runs under bash with a PATH that holds only shims: each
// shim is the test binary itself, which Main turns into the stand-in of that
// name (systemctl, mount, mongosh, change_server_mode.sh, ...) or, for the
// few real tools allowed (coreutils, grep, curl, python3, ...), records the
// call and executes the real program. Every process a script starts is
// therefore on record with its arguments (Node.Execs), so tests can prove
// that no secret ever reaches a command line.
//
// A node boots as an EC2 instance does: package systemd is its service
// manager (every unit enabled for multi-user.target starts at every boot,
// in dependency order, as a process of that unit; a blocking systemctl
// that could never return is reported as a deadlock), package cloudinit
// runs the user data once per instance inside cloud-final.service
// (Node.StartUserData on the first boot; Node.Reboot never runs it again)
// and answers `cloud-init status`. Tests wait with Node.WaitBoot and
// Node.WaitUnit, cut the power with Node.PowerOff, and read Node.Unit,
// Node.Journal, Node.BootLog and Node.Deadlocks.
//
// The AWS stand-ins make each change visible at once unless the world's
// Timing says otherwise: World.SetTiming(Adversarial()) makes lifecycle
// actions open late, target-lifecycle-state lag its transitions and a new
// instance's credentials be refused for its first seconds, on the nodes'
// virtual clocks (awsapi/timing.go, with its sources).
//
// World.ShareClock gives the world one clock (clock.go): every node's
// clock and every AWS delay read it, and it moves to the earliest pending
// sleep only when every process of the world waits, so no bounded wait of
// one node runs out while another node still works, however loaded the
// host. Node.HaltAt cuts a node at an exact step of a model (a breakpoint,
// e.g. EventMongoUserCreated), with no race against real time.
//
// Each imitated system is a package of its own, its upstream sources in its
// doc comment and beside each model:
//
//   - machine: the base every model imports: Env (what a stand-in sees of
//     its node: paths, clock, locks, the exec record), block devices,
//     mounts, fstab and apt;
//   - systemd: the node's service manager and systemctl;
//   - cloudinit: user data once per instance, and cloud-init status;
//   - mongod: mongod, replica sets, mongosh and the drivers' side of a
//     connection;
//   - antmedia: Ant Media Server 3.0.x, its REST API, application creation
//     and change_server_mode.sh;
//   - awsapi: IMDS, SSM Parameter Store, Auto Scaling and its timing, IAM,
//     SigV4, CloudWatch, the AWS CLI and the CloudWatch agent.
//
// This package wires them into a World and its Nodes: it registers every
// stand-in (standIns) and package in each Env, adapts the node to the
// systemd and cloud-init models (boot.go), and keeps the API the tests
// use. What the sandbox cannot show is listed in docs/testing.md, "Known
// limits of the sandbox".
//
// A test binary that uses the sandbox must call Main first thing in
// TestMain.
package sandbox
