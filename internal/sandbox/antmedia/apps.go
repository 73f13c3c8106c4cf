package antmedia

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/ams-cluster/ams-aws/internal/amsargs"
	"github.com/ams-cluster/ams-aws/internal/sandbox/machine"
	"github.com/ams-cluster/ams-aws/internal/sandbox/mongod"
)

// Applications of an Ant Media Server node, as Ant-Media-Server 3.0.x
// creates them (tags ams-v3.0.0 to ams-v3.0.3):
//
//   - the web panel's POST /rest/v2/applications/{appName}
//     (io.antmedia.console.rest.RestServiceV2.createApplication, then
//     CommonRestService.createApplication);
//   - AdminApplication.createApplication, which runs create_app.sh through
//     runCreateAppScript and runConfiguredCommand (3.0.2 and later) or
//     runCommand/getProcess (3.0.0 and 3.0.1);
//   - src/main/server/create_app.sh (the same in all four tags);
//   - in cluster mode, the cluster-wide creation: AdminApplication.appStart
//     registers createApplicationWithURL as the ICreateAppListener of the
//     cluster notifier (bean "tomcat.cluster", Enterprise code, closed), which
//     creates on a node the applications whose AppSettings the cluster
//     database lists (IClusterStore.getAllSettings) and the node lacks:
//     a node added to a cluster deploys the cluster's applications
//     (Ant-Media-Server issues 4498 and 5167, fixed). Each application's
//     AntMediaApplicationAdapter.appStart saves its settings to the cluster
//     database when none are stored there.

// Versions of the image's Ant Media Server.
const (
	// AMSVersionDefault is the newest 3.0.x, which the Marketplace image
	// resolved at deployment carries.
	AMSVersionDefault = "3.0.3"
)

// AMSVersions are the versions the sandbox models.
func AMSVersions() []string { return []string{"3.0.0", "3.0.1", "3.0.2", "3.0.3"} }

// amsDiscardsSpecialArguments tells the versions whose
// AdminApplication.runConfiguredCommand discards a command when an argument
// matches the pattern of package amsargs (Ant-Media-Server commit
// 13906cf29, in ams-v3.0.2 and ams-v3.0.3). 3.0.0 and 3.0.1 wrap such an
// argument in single quotes instead (AdminApplication.getProcess).
func amsDiscardsSpecialArguments(version string) bool {
	return version == "3.0.2" || version == "3.0.3"
}

// Where the cluster keeps application settings: the Enterprise ClusterStore's
// database, and the collection of io.antmedia.AppSettings
// (@Entity("AppSettings"), unique index appName_unique_index on appName).
const (
	amsClusterDB          = "clusterdb"
	amsAppSettings        = "AppSettings"
	amsAppStatusInstalled = "installed" // AppSettings.APPLICATION_STATUS_INSTALLED
	amsAppStatusDeleted   = "deleted"   // AppSettings.APPLICATION_STATUS_DELETED
	amsCreateAppCommand   = "/bin/bash create_app.sh"
	// amsServerLog is the server's log file (conf/logback.xml).
	amsServerLog = amsDir + "/log/ant-media-server.log"
	// amsAppSyncSeconds is how often, in virtual seconds, a cluster node
	// looks for applications of the cluster it lacks. The notifier is
	// closed code: the period is the sandbox's assumption.
	amsAppSyncSeconds = 5
)

// amsAppName is CommonRestService.APP_NAME_REGEX.
var amsAppName = regexp.MustCompile(`^[a-zA-Z0-9_-]*$`)

// AMSApp is an application deployed on a node, with the database settings
// of its WEB-INF/red5-web.properties.
type AMSApp struct {
	Name   string
	DBType string // db.type
	DBHost string // db.host
}

