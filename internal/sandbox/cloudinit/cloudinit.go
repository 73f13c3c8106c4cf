// Package cloudinit models what cloud-init does with an EC2 instance's user
// data, and what `cloud-init status` says about it, from cloud-init's
// sources (github.com/canonical/cloud-init):
//
//   - cloudinit/config/cc_scripts_user.py: the user data's scripts
//     (/var/lib/cloud/instance/scripts) run in the final stage, module
//     scripts_user, frequency PER_INSTANCE; a failing script makes the
//     module fail ("Failed to run module scripts_user").
//   - cloudinit/helpers.py Runners.run() and FileSemaphores: a module with
//     a per-instance frequency runs only when its semaphore
//     (/var/lib/cloud/instances/<instance id>/sem/config_scripts_user) does
//     not exist; the semaphore is written BEFORE the module runs
//     (FileSemaphores._acquire) and removed on failure only with
//     clear_on_fail=True, which cloudinit/config/modules.py never passes.
//     So the user data runs once per instance: a failed or cut run is never
//     repeated, after a reboot, a stop/start or an EC2 recovery alike.
//   - systemd/cloud-final.service: the final stage runs inside
//     cloud-final.service, Type=oneshot, ordered After=multi-user.target
//     (and network-online.target, cloud-config.service), so every unit
//     enabled for multi-user.target has finished its start job first.
//   - cloudinit/cmd/status.py: status.json and result.json in
//     /run/cloud-init (a tmpfs: emptied at every boot) say how the current
//     boot went: running while status.json exists without result.json;
//     errors make it "error" (exit 1), recoverable errors "degraded" (the
//     tabular form still prints "status: done", exit 2); --wait polls until
//     it is no longer running.
package cloudinit

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"time"
)

// Paths of cloud-init on the node.
const (
	// ScriptsDir holds the user data's scripts (cc_scripts_user.py,
	// SCRIPT_SUBDIR under the instance directory).
	ScriptsDir = "/var/lib/cloud/instance/scripts"
	runDir     = "/run/cloud-init"
)

// SemaphorePath is the per-instance semaphore of scripts_user
// (helpers.FileSemaphores._get_path with canon_sem_name("config-scripts_user")).
func SemaphorePath(instanceID string) string {
	return "/var/lib/cloud/instances/" + instanceID + "/sem/config_scripts_user"
}

// Node is what the model needs of an instance: its paths and ID.
type Node interface {
	// Path maps an absolute path of the node to the host's file system.
	Path(p string) string
	// InstanceID is the EC2 instance ID.
	InstanceID() string
}

type stageStatus struct {
	Errors            []string            `json:"errors"`
	RecoverableErrors map[string][]string `json:"recoverable_errors"`
	Start             float64             `json:"start"`
	Finished          *float64            `json:"finished"`
}

type statusFile struct {
	V1 struct {
		Datasource   string       `json:"datasource"`
		Stage        string       `json:"stage"`
		ModulesFinal *stageStatus `json:"modules-final"`
	} `json:"v1"`
}

// Booted records that this boot's cloud-init stages have started: status
// is "running" until the final stage ends. Call it at every boot, after
// /run was emptied.
func Booted(n Node) error {
	var s statusFile
	s.V1.Datasource = "DataSourceEc2Local"
	s.V1.Stage = "modules-final"
	s.V1.ModulesFinal = &stageStatus{RecoverableErrors: map[string][]string{}, Errors: []string{}, Start: 1}
	return writeJSON(n.Path(runDir+"/status.json"), s)
}

// Final is one run of the final stage.
type Final struct {
	n Node
	// Scripts are the user data's scripts this run executes, in run-parts
	// order; none when the semaphore says they ran on this instance.
	Scripts []string
	// Log is what cloud-init logs of the run.
	Log []string
}

// BeginFinal starts the final stage: it takes the scripts_user semaphore
// before anything runs, or finds it taken and runs nothing.
func BeginFinal(n Node) (*Final, error) {
	f := &Final{n: n}
	sem := n.Path(SemaphorePath(n.InstanceID()))
	if _, err := os.Stat(sem); err == nil {
		// helpers.Runners.run(): "%s already ran (freq=%s)".
		f.Log = append(f.Log, "config-scripts_user already ran (freq=once-per-instance)")
		return f, nil
	}
	entries, _ := os.ReadDir(n.Path(ScriptsDir))
	for _, e := range entries {
		if !e.IsDir() {
			f.Scripts = append(f.Scripts, n.Path(ScriptsDir+"/"+e.Name()))
		}
	}
	sort.Strings(f.Scripts)
	if err := os.MkdirAll(filepath.Dir(sem), 0o755); err != nil {
		return nil, err
	}
	// FileSemaphores._acquire: "<pid>: <time>", written before the module.
	if err := os.WriteFile(sem, []byte(fmt.Sprintf("%d: %d\n", os.Getpid(), time.Now().Unix())), 0o644); err != nil {
		return nil, err
	}
	return f, nil
}

