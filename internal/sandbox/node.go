package sandbox

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ams-cluster/ams-aws/internal/sandbox/antmedia"
	"github.com/ams-cluster/ams-aws/internal/sandbox/awsapi"
	"github.com/ams-cluster/ams-aws/internal/sandbox/machine"
	"github.com/ams-cluster/ams-aws/internal/sandbox/systemd"
)

// Images a node can boot from.
const (
	// ImageUbuntu is Canonical's Ubuntu 24.04 LTS server image.
	ImageUbuntu = "ubuntu"
	// ImageAMS is the Ant Media Server Enterprise Marketplace image: Ubuntu
	// with Ant Media Server installed under /usr/local/antmedia and its
	// service enabled, running standalone until switched to cluster mode.
	ImageAMS = "ams"
)

// NodeSpec describes an instance to launch.
type NodeSpec struct {
	// InstanceID is the EC2 instance ID (i-...). Required.
	InstanceID string
	// PrivateIP is the instance's private address. Required.
	PrivateIP string
	// Image is ImageUbuntu or ImageAMS. Defaults to ImageUbuntu.
	Image string
	// Role is the name of the IAM role of the instance profile, which must
	// have been given to World.AWS.AddRole. Defaults to none: IMDS then
	// hands out no credentials.
	Role string
	// Group is the Auto Scaling group that launched the instance, if any.
	Group string
	// Tags are the instance's tags; an instance an Auto Scaling group
	// launched also carries aws:autoscaling:groupName.
	Tags map[string]string
	// InstanceMetadataTags exposes the tags in the instance metadata, as the
	// launch template's metadata option instanceMetadataTags does.
	InstanceMetadataTags bool
	// HasAWSCLI puts the AWS CLI (`aws`) on the image, as a stand-in that
	// calls World.AWS. Ubuntu 24.04 has none; defaults to false.
	HasAWSCLI bool
	// AMSVersion is the Ant Media Server version of an ImageAMS image
	// (antmedia_apps.go: AMSVersions). Defaults to AMSVersionDefault.
	AMSVersion string
	// CloudInitWarnings are recoverable errors cloud-init records in every
	// boot of the instance (deprecated keys and the like): `cloud-init
	// status` then says degraded and exits 2. Defaults to none.
	CloudInitWarnings []string
}

// Node is one EC2 instance of a World.
type Node struct {
	NodeSpec
	// ID is the instance ID.
	ID string

	w    *World
	root string
	imds *awsapi.IMDS
	ams  *antmedia.AMSServer
	sys  *system
	// listen maps the ports the node's programs listen on (0.0.0.0:PORT)
	// to the host ports they really get (listen.go).
	listenMu sync.Mutex
	listen   map[int]int
	// clock is the world's shared clock, or nil; born is the world's time
	// at the launch, when the node's clock reads 0.
	clock *worldClock
	born  int
}

// NewNode launches an instance in w.
func (w *World) NewNode(spec NodeSpec) *Node {
	w.t.Helper()
	if spec.Image == "" {
		spec.Image = ImageUbuntu
	}
	if spec.Image == ImageAMS && spec.AMSVersion == "" {
		spec.AMSVersion = antmedia.AMSVersionDefault
	}
	if spec.Image == ImageAMS && !slices.Contains(antmedia.AMSVersions(), spec.AMSVersion) {
		w.t.Fatalf("node %s: Ant Media Server %q is not one of the modelled versions %v", spec.InstanceID, spec.AMSVersion, antmedia.AMSVersions())
	}
	n := &Node{NodeSpec: spec, ID: spec.InstanceID, w: w, root: filepath.Join(w.dir, "nodes", spec.InstanceID, "root"), clock: w.sharedClock()}
	if n.clock != nil {
		n.born = w.Now()
	}
	n.imds = awsapi.NewIMDS(w.t, w.AWS, awsapi.Instance{ID: n.ID, PrivateIP: n.PrivateIP, Role: n.Role, Group: n.Group,
		Tags: n.Tags, InstanceMetadataTags: n.InstanceMetadataTags, Clock: func() int { return (&machine.Env{Root: n.root}).Now() }})
	if n.Image == ImageAMS {
		n.ams = antmedia.NewServer(w.t, n.Env, n.AMSVersion)
	}
	if n.clock != nil {
		n.imds.SetActivity(n.clock)
		if n.ams != nil {
			n.ams.SetActivity(n.clock)
		}
	}
	n.startSystem()
	if err := n.layOut(); err != nil {
		w.t.Fatalf("node %s: %v", n.ID, err)
	}
	// The kernel's counters exist from the start, as /proc does.
	if err := n.Env().WriteProc(); err != nil {
		w.t.Fatalf("node %s: /proc: %v", n.ID, err)
	}
	if err := w.addNode(n); err != nil {
		w.t.Fatalf("node %s: %v", n.ID, err)
	}
	if n.Image == ImageAMS {
		if err := antmedia.Install(n.Env()); err != nil {
			w.t.Fatalf("node %s: installing Ant Media Server: %v", n.ID, err)
		}
	}
	// The image boots: enabled services start. cloud-final waits for the
	// user data (StartUserData).
	if err := n.boot(); err != nil {
		w.t.Fatalf("node %s: first boot: %v", n.ID, err)
	}
	return n
}

