package sandbox

// STUB — owned by the Ant Media helper; replace this file with antmedia.go.

import "testing"

// AMSServer is a node's Ant Media Server REST API.
type AMSServer struct{}

func newAMSServer(t testing.TB, n *Node) *AMSServer { return &AMSServer{} }

// URL is where the server answers.
func (s *AMSServer) URL() string { return "http://127.0.0.1:3" }
func (s *AMSServer) close()      {}

func installAMS(e *Env) error                    { return nil }
func changeServerMode(e *Env, args []string) int { return 127 }
func amsStart(e *Env) error                      { return nil }
func amsStop(e *Env) error                       { return nil }