// End finishes the final stage with the scripts' failures (names of the
// scripts that exited non-zero) and any recoverable warnings of the boot;
// it returns the exit status of `cloud-init modules --mode=final`, which
// cloud-final.service takes as its own.
func (f *Final) End(failed []string, recoverable []string) (int, error) {
	var s statusFile
	b, err := os.ReadFile(f.n.Path(runDir + "/status.json"))
	if err == nil {
		_ = json.Unmarshal(b, &s)
	}
	if s.V1.ModulesFinal == nil {
		s.V1.ModulesFinal = &stageStatus{RecoverableErrors: map[string][]string{}, Errors: []string{}}
	}
	st := s.V1.ModulesFinal
	if len(failed) > 0 {
		// cc_scripts_user.handle() and subp.runparts().
		st.Errors = append(st.Errors, fmt.Sprintf("Runparts: %d failures (%v) in %d attempted commands", len(failed), failed, len(f.Scripts)))
	}
	if len(recoverable) > 0 {
		st.RecoverableErrors["WARNING"] = append(st.RecoverableErrors["WARNING"], recoverable...)
	}
	done := 2.0
	st.Finished = &done
	if err := writeJSON(f.n.Path(runDir+"/status.json"), s); err != nil {
		return 1, err
	}
	result := map[string]any{"v1": map[string]any{"datasource": s.V1.Datasource, "errors": st.Errors}}
	if err := writeJSON(f.n.Path(runDir+"/result.json"), result); err != nil {
		return 1, err
	}
	if len(st.Errors) > 0 {
		return 1, nil
	}
	return 0, nil
}

func writeJSON(path string, v any) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	b, _ := json.MarshalIndent(v, "", "  ")
	return os.WriteFile(path, b, 0o644)
}

// Running states of cloudinit/cmd/status.py RunningStatus.
const (
	NotStarted = "not started"
	Running    = "running"
	Done       = "done"
)

// Report is what `cloud-init status` reads.
type Report struct {
	Running           string
	Errors            []string
	RecoverableErrors []string
}

// Read reads the current boot's status (status.py get_status_details()).
func Read(n Node) Report {
	var r Report
	b, err := os.ReadFile(n.Path(runDir + "/status.json"))
	if err != nil {
		r.Running = NotStarted
		return r
	}
	var s statusFile
	_ = json.Unmarshal(b, &s)
	if st := s.V1.ModulesFinal; st != nil {
		r.Errors = st.Errors
		for _, v := range st.RecoverableErrors {
			r.RecoverableErrors = append(r.RecoverableErrors, v...)
		}
	}
	if _, err := os.Stat(n.Path(runDir + "/result.json")); errors.Is(err, os.ErrNotExist) {
		r.Running = Running
	} else {
		r.Running = Done
	}
	return r
}

// Status runs `cloud-init status [--wait] [--long]` (status.py
// handle_status_args()): it prints the status and exits 1 on errors, 2 on
// recoverable errors (degraded), 0 otherwise. With --wait it polls, calling
// sleep between reads, while cloud-init has not started or is running.
func Status(n Node, args []string, stdout io.Writer, sleep func()) int {
	wait, long := false, false
	for _, a := range args {
		switch a {
		case "--wait", "-w":
			wait = true
		case "--long", "-l":
			long = true
		}
	}
	r := Read(n)
	for wait && (r.Running == NotStarted || r.Running == Running) {
		fmt.Fprint(stdout, ".")
		sleep()
		r = Read(n)
	}
	if wait {
		fmt.Fprintln(stdout)
	}
	status, extended := r.Running, r.Running
	switch {
	case len(r.Errors) > 0:
		status, extended = "error", "error - "+r.Running
	case len(r.RecoverableErrors) > 0:
		extended = "degraded " + r.Running
	}
	fmt.Fprintf(stdout, "status: %s\n", status)
	if long {
		fmt.Fprintf(stdout, "extended_status: %s\nerrors: %v\nrecoverable_errors: %v\n", extended, r.Errors, r.RecoverableErrors)
	}
	switch {
	case len(r.Errors) > 0:
		return 1
	case len(r.RecoverableErrors) > 0:
		return 2
	}
	return 0
}