// Root is the node's root directory.
func (n *Node) Root() string { return n.root }

// Path maps an absolute path on the node into its root.
func (n *Node) Path(p string) string { return n.Env().Path(p) }

// ReadFile reads a file on the node by its path on the node.
func (n *Node) ReadFile(p string) (string, error) {
	b, err := os.ReadFile(n.Path(p))
	return string(b), err
}

// IMDS is the node's instance metadata service.
func (n *Node) IMDS() *awsapi.IMDS { return n.imds }

// AMS is the node's Ant Media Server, or nil on a non-AMS image.
func (n *Node) AMS() *antmedia.AMSServer { return n.ams }

// World is the world the node lives in.
func (n *Node) World() *World { return n.w }

// Env is what a stand-in sees of the node, for a model run from the test
// process rather than from a shim.
func (n *Node) Env() *machine.Env {
	return &machine.Env{Root: n.root, WorldDir: n.w.dir, Node: n.info(), Stdin: strings.NewReader(""), Stdout: os.Stdout, Stderr: os.Stderr, Models: models()}
}

func (n *Node) info() machine.NodeInfo {
	info := machine.NodeInfo{InstanceID: n.ID, PrivateIP: n.PrivateIP, Image: n.Image, Role: n.Role, Group: n.Group,
		ClockScale: n.w.ClockScale, IMDSURL: n.imds.URL(), AWSURL: n.w.AWS.URL(), Region: n.w.AWS.Region}
	if n.ams != nil {
		info.AMSURL = n.ams.URL()
	}
	if n.sys != nil {
		info.SystemdURL = n.sys.srv.URL
	}
	if n.clock != nil {
		info.ClockURL = n.clock.srv.URL
		info.Born = n.born
	}
	return info
}

// realTools are the host programs a script may run for real; everything
// else it calls is a stand-in or missing.
var realTools = []string{
	"bash", "sh", "cat", "cp", "mv", "rm", "ln", "mkdir", "rmdir", "touch", "chmod", "ls",
	"grep", "sed", "awk", "cut", "tr", "head", "tail", "tee", "sort", "uniq", "wc", "date",
	"seq", "printf", "echo", "env", "id", "stat", "basename", "dirname", "readlink", "realpath",
	"mktemp", "md5sum", "sha256sum", "base64", "install", "test", "true", "false", "xargs",
	"curl", "python3", "timeout", "flock", "od", "cmp", "diff", "find",
}

