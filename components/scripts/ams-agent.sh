#!/bin/bash
# Agent of an Ant Media Server node, run by ams-agent.service once the node
# is in the cluster. Every AGENT_INTERVAL seconds it reads the node's own
# load from Ant Media Server's application REST API on localhost (allowed
# without a token: each application's remoteAllowedCIDR is 127.0.0.1 by
# default) and puts it into CloudWatch:
#   Publishers   streams published on this node (originAdress is its address)
#   Viewers      WebRTC players on this node (webrtc-client-stats of each stream)
#   LiveStreams  broadcasting streams published here or played here
# On an origin it protects the instance from scale-in while it carries a
# publisher. When Auto Scaling terminates the node (the load balancer has
# deregistered it already), it waits for its publishers and viewers to
# leave, at most DRAIN_SECONDS, then completes the terminating hook.
# It also answers the load balancer's health checks (HEALTH_LISTEN): 503
# while the node is full or Ant Media Server is down, so that the node
# leaves rotation and keeps its streams; and it has the instance replaced
# (SetInstanceHealth) only once Ant Media Server stayed down, restarts
# tried, for DOWN_REPLACE_SECONDS (docs/capacity.md).
set -euo pipefail

readonly ROLE={{ shq .Role }}
readonly REGION={{ shq .Region }}
readonly METRIC_NAMESPACE={{ shq .MetricNamespace }}
readonly DRAIN_HOOK={{ shq .DrainHookName }}
readonly DRAIN_SECONDS={{ shq .DrainSeconds }}
readonly AGENT_INTERVAL={{ shq .AgentIntervalSeconds }}
readonly RECORDINGS={{ if .Recordings }}yes{{ else }}no{{ end }}
# Whether the group may run this node on Spot: only then are there notices
# to watch for (two metadata reads every reading).
readonly SPOT={{ if .Spot }}yes{{ else }}no{{ end }}
readonly HEALTH_LISTEN={{ shq .Capacity.Listen }}
readonly HEALTH_PATH={{ shq .Capacity.Path }}
readonly MAX_VIEWERS={{ shq .Capacity.MaxViewers }}
readonly MAX_PUBLISHERS={{ shq .Capacity.MaxPublishers }}
readonly RESUME_PERCENT={{ shq .Capacity.ResumePercent }}
readonly DOWN_REPLACE_SECONDS={{ shq .Capacity.DownReplaceSeconds }}

readonly AMS_URL=http://127.0.0.1:5080
readonly AMS_APPS="LiveApp WebRTCAppEE"
readonly IMDS_URL=http://169.254.169.254
readonly SSM_URL="https://ssm.${REGION}.amazonaws.com"
readonly AUTOSCALING_URL="https://autoscaling.${REGION}.amazonaws.com"
readonly MONITORING_URL="https://monitoring.${REGION}.amazonaws.com"
readonly PROTECTED=/var/lib/ams-agent/protected

log() { printf '%s ams-agent[%s]: %s\n' "$(date -Is)" "$ROLE" "$*" >&2; }

{{ template "awscall" }}

{{ template "lifecycle" }}

{{ template "appsettings" . }}
readonly AMS_DIR=/usr/local/antmedia
# How often, in agent rounds, the node checks its settings for drift.
readonly APPSET_EVERY=$(((60 + AGENT_INTERVAL - 1) / AGENT_INTERVAL))
appset_round=0
appset_off=""

# keep_settings re-applies the managed settings when they drifted from the
# stack's (an administrator changed them in the panel, a restart read older
# ones): every APPSET_EVERY rounds, it reads the document again (a `pulumi
# up` may have changed it) and logs what it changed. After the panel
# refused the credentials it stops: more refusals would block the
# administrator's e-mail.
keep_settings() {
  local doc status=0
  if [ -z "$APPSET_PARAMETER" ] || [ -n "$appset_off" ]; then
    return 0
  fi
  appset_round=$((appset_round + 1))
  if [ $(((appset_round - 1) % APPSET_EVERY)) -ne 0 ]; then
    return 0
  fi
  if ! doc=$(app_settings_document); then
    log "could not read the application settings; checking again later"
    return 0
  fi
  apply_server_settings "$doc" || log "could not check the server settings"
  apply_app_settings "$doc" quiet || status=$?
  case $status in
    0) ;;
    4)
      appset_off=yes
      log "the panel refused the stack's administrator: no more settings checks until the agent restarts"
      ;;
    *) log "could not check the application settings; checking again later" ;;
  esac
}

