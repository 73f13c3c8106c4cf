package machine

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// SnapCmd models snap install: the store is out of reach in the sandbox, as
// it is for a node without internet access.
func SnapCmd(e *Env, args []string) int {
	e.Errorf("error: cannot install %q: the snap store is not reachable from the sandbox", strings.Join(args, " "))
	return 1
}

// GpgCmd models `gpg --dearmor -o FILE` (gpg(1)): it reads an ASCII-armored
// key on standard input and writes the binary keyring; anything that is not
// an armored key is refused, as gpg refuses it.
func GpgCmd(e *Env, args []string) int {
	out, dearmor := "", false
	for i := 0; i < len(args); i++ {
		switch args[i] {
		case "--dearmor", "--dearmour":
			dearmor = true
		case "-o", "--output":
			if i+1 < len(args) {
				out = args[i+1]
				i++
			}
		}
	}
	if !dearmor || out == "" {
		e.Errorf("gpg: the sandbox models only --dearmor -o FILE")
		return 2
	}
	in, _ := io.ReadAll(e.Stdin)
	if !strings.Contains(string(in), "-----BEGIN PGP PUBLIC KEY BLOCK-----") {
		e.Errorf("gpg: no valid OpenPGP data found.")
		return 2
	}
	if err := os.MkdirAll(filepath.Dir(e.Path(out)), 0o755); err != nil {
		e.Errorf("gpg: %v", err)
		return 2
	}
	if err := os.WriteFile(e.Path(out), append([]byte("\x99keyring:"), in...), 0o644); err != nil {
		e.Errorf("gpg: %v", err)
		return 2
	}
	return 0
}

// LsbRelease answers `lsb_release -cs` from /etc/os-release.
func LsbRelease(e *Env, args []string) int {
	b, _ := os.ReadFile(e.Path("/etc/os-release"))
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VERSION_CODENAME="); ok {
			fmt.Fprintln(e.Stdout, v)
			return 0
		}
	}
	return 1
}

// ChownCmd accepts ownership changes: the sandbox runs as one user. It
// still fails, as chown does, on a path that does not exist.
func ChownCmd(e *Env, args []string) int {
	var paths []string
	for _, a := range args {
		if !strings.HasPrefix(a, "-") {
			paths = append(paths, a)
		}
	}
	if len(paths) < 2 {
		e.Errorf("chown: missing operand")
		return 1
	}
	for _, p := range paths[1:] {
		if _, err := os.Stat(e.Path(p)); err != nil {
			e.Errorf("chown: cannot access '%s': No such file or directory", p)
			return 1
		}
	}
	return 0
}
