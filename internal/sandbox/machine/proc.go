package machine

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
)

// The kernel's load counters as a node's programs read them: /proc/stat's
// first line (cumulative CPU time in USER_HZ ticks: user nice system idle
// iowait irq softirq steal) and /proc/meminfo's MemTotal and MemAvailable
// (proc(5), "/proc/stat" and "/proc/meminfo"). A reader learns CPU load
// only from the difference between two readings, as Ant Media Server's
// StatsCollector and top do; the sandbox rewrites the counters whenever the
// node's clock moves (its own sleeps, or the world's one clock moving every
// node's: SetClock), integrating the load a test set over virtual time.

// procHz is USER_HZ, the ticks per second of /proc/stat (100 on Linux).
const procHz = 100

// procCPUs is the sandbox's vCPU count: the ticks of all CPUs add up.
const procCPUs = 4

// procMemTotalKB is the sandbox's MemTotal (16 GiB, as a c5.2xlarge has).
const procMemTotalKB = 16 * 1024 * 1024

// Load is a node's CPU and memory use from a virtual second on.
type Load struct {
	From          int `json:"from"`
	CPUPercent    int `json:"cpu"`
	MemoryPercent int `json:"memory"`
}

// idleLoad is a node's load before a test sets one.
var idleLoad = Load{CPUPercent: 5, MemoryPercent: 30}

// SetLoad makes the node's load cpu and memory percent from virtual second
// from on (from not before the last change).
func (e *Env) SetLoad(l Load) error {
	return e.withLock("proc", func() error {
		b, err := json.Marshal(append(e.loads(), l))
		if err != nil {
			return err
		}
		if err := os.WriteFile(e.State("load.json"), b, 0o644); err != nil {
			return err
		}
		return e.writeProc()
	})
}

func (e *Env) loads() []Load {
	var loads []Load
	if b, err := os.ReadFile(e.State("load.json")); err == nil {
		_ = json.Unmarshal(b, &loads)
	}
	return loads
}

// WriteProc writes /proc/stat, /proc/meminfo and /proc/uptime for the
// node's clock. The
// clock's mover and a test setting the load may write at once: one at a
// time.
func (e *Env) WriteProc() error {
	return e.withLock("proc", e.writeProc)
}

func (e *Env) writeProc() error {
	now := e.Now()
	loads := append([]Load{idleLoad}, e.loads()...)
	busy := 0.0
	for i, l := range loads {
		end := now
		if i+1 < len(loads) {
			end = min(now, loads[i+1].From)
		}
		if end > l.From {
			busy += float64(end-l.From) * float64(l.CPUPercent) / 100
		}
	}
	current := loads[0]
	for _, l := range loads {
		if l.From <= now {
			current = l
		}
	}
	total := now * procHz * procCPUs
	user := int(busy * procHz * procCPUs)
	stat := fmt.Sprintf("cpu  %d 0 0 %d 0 0 0 0 0 0\n", user, total-user)
	available := procMemTotalKB * (100 - current.MemoryPercent) / 100
	meminfo := fmt.Sprintf("MemTotal:       %d kB\nMemFree:        %d kB\nMemAvailable:   %d kB\n", procMemTotalKB, available, available)
	dir := filepath.Join(e.Root, "proc")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	// /proc/uptime: seconds since boot, and the idle seconds summed over
	// the CPUs (proc(5)); the node's clock is its uptime.
	uptime := fmt.Sprintf("%d.00 %d.00\n", now, (total-user)/procHz)
	for name, body := range map[string]string{"stat": stat, "meminfo": meminfo, "uptime": uptime} {
		tmp := filepath.Join(dir, "."+name)
		if err := os.WriteFile(tmp, []byte(body), 0o644); err != nil {
			return err
		}
		if err := os.Rename(tmp, filepath.Join(dir, name)); err != nil {
			return err
		}
	}
	return nil
}