// Apps lists the applications the node runs now (its webapps other than
// the panel), sorted by name, after the cluster notifier has had its look
// at the cluster database. It fails while the server does not run.
func (s *AMSServer) Apps() ([]AMSApp, error) {
	e := s.env()
	rt, err := loadAMSRuntime(e)
	if err != nil {
		return nil, err
	}
	if !rt.Running || e.Now() < rt.ReadyAt {
		return nil, fmt.Errorf("antmedia on %s is not running", s.env().Node.InstanceID)
	}
	s.syncApps(e, rt)
	var out []AMSApp
	for _, name := range amsDeployedApps(e) {
		props, err := readJavaProperties(e.Path(amsDir + "/webapps/" + name + "/WEB-INF/red5-web.properties"))
		if err != nil {
			return nil, fmt.Errorf("application %s: %w", name, err)
		}
		out = append(out, AMSApp{Name: name, DBType: props["db.type"], DBHost: props["db.host"]})
	}
	return out, nil
}

// ServerLog is the server's log (log/ant-media-server.log) as it is now.
func (s *AMSServer) ServerLog() string {
	b, _ := os.ReadFile(s.env().Path(amsServerLog))
	return string(b)
}

// amsDeployedApps are the applications the WarDeployer has deployed: the
// directories of webapps with a WEB-INF/red5-web.properties, but the panel.
func amsDeployedApps(e *machine.Env) []string {
	dirs, _ := filepath.Glob(e.Path(amsDir + "/webapps/*/WEB-INF/red5-web.properties"))
	var out []string
	for _, d := range dirs {
		name := filepath.Base(filepath.Dir(filepath.Dir(d)))
		if name != "root" {
			out = append(out, name)
		}
	}
	sort.Strings(out)
	return out
}

func amsAppDeployed(e *machine.Env, name string) bool {
	return slices.Contains(amsDeployedApps(e), name)
}

// amsLog appends a line to the server log as logback writes it.
func amsLog(e *machine.Env, level, logger, format string, args ...any) {
	f, err := os.OpenFile(e.Path(amsServerLog), os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return
	}
	defer f.Close()
	fmt.Fprintf(f, "%d [vert.x-worker-thread-0] %s %s - %s\n", e.Now(), level, logger, fmt.Sprintf(format, args...))
}

// listApplications is RestServiceV2.getApplications:
// {"applications":[...]}, the running applications but the panel.
func (s *AMSServer) listApplications(w http.ResponseWriter, _ *http.Request, c amsCall) error {
	s.syncApps(c.e, c.rt)
	apps := amsDeployedApps(c.e)
	if apps == nil {
		apps = []string{}
	}
	amsWriteJSON(w, http.StatusOK, map[string]any{"applications": apps})
	return nil
}

// createApplication is RestServiceV2.createApplication(appName) with
// CommonRestService.createApplication(appName, null). When AdminApplication
// does not create the application, updateAppStatus reads the settings of an
// application that does not exist (getSettings returns null) and throws a
// NullPointerException: Jersey hands it to Tomcat, which answers 500.
func (s *AMSServer) createApplication(w http.ResponseWriter, r *http.Request, c amsCall) error {
	name := strings.TrimPrefix(r.URL.Path, amsApplicationsPath)
	if !amsAppName.MatchString(name) {
		amsWriteJSON(w, http.StatusOK, amsResult{Message: "Application name is not alphanumeric. Please provide alphanumeric characters"})
		return nil
	}
	// isApplicationExists: the root scope has the application.
	if amsAppDeployed(c.e, name) {
		amsWriteJSON(w, http.StatusOK, amsResult{Message: "Application with the same name already exists"})
		return nil
	}
	cluster := c.rt.Mode == "cluster"
	if cluster {
		// "If there is a record in database, just delete it in order to
		// start from scratch": clusterStore.deleteAppSettings(appName).
		if err := s.clusterStoreOp(c.e, c.rt, func(cs *amsClusterStore) error { return cs.delete(name) }); err != nil {
			return err
		}
	}
	if !s.createApp(c.e, c.rt, name) {
		return fmt.Errorf(`java.lang.NullPointerException: Cannot invoke "io.antmedia.AppSettings.getAppStatus()" because "appSettings" is null`)
	}
	// The application started (its appStart saved its settings, none being
	// stored), and updateAppStatus saves them again as installed.
	if cluster {
		if err := s.clusterStoreOp(c.e, c.rt, func(cs *amsClusterStore) error { return cs.save(name) }); err != nil {
			return err
		}
	}
	amsWriteJSON(w, http.StatusOK, amsResult{Success: true})
	return nil
}

