package systemd

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// LoadPath is where unit files are looked up, first match wins
// (systemd.unit(5), "Unit File Load Path", system manager).
var LoadPath = []string{"/etc/systemd/system", "/run/systemd/system", "/lib/systemd/system", "/usr/lib/systemd/system"}

// Service types and restart policies the model knows (systemd.service(5)).
const (
	TypeSimple  = "simple"
	TypeExec    = "exec"
	TypeOneshot = "oneshot"
)

// Unit is a unit's configuration: its file with its drop-ins applied.
type Unit struct {
	// Name is the unit's name, with its suffix (ams-node.service).
	Name string
	// File is the unit file's path on the node; "" for a unit that only
	// exists through its name (a target nobody installed).
	File string

	After, Before, Wants, Requires, WantedBy []string
	RequiresMountsFor                        []string
	// Conditions are the ConditionPathExists= values, "!" negating.
	Conditions []string

	Type            string
	ExecStart       string
	RemainAfterExit bool
	// StandardOutput is journal (the default) or append:<file>; the
	// output also goes to the file (systemd.exec(5)).
	StandardOutput string
	// Restart is no, always, on-failure or on-success.
	Restart    string
	RestartSec int
	// StartLimitBurst starts within StartLimitIntervalSec seconds are
	// allowed (defaults 5 and 10: DefaultStartLimitBurst=,
	// DefaultStartLimitIntervalSec= in systemd-system.conf(5)); 0 seconds
	// disables the limit.
	StartLimitBurst       int
	StartLimitIntervalSec int
}

// IsTarget reports whether the unit is a target.
func (u *Unit) IsTarget() bool { return strings.HasSuffix(u.Name, ".target") }

// UnitName adds ".service" to a name without a suffix, as systemctl does.
func UnitName(name string) string {
	if strings.Contains(name, ".") {
		return name
	}
	return name + ".service"
}

// LoadUnit reads a unit from the node (path maps node paths to host
// paths): the first file on LoadPath, then every drop-in
// <unit>.d/*.conf of each load path directory, in lexical order of their
// names (systemd.unit(5), "drop-in"). ok is false when no file exists.
func LoadUnit(path func(string) string, name string) (u *Unit, ok bool, err error) {
	u = &Unit{Name: name, Type: TypeSimple, Restart: "no", RestartSec: 0, StartLimitBurst: 5, StartLimitIntervalSec: 10}
	for _, dir := range LoadPath {
		p := path(dir + "/" + name)
		if _, err := os.Stat(p); err == nil {
			u.File = p
			break
		}
	}
	var files []string
	if u.File != "" {
		files = append(files, u.File)
	}
	dropins := map[string]string{}
	for i := len(LoadPath) - 1; i >= 0; i-- {
		found, _ := filepath.Glob(path(LoadPath[i] + "/" + name + ".d/*.conf"))
		for _, f := range found {
			dropins[filepath.Base(f)] = f // earlier load path directories win
		}
	}
	names := make([]string, 0, len(dropins))
	for n := range dropins {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		files = append(files, dropins[n])
	}
	for _, f := range files {
		if err := u.parse(f); err != nil {
			return nil, false, err
		}
	}
	if u.Type == TypeOneshot && (u.Restart == "always" || u.Restart == "on-success") {
		// src/core/service.c service_verify().
		return nil, false, fmt.Errorf("%s: Service has Restart= set to either always or on-success, which isn't allowed for Type=oneshot services. Refusing", name)
	}
	return u, u.File != "" || len(files) > 0, nil
}

func (u *Unit) parse(file string) error {
	b, err := os.ReadFile(file)
	if err != nil {
		return fmt.Errorf("reading %s: %w", file, err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") || strings.HasPrefix(line, ";") || strings.HasPrefix(line, "[") {
			continue
		}
		key, value, ok := strings.Cut(line, "=")
		if !ok {
			continue
		}
		key, value = strings.TrimSpace(key), strings.TrimSpace(value)
		list := func(to *[]string) {
			if value == "" { // an empty assignment resets the list
				*to = nil
				return
			}
			*to = append(*to, strings.Fields(value)...)
		}
		switch key {
		case "After":
			list(&u.After)
		case "Before":
			list(&u.Before)
		case "Wants":
			list(&u.Wants)
		case "Requires":
			list(&u.Requires)
		case "WantedBy":
			list(&u.WantedBy)
		case "RequiresMountsFor":
			list(&u.RequiresMountsFor)
		case "ConditionPathExists":
			list(&u.Conditions)
		case "Type":
			u.Type = value
		case "ExecStart":
			u.ExecStart = value
		case "StandardOutput":
			u.StandardOutput = value
		case "RemainAfterExit":
			u.RemainAfterExit = parseBool(value)
		case "Restart":
			u.Restart = value
		case "RestartSec":
			u.RestartSec = parseSeconds(value)
		case "StartLimitBurst":
			u.StartLimitBurst, _ = strconv.Atoi(value)
		case "StartLimitIntervalSec":
			u.StartLimitIntervalSec = parseSeconds(value)
		}
	}
	return nil
}

func parseBool(v string) bool {
	switch strings.ToLower(v) {
	case "yes", "true", "on", "1":
		return true
	}
	return false
}

// parseSeconds reads a systemd time span in the forms the scripts use:
// "5", "5s", "2min", "1h", "infinity" (as 0).
func parseSeconds(v string) int {
	units := []struct {
		suffix string
		mult   int
	}{{"min", 60}, {"h", 3600}, {"s", 1}, {"m", 60}}
	for _, s := range units {
		if n, ok := strings.CutSuffix(v, s.suffix); ok {
			i, _ := strconv.Atoi(strings.TrimSpace(n))
			return i * s.mult
		}
	}
	i, _ := strconv.Atoi(v)
	return i
}