func (n *Node) layOut() error {
	for _, d := range []string{
		machine.StateDir + "/bin", machine.StateDir + "/real", machine.StateDir + "/packages", "etc/systemd/system", "lib/systemd/system",
		"var/lib", "var/log", "run", "tmp", "root", "usr/local/bin", "usr/local/lib", "dev/disk/by-id", "var/lib/cloud/instance/scripts",
		"etc/apt/sources.list.d", "usr/share/keyrings",
	} {
		if err := os.MkdirAll(filepath.Join(n.root, d), 0o755); err != nil {
			return err
		}
	}
	self, err := machine.ShimTarget()
	if err != nil {
		return err
	}
	for name := range standIns() {
		// A package's commands appear when the package is installed.
		if _, fromPackage := machine.PackageCommands()[name]; fromPackage {
			continue
		}
		if err := os.Symlink(self, filepath.Join(n.root, machine.StateDir, "bin", name)); err != nil {
			return err
		}
	}
	for _, name := range realTools {
		path, err := n.w.realTool(name)
		if err != nil {
			continue
		}
		if err := os.Symlink(path, filepath.Join(n.root, machine.StateDir, "real", name)); err != nil {
			return err
		}
		_, shadowed := standIns()[name]
		_, fromPackage := machine.PackageCommands()[name]
		if !shadowed && !fromPackage {
			if err := os.Symlink(self, filepath.Join(n.root, machine.StateDir, "bin", name)); err != nil {
				return err
			}
		}
	}
	info, _ := json.Marshal(n.info())
	files := map[string]string{
		machine.StateDir + "/node.json":        string(info),
		machine.StateDir + "/clock":            "0",
		"etc/fstab":                            "# /etc/fstab: static file system information.\nLABEL=cloudimg-rootfs / ext4 discard,errors=remount-ro 0 1\n",
		"etc/hosts":                            "127.0.0.1 localhost\n",
		"etc/os-release":                       "PRETTY_NAME=\"Ubuntu 24.04.1 LTS\"\nNAME=\"Ubuntu\"\nVERSION_ID=\"24.04\"\nVERSION_CODENAME=noble\nID=ubuntu\n",
		"etc/hostname":                         "ip-" + strings.ReplaceAll(n.PrivateIP, ".", "-") + "\n",
		"lib/systemd/system/" + cloudFinal:     cloudFinalUnit,
		"lib/systemd/system/multi-user.target": multiUserTarget,
	}
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(n.root, name), []byte(body), 0o644); err != nil {
			return err
		}
	}
	// Packages of the base image. The AWS CLI is not one of them on Ubuntu 24.04.
	base := []string{"curl", "python3", "xfsprogs", "cloud-init", "snapd", "gnupg", "ca-certificates", "lsb-release"}
	if n.HasAWSCLI {
		base = append(base, "awscli")
	}
	for _, p := range base {
		if err := machine.MarkInstalled(n.Env(), p); err != nil {
			return err
		}
	}
	return nil
}

// Result is how a script run ended.
type Result struct {
	// Name is the script's name.
	Name string
	// Err is nil when the script exited 0.
	Err error
	// ExitCode is the script's exit status; -1 when it was killed.
	ExitCode int
	// TimedOut reports that the run was stopped at its time limit.
	TimedOut bool
	// Output is what the script wrote to standard output and error.
	Output string
}

// Running is a script run in progress.
type Running struct {
	name   string
	cmd    *exec.Cmd
	out    *syncBuffer
	done   chan struct{}
	result *Result
	cancel context.CancelFunc
	// log, when set, is where the run's output is read from: the node's
	// boot log, for user data.
	log func() string
}

// Wait waits for the run to end and returns its result.
func (r *Running) Wait() *Result {
	<-r.done
	return r.result
}

// Done reports whether the run has ended.
func (r *Running) Done() bool {
	select {
	case <-r.done:
		return true
	default:
		return false
	}
}

// Output is what the run has written so far; for user data, the node's
// boot log (/var/log/cloud-init-output.log), which the units it starts
// write to as well.
func (r *Running) Output() string {
	if r.log != nil {
		return r.log()
	}
	return r.out.String()
}

// Stop kills the run, as a power loss or a reboot would.
func (r *Running) Stop() *Result {
	r.cancel()
	return r.Wait()
}

// RunTimeout bounds every script run, in real time.
const RunTimeout = 180 * time.Second

// Run runs a rendered script on the node, as cloud-init runs user data, and
// waits for it to end.
func (n *Node) Run(name, script string) *Result {
	n.w.t.Helper()
	return n.Start(name, script).Wait()
}

// Start runs a rendered script on the node in the background, as an
// operator's shell would (over SSH): outside any unit. User data runs with
// StartUserData instead.
func (n *Node) Start(name, script string) *Running {
	n.w.t.Helper()
	rewritten, err := n.rewrite(script)
	if err != nil {
		n.w.t.Fatalf("node %s: script %s: %v", n.ID, name, err)
	}
	dir := filepath.Join(n.root, machine.StateDir, "scripts")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		n.w.t.Fatal(err)
	}
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte(rewritten), 0o700); err != nil {
		n.w.t.Fatal(err)
	}
	r, err := n.launchProcess(name, path, "", io.Discard, "var/log/cloud-init-output.log", nil)
	if err != nil {
		n.w.t.Fatalf("node %s: starting %s: %v", n.ID, name, err)
	}
	return r
}

