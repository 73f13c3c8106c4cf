package antmedia

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/ams-cluster/ams-aws/internal/sandbox/machine"
)

// change_server_mode.sh of Ant Media Server 3.0.x (Ant-Media-Server
// src/main/server/change_server_mode.sh, with change_server_mode() of
// src/main/server/conf/functions.sh; unchanged from ams-v3.0.0 to ams-v3.0.3).

// ANSI colours of the script's messages.
const (
	ansiRed    = "\033[0;31m"
	ansiGreen  = "\033[0;32m"
	ansiYellow = "\033[1;33m"
	ansiNone   = "\033[0m"
)

// ChangeServerMode is /usr/local/antmedia/change_server_mode.sh.
func ChangeServerMode(e *machine.Env, args []string) int {
	if _, err := os.Stat(e.Path(amsDir + "/change_server_mode.sh")); err != nil {
		e.Errorf("change_server_mode.sh: command not found")
		return 127
	}
	argv0 := "./change_server_mode.sh"
	dir := e.Path(amsDir)
	if len(os.Args) > 0 && filepath.Base(os.Args[0]) == "change_server_mode.sh" {
		argv0 = os.Args[0]
		if abs, err := filepath.Abs(filepath.Dir(argv0)); err == nil {
			dir = abs
		}
	}
	return runChangeServerMode(e, argv0, dir, args)
}

// runChangeServerMode runs the script as argv0 from the installation
// directory dir (BASEDIR=$(dirname "$0"); cd $BASEDIR).
func runChangeServerMode(e *machine.Env, argv0, dir string, args []string) int {
	out := e.Stdout
	arg := func(i int) string {
		if i < len(args) {
			return args[i]
		}
		return ""
	}
	// source $AMS_INSTALL_LOCATION/conf/functions.sh
	if _, err := os.Stat(filepath.Join(dir, "conf/functions.sh")); err != nil {
		e.Errorf("%s: line 65: %s/conf/functions.sh: No such file or directory", argv0, dir)
		e.Errorf("%s: line 87: change_server_mode: command not found", argv0)
		fmt.Fprintf(out, "%sERROR: Failed to change server mode.%s\n", ansiRed, ansiNone)
		return 1
	}
	if arg(0) == "" {
		fmt.Fprintf(out, "%sERROR: No server mode specified. Missing parameter%s\n", ansiRed, ansiNone)
		amsUsage(out, argv0)
		return 1
	}
	if code, ok := validateParameters(e, argv0, dir, arg(0), arg(1)); !ok {
		return code
	}
	// change_server_mode $1 $2 $3 $4: unquoted, so each is split on blanks.
	var words []string
	for i := 0; i < 4; i++ {
		words = append(words, strings.Fields(arg(i))...)
	}
	if code := changeServerModeFunc(e, argv0, words); code != 0 {
		if code == exitFromFunction {
			return 1
		}
		fmt.Fprintf(out, "%sERROR: Failed to change server mode.%s\n", ansiRed, ansiNone)
		return 1
	}
	// sed -i 's/useGlobalIp=.*/useGlobalIp='$USE_GLOBAL_IP'/' conf/red5.properties
	red5 := filepath.Join(dir, "conf/red5.properties")
	if err := sedSubstitute(red5, regexp.MustCompile(`useGlobalIp=.*`), "useGlobalIp=false"); err != nil {
		e.Errorf("sed: %v", err)
	}
	fmt.Fprintf(out, "%sAnt Media Server is restarting in %s mode.%s\n", ansiGreen, arg(0), ansiNone)
	// service antmedia stop; service antmedia start — service(8) hands both
	// to systemctl on a systemd host. The script's status is the last one's.
	_ = e.Systemctl("stop", "antmedia.service")
	return e.Systemctl("start", "antmedia.service")
}

// exitFromFunction is the status of an `exit 1` inside change_server_mode(),
// which ends the script at once.
const exitFromFunction = -1

