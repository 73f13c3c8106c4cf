package machine

import (
	"encoding/json"
	"os"
	"path/filepath"
)

// NetworkEntry is how shim processes find other nodes by address.
type NetworkEntry struct {
	Root       string `json:"root"`
	InstanceID string `json:"instanceId"`
	Image      string `json:"image"`
}

// NodeRootByIP finds, from a shim process, the root of the node at ip.
func NodeRootByIP(worldDir, ip string) (string, bool) {
	b, err := os.ReadFile(filepath.Join(worldDir, "network.json"))
	if err != nil {
		return "", false
	}
	var m map[string]NetworkEntry
	if json.Unmarshal(b, &m) != nil {
		return "", false
	}
	e, ok := m[ip]
	return e.Root, ok
}
