package sandbox

import (
	"os"
	"testing"
)

func TestMain(m *testing.M) {
	Main()
	code := m.Run()
	Cleanup()
	os.Exit(code)
}