func amsUsage(w io.Writer, argv0 string) {
	fmt.Fprintf(w, `
This script change server mode to cluster or standalone
Please use the script as follows.

Usage: 
Change server mode to cluster
%[1]s  cluster {DB_CONNECTION_URL}

You can use connection string directly as {DB_CONNECTION_URL} that starts with mongodb:// or mongodb+srv:// or give the ip address
You can also use REDIS url or redis configuration file as {DB_CONNECTION_URL}
Please don't forget quote your connection string. Take a look at the sample below.
Usage:
%[1]s cluster "mongodb://[username:password@]host1[:port1][,...hostN[:portN]][/[defaultauthdb][?options]]" 
%[1]s cluster "redis://[username:password@]host1:port1]" 

Change server mode to standalone that uses mapdb
%[1]s  standalone
Change server mode to standalone that uses {DB_CONNECTION_URL} for mongo or redis
%[1]s  standalone {DB_CONNECTION_URL}


If you have any question, send e-mail to contact@antmedia.io
`, argv0)
}

// amsDBURLPrefix is the check of validate_parameters:
// [[ "$db_connection" =~ ^(mongodb://|mongodb\+srv://|redis://) ]].
var amsDBURLPrefix = regexp.MustCompile(`^(mongodb://|mongodb\+srv://|redis://)`)

// validateParameters is validate_parameters "$1" "$2": the mode must be
// cluster or standalone, cluster needs a URL, and a URL that is not a
// mongodb://, mongodb+srv:// or redis:// URL, 127.0.0.1, localhost or an
// existing file asks for confirmation on standard input; anything but y or
// Y — end of input included — cancels with status 1.
func validateParameters(e *machine.Env, argv0, dir, mode, db string) (int, bool) {
	out := e.Stdout
	if mode != "cluster" && mode != "standalone" {
		fmt.Fprintf(out, "%sERROR: Invalid mode '%s'. Only 'cluster' or 'standalone' are allowed.%s\n", ansiRed, mode, ansiNone)
		amsUsage(out, argv0)
		return 1, false
	}
	if mode == "cluster" && db == "" {
		fmt.Fprintf(out, "%sERROR: Database connection URL is required for cluster mode.%s\n", ansiRed, ansiNone)
		amsUsage(out, argv0)
		return 1, false
	}
	if db == "" || amsDBURLPrefix.MatchString(db) || db == "127.0.0.1" || db == "localhost" || isRegularFile(dir, db) {
		return 0, true
	}
	fmt.Fprintf(out, "%sWARNING: DB connection doesn't start with mongodb://, mongodb+srv://, redis:// and is not a file.%s\n", ansiYellow, ansiNone)
	fmt.Fprintln(out, "Are you sure this is correct? (y/n)")
	if answer := readConfirmation(e.Stdin); answer != "y" && answer != "Y" {
		fmt.Fprintf(out, "%sOperation cancelled.%s\n", ansiRed, ansiNone)
		return 1, false
	}
	return 0, true
}

// isRegularFile is [[ -f "$path" ]] run from dir.
func isRegularFile(dir, path string) bool {
	if !filepath.IsAbs(path) {
		path = filepath.Join(dir, path)
	}
	fi, err := os.Stat(path)
	return err == nil && fi.Mode().IsRegular()
}

// readConfirmation is `read -r confirmation`: one line, blanks trimmed at both
// ends; at end of input, what was read (nothing, under cloud-init, whose
// standard input is /dev/null). It blocks while the input is open and idle,
// as read does.
func readConfirmation(r io.Reader) string {
	if r == nil {
		return ""
	}
	line, _ := bufio.NewReader(r).ReadString('\n')
	return strings.Trim(line, " \t\n")
}

// Patterns of change_server_mode() (functions.sh).
var (
	amsIPv4          = regexp.MustCompile(`^[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+$`)
	amsIPv4Port      = regexp.MustCompile(`^[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+(:[0-9]{1,5})?$`)
	amsLocalhostPort = regexp.MustCompile(`^localhost(:[0-9]{1,5})?$`)
)

