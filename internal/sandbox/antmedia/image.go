package antmedia

import (
	"bufio"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/ams-cluster/ams-aws/internal/sandbox/machine"
)

// The Ant Media Server installation of the Marketplace image, and the
// antmedia.service daemon that systemctl starts and stops.

// Paths of the installation, on the node.
const (
	amsDir = "/usr/local/antmedia"
	// amsUnit is where the package puts the unit file
	// (Ant-Media-Server src/main/server/antmedia.service).
	amsUnit = "/lib/systemd/system/antmedia.service"
	// amsRuntimeState is the sandbox's record of the running daemon.
	amsRuntimeState = "services/antmedia.json"
)

// amsWebapps are the applications of the Marketplace image: the web panel
// (webapps/root, whose WEB-INF/red5-web.properties configures the user store:
// Ant-Media-Server src/main/server/webapps/root/WEB-INF/red5-web.properties)
// and the two default applications.
func amsWebapps() []string { return []string{"root", "LiveApp", "WebRTCAppEE"} }

// amsStartupSeconds is how long, in virtual seconds, antmedia.service takes
// from start until Tomcat answers on port 5080 (JVM start and deployment of
// the webapps). The sandbox's own assumption: no upstream source states it.
const amsStartupSeconds = 10

// Install lays out /usr/local/antmedia as the Marketplace image has it,
// with antmedia.service installed and enabled. change_server_mode.sh is the
// sandbox's stand-in.
func Install(e *machine.Env) error {
	dir := e.Path(amsDir)
	files := map[string]string{
		"conf/red5.properties":   amsRed5Properties,
		"conf/jee-container.xml": amsJeeContainer,
		"conf/functions.sh":      "# change_server_mode() of Ant-Media-Server src/main/server/conf/functions.sh;\n# in the sandbox, change_server_mode.sh is a stand-in that models it.\n",
	}
	for _, app := range amsWebapps() {
		files["webapps/"+app+"/WEB-INF/red5-web.properties"] = amsWebProperties(app)
	}
	for name, body := range files {
		if err := amsWriteFile(filepath.Join(dir, name), body, 0o644); err != nil {
			return fmt.Errorf("install %s: %w", name, err)
		}
	}
	if err := os.MkdirAll(filepath.Join(dir, "log"), 0o755); err != nil {
		return fmt.Errorf("install log dir: %w", err)
	}
	self, err := machine.ShimTarget()
	if err != nil {
		return fmt.Errorf("install change_server_mode.sh: %w", err)
	}
	if err := os.Symlink(self, filepath.Join(dir, "change_server_mode.sh")); err != nil {
		return fmt.Errorf("install change_server_mode.sh: %w", err)
	}
	return enableAMSUnit(e)
}

// enableAMSUnit writes the unit file and enables it as `systemctl enable`
// does: a symlink in multi-user.target.wants (the unit's WantedBy=).
func enableAMSUnit(e *machine.Env) error {
	unit := e.Path(amsUnit)
	if err := amsWriteFile(unit, amsUnitFile, 0o644); err != nil {
		return fmt.Errorf("install unit: %w", err)
	}
	link := e.Path("/etc/systemd/system/multi-user.target.wants/antmedia.service")
	if err := os.MkdirAll(filepath.Dir(link), 0o755); err != nil {
		return fmt.Errorf("enable unit: %w", err)
	}
	if err := os.Symlink(unit, link); err != nil {
		return fmt.Errorf("enable unit: %w", err)
	}
	return nil
}

func amsWriteFile(path, body string, mode os.FileMode) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, []byte(body), mode)
}

// amsRuntime is what a running antmedia.service read when it started: the
// server keeps these settings until it restarts, whatever the files say later.
type amsRuntime struct {
	Running bool `json:"running"`
	// BootID tells one run of the JVM from the next: sessions and the
	// login-attempt counters live in memory and die with it.
	BootID    string `json:"bootId"`
	StartedAt int    `json:"startedAt"`
	// ReadyAt is the virtual time from which Tomcat answers.
	ReadyAt int `json:"readyAt"`
	// Mode is "cluster" when conf/jee-container.xml has the cluster beans
	// enabled, else "standalone".
	Mode string `json:"mode"`
	// ClusterDB is clusterdb.host of conf/red5.properties.
	ClusterDB string `json:"clusterDb"`
	// ConsoleDBType and ConsoleDBHost are db.type and db.host of the web
	// panel (webapps/root/WEB-INF/red5-web.properties), which choose the user
	// store (Ant-Media-Server ConsoleDataStoreFactory.getDataStore).
	ConsoleDBType string `json:"consoleDbType"`
	ConsoleDBHost string `json:"consoleDbHost"`
	// Hostname is the host name InetAddress.getLocalHost() reports.
	Hostname string `json:"hostname"`
}

