package machine

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
)

// standInPackage is the command every shim runs.
const standInPackage = "github.com/ams-cluster/ams-aws/internal/sandbox/cmd/sandbox-standin"

// standInDir holds this process's build of the stand-in command.
func standInDir() string {
	return filepath.Join(os.TempDir(), fmt.Sprintf("ams-sandbox-standin-%d", os.Getpid()))
}

// standInBinary is the program that shims link to: cmd/sandbox-standin,
// built once per test process. Starting the test binary itself for every
// command a script runs costs the initialisation of every package it links
// (about a second for a binary with the Pulumi AWS SDK); the stand-in
// command links only the sandbox. It is package-level like the process it
// belongs to: built once, never changed, removed by Cleanup. Where no Go
// toolchain can build it, the test binary serves, as it can (TestMain calls
// Main).
var standInBinary = sync.OnceValue(func() string {
	self, err := os.Executable()
	if err != nil {
		panic(fmt.Sprintf("sandbox: %v", err))
	}
	goTool, err := exec.LookPath("go")
	if err != nil {
		fmt.Fprintf(os.Stderr, "sandbox: no go command to build %s, the test binary serves as stand-in: %v\n", standInPackage, err)
		return self
	}
	out := filepath.Join(standInDir(), "sandbox-standin")
	cmd := exec.Command(goTool, "build", "-o", out, standInPackage)
	if msg, err := cmd.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "sandbox: building %s failed, the test binary serves as stand-in: %v\n%s", standInPackage, err, msg)
		return self
	}
	return out
})

// Cleanup removes what the sandbox built for this process. Call it at the
// end of TestMain, after m.Run.
func Cleanup() {
	_ = os.RemoveAll(standInDir())
}

// ShimTarget is what a new shim links to: from the test process, the
// stand-in command; from a stand-in (a shim process installing a package's
// commands), the program it runs as.
func ShimTarget() (string, error) {
	if os.Getenv(EnvRoot) != "" {
		return os.Executable()
	}
	return standInBinary(), nil
}