// command starts a script file of the node (already rooted) as a process
// group of its own, so that a power cut kills its children too.
func (n *Node) command(ctx context.Context, cancel context.CancelFunc, name, path, unit string, tee io.Writer, logTo string, after func(*Result)) (*Running, error) {
	cmd := exec.CommandContext(ctx, "/bin/bash", path)
	cmd.Dir = n.root
	cmd.Env = []string{
		"PATH=" + filepath.Join(n.root, machine.StateDir, "bin"),
		"HOME=" + filepath.Join(n.root, "root"),
		"TMPDIR=" + filepath.Join(n.root, "tmp"),
		"LANG=C.UTF-8",
		"PYTHONDONTWRITEBYTECODE=1",
		machine.EnvRoot + "=" + n.root,
		machine.EnvWorld + "=" + n.w.dir,
	}
	if unit != "" {
		cmd.Env = append(cmd.Env, systemd.CallerEnv+"="+unit)
	}
	cmd.Stdin = nil
	out := &syncBuffer{}
	w := io.MultiWriter(out, tee)
	var logFile *os.File
	if logTo != "" {
		f, err := os.OpenFile(filepath.Join(n.root, logTo), os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
		if err != nil {
			return nil, err
		}
		logFile = f
		w = io.MultiWriter(out, tee, f)
	}
	cmd.Stdout, cmd.Stderr = w, w
	// The power goes off for the whole process group, children included.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 2 * time.Second
	r := &Running{name: name, cmd: cmd, out: out, done: make(chan struct{}), cancel: cancel}
	if n.clock != nil {
		// The world waits for the start, then for the process.
		n.clock.Begin()
		defer n.clock.End()
	}
	if err := cmd.Start(); err != nil {
		if logFile != nil {
			logFile.Close()
		}
		return nil, err
	}
	if n.clock != nil {
		n.clock.track(r)
	}
	go func() {
		err := cmd.Wait()
		if n.clock != nil {
			// The world waits for the handling of the end: a unit's
			// successor starts in after.
			n.clock.untrack(r)
			defer n.clock.release()
		}
		res := &Result{Name: name, Err: err, Output: out.String()}
		res.TimedOut = errors.Is(ctx.Err(), context.DeadlineExceeded)
		var exit *exec.ExitError
		switch {
		case err == nil:
		case errors.As(err, &exit):
			res.ExitCode = exit.ExitCode()
		default:
			res.ExitCode = -1
		}
		cancel()
		if logFile != nil {
			logFile.Close()
		}
		r.result = res
		if after != nil {
			after(res)
		}
		if r.log != nil {
			res.Output = r.log()
		}
		close(r.done)
	}()
	return r, nil
}

// Execs lists every process that scripts started on the node, in order.
func (n *Node) Execs() []machine.Exec {
	f, err := os.Open(filepath.Join(n.root, machine.StateDir, "exec.log"))
	if err != nil {
		return nil
	}
	defer f.Close()
	var out []machine.Exec
	s := bufio.NewScanner(f)
	s.Buffer(make([]byte, 1<<20), 1<<24)
	for s.Scan() {
		var e machine.Exec
		if json.Unmarshal(s.Bytes(), &e) == nil {
			out = append(out, e)
		}
	}
	return out
}

// Clock is the node's virtual time in seconds: the sum of its sleeps.
func (n *Node) Clock() int { return n.Env().Now() }

// Terminate ends the instance: its services stop, its address is freed and
// its volumes are detached. Its root disk is gone with it.
func (n *Node) Terminate() {
	n.w.t.Helper()
	e := n.Env()
	n.sys.close()
	_ = machine.UnmountAll(e)
	machine.DetachAll(e)
	n.w.removeNode(n)
	if n.ams != nil {
		n.ams.Close()
	}
	n.imds.Close()
}

// Rewriting of host paths into the node's root.
var (
	// rootedPrefixes are the host directories a script may write; their
	// paths move into the node's root.
	rootedPrefixes = regexp.MustCompile(`(^|[\s'"=:(<>|,])((?:/etc|/var|/run|/usr/local|/usr/share/keyrings|/usr/lib/systemd|/lib/systemd|/dev/disk|/dev/nvme[0-9a-z]*|/dev/xvd[a-z]+|/dev/sd[a-z]+|/opt|/root|/home|/tmp|/srv|/mnt|/snap|/proc/stat|/proc/meminfo|/proc/uptime)(?:/|\b))`)
	// blockDeviceTest is `[ -b X ]` or `test -b X`.
	blockDeviceTest = regexp.MustCompile(`(\[\[? |\btest )-b `)
	// hostPaths finds what is left of host paths after rewriting.
	hostPaths = regexp.MustCompile(`(?:^|[\s'"=:(<>|,])(/(?:etc|var|run|usr|opt|root|home|tmp|dev|srv|mnt|boot|lib|lib64|bin|sbin|snap|proc|sys)(?:/[^\s'"();|&<>]*)?)`)
	// hostPathsAllowed may stay: they are read-only or harmless.
	hostPathsAllowed = []string{"/dev/null", "/dev/stdin", "/dev/stdout", "/dev/stderr", "/dev/urandom", "/bin/bash", "/usr/bin/env", "/usr/share/zoneinfo", "/usr/bin/python3"}
)

func (n *Node) rewrite(script string) (string, error) {
	endpoints := map[string]string{
		"http://169.254.169.254":                                              n.imds.URL(),
		"https://www.mongodb.org":                                             n.w.AWS.URL() + "/repo/mongodb.org",
		"https://pgp.mongodb.com":                                             n.w.AWS.URL() + "/repo/mongodb.org",
		"https://ssm.${REGION}.amazonaws.com":                                 n.w.AWS.URL(),
		"https://autoscaling.${REGION}.amazonaws.com":                         n.w.AWS.URL(),
		"https://ssm." + n.w.AWS.Region + ".amazonaws.com":                    n.w.AWS.URL(),
		"https://autoscaling." + n.w.AWS.Region + ".amazonaws.com":            n.w.AWS.URL(),
		"https://amazoncloudwatch-agent-${REGION}.s3.${REGION}.amazonaws.com": n.w.AWS.URL() + awsapi.CWAgentPrefix,
		"https://monitoring.${REGION}.amazonaws.com":                          n.w.AWS.URL(),
		"https://monitoring." + n.w.AWS.Region + ".amazonaws.com":             n.w.AWS.URL(),
	}
	if n.ams != nil {
		endpoints["http://127.0.0.1:5080"] = n.ams.URL()
		endpoints["http://localhost:5080"] = n.ams.URL()
	}
	keys := make([]string, 0, len(endpoints))
	for k := range endpoints {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return len(keys[i]) > len(keys[j]) })
	for _, k := range keys {
		script = strings.ReplaceAll(script, k, endpoints[k])
	}
	script = rootedPrefixes.ReplaceAllString(script, "${1}"+n.root+"${2}")
	script = n.rewriteListen(script)
	// The sandbox's block devices are files: a block-device test becomes an
	// existence test.
	script = blockDeviceTest.ReplaceAllString(script, "${1}-e ")
	var bad []string
	for _, m := range hostPaths.FindAllStringSubmatch(script, -1) {
		p := m[1]
		if strings.HasPrefix(p, n.root) || allowedHostPath(p) {
			continue
		}
		bad = append(bad, p)
	}
	if len(bad) > 0 {
		return "", fmt.Errorf("names host paths the sandbox does not map: %v", bad)
	}
	return script, nil
}

func allowedHostPath(p string) bool {
	for _, a := range hostPathsAllowed {
		if p == a || strings.HasPrefix(p, a+"/") {
			return true
		}
	}
	return false
}

// syncBuffer is a bytes.Buffer safe for a writer and a reader at once.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// Require skips t unless the host has what the sandbox runs scripts with:
// bash, python3 and curl. In CI (CI=true) a missing tool fails t instead.
func Require(t testing.TB) {
	t.Helper()
	for _, tool := range []string{"bash", "python3", "curl"} {
		if _, err := exec.LookPath(tool); err != nil {
			if os.Getenv("CI") == "true" {
				t.Fatalf("the node sandbox needs %s, which CI must install: %v", tool, err)
			}
			t.Skipf("the node sandbox needs %s on PATH (%v); skipped", tool, err)
		}
	}
}
