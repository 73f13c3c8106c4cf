package sandbox

import (
	"github.com/ams-cluster/ams-aws/internal/sandbox/antmedia"
	"github.com/ams-cluster/ams-aws/internal/sandbox/awsapi"
	"github.com/ams-cluster/ams-aws/internal/sandbox/machine"
	"github.com/ams-cluster/ams-aws/internal/sandbox/mongod"
)

// Exec is one process a script started, as the sandbox recorded it.
type Exec = machine.Exec

// LifecycleHook is a lifecycle hook of an Auto Scaling group.
type LifecycleHook = awsapi.LifecycleHook

// AWS is the stand-in of the AWS APIs the nodes call.
type AWS = awsapi.AWS

// AMSServer is a node's Ant Media Server.
type AMSServer = antmedia.AMSServer

// AMSStream is a stream an Ant Media Server serves, with its viewers.
type AMSStream = antmedia.AMSStream

// AMSApp is an application of an Ant Media Server.
type AMSApp = antmedia.AMSApp

// Timing is how late the AWS stand-ins make eventually consistent changes
// visible (World.SetTiming).
type Timing = awsapi.Timing

// Instant is the timing of unit tests: every change is visible at once.
func Instant() Timing { return awsapi.Instant() }

// Adversarial is a timing in which every eventually consistent state the
// boot scripts read lags by seconds to tens of seconds.
func Adversarial() Timing { return awsapi.Adversarial() }

// EventMongoUserCreated is the event of a node's mongod storing user id
// (<db>.<user>), for Node.HaltAt: the user exists and the client that
// created it has no answer yet.
func EventMongoUserCreated(id string) string { return mongod.EventUserCreated(id) }

// Cleanup removes what the sandbox built for this process. Call it at the
// end of TestMain, after m.Run.
func Cleanup() { machine.Cleanup() }
