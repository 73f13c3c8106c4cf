package sandbox

import (
	"github.com/ams-cluster/ams-aws/internal/sandbox/awsapi"
)

// SetTiming sets the timing of the world's AWS stand-ins. Set it before
// the first node launches.
func (w *World) SetTiming(t awsapi.Timing) { w.AWS.SetTiming(t) }

// Timing is the timing of the world's AWS stand-ins.
func (w *World) Timing() awsapi.Timing { return w.AWS.CurrentTiming() }