# node_load prints "streams viewers publishers" of this node, reading every
# page of each application's broadcast list; it fails when Ant Media Server
# does not answer.
node_load() {
  AGENT_BASE=$AMS_URL AGENT_APPS=$AMS_APPS AGENT_IP=$ip python3 -I -S -c '
import json, os, sys, urllib.error, urllib.parse, urllib.request
base, ip = os.environ["AGENT_BASE"], os.environ["AGENT_IP"]
direct = urllib.request.build_opener(urllib.request.ProxyHandler({}))
def pages(path):
    offset = 0
    while True:
        try:
            with direct.open(f"{base}{path}/{offset}/50", timeout=5) as resp:
                items = json.load(resp)
        except urllib.error.HTTPError as err:
            if err.code == 404:
                return
            raise
        yield from items
        if len(items) < 50:
            return
        offset += 50
streams = viewers = publishers = 0
try:
    for app in os.environ["AGENT_APPS"].split():
        for b in pages(f"/{app}/rest/v2/broadcasts/list"):
            if b.get("status") != "broadcasting":
                continue
            here = b.get("originAdress") == ip
            sid = urllib.parse.quote(b.get("streamId", ""), safe="")
            players = sum(1 for _ in pages(f"/{app}/rest/v2/broadcasts/{sid}/webrtc-client-stats"))
            publishers += here
            viewers += players
            streams += here or players > 0
except (OSError, ValueError) as err:
    print(f"Ant Media Server does not answer: {err}", file=sys.stderr)
    sys.exit(1)
print(streams, viewers, publishers)
'
}

publish() {
  aws_call put-metrics "$METRIC_NAMESPACE" "$group" "LiveStreams=$1" "Viewers=$2" "Publishers=$3" ${4:+"CapacityUsed=$4"} ||
    log "could not put the node's metrics"
}

# protect_while_publishing keeps an origin with a publisher out of scale-in.
protect_while_publishing() {
  local publishers=$1
  if [ "$publishers" -gt 0 ] && [ ! -f "$PROTECTED" ]; then
    aws_call protect "$group" true && mkdir -p "${PROTECTED%/*}" && touch "$PROTECTED" &&
      log "protected from scale-in: $publishers publishers on the node"
  elif [ "$publishers" -eq 0 ] && [ -f "$PROTECTED" ]; then
    aws_call protect "$group" false && rm -f "$PROTECTED" &&
      log "the last publisher left: no longer protected from scale-in"
  fi
}

# drain waits for the node's publishers and viewers to leave, at most
# DRAIN_SECONDS, then lets the termination go on.
drain() {
  local waited=0 streams viewers publishers beat=no load limit=${1:-$DRAIN_SECONDS}
  log "terminating: draining for at most ${limit}s"
  while :; do
    # A server that does not answer may be restarting: its sessions are
    # unknown, not gone.
    load=$(node_load) || load="? ? ?"
    read -r streams viewers publishers <<<"$load"
    if [ "$viewers" = 0 ] && [ "$publishers" = 0 ]; then
      log "drained after ${waited}s: no publishers or viewers left"
      break
    fi
    if [ "$streams" = "?" ] && [ -f "$REPLACING" ]; then
      log "Ant Media Server is down and the node is being replaced: nothing to drain"
      break
    fi
    if [ "$waited" -ge "$limit" ]; then
      log "drain window of ${limit}s over: $publishers publishers and $viewers viewers still on the node"
      break
    fi
    if [ $((waited % 60)) -eq 0 ]; then
      log "draining: waiting for $publishers publishers and $viewers viewers on $streams streams (${waited}s of ${limit}s)"
    fi
    # Past half the window, one heartbeat keeps the hook open until the
    # agent's own deadline.
    if [ "$beat" = no ] && [ "$waited" -ge $((limit / 2)) ]; then
      if aws_call heartbeat "$group" "$DRAIN_HOOK"; then
        beat=yes
      else
        log "could not record a heartbeat"
      fi
    fi
    if [ "$streams" != "?" ]; then
      publish "$streams" "$viewers" "$publishers"
    fi
    sleep "$AGENT_INTERVAL"
    waited=$((waited + AGENT_INTERVAL))
  done
  wait_for_recordings "$waited" "$limit"
  forget_nodes self || log "could not remove this node from the cluster list; the next node to start removes it"
  if complete_lifecycle "$group" "$DRAIN_HOOK" CONTINUE; then
    log "termination may go on"
  else
    log "could not complete the terminating hook; its timeout lets the termination go on"
  fi
}