// amsApplicationsPath prefixes /rest/v2/applications/{appName}.
const amsApplicationsPath = "/rest/v2/applications/"

// createApp is AdminApplication.createApplication(appName, null) on this
// node's version: false when the application runs already, or when
// create_app.sh is discarded or fails. The WarDeployer then deploys what
// create_app.sh left in webapps.
func (s *AMSServer) createApp(e *machine.Env, rt amsRuntime, name string) bool {
	s.appsMu.Lock()
	defer s.appsMu.Unlock()
	if amsAppDeployed(e, name) {
		amsLog(e, "INFO", "io.antmedia.console.AdminApplication", "%s already exists and running", name)
		return false
	}
	// runCreateAppScript: the panel's own database (ConsoleDataStoreFactory
	// db.type and db.host) is passed unless it is MapDB.
	args := []string{"-n", name, "-w", "true", "-p", amsDir, "-c", strconv.FormatBool(rt.Mode == "cluster")}
	if rt.ConsoleDBType != "mapdb" && strings.TrimSpace(rt.ConsoleDBHost) != "" {
		args = append(args, "-m", rt.ConsoleDBHost)
	}
	const logger = "io.antmedia.console.AdminApplication"
	if amsDiscardsSpecialArguments(s.version) {
		amsLog(e, "INFO", logger, "Creating application with command: %s [%s]", amsCreateAppCommand, strings.Join(args, ", "))
		for _, a := range args {
			if amsargs.Refused(a) {
				amsLog(e, "WARN", logger, "Discarding command because an argument includes special characters. Argument:%s and command:%s", a, amsCreateAppCommand)
				return false
			}
		}
	} else {
		// 3.0.0 and 3.0.1 build one command string and split it on " "
		// (getProcess), quoting each word the pattern matches.
		command := amsCreateAppCommand + " " + strings.Join(args, " ")
		amsLog(e, "INFO", logger, "Creating application with command: %s", command)
		args = strings.Split(command, " ")[2:]
		for i, a := range args {
			if amsargs.Refused(a) {
				amsLog(e, "WARN", logger, "Command includes special characters. Escaping the special characters. Argument:%s and full command:%s", a, command)
				args[i] = "'" + a + "'"
			}
		}
	}
	out, code := createAppScript(e, args)
	amsLog(e, "INFO", logger, "%s", strings.TrimSpace(out))
	return code == 0
}

