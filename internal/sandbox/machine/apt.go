package machine

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// The operating system of an EC2 instance: systemd, block devices and
// mounts, apt. Each stand-in follows the behaviour of the real tool that the
// boot scripts rely on, as documented in its manual page (cited beside it).

// ----- packages -------------------------------------------------------------

// PackageCommands are the commands a package provides that the sandbox has
// stand-ins or shims for.
func PackageCommands() map[string]string {
	return map[string]string{
		"mongosh":  "mongodb-org",
		"mkfs.xfs": "xfsprogs",
		"aws":      "awscli",
		"gpg":      "gnupg",
		"curl":     "curl",
		"python3":  "python3",
	}
}

// MarkInstalled records a package as installed and puts its commands on
// the node's PATH.
func MarkInstalled(e *Env, pkg string) error {
	if err := os.WriteFile(e.State("packages/"+pkg), []byte("installed\n"), 0o644); err != nil {
		return err
	}
	self, err := ShimTarget()
	if err != nil {
		return err
	}
	for cmd, p := range PackageCommands() {
		if p != pkg {
			continue
		}
		var standIn bool
		if e.Models != nil {
			_, standIn = e.Models.StandIns[cmd]
		}
		if _, err := os.Readlink(e.State("real/" + cmd)); !standIn && err != nil {
			continue // neither a stand-in nor a real tool on this host
		}
		if err := os.Symlink(self, e.State("bin/"+cmd)); err != nil && !errors.Is(err, os.ErrExist) {
			return err
		}
	}
	return nil
}

func (e *Env) packageInstalled(pkg string) bool {
	_, err := os.Stat(e.State("packages/" + pkg))
	return err == nil
}

// Installed reports whether a command exists on the node: commands that
// come with a package exist once it is installed.
func (e *Env) Installed(cmd string) bool {
	pkg, ok := PackageCommands()[cmd]
	return !ok || e.packageInstalled(pkg)
}

// AptGet models apt-get (apt-get(8)): "update" reads the configured
// sources, "install" installs packages from them. A package from a
// third-party repository installs only when its sources entry names a
// keyring (signed-by=) that exists: apt refuses unsigned repositories
// (apt-secure(8): "The repository ... is not signed").
func AptGet(e *Env, args []string) int {
	var words []string
	for _, a := range args {
		if !strings.HasPrefix(a, "-") {
			words = append(words, a)
		}
	}
	if len(words) == 0 {
		e.Errorf("E: Invalid operation")
		return 100
	}
	switch words[0] {
	case "update":
		if err := os.WriteFile(e.State("apt-updated"), []byte(strings.Join(e.aptRepositories(), "\n")), 0o644); err != nil {
			e.Errorf("E: %v", err)
			return 100
		}
		return 0
	case "install":
		for _, pkg := range words[1:] {
			if err := e.aptInstall(pkg); err != nil {
				e.Errorf("E: %v", err)
				return 100
			}
		}
		return 0
	default:
		e.Errorf("E: Invalid operation %s", words[0])
		return 100
	}
}

// aptRepositories lists the signed third-party repositories configured in
// /etc/apt/sources.list.d whose keyring exists.
func (e *Env) aptRepositories() []string {
	var out []string
	files, _ := filepath.Glob(e.Path("/etc/apt/sources.list.d/*.list"))
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(b), "\n") {
			line = strings.TrimSpace(line)
			if !strings.HasPrefix(line, "deb ") {
				continue
			}
			i := strings.Index(line, "signed-by=")
			if i < 0 {
				continue
			}
			keyring := strings.Fields(strings.Trim(line[i+len("signed-by="):], "[] "))[0]
			keyring = strings.TrimRight(keyring, "]")
			if _, err := os.Stat(e.Path(keyring)); err != nil {
				continue
			}
			out = append(out, line)
		}
	}
	return out
}

func (e *Env) aptInstall(pkg string) error {
	switch pkg {
	case "ca-certificates", "curl", "gnupg", "xfsprogs", "lsb-release", "python3":
		return MarkInstalled(e, pkg)
	case "awscli":
		// Ubuntu 24.04 dropped the awscli package.
		return errors.New("Package awscli has no installation candidate")
	case "mongodb-org":
		updated, err := os.ReadFile(e.State("apt-updated"))
		if err != nil || !strings.Contains(string(updated), "repo.mongodb.org/apt/ubuntu") {
			return fmt.Errorf("Unable to locate package %s", pkg)
		}
		return e.Models.Packages[pkg](e)
	default:
		return fmt.Errorf("Unable to locate package %s", pkg)
	}
}
