package sandbox

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// inputPending reports that a TCP socket of the test process holds input
// its reader has not taken yet: most often a node's request on its way to
// a model, which counts as work only once the model's server has read it.
// Its sender waits for the answer and looks idle, so without this the
// clock could move on under a busy host while the request is in flight.
// A socket's unread bytes are rx_queue in /proc/net/tcp, and a listening
// socket's connections not yet accepted (proc(5), "/proc/net/tcp"); only
// established and listening sockets count, so that an input that is only
// the peer's close (CLOSE_WAIT) holds nothing up.
func inputPending() bool {
	fds, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return false
	}
	inodes := map[string]bool{}
	for _, fd := range fds {
		link, err := os.Readlink(filepath.Join("/proc/self/fd", fd.Name()))
		if inode, ok := strings.CutPrefix(link, "socket:["); err == nil && ok {
			inodes[strings.TrimSuffix(inode, "]")] = true
		}
	}
	for _, table := range []string{"/proc/self/net/tcp", "/proc/self/net/tcp6"} {
		b, err := os.ReadFile(table)
		if err != nil {
			continue
		}
		lines := strings.Split(string(b), "\n")
		for _, line := range lines[1:] {
			// sl local_address rem_address st tx_queue:rx_queue tr:tm->when retrnsmt uid timeout inode
			f := strings.Fields(line)
			if len(f) < 10 || (f[3] != "01" && f[3] != "0A") || !inodes[f[9]] {
				continue
			}
			_, rx, _ := strings.Cut(f[4], ":")
			if n, err := strconv.ParseUint(rx, 16, 64); err == nil && n > 0 {
				return true
			}
		}
	}
	return false
}
