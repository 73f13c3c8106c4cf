package sandbox

import (
	"fmt"
	"net"
	"regexp"
	"strconv"
)

// A node's programs listen on its own addresses; in the sandbox every node
// shares the host's loopback. A listening address a script names,
// 0.0.0.0:PORT, is rewritten to 127.0.0.1 and a free host port kept for
// that node and port, so that nodes listening on the same port do not
// collide and the world's load balancer reaches each one (Node.ListenURL).

// listenAddress is an all-interfaces listening address in a script.
var listenAddress = regexp.MustCompile(`0\.0\.0\.0:([0-9]{1,5})\b`)

func (n *Node) rewriteListen(script string) string {
	return listenAddress.ReplaceAllStringFunc(script, func(m string) string {
		port, _ := strconv.Atoi(listenAddress.FindStringSubmatch(m)[1])
		return "127.0.0.1:" + strconv.Itoa(n.hostPort(port))
	})
}

// hostPort is the host port standing for the node's port.
func (n *Node) hostPort(port int) int {
	n.listenMu.Lock()
	defer n.listenMu.Unlock()
	if n.listen == nil {
		n.listen = map[int]int{}
	}
	if p, ok := n.listen[port]; ok {
		return p
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		n.w.t.Fatalf("node %s: no free host port for its port %d: %v", n.ID, port, err)
	}
	p := l.Addr().(*net.TCPAddr).Port
	_ = l.Close()
	n.listen[port] = p
	return p
}

// ListenURL is where another machine reaches the node's HTTP port: the
// host port kept for it.
func (n *Node) ListenURL(port int) string {
	return fmt.Sprintf("http://127.0.0.1:%d", n.hostPort(port))
}

// listenedURL is ListenURL for a port a script of the node named already;
// false for any other port, which nothing on the node listens on.
func (n *Node) listenedURL(port int) (string, bool) {
	n.listenMu.Lock()
	defer n.listenMu.Unlock()
	p, ok := n.listen[port]
	return fmt.Sprintf("http://127.0.0.1:%d", p), ok
}

// endpoint finds, for the load balancer, a node's listening port by
// instance ID.
func (w *World) endpoint(id string, port int) (string, bool) {
	w.mu.Lock()
	var node *Node
	for _, n := range w.nodes {
		if n.ID == id {
			node = n
		}
	}
	w.mu.Unlock()
	if node == nil {
		return "", false
	}
	return node.listenedURL(port)
}
