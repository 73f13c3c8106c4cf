package sandbox

import (
	"os"
	"testing"

	"github.com/ams-cluster/ams-aws/internal/sandbox/machine"
)

func TestMain(m *testing.M) {
	Main()
	code := m.Run()
	machine.Cleanup()
	os.Exit(code)
}
