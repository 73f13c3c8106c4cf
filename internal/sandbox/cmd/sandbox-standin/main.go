// Command sandbox-standin is the program behind every shim of the node
// sandbox: it turns into the stand-in (or the recorded real tool) that the
// shim's name asks for. The sandbox builds it once per test process, so that
// a script's every command costs the start of this small program rather than
// that of the test binary, which may link the whole Pulumi AWS SDK.
package main

import (
	"fmt"
	"os"

	"github.com/ams-cluster/ams-aws/internal/sandbox"
)

func main() {
	sandbox.Main()
	fmt.Fprintln(os.Stderr, "sandbox-standin: run through a sandbox shim only")
	os.Exit(2)
}
