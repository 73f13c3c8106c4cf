package antmedia

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/ams-cluster/ams-aws/internal/sandbox/machine"
)

// create_app.sh of Ant Media Server 3.0.x (Ant-Media-Server
// src/main/server/create_app.sh, the same from ams-v3.0.0 to ams-v3.0.3),
// as AdminApplication runs it: with ProcessBuilder, no shell, so each
// argument arrives as it was given, quotes included.

// amsStreamAppProperties is WEB-INF/red5-web.properties of the StreamApp
// WAR that create_app.sh copies (ant-media/StreamApp
// src/main/webapp/WEB-INF/red5-web.properties: db.type=mapdb,
// db.host=localhost): the keys its sed commands rewrite, and a setting
// under its 3.0 key (since Ant-Media-Server commit cf00a1459 AppSettings
// reads the plain field names; the old "settings.*" keys are not read).
const amsStreamAppProperties = `webapp.contextPath=/StreamApp
webapp.virtualHosts=*
webapp.dbName=streamapp.db
appName=StreamApp
db.name=streamapp
db.type=mapdb
db.host=localhost
db.user=
db.password=
hlsMuxingEnabled=true
`

// create_app.sh's tests of the database address: a bare IPv4 address or
// localhost, with an optional port, or anything starting with "mongo" is
// MongoDB; anything starting with "redis" is Redis; else MapDB.
var (
	amsCreateAppIPv4      = regexp.MustCompile(`^[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+(:[0-9]{1,5})?$`)
	amsCreateAppLocalhost = regexp.MustCompile(`^localhost(:[0-9]{1,5})?$`)
)

// createAppScript runs create_app.sh with args; it returns what the script
// prints and its exit status.
func createAppScript(e *machine.Env, args []string) (string, int) {
	var out strings.Builder
	opts := map[byte]string{'p': amsDir, 'w': "false", 'c': "false"}
	// getopts 'n:p:w:h:c:m:u:s:f:': options up to the first non-option.
	for i := 0; i+1 < len(args); i += 2 {
		a := args[i]
		if len(a) != 2 || a[0] != '-' || !strings.ContainsRune("npwhcmusf", rune(a[1])) {
			break
		}
		opts[a[1]] = args[i+1]
	}
	app, dbHost := opts['n'], opts['m']
	if app == "" {
		out.WriteString("Error: Missing parameter APPLICATION_NAME. Check instructions below\n")
		return out.String(), 1
	}
	amsDirArg := opts['p']
	if !strings.HasPrefix(amsDirArg, "/") {
		amsDirArg = amsDir + "/" + amsDirArg // $PWD/$AMS_DIR, run from the installation
	}
	lower := strings.ToLower(app)
	appDir := e.Path(amsDirArg + "/webapps/" + app)
	props := filepath.Join(appDir, "WEB-INF/red5-web.properties")
	// mkdir $APP_DIR; check_result — an existing directory ends the script.
	if err := os.Mkdir(appDir, 0o755); err != nil {
		fmt.Fprintf(&out, "mkdir: cannot create directory '%s': File exists\nError: App is not created. Please check the error in the terminal and take a look at the instructions below\n", amsDirArg+"/webapps/"+app)
		return out.String(), 1
	}
	// cp $WAR_FILE $APP_DIR; unzip; rm: the WAR's files.
	if err := amsWriteFile(props, amsStreamAppProperties, 0o644); err != nil {
		return err.Error(), 1
	}
	for _, sub := range [][2]string{
		{`webapp.dbName=.*`, "webapp.dbName=" + lower + ".db"},
		{`webapp.contextPath=.*`, "webapp.contextPath=/" + app},
		{`appName=.*`, "appName=" + app},
		{`db.name=.*`, "db.name=" + lower},
	} {
		if err := sedReplace(props, sub[0], sub[1]); err != nil {
			fmt.Fprintf(&out, "sed: %v\n", err)
			return out.String(), 1
		}
	}
	// "remove single quotes if exists", then double quotes.
	for _, q := range []string{"'", `"`} {
		if len(dbHost) >= 2 && strings.HasPrefix(dbHost, q) && strings.HasSuffix(dbHost, q) {
			dbHost = dbHost[1 : len(dbHost)-1]
		}
	}
	dbType := "mapdb"
	switch {
	case amsCreateAppIPv4.MatchString(dbHost) || amsCreateAppLocalhost.MatchString(dbHost) || strings.HasPrefix(dbHost, "mongo"):
		dbType = "mongodb"
	case strings.HasPrefix(dbHost, "redis"):
		dbType = "redisdb"
	}
	// sed -i 's#db.host=.*#db.host='$DB_HOST'#' and the like, unchecked: a
	// failing sed leaves the line as the WAR had it.
	for _, sub := range [][2]string{
		{`db.type=.*`, "db.type=" + dbType},
		{`db.host=.*`, "db.host=" + dbHost},
		{`db.user=.*`, "db.user=" + opts['u']},
		{`db.password=.*`, "db.password=" + opts['s']},
	} {
		if err := sedReplace(props, sub[0], sub[1]); err != nil {
			fmt.Fprintf(&out, "sed: %v\n", err)
		}
	}
	if opts['c'] == "true" {
		out.WriteString("Cluster mode\n")
	} else {
		out.WriteString("Not cluster mode.\n")
	}
	// -w true zips the directory into webapps/<app>.war, which the
	// WarDeployer expands back into webapps/<app>: the sandbox keeps the
	// directory.
	fmt.Fprintf(&out, "%s is created.\n", app)
	return out.String(), 0
}

// sedReplace is `sed -i 's<d>pattern<d>replacement<d>'` with a delimiter the
// pattern does not hold, where pattern is a basic regular expression whose
// only special characters are "." and "*" here. In the replacement, as GNU
// sed reads it, "&" is the matched text and a backslash takes the next
// character literally (a digit names a group the pattern does not have).
// A "#" in the replacement ends the command early: sed refuses it
// ("unknown option to `s'"), as create_app.sh's '#' delimiter makes it.
func sedReplace(path, pattern, replacement string) error {
	if strings.Contains(replacement, "#") {
		return errors.New("-e expression #1, char 0: unknown option to `s'")
	}
	var repl strings.Builder
	var parts []string // literal text between the "&"s
	for i := 0; i < len(replacement); i++ {
		switch ch := replacement[i]; {
		case ch == '&':
			parts = append(parts, repl.String())
			repl.Reset()
		case ch == '\\' && i+1 < len(replacement):
			i++
			if next := replacement[i]; next >= '1' && next <= '9' {
				return fmt.Errorf("-e expression #1: invalid reference \\%c on `s' command's RHS", next)
			} else if next == 'n' {
				repl.WriteByte('\n')
			} else {
				repl.WriteByte(next)
			}
		default:
			repl.WriteByte(ch)
		}
	}
	parts = append(parts, repl.String())
	re := regexp.MustCompile(pattern)
	return sedLines(path, func(line string) (string, bool) {
		m := re.FindStringIndex(line)
		if m == nil {
			return line, true
		}
		return line[:m[0]] + strings.Join(parts, line[m[0]:m[1]]) + line[m[1]:], true
	})
}