# ----- recordings (issue 18): a leaving node's MP4s reach the bucket --------
# Ant Media 3.0.x finishes a recording only after its stream ended
# (RecordMuxer.writeTrailer): the MP4 is written as <name>.mp4.tmp_extension
# (Muxer.TEMP_EXTENSION), renamed to <name>.mp4 (finalizeRecordFile), then
# uploaded in the background (AmazonS3StorageClient.save through the SDK's
# TransferManager), which deletes the local file only once the transfer has
# completed (listenUploadProgress, TRANSFER_COMPLETED_EVENT). No REST field
# tells that an upload is running: the streams directories are the signal.
# An MP4 older than the agent's first start in this boot is no recording of
# this life (a VoD, an upload that failed before) and is not waited for.
readonly AMS_WEBAPPS=/usr/local/antmedia/webapps
readonly AGENT_STARTED=/run/ams-agent/started

# mark_agent_start notes the agent's first start in this boot (/run is
# emptied at every boot).
mark_agent_start() {
  [ -e "$AGENT_STARTED" ] || { mkdir -p "${AGENT_STARTED%/*}" && touch "$AGENT_STARTED"; }
}

# pending_recordings prints the node's recordings still being finalized or
# not yet uploaded, one a line.
pending_recordings() {
  local app dir
  for app in $AMS_APPS; do
    dir="$AMS_WEBAPPS/$app/streams"
    [ -d "$dir" ] || continue
    find "$dir" -type f \( -name '*.mp4.tmp_extension' -o \( -name '*.mp4' -newer "$AGENT_STARTED" \) \) -printf "$app/%P\n"
  done
}

# wait_for_recordings waits until no recording is pending, for what is left
# of the drain window ($2 seconds, DRAIN_SECONDS by default) once $1 seconds
# of it are spent. One heartbeat as the
# wait begins keeps the hook open until the agent's own deadline.
wait_for_recordings() {
  local waited=$1 limit=${2:-$DRAIN_SECONDS} pending beat=no
  [ "$RECORDINGS" = yes ] || return 0
  while :; do
    pending=$(pending_recordings)
    if [ -z "$pending" ]; then
      if [ "$beat" = yes ]; then
        log "recordings finalized and uploaded after ${waited}s"
      fi
      return 0
    fi
    if [ "$waited" -ge "$limit" ]; then
      log "recordings not uploaded when the ${limit}s window closed: $(printf '%s' "$pending" | tr '\n' ' ')"
      return 0
    fi
    if [ "$beat" = no ]; then
      log "waiting for recordings to be finalized and uploaded (${waited}s of ${limit}s): $(printf '%s' "$pending" | tr '\n' ' ')"
      aws_call heartbeat "$group" "$DRAIN_HOOK" || log "could not record a heartbeat"
      beat=yes
    fi
    sleep "$AGENT_INTERVAL"
    waited=$((waited + AGENT_INTERVAL))
  done
}

# ----- Routing health and replacement health (docs/capacity.md) -----------
readonly AMS_PROPERTIES=/usr/local/antmedia/conf/red5.properties
readonly HEALTH_DIR=/run/ams-agent
readonly VERDICT=/run/ams-agent/verdict
readonly CPU_SAMPLE=/run/ams-agent/cpu-sample
# Written once the agent asked for the instance to be replaced.
readonly REPLACING=/var/lib/ams-agent/replacing
down_for=0
down_since=""
restarts=0
answered=no
agent_started=""

