package systemd

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// CallerEnv is the environment variable through which a process says which
// unit it belongs to (systemd knows it from the process's control group).
const CallerEnv = "SANDBOX_SYSTEMD_UNIT"

// Systemctl runs a systemctl(1) command line for a process of unit caller
// ("" for none) and returns its exit status.
func (m *Manager) Systemctl(caller string, args []string, stdout, stderr io.Writer) int {
	var words []string
	now, block := false, true
	for _, a := range args {
		switch {
		case a == "--now":
			now = true
		case a == "--no-block":
			// systemctl(1), --no-block: "Do not synchronously wait for the
			// requested operation to finish."
			block = false
		case strings.HasPrefix(a, "-"):
		default:
			words = append(words, a)
		}
	}
	if len(words) == 0 {
		return 0
	}
	verb, units := words[0], words[1:]
	for i, u := range units {
		units[i] = UnitName(u)
	}
	command := "systemctl " + strings.Join(args, " ")
	switch verb {
	case "daemon-reload":
		return 0
	case "enable":
		for _, u := range units {
			if code := m.enable(u, stderr); code != 0 {
				return code
			}
		}
		if now {
			return m.start(caller, command, units, false, block, stderr)
		}
		return 0
	case "disable":
		for _, u := range units {
			m.disable(u)
		}
		if now {
			return m.stopUnits(units)
		}
		return 0
	case "start":
		return m.start(caller, command, units, false, block, stderr)
	case "restart", "reload-or-restart":
		return m.start(caller, command, units, true, block, stderr)
	case "try-restart":
		var active []string
		for _, u := range units {
			if m.State(u).Active == "active" {
				active = append(active, u)
			}
		}
		return m.start(caller, command, active, true, block, stderr)
	case "stop":
		return m.stopUnits(units)
	case "is-active":
		code := 0
		for _, u := range units {
			s := m.State(u).Active
			fmt.Fprintln(stdout, s)
			if s != "active" {
				code = 3
			}
		}
		return code
	case "is-enabled":
		for _, u := range units {
			if !m.Enabled(u) {
				fmt.Fprintln(stdout, "disabled")
				return 1
			}
			fmt.Fprintln(stdout, "enabled")
		}
		return 0
	default:
		fmt.Fprintf(stderr, "systemctl: the sandbox does not model %q\n", verb)
		return 1
	}
}

// Enabled reports whether any install link of the unit exists.
func (m *Manager) Enabled(unit string) bool {
	u, _, err := LoadUnit(m.host.Path, UnitName(unit))
	if err != nil {
		return false
	}
	for _, target := range u.WantedBy {
		if _, err := os.Lstat(m.host.Path(enabledLink(target, u.Name))); err == nil {
			return true
		}
	}
	return false
}

// enable creates the install links of [Install] WantedBy= (systemctl(1),
// enable).
func (m *Manager) enable(unit string, stderr io.Writer) int {
	u, ok, err := LoadUnit(m.host.Path, unit)
	if err != nil || !ok || u.File == "" {
		fmt.Fprintf(stderr, "Failed to enable unit: Unit file %s does not exist.\n", unit)
		return 1
	}
	if len(u.WantedBy) == 0 {
		fmt.Fprintf(stderr, "The unit files have no installation config (WantedBy=, RequiredBy=, Also=,\nAlias= settings in the [Install] section, and DefaultInstance= for template\nunits). This means they are not meant to be enabled or disabled using systemctl.\n")
		return 0
	}
	for _, target := range u.WantedBy {
		link := m.host.Path(enabledLink(target, unit))
		if err := os.MkdirAll(filepath.Dir(link), 0o755); err != nil {
			fmt.Fprintf(stderr, "Failed to enable unit: %v\n", err)
			return 1
		}
		if _, err := os.Lstat(link); err == nil {
			continue
		}
		if err := os.Symlink(u.File, link); err != nil {
			fmt.Fprintf(stderr, "Failed to enable unit: %v\n", err)
			return 1
		}
	}
	return 0
}

