package antmedia

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/ams-cluster/ams-aws/internal/sandbox/machine"
)

// The cluster node list, as Ant Media Server 3.0.x keeps it (tags
// ams-v3.0.2, ams-v3.0.3): io.antmedia.cluster.ClusterNode documents in
// clusterdb.clusternode (id, ip, lastUpdateTime, cpu, memory,
// dbQueryAveargeTimeMs; status is computed, never stored), written by each
// node's Enterprise ClusterNotifier every NODE_UPDATE_PERIOD (5 s) through
// IClusterStore.addOrUpdate, read and deleted by the web panel's
// io.antmedia.console.rest.ClusterRestServiceV2 (GET
// /rest/v2/cluster/nodes/{offset}/{size}, DELETE /rest/v2/cluster/node/{id},
// behind the AuthenticationFilter like every non-open /rest path).
//
// What the sandbox decides because the sources do not say (the Enterprise
// ClusterNotifier and ClusterStore are closed): a node's id is an opaque
// string, kept across restarts of the node (scripts must not parse it);
// its ip is the private address (change_server_mode.sh sets
// useGlobalIp=false). The list lives in a file of the world, one per
// cluster database, because the MongoDB model has no update or delete: it
// stands for the collection, which every node of the cluster shares.

// ClusterNodeUpdatePeriod is ClusterNode.NODE_UPDATE_PERIOD, in seconds:
// a running node's record is never older than this.
const ClusterNodeUpdatePeriod = 5

// clusterNode is one ClusterNode document.
type clusterNode struct {
	ID             string `json:"id"`
	IP             string `json:"ip"`
	LastUpdateTime int64  `json:"lastUpdateTime"`
	Memory         string `json:"memory"`
	CPU            string `json:"cpu"`
	DBQueryAverage int    `json:"dbQueryAveargeTimeMs"`
}

// wallClockFile holds how far the world's wall clock is ahead of the host's.
const wallClockFile = "ams-wall-clock-offset"

// AdvanceWallClock lets seconds of wall-clock time pass in the world while
// nothing else happens: every JVM that runs goes on heartbeating; a node
// that is gone stays where it was.
func AdvanceWallClock(worldDir string, seconds int) error {
	p := filepath.Join(worldDir, wallClockFile)
	b, _ := os.ReadFile(p)
	now, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	return os.WriteFile(p, []byte(strconv.Itoa(now+seconds)), 0o644)
}

// wallMillis is System.currentTimeMillis() in the world.
func wallMillis(worldDir string) int64 {
	b, _ := os.ReadFile(filepath.Join(worldDir, wallClockFile))
	offset, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	return time.Now().UnixMilli() + int64(offset)*1000
}

// clusterListPath is the file standing for clusterdb.clusternode of one
// cluster database.
func clusterListPath(worldDir, clusterDB string) string {
	return filepath.Join(worldDir, "ams-clusternode-"+hex.EncodeToString([]byte(clusterDB))+".json")
}

// ClusterNodeIPs lists the addresses in the cluster node list of the
// cluster database clusterDB, as the panel lists them.
func ClusterNodeIPs(worldDir, clusterDB string) ([]string, error) {
	nodes, err := readClusterList(worldDir, clusterDB)
	var ips []string
	for _, n := range nodes {
		ips = append(ips, n.IP)
	}
	sort.Strings(ips)
	return ips, err
}

func readClusterList(worldDir, clusterDB string) ([]clusterNode, error) {
	b, err := os.ReadFile(clusterListPath(worldDir, clusterDB))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var nodes []clusterNode
	return nodes, json.Unmarshal(b, &nodes)
}

// writeClusterList replaces the list at once: a reader sees the old list
// or the new one, as with a document store.
func writeClusterList(worldDir, clusterDB string, nodes []clusterNode) error {
	b, _ := json.MarshalIndent(nodes, "", "  ")
	p := clusterListPath(worldDir, clusterDB)
	tmp, err := os.CreateTemp(worldDir, ".clusternode-*")
	if err != nil {
		return err
	}
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), p)
}

// withClusterList runs fn on the list of clusterDB under a lock shared by
// every node of the world (each document write is atomic in MongoDB; the
// file's read-modify-write must not lose another node's).
func withClusterList(worldDir, clusterDB string, fn func([]clusterNode) ([]clusterNode, error)) error {
	return machine.WithFileLock(clusterListPath(worldDir, clusterDB)+".lock", func() error {
		nodes, err := readClusterList(worldDir, clusterDB)
		if err != nil {
			return err
		}
		if nodes, err = fn(nodes); err != nil {
			return err
		}
		return writeClusterList(worldDir, clusterDB, nodes)
	})
}

// heartbeatLive refreshes lastUpdateTime of every node whose JVM runs in
// cluster mode on this cluster database now: its ClusterNotifier has
// written within the last NODE_UPDATE_PERIOD. A node that is gone (out of
// the world's network) or whose server is stopped keeps its last time.
func heartbeatLive(worldDir, clusterDB string, nodes []clusterNode) {
	now := wallMillis(worldDir)
	for i, n := range nodes {
		root, ok := machine.NodeRootByIP(worldDir, n.IP)
		if !ok {
			continue
		}
		rt, err := loadAMSRuntime(&machine.Env{Root: root, WorldDir: worldDir})
		if err == nil && rt.Running && rt.Mode == "cluster" && rt.ClusterDB == clusterDB {
			nodes[i].LastUpdateTime = now - ClusterNodeUpdatePeriod*1000/2
		}
	}
}