// clusterDBType is the DB type change_server_mode() picks: in cluster mode
// an IPv4 address (no port), localhost or anything starting with "mongo" is
// mongodb; in standalone mode an address may carry a port, and no URL at
// all is mapdb; anything else is taken for a Redis URL or its
// configuration file (redisdb).
func clusterDBType(mode, url string) string {
	switch {
	case mode != "cluster" && url == "":
		return "mapdb"
	case mode == "cluster" && (amsIPv4.MatchString(url) || url == "localhost"):
		return "mongodb"
	case mode != "cluster" && (amsIPv4Port.MatchString(url) || amsLocalhostPort.MatchString(url)):
		return "mongodb"
	case strings.HasPrefix(url, "mongo"):
		return "mongodb"
	default:
		return "redisdb"
	}
}

// changeServerModeFunc is change_server_mode() of conf/functions.sh on
// Linux, for its positional words (mode, URL, user, password).
func changeServerModeFunc(e *machine.Env, argv0 string, words []string) int {
	word := func(i int) string {
		if i < len(words) {
			return words[i]
		}
		return ""
	}
	mode, dbURL, user, pass := word(0), word(1), word(2), word(3)
	install := e.Path(amsDir) // AMS_INSTALL_LOCATION=/usr/local/antmedia on Linux
	if mode == "cluster" {
		fmt.Fprintln(e.Stdout, "Mode: cluster")
		if dbURL == "" {
			fmt.Fprintln(e.Stdout, "No DB URL specified. Missing parameter")
			amsUsage(e.Stdout, argv0)
			return exitFromFunction
		}
	} else {
		fmt.Fprintln(e.Stdout, "Mode: standalone")
	}
	dbType := clusterDBType(mode, dbURL)
	fmt.Fprintf(e.Stdout, "DB type is %s\n", map[string]string{"mongodb": "mongodb", "redisdb": "redis", "mapdb": "mapdb"}[dbType])
	if err := setClusterComments(filepath.Join(install, "conf/jee-container.xml"), mode == "cluster"); err != nil {
		e.Errorf("sed: %v", err)
	}
	// sed -i "/clusterdb.host=/c\clusterdb.host=${DB_URL}" (and user, password)
	red5 := filepath.Join(install, "conf/red5.properties")
	for _, kv := range [][2]string{{"clusterdb.host=", dbURL}, {"clusterdb.user=", user}, {"clusterdb.password=", pass}} {
		if err := sedChange(red5, kv[0], kv[0]+kv[1]); err != nil {
			e.Errorf("sed: %v", err)
		}
	}
	apps, _ := filepath.Glob(filepath.Join(install, "webapps/*"))
	for _, app := range apps {
		if fi, err := os.Stat(app); err != nil || !fi.IsDir() {
			continue
		}
		props := filepath.Join(app, "WEB-INF/red5-web.properties")
		for _, kv := range [][2]string{{"db.type=", dbType}, {"db.host=", dbURL}, {"db.user=", user}, {"db.password=", pass}} {
			if err := sedChange(props, kv[0], kv[0]+kv[1]); err != nil {
				e.Errorf("sed: %v", err)
			}
		}
	}
	if err := rewriteHosts(e); err != nil {
		e.Errorf("%v", err)
		return 1
	}
	return 0
}