// Start starts antmedia.service: the server reads its configuration now
// and answers amsStartupSeconds later.
func Start(e *machine.Env) error {
	if _, err := os.Stat(e.State(amsBrokenState)); err == nil {
		return fmt.Errorf("antmedia.service: the JVM exits at start (the sandbox broke this server)")
	}
	cfg, err := ReadAMSConfig(e)
	if err != nil {
		return err
	}
	id := make([]byte, 8)
	_, _ = rand.Read(id)
	cfg.Running = true
	cfg.BootID = hex.EncodeToString(id)
	cfg.StartedAt = e.Now()
	cfg.ReadyAt = cfg.StartedAt + amsStartupSeconds
	return saveAMSRuntime(e, cfg)
}

// Stop stops antmedia.service.
func Stop(e *machine.Env) error {
	rt, _ := loadAMSRuntime(e)
	rt.Running = false
	return saveAMSRuntime(e, rt)
}

// ReadAMSConfig reads the settings the server starts with from the files of
// the installation, as they are now.
func ReadAMSConfig(e *machine.Env) (amsRuntime, error) {
	dir := e.Path(amsDir)
	red5, err := readJavaProperties(filepath.Join(dir, "conf/red5.properties"))
	if err != nil {
		return amsRuntime{}, fmt.Errorf("antmedia: reading server settings: %w", err)
	}
	console, err := readJavaProperties(filepath.Join(dir, "webapps/root/WEB-INF/red5-web.properties"))
	if err != nil {
		return amsRuntime{}, fmt.Errorf("antmedia: reading web panel settings: %w", err)
	}
	jee, err := os.ReadFile(filepath.Join(dir, "conf/jee-container.xml"))
	if err != nil {
		return amsRuntime{}, fmt.Errorf("antmedia: reading container settings: %w", err)
	}
	host, _ := os.ReadFile(e.Path("/etc/hostname"))
	return amsRuntime{
		Mode:          jeeMode(string(jee)),
		ClusterDB:     red5["clusterdb.host"],
		ConsoleDBType: console["db.type"],
		ConsoleDBHost: console["db.host"],
		Hostname:      strings.TrimSpace(string(host)),
	}, nil
}

// jeeMode tells the server mode from conf/jee-container.xml: cluster mode
// is the "tomcat.cluster" bean between "<!-- cluster start -->" and
// "<!-- cluster end -->" markers that are comments of their own
// (Ant-Media-Server src/main/server/conf/functions.sh, change_server_mode;
// AdminApplication.appStart: isCluster = hasBean(IClusterNotifier)).
func jeeMode(xml string) string {
	if strings.Contains(xml, "<!-- cluster start -->") {
		return "cluster"
	}
	return "standalone"
}

func loadAMSRuntime(e *machine.Env) (amsRuntime, error) {
	var rt amsRuntime
	b, err := os.ReadFile(e.State(amsRuntimeState))
	if errors.Is(err, os.ErrNotExist) {
		return rt, nil
	}
	if err != nil {
		return rt, fmt.Errorf("antmedia state: %w", err)
	}
	if err := json.Unmarshal(b, &rt); err != nil {
		return rt, fmt.Errorf("antmedia state: %w", err)
	}
	return rt, nil
}

func saveAMSRuntime(e *machine.Env, rt amsRuntime) error {
	b, _ := json.Marshal(rt)
	path := e.State(amsRuntimeState)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("antmedia state: %w", err)
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		return fmt.Errorf("antmedia state: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("antmedia state: %w", err)
	}
	return nil
}

// readJavaProperties reads a Java properties file: key=value lines, # comments.
// A key given twice keeps its last value, as java.util.Properties does.
func readJavaProperties(path string) (map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	props := map[string]string{}
	s := bufio.NewScanner(f)
	for s.Scan() {
		line := strings.TrimSpace(s.Text())
		if line == "" || strings.HasPrefix(line, "#") || strings.HasPrefix(line, "!") {
			continue
		}
		k, v, _ := strings.Cut(line, "=")
		props[strings.TrimSpace(k)] = strings.TrimSpace(v)
	}
	return props, s.Err()
}