# set_verdict STATE REASON: what the health endpoint answers from now on:
# "in" (200) takes new sessions; "full", "down" and "starting" (503) do not.
# A change is logged once.
set_verdict() {
  local was=""
  was=$(cut -d' ' -f1 "$VERDICT" 2>/dev/null) || true
  printf '%s %s\n' "$1" "$2" >"$VERDICT.new" && mv -f "$VERDICT.new" "$VERDICT"
  if [ "$was" != "$1" ]; then
    if [ "$1" = in ]; then
      log "back in rotation: $2"
    else
      log "out of rotation ($1): $2"
    fi
  fi
}

# start_health_endpoint serves the verdict to the load balancer's health
# checks on HEALTH_LISTEN, as a child of the agent: when the agent stops,
# the endpoint stops too and the node leaves rotation.
start_health_endpoint() {
  mkdir -p "$HEALTH_DIR"
  set_verdict starting "the agent has not read the node yet"
  AGENT_LISTEN=$HEALTH_LISTEN AGENT_PATH=$HEALTH_PATH AGENT_VERDICT=$VERDICT python3 -I -S -c '
import http.server, os
host, _, port = os.environ["AGENT_LISTEN"].rpartition(":")
path, verdict = os.environ["AGENT_PATH"], os.environ["AGENT_VERDICT"]
class Health(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path.split("?")[0] != path:
            self.send_error(404)
            return
        try:
            with open(verdict) as f:
                text = f.read().strip()
        except OSError:
            text = "starting no verdict yet"
        body = (text + "\n").encode()
        self.send_response(200 if text.split(" ")[0] == "in" else 503)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *args):
        pass
http.server.ThreadingHTTPServer((host, int(port)), Health).serve_forever()
' &
  health_pid=$!
  trap 'kill "$health_pid" 2>/dev/null || true' EXIT
  log "answering health checks on $HEALTH_LISTEN$HEALTH_PATH"
}

# capacity_used VIEWERS PUBLISHERS prints how close the node is to its
# nearest limit, in percent, and which limit that is. CPU and memory are
# measured as Ant Media Server measures them against its own limits
# (StatsCollector.enoughResource in 3.0.x: system CPU load below
# server.cpu_limit, (MemTotal - MemAvailable) / MemTotal below
# server.memory_limit_percentage, 75 by default and kept within 10..100).
capacity_used() {
  AGENT_PROPERTIES=$AMS_PROPERTIES AGENT_SAMPLE=$CPU_SAMPLE AGENT_VIEWERS=$1 AGENT_PUBLISHERS=$2 \
    AGENT_MAX_VIEWERS=$MAX_VIEWERS AGENT_MAX_PUBLISHERS=$MAX_PUBLISHERS python3 -I -S -c '
import os
env = os.environ
def limit(props, key):
    try:
        return min(100, max(10, int(props.get(key, "75"))))
    except ValueError:
        return 75
props = {}
try:
    with open(env["AGENT_PROPERTIES"]) as f:
        for line in f:
            k, sep, v = line.strip().partition("=")
            if sep and not k.startswith("#"):
                props[k.strip()] = v.strip()
except OSError:
    pass
cpu_limit, mem_limit = limit(props, "server.cpu_limit"), limit(props, "server.memory_limit_percentage")
cpu = mem = 0
try:
    with open("/proc/stat") as f:
        fields = [int(x) for x in f.readline().split()[1:]]
    idle, total = fields[3] + fields[4], sum(fields[:8])
    try:
        with open(env["AGENT_SAMPLE"]) as f:
            last_idle, last_total = (int(x) for x in f.read().split())
        if total > last_total:
            cpu = 100 * (1 - (idle - last_idle) / (total - last_total))
    except (OSError, ValueError):
        pass
    with open(env["AGENT_SAMPLE"], "w") as f:
        f.write(f"{idle} {total}")
    info = {}
    with open("/proc/meminfo") as f:
        for line in f:
            k, _, v = line.partition(":")
            info[k] = int(v.split()[0])
    mem = 100 * (info["MemTotal"] - info["MemAvailable"]) / info["MemTotal"]
except (OSError, ValueError, KeyError, IndexError, ZeroDivisionError):
    pass
viewers, publishers = int(env["AGENT_VIEWERS"]), int(env["AGENT_PUBLISHERS"])
max_viewers, max_publishers = int(env["AGENT_MAX_VIEWERS"]), int(env["AGENT_MAX_PUBLISHERS"])
shares = [
    (100 * cpu / cpu_limit, f"CPU {cpu:.0f}% of Ant Media limit {cpu_limit}%"),
    (100 * mem / mem_limit, f"memory {mem:.0f}% of Ant Media limit {mem_limit}%"),
    (100 * viewers / max_viewers, f"{viewers} of {max_viewers} viewers"),
    (100 * publishers / max_publishers, f"{publishers} of {max_publishers} publishers"),
]
used, why = max(shares)
print(int(used), why)
'
}

