package awsapi_test

import (
	"os"
	"testing"

	"github.com/ams-cluster/ams-aws/internal/sandbox"
)

// TestMain lets the test binary serve as the nodes' stand-ins.
func TestMain(m *testing.M) {
	sandbox.Main()
	code := m.Run()
	sandbox.Cleanup()
	os.Exit(code)
}
