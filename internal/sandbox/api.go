package sandbox

import (
	"github.com/ams-cluster/ams-aws/internal/sandbox/antmedia"
	"github.com/ams-cluster/ams-aws/internal/sandbox/awsapi"
	"github.com/ams-cluster/ams-aws/internal/sandbox/machine"
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