# judge_capacity STREAMS VIEWERS PUBLISHERS sets the verdict with
# hysteresis and prints the capacity used: a node at 100 % of a limit goes
# out of rotation and comes back only below RESUME_PERCENT of every limit,
# so that it does not flap around the limit.
judge_capacity() {
  local used why state
  read -r used why <<<"$(capacity_used "$2" "$3")"
  state=$(cut -d' ' -f1 "$VERDICT" 2>/dev/null) || true
  if [ "$used" -ge 100 ]; then
    set_verdict full "$why"
  elif [ "$state" = full ] && [ "$used" -ge "$RESUME_PERCENT" ]; then
    set_verdict full "$why (${used}% of the nearest limit; back below ${RESUME_PERCENT}%)"
  else
    set_verdict in "$why (${used}% of the nearest limit)"
  fi
  printf '%s\n' "$used"
}

# ams_answers notes that Ant Media Server answered.
ams_answers() {
  if [ -n "$down_since" ]; then
    log "Ant Media Server answers again after $(($(uptime_seconds) - down_since))s down and $restarts restart attempts"
  fi
  answered=yes down_for=0 restarts=0 down_since=""
}

# uptime_seconds prints the seconds since the node booted (/proc/uptime,
# proc(5)): a monotonic clock, so down time is measured in seconds however
# long the readings take, and a change of the wall clock cannot move it.
uptime_seconds() {
  local up rest
  read -r up rest </proc/uptime
  printf '%s\n' "${up%.*}"
}

# ams_down handles a reading Ant Media Server did not answer: the node
# leaves rotation at once; after a third and two thirds of
# DOWN_REPLACE_SECONDS the agent restarts the server; once it stayed down
# for DOWN_REPLACE_SECONDS the agent marks the instance unhealthy and the
# group replaces it. A server that has not answered since the agent
# started is still starting (a reboot, leaving the warm pool): it gets
# DOWN_REPLACE_SECONDS more before the count begins.
ams_down() {
  local now
  set_verdict down "Ant Media Server does not answer"
  now=$(uptime_seconds)
  if [ "$answered" = no ] && [ $((now - agent_started)) -lt "$DOWN_REPLACE_SECONDS" ]; then
    return 0
  fi
  # Counted from the first reading it did not answer.
  [ -n "$down_since" ] || down_since=$now
  down_for=$((now - down_since))
  if [ "$down_for" -ge "$DOWN_REPLACE_SECONDS" ]; then
    # Again at every reading while down: Auto Scaling ignores the call
    # within the group's health check grace period.
    if aws_call set-health Unhealthy; then
      if [ ! -f "$REPLACING" ]; then
        mkdir -p "${REPLACING%/*}" && date -Is >"$REPLACING"
        log "Ant Media Server down for ${down_for}s after $restarts restart attempts: marked the instance unhealthy; the group replaces it"
      fi
    else
      log "could not mark the instance unhealthy; trying again in ${AGENT_INTERVAL}s"
    fi
  elif [ "$down_for" -ge $(((restarts + 1) * DOWN_REPLACE_SECONDS / 3)) ]; then
    restarts=$((restarts + 1))
    log "Ant Media Server down for ${down_for}s: restart attempt $restarts"
    systemctl restart --no-block antmedia.service || log "could not restart antmedia.service"
  else
    log "Ant Media Server does not answer (${down_for}s of ${DOWN_REPLACE_SECONDS}s)"
  fi
}

