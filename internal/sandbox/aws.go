package sandbox

import (
	"os"
	"path/filepath"
	"strings"

	"github.com/ams-cluster/ams-aws/internal/sandbox/machine"
)

// AgentConfig is the configuration the node's CloudWatch agent was started
// with, its paths as on the node; ok is false when the agent never started.
func (n *Node) AgentConfig() (config string, ok bool) {
	b, err := os.ReadFile(filepath.Join(n.root, machine.StateDir, "cwagent.json"))
	if err != nil {
		return "", false
	}
	return strings.ReplaceAll(string(b), n.root, ""), true
}
