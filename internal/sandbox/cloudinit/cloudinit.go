package cloudinit

import (
	"fmt"

	"github.com/ams-cluster/ams-aws/internal/sandbox/machine"
)

// CloudInit answers `cloud-init status`: user data runs once per instance,
// so on a node whose scripts ran the status is done.
func CloudInit(e *machine.Env, args []string) int {
	fmt.Fprintln(e.Stdout, "status: done")
	return 0
}