# ----- Spot notices and the cluster list (issue 19, items 3 and 4) ---------

readonly PANEL_ADMIN_EMAIL={{ shq .PanelAdminEmail }}
readonly PANEL_ADMIN_PASSWORD_PARAMETER={{ shq .PanelAdminPasswordParameter }}
# A cluster node whose heartbeat (lastUpdateTime, written every 5 s) is this
# old died without draining. Ant Media calls a node dead after 20 s
# (io.antmedia.cluster.ClusterNode.getStatus); the bound is fifteen times
# that, beyond an Ant Media restart, so that a node that is slow or
# restarting is never removed, and one that comes back is added again by
# its next heartbeat (IClusterStore.addOrUpdate).
readonly CLUSTER_STALE_SECONDS=300
# How often a serving node looks for departed nodes again, beyond its start.
readonly CLUSTER_SWEEP_SECONDS=600
# How long before a Spot interruption the drain ends, so that the node
# removes itself from the cluster list and completes its hook in time.
readonly SPOT_MARGIN_SECONDS=15

# forget_nodes self|departed logs in to the panel as the stack's
# administrator (the cluster endpoints are behind the AuthenticationFilter,
# even on localhost) and deletes from Ant Media's cluster list
# (ClusterRestServiceV2: GET /rest/v2/cluster/nodes/{offset}/{size},
# DELETE /rest/v2/cluster/node/{id}) this node's own entries (self: its
# private or public address) or the entries of other nodes whose heartbeat
# stopped CLUSTER_STALE_SECONDS before the freshest one (departed). The
# password hash reaches Python in its environment, never on a command line.
forget_nodes() {
  if [ -z "$PANEL_ADMIN_PASSWORD_PARAMETER" ]; then
    log "no panel password parameter: the agent cannot log in to change the cluster list"
    return 1
  fi
  local password hash public status=0
  password=$(aws_call ssm-get "$PANEL_ADMIN_PASSWORD_PARAMETER") || return 1
  hash=$(printf '%s' "$password" | md5sum | cut -d' ' -f1)
  unset password
  public=$(aws_call imds meta-data/public-ipv4 2>/dev/null) || public=""
  PANEL_EMAIL=$PANEL_ADMIN_EMAIL PANEL_HASH=$hash FORGET=$1 OWN_IPS="$ip $public" \
    STALE_SECONDS=$CLUSTER_STALE_SECONDS AGENT_BASE=$AMS_URL python3 -I -S -c '
import json, os, sys, time, urllib.error, urllib.parse, urllib.request
env = os.environ
opener = urllib.request.build_opener(urllib.request.ProxyHandler({}), urllib.request.HTTPCookieProcessor())
def call(method, path, body=None):
    headers = {"Content-Type": "application/json"} if body else {}
    req = urllib.request.Request(env["AGENT_BASE"] + path, data=body, method=method, headers=headers)
    with opener.open(req, timeout=10) as resp:
        return json.load(resp)
try:
    login = json.dumps({"email": env["PANEL_EMAIL"], "password": env["PANEL_HASH"]}).encode()
    if not call("POST", "/rest/v2/users/authenticate", login).get("success"):
        sys.exit("the panel refused the stack administrator")
    nodes, offset = [], 0
    while True:
        page = call("GET", f"/rest/v2/cluster/nodes/{offset}/50")
        nodes += page
        if len(page) < 50:
            break
        offset += 50
    # Ages are measured against the freshest heartbeat in the list (a
    # running node wrote it seconds ago), so that clocks need not agree.
    own = set(env["OWN_IPS"].split())
    now = max([n.get("lastUpdateTime") or 0 for n in nodes] + [0]) or time.time() * 1000
    for n in nodes:
        nid, ip, last = n.get("id") or "", n.get("ip") or "", n.get("lastUpdateTime") or 0
        age = int((now - last) / 1000)
        if env["FORGET"] == "self":
            gone = ip in own
        else:
            gone = ip not in own and age > int(env["STALE_SECONDS"])
        if not gone:
            continue
        if not nid:
            print(f"cluster node at {ip} has no id: it cannot be removed", file=sys.stderr)
            continue
        done = call("DELETE", "/rest/v2/cluster/node/" + urllib.parse.quote(nid, safe="")).get("success")
        verb = "removed" if done else "could not remove"
        print(f"{verb} cluster node {nid} at {ip} (last heartbeat {age}s ago)", file=sys.stderr)
except (OSError, ValueError) as err:
    sys.exit(f"the cluster list does not answer: {err}")
' || status=$?
  return "$status"
}

