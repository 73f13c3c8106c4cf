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
set -euo pipefail

readonly ROLE={{ shq .Role }}
readonly REGION={{ shq .Region }}
readonly METRIC_NAMESPACE={{ shq .MetricNamespace }}
readonly DRAIN_HOOK={{ shq .DrainHookName }}
readonly DRAIN_SECONDS={{ shq .DrainSeconds }}
readonly AGENT_INTERVAL={{ shq .AgentIntervalSeconds }}

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
  aws_call put-metrics "$METRIC_NAMESPACE" "$group" "LiveStreams=$1" "Viewers=$2" "Publishers=$3" ||
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
  forget_nodes self || log "could not remove this node from the cluster list; the next node to start removes it"
  if complete_lifecycle "$group" "$DRAIN_HOOK" CONTINUE; then
    log "termination may go on"
  else
    log "could not complete the terminating hook; its timeout lets the termination go on"
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
  ip=$(aws_call imds meta-data/local-ipv4)
  group=$(aws_call imds meta-data/tags/instance/aws:autoscaling:groupName)
  log "publishing into $METRIC_NAMESPACE for $group every ${AGENT_INTERVAL}s"
  forget_nodes departed || log "could not clear departed nodes from the cluster list"
  while :; do
    if notice=$(spot_notice); then
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
      # shellcheck disable=SC2086 # three numbers
      publish $load
      if [ "$ROLE" = origin ]; then
        protect_while_publishing "${load##* }"
      fi
    else
      log "Ant Media Server does not answer; nothing published"
    fi
    sleep "$AGENT_INTERVAL"
  done
}

main