// registerClusterNode is the ClusterNotifier's first write after the JVM
// started in cluster mode: addOrUpdate of this node, with a fresh time.
func (s *AMSServer) registerClusterNode(e *machine.Env, rt amsRuntime) error {
	if rt.Mode != "cluster" || rt.ClusterDB == "" {
		return nil
	}
	id, err := clusterNodeID(e)
	if err != nil {
		return err
	}
	me := clusterNode{ID: id, IP: e.Node.PrivateIP, LastUpdateTime: wallMillis(e.WorldDir), Memory: "0", CPU: "0"}
	return withClusterList(e.WorldDir, rt.ClusterDB, func(nodes []clusterNode) ([]clusterNode, error) {
		for i, n := range nodes {
			if n.ID == id {
				nodes[i] = me
				return nodes, nil
			}
		}
		return append(nodes, me), nil
	})
}

// clusterNodeID is the node's id in the cluster list, made at its first
// registration and kept.
func clusterNodeID(e *machine.Env) (string, error) {
	p := e.State("ams-cluster-node-id")
	if b, err := os.ReadFile(p); err == nil {
		return strings.TrimSpace(string(b)), nil
	}
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	id := hex.EncodeToString(b)
	return id, os.WriteFile(p, []byte(id), 0o644)
}

// amsClusterEndpoints are ClusterRestServiceV2's methods (@Path("/v2/cluster")).
func amsClusterEndpoints() map[string]amsEndpoint {
	return map[string]amsEndpoint{
		"/rest/v2/cluster/nodes/{offset}/{size}": {method: http.MethodGet, handler: (*AMSServer).clusterNodes},
		"/rest/v2/cluster/node/{id}":             {method: http.MethodDelete, handler: (*AMSServer).deleteClusterNode},
	}
}

// amsClusterEndpointKey is the key of amsClusterEndpoints a request URI
// matches, or the URI itself. Jersey decodes the path parameters.
func amsClusterEndpointKey(path string) string {
	if rest, ok := strings.CutPrefix(path, "/rest/v2/cluster/nodes/"); ok && strings.Count(rest, "/") == 1 {
		return "/rest/v2/cluster/nodes/{offset}/{size}"
	}
	if rest, ok := strings.CutPrefix(path, "/rest/v2/cluster/node/"); ok && rest != "" && !strings.Contains(rest, "/") {
		return "/rest/v2/cluster/node/{id}"
	}
	return path
}

// clusterNodes is getNodeList: the store's getClusterNodes(offset, size),
// with each node's status (ClusterNode.getStatus: dead when lastUpdateTime
// is more than four update periods old); an empty list without a cluster
// store (standalone). Non-integer parameters are Jersey's 404.
func (s *AMSServer) clusterNodes(w http.ResponseWriter, r *http.Request, c amsCall) error {
	parts := strings.Split(strings.TrimPrefix(r.URL.Path, "/rest/v2/cluster/nodes/"), "/")
	offset, err1 := strconv.Atoi(parts[0])
	size, err2 := strconv.Atoi(parts[1])
	if err1 != nil || err2 != nil {
		amsTomcatError(w, http.StatusNotFound, "HTTP 404 Not Found")
		return nil
	}
	type listed struct {
		clusterNode
		Status string `json:"status"`
	}
	out := []listed{}
	if c.rt.Mode == "cluster" {
		var nodes []clusterNode
		err := withClusterList(c.e.WorldDir, c.rt.ClusterDB, func(stored []clusterNode) ([]clusterNode, error) {
			heartbeatLive(c.e.WorldDir, c.rt.ClusterDB, stored)
			nodes = stored
			return stored, nil
		})
		if err != nil {
			return err
		}
		now := wallMillis(c.e.WorldDir)
		for i := offset; i >= 0 && i < len(nodes) && i < offset+size; i++ {
			status := "alive"
			if now-nodes[i].LastUpdateTime > 4*ClusterNodeUpdatePeriod*1000 {
				status = "dead"
			}
			out = append(out, listed{nodes[i], status})
		}
	}
	amsWriteJSON(w, http.StatusOK, out)
	return nil
}

// deleteClusterNode is deleteNode: {"success": store.deleteNode(id)}, true
// when a node of that id was removed.
func (s *AMSServer) deleteClusterNode(w http.ResponseWriter, r *http.Request, c amsCall) error {
	id, err := url.PathUnescape(strings.TrimPrefix(r.URL.EscapedPath(), "/rest/v2/cluster/node/"))
	if err != nil {
		return fmt.Errorf("node id: %w", err)
	}
	removed := false
	if c.rt.Mode == "cluster" {
		err := withClusterList(c.e.WorldDir, c.rt.ClusterDB, func(nodes []clusterNode) ([]clusterNode, error) {
			kept := nodes[:0]
			for _, n := range nodes {
				if n.ID == id {
					removed = true
					continue
				}
				kept = append(kept, n)
			}
			return kept, nil
		})
		if err != nil {
			return err
		}
	}
	amsWriteJSON(w, http.StatusOK, amsResult{Success: removed})
	return nil
}