// setClusterComments is the sed -E pair on conf/jee-container.xml that
// closes ("<!-- cluster start -->", cluster mode) or opens ("<!-- cluster
// start", standalone) the comments around the cluster beans.
func setClusterComments(path string, cluster bool) error {
	type sub struct {
		re   *regexp.Regexp
		repl string
	}
	subs := []sub{
		{regexp.MustCompile(`(<!-- cluster start -->|<!-- cluster start)`), "<!-- cluster start "},
		{regexp.MustCompile(`(<!-- cluster end -->|cluster end -->)`), "cluster end -->"},
	}
	if cluster {
		subs = []sub{
			{regexp.MustCompile(`(<!-- cluster start|<!-- cluster start -->)`), "<!-- cluster start -->"},
			{regexp.MustCompile(`(cluster end -->|<!-- cluster end -->)`), "<!-- cluster end -->"},
		}
	}
	for _, s := range subs {
		s.re.Longest() // POSIX ERE: leftmost-longest alternative, as GNU sed
		if err := sedSubstitute(path, s.re, s.repl); err != nil {
			return err
		}
	}
	return nil
}

// sedSubstitute is sed -i 's/re/repl/g' on each line of path.
func sedSubstitute(path string, re *regexp.Regexp, repl string) error {
	return sedLines(path, func(line string) (string, bool) {
		return re.ReplaceAllLiteralString(line, repl), true
	})
}

// sedChange is sed -i "/pattern/c\text": every line matching the basic
// regular expression pattern (where "." is any character) becomes text,
// with GNU sed's removal of a backslash before any character of text.
func sedChange(path, pattern, text string) error {
	re := regexp.MustCompile(strings.ReplaceAll(regexp.QuoteMeta(pattern), `\.`, `.`))
	text = unescapeSedText(text)
	return sedLines(path, func(line string) (string, bool) {
		if re.MatchString(line) {
			return text, true
		}
		return line, true
	})
}

func unescapeSedText(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+1 < len(s) {
			i++
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// sedLines rewrites a file line by line; keep=false drops the line.
func sedLines(path string, f func(string) (string, bool)) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("can't read %s: %w", path, err)
	}
	text := string(b)
	trailing := strings.HasSuffix(text, "\n")
	lines := strings.Split(strings.TrimSuffix(text, "\n"), "\n")
	var out []string
	for _, l := range lines {
		if nl, keep := f(l); keep {
			out = append(out, nl)
		}
	}
	res := strings.Join(out, "\n")
	if trailing {
		res += "\n"
	}
	return os.WriteFile(path, []byte(res), 0o644)
}

// rewriteHosts is the /etc/hosts step of change_server_mode(): lines naming
// the host name go, "<private IPv4> <host name>" is appended (and echoed by
// tee), through a copy in ~/.hosts.new.
func rewriteHosts(e *machine.Env) error {
	hostB, err := os.ReadFile(e.Path("/etc/hostname"))
	if err != nil {
		return fmt.Errorf("cat: /proc/sys/kernel/hostname: %w", err)
	}
	host := strings.TrimSpace(string(hostB))
	line := e.Node.PrivateIP + " " + host
	hosts := e.Path("/etc/hosts")
	tmp := e.Path("/root/.hosts.new")
	b, err := os.ReadFile(hosts)
	if err != nil {
		return fmt.Errorf("cp: cannot stat '/etc/hosts': %w", err)
	}
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		return fmt.Errorf("cp: %w", err)
	}
	re, err := regexp.Compile(strings.ReplaceAll(regexp.QuoteMeta(host), `\.`, `.`))
	if err != nil {
		return fmt.Errorf("sed: %w", err)
	}
	if err := sedLines(tmp, func(l string) (string, bool) { return l, !re.MatchString(l) }); err != nil {
		return err
	}
	f, err := os.OpenFile(tmp, os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return fmt.Errorf("tee: %w", err)
	}
	_, err = f.WriteString(line + "\n")
	f.Close()
	if err != nil {
		return fmt.Errorf("tee: %w", err)
	}
	fmt.Fprintln(e.Stdout, line)
	nb, err := os.ReadFile(tmp)
	if err != nil {
		return fmt.Errorf("cp: %w", err)
	}
	if err := os.WriteFile(hosts, nb, 0o644); err != nil {
		return fmt.Errorf("cp: %w", err)
	}
	return os.Remove(tmp)
}