// syncApps is what a cluster node's notifier and its applications' appStart
// do with the cluster database, at most once every amsAppSyncSeconds of a
// run of the server: each local application whose settings the cluster
// lacks stores them; each application the cluster lists (not deleted) that
// the node lacks is created (createApplicationWithURL with no WAR URL:
// createApplication(appName, null)), and tried again at the next look when
// that fails.
func (s *AMSServer) syncApps(e *machine.Env, rt amsRuntime) {
	if rt.Mode != "cluster" {
		return
	}
	s.appsMu.Lock()
	if s.syncedBoot == rt.BootID && e.Now() < s.nextSync {
		s.appsMu.Unlock()
		return
	}
	s.syncedBoot, s.nextSync = rt.BootID, e.Now()+amsAppSyncSeconds
	s.appsMu.Unlock()
	var listed []string
	err := s.clusterStoreOp(e, rt, func(cs *amsClusterStore) error {
		docs, err := cs.all()
		if err != nil {
			return err
		}
		stored := map[string]bool{}
		for _, d := range docs {
			name, _ := d["appName"].(string)
			stored[name] = true
			if status, _ := d["appStatus"].(string); status != amsAppStatusDeleted {
				listed = append(listed, name)
			}
		}
		for _, app := range amsDeployedApps(e) {
			if !stored[app] {
				if err := cs.save(app); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		amsLog(e, "ERROR", "io.antmedia.enterprise.cluster.ClusterNotifier", "%v", err)
		return
	}
	for _, app := range listed {
		if amsAppDeployed(e, app) {
			continue
		}
		amsLog(e, "INFO", "io.antmedia.console.AdminApplication", "Creating application with name %s and uri:null", app)
		s.createApp(e, rt, app)
	}
}

// amsClusterStore is the AppSettings collection of the cluster database as
// the Enterprise ClusterStore reaches it, through clusterdb.host.
type amsClusterStore struct{ c *mongod.MongoConn }

// clusterStoreOp runs op on the cluster database the server started with.
func (s *AMSServer) clusterStoreOp(e *machine.Env, rt amsRuntime, op func(cs *amsClusterStore) error) error {
	c, err := mongod.DialMongo(e.WorldDir, mongoConnectionURI(rt.ClusterDB), e.Node.PrivateIP)
	if err != nil {
		return mongoStoreError(err)
	}
	if c == nil {
		return fmt.Errorf("MongoDB model not available")
	}
	defer c.Close()
	if err := op(&amsClusterStore{c: c}); err != nil {
		return mongoStoreError(err)
	}
	return nil
}

func (cs *amsClusterStore) all() ([]map[string]any, error) {
	return cs.c.Find(amsClusterDB, amsAppSettings)
}

// delete is IClusterStore.deleteAppSettings.
func (cs *amsClusterStore) delete(app string) error {
	_, err := cs.c.Run(amsClusterDB, mongod.MongoCommand{Keys: []string{"delete", "deletes"}, Fields: map[string]any{
		"delete": amsAppSettings, "deletes": []any{map[string]any{"q": map[string]any{"appName": app}, "limit": 0}},
	}})
	return err
}

// save is IClusterStore.saveSettings of an application's settings, the
// fields the sandbox reads: one document per appName (its unique index).
func (cs *amsClusterStore) save(app string) error {
	if err := cs.delete(app); err != nil {
		return err
	}
	return cs.c.InsertUnique(amsClusterDB, amsAppSettings, map[string]any{
		"appName": app, "appStatus": amsAppStatusInstalled, "pullWarFile": false, "warFileOriginServerAddress": "",
		"updateTime": time.Now().UnixMilli(),
	}, "appName")
}

// saveSettings is IClusterStore.saveSettings of an application's whole
// settings bean, as the POST of its settings saves it.
func (cs *amsClusterStore) saveSettings(app string, settings map[string]any) error {
	if err := cs.delete(app); err != nil {
		return err
	}
	doc := map[string]any{"pullWarFile": false, "warFileOriginServerAddress": ""}
	for k, v := range settings {
		doc[k] = v
	}
	doc["appName"] = app
	return cs.c.InsertUnique(amsClusterDB, amsAppSettings, doc, "appName")
}

// amsAppEndpoints are the panel's application methods (RestServiceV2
// getApplications and createApplication), by request URI or template.
func amsAppEndpoints() map[string]amsEndpoint {
	return map[string]amsEndpoint{
		"/rest/v2/applications":           {method: http.MethodGet, handler: (*AMSServer).listApplications},
		amsApplicationsPath + "{appName}": {method: http.MethodPost, json: true, handler: (*AMSServer).createApplication},
	}
}

// amsEndpointKey is the key of amsAppEndpoints a request URI matches:
// itself, or the template of a path with a parameter.
func amsEndpointKey(path string) string {
	if name, ok := strings.CutPrefix(path, amsApplicationsPath); ok && name != "" && !strings.Contains(name, "/") {
		return amsApplicationsPath + "{appName}"
	}
	return path
}