# sweep_when_due clears departed nodes every CLUSTER_SWEEP_SECONDS of the
# agent's loop: a node that died just before the last start goes stale later.
sweep_when_due() {
  swept=$((swept + AGENT_INTERVAL))
  if [ "$swept" -ge "$CLUSTER_SWEEP_SECONDS" ]; then
    swept=0
    forget_nodes departed || log "could not clear departed nodes from the cluster list"
  fi
}

# spot_notice prints "interruption <notice>" when EC2 is about to interrupt
# this Spot instance (meta-data/spot/instance-action, two minutes ahead) or
# "rebalance <notice>" when it recommends moving off it
# (meta-data/events/recommendations/rebalance); both are absent (404)
# otherwise, and always on an On-Demand instance.
spot_notice() {
  local notice
  if notice=$(aws_call imds meta-data/spot/instance-action 2>/dev/null); then
    printf 'interruption %s\n' "$notice"
  elif notice=$(aws_call imds meta-data/events/recommendations/rebalance 2>/dev/null); then
    printf 'rebalance %s\n' "$notice"
  else
    return 1
  fi
}

# spot_leave takes the node out of rotation at once and drains it: the
# node terminates itself through its group, which keeps the desired
# capacity (a replacement launches now) and deregisters it from its target
# groups (no new viewer; open sessions stay); the streams then get the time
# left before the interruption, less SPOT_MARGIN_SECONDS, or DRAIN_SECONDS
# on a rebalance recommendation.
spot_leave() {
  local kind=${1%% *} notice=${1#* } limit=$DRAIN_SECONDS left
  if [ "$kind" = interruption ]; then
    left=$(NOTICE=$notice python3 -I -S -c '
import datetime, json, os
at = json.loads(os.environ["NOTICE"])["time"].replace("Z", "+00:00")
print(max(0, int((datetime.datetime.fromisoformat(at) - datetime.datetime.now(datetime.timezone.utc)).total_seconds())))
') || left=120
    limit=$((left - SPOT_MARGIN_SECONDS))
    if [ "$limit" -gt "$DRAIN_SECONDS" ]; then
      limit=$DRAIN_SECONDS
    elif [ "$limit" -lt 0 ]; then
      limit=0
    fi
  fi
  log "Spot $kind ($notice): leaving the target groups at once"
  if ! aws_call leave; then
    log "could not leave the Auto Scaling group; the node stays in rotation until EC2 stops it"
  fi
  drain "$limit"
}

main() {
  local state load status notice swept=0
  mark_agent_start
  agent_started=$(uptime_seconds)
  ip=$(aws_call imds meta-data/local-ipv4)
  group=$(aws_call imds meta-data/tags/instance/aws:autoscaling:groupName)
  log "publishing into $METRIC_NAMESPACE for $group every ${AGENT_INTERVAL}s"
  start_health_endpoint
  forget_nodes departed || log "could not clear departed nodes from the cluster list"
  while :; do
    if [ "$SPOT" = yes ] && notice=$(spot_notice); then
      spot_leave "$notice"
      return 0
    fi
    sweep_when_due
    status=0
    state=$(aws_call imds meta-data/autoscaling/target-lifecycle-state) || status=$?
    if [ "$status" -eq 0 ] && [ "$state" = Terminated ]; then
      drain
      return 0
    fi
    if load=$(node_load); then
      ams_answers
      # shellcheck disable=SC2086 # three numbers, then the capacity used
      publish $load "$(judge_capacity $load)"
      if [ "$ROLE" = origin ]; then
        protect_while_publishing "${load##* }"
      fi
    else
      ams_down
    fi
    keep_settings
    sleep "$AGENT_INTERVAL"
  done
}

main