func (m *Manager) disable(unit string) {
	u, _, err := LoadUnit(m.host.Path, unit)
	if err != nil {
		return
	}
	for _, target := range u.WantedBy {
		_ = os.Remove(m.host.Path(enabledLink(target, unit)))
	}
}

func (m *Manager) stopUnits(units []string) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, u := range units {
		m.stop(u)
	}
	m.dispatch()
	return 0
}

// start queues start (or restart) jobs and, unless block is false, waits
// for them: exit 1 with "Job for X failed" when one fails, 5 when a unit
// does not exist (systemctl(1), "EXIT STATUS"; LSB 5: "program is not
// installed").
func (m *Manager) start(caller, command string, units []string, restart, block bool, stderr io.Writer) int {
	m.mu.Lock()
	var jobs []*job
	for _, u := range units {
		j, err := m.enqueue(u, restart)
		if err != nil {
			m.dispatch()
			m.mu.Unlock()
			fmt.Fprintf(stderr, "Failed to start %s: %v\n", u, err)
			return 5
		}
		jobs = append(jobs, j)
	}
	c := &call{caller: caller, command: command, jobs: jobs, deadlock: make(chan Deadlock, 1)}
	if block {
		m.calls = append(m.calls, c)
	}
	m.dispatch()
	m.mu.Unlock()
	if !block {
		return 0
	}
	defer func() {
		m.mu.Lock()
		m.dropCall(c)
		m.mu.Unlock()
	}()
	// Waiting for the jobs is no work of the manager's: the world's clock
	// may move meanwhile.
	if m.clock != nil {
		m.clock.End()
		defer m.clock.Begin()
	}
	for _, j := range jobs {
		select {
		case <-j.done:
		case d, ok := <-c.deadlock:
			if !ok {
				fmt.Fprintln(stderr, "systemctl: the node powered off")
				return 1
			}
			fmt.Fprintf(stderr, "sandbox: %s: on a real machine this systemctl never returns\n", d)
			return 1
		}
		if j.result != "done" {
			fmt.Fprintf(stderr, "Job for %s failed because the control process exited with error code.\nSee \"systemctl status %s\" and \"journalctl -xeu %s\" for details.\n", j.unit, j.unit, j.unit)
			return 1
		}
	}
	return 0
}

// request and answer are a systemctl call over HTTP, from a stand-in
// process to the manager in the test process.
type request struct {
	Args   []string `json:"args"`
	Caller string   `json:"caller"`
}

type answer struct {
	Exit   int    `json:"exit"`
	Stdout string `json:"stdout"`
	Stderr string `json:"stderr"`
}

// ServeHTTP answers the sandbox's systemctl stand-in.
func (m *Manager) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if m.clock != nil {
		m.clock.Begin()
		defer m.clock.End()
	}
	var req request
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	var out, errs bytes.Buffer
	code := m.Systemctl(req.Caller, req.Args, &out, &errs)
	body, err := json.Marshal(answer{Exit: code, Stdout: out.String(), Stderr: errs.String()})
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	// The whole answer is on its way before the manager counts idle: its
	// caller, waiting for it, looks idle to the world's clock.
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	_, _ = w.Write(body)
	if f, ok := w.(http.Flusher); ok {
		f.Flush()
	}
}

// Client runs systemctl in a stand-in process: it asks the manager at url
// on behalf of the unit named in CallerEnv, and waits as long as the
// manager does.
func Client(url string, args []string, stdout, stderr io.Writer) int {
	body, _ := json.Marshal(request{Args: args, Caller: os.Getenv(CallerEnv)})
	resp, err := http.Post(url, "application/json", bytes.NewReader(body))
	if err != nil {
		fmt.Fprintf(stderr, "System has not been booted with systemd as init system (PID 1). Can't operate. (%v)\n", err)
		return 1
	}
	defer resp.Body.Close()
	var a answer
	if err := json.NewDecoder(resp.Body).Decode(&a); err != nil {
		fmt.Fprintf(stderr, "Failed to connect to bus: %v\n", err)
		return 1
	}
	_, _ = io.WriteString(stdout, a.Stdout)
	_, _ = io.WriteString(stderr, a.Stderr)
	return a.Exit
}
