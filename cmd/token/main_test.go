package main

import (
	"os"
	"testing"

	"github.com/ams-cluster/ams-aws/internal/sandbox"
)

// TestMain lets the test binary serve as the sandbox nodes' stand-ins.
func TestMain(m *testing.M) {
	sandbox.Main()
	code := m.Run()
	sandbox.Cleanup()
	os.Exit(code)
}