// amsUnitFile is the unit the package installs, as in Ant-Media-Server
// src/main/server/antmedia.service (ExecStart shortened).
const amsUnitFile = `[Unit]
Description=Ant Media Server
After=syslog.target network.target

[Service]
Type=simple
Environment=JAVA_HOME=/usr/lib/jvm/java-17-openjdk-amd64
Environment=ANTMEDIA_HOME=/usr/local/antmedia
WorkingDirectory=/usr/local/antmedia
Restart=on-failure
RestartSec=5s
TimeoutStopSec=10
SuccessExitStatus=143
User=antmedia
Group=antmedia
StandardOutput=null
StandardError=append:/usr/local/antmedia/log/antmedia-error.log
ExecStart=/usr/bin/env ${JAVA_HOME}/bin/java -cp ${ANTMEDIA_HOME}/ant-media-server-service.jar:${ANTMEDIA_HOME}/conf org.red5.server.Bootstrap 9999

[Install]
WantedBy=multi-user.target
`

// amsRed5Properties holds the keys of Ant-Media-Server
// src/main/server/conf/red5.properties (3.0.x) that the sandbox reads or
// change_server_mode.sh writes, with their shipped values.
const amsRed5Properties = `#ant media server settings
server.name=
server.licence_key=
server.market_build=false
server.marketplace=
server.heartbeatEnabled=true
server.jwtServerControlEnabled=false
server.jwtServerSecretKey=
server.jwksURL=
server.allowed_dashboard_CIDR=0.0.0.0/0
nodeGroup=default
logLevel=INFO
nativeLogLevel=ERROR
useGlobalIp=false

# HTTP
http.host=0.0.0.0
http.port=5080
https.port=5443

#cluster db properties
clusterdb.host=localhost
clusterdb.user=
clusterdb.password=
`

// amsJeeContainer keeps the cluster markers of Ant-Media-Server
// src/main/server/conf/jee-container.xml (3.0.x) as shipped: cluster beans
// commented out (standalone mode).
const amsJeeContainer = `<?xml version="1.0" encoding="UTF-8"?>
<beans xmlns="http://www.springframework.org/schema/beans">
	<!-- cluster start
	<bean id="tomcat.cluster" class="io.antmedia.enterprise.cluster.TcpCluster">
		<property name="clusterStore">
			<bean class="io.antmedia.enterprise.cluster.ClusterStore">
				<constructor-arg value="${clusterdb.host}" />
				<constructor-arg value="${clusterdb.user}" />
				<constructor-arg value="${clusterdb.password}" />
			</bean>
		</property>
	</bean>
	cluster end -->

	<bean id="tomcat.server" class="org.red5.server.tomcat.TomcatLoader" depends-on="context.loader,warDeployer" lazy-init="true">
		<!-- cluster start
		<property name="clusterNotifier" ref="tomcat.cluster" />
		cluster end -->
		<property name="webappFolder" value="${red5.root}/webapps" />
		<property name="valves">
			<list>
				<!-- cluster start
				<bean id="valve.cluster" class="io.antmedia.enterprise.cluster.HttpLiveStreamValve" />
				cluster end -->
			</list>
		</property>
	</bean>
</beans>
`

// amsWebProperties is an application's WEB-INF/red5-web.properties: the web
// panel's as in Ant-Media-Server src/main/server/webapps/root/WEB-INF/
// red5-web.properties; an application's with the keys create_app.sh sets
// (webapp.contextPath, db.name, db.type, db.host, db.user, db.password), and
// a setting under its 3.0 key: since Ant-Media-Server commit cf00a1459
// (in every 3.0 tag) AppSettings reads the field names
// (@Value("${hlsMuxingEnabled:true}")), no longer the old "settings.*" keys.
func amsWebProperties(app string) string {
	if app == "root" {
		return "webapp.contextPath=/root\nwebapp.virtualHosts=*\n\ndb.app.name=ConsoleApp\ndb.name=server\ndb.type=mapdb\ndb.host=localhost\ndb.user=\ndb.password=\n"
	}
	return fmt.Sprintf("webapp.contextPath=/%s\nwebapp.virtualHosts=*\ndb.app.name=%s\ndb.name=%s\ndb.type=mapdb\ndb.host=localhost\ndb.user=\ndb.password=\nhlsMuxingEnabled=true\n",
		app, app, strings.ToLower(app))
}

// amsBrokenState marks a server that Break killed for good.
const amsBrokenState = "ams-broken"

// Break kills the node's running server for good, as a corrupted
// installation or a full disk would: it stops answering at once, and every
// later start of antmedia.service fails.
func Break(e *machine.Env) error {
	if err := os.WriteFile(e.State(amsBrokenState), nil, 0o644); err != nil {
		return err
	}
	return Stop(e)
}
