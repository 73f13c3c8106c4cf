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
  local waited=0 streams viewers publishers beat=no load
  log "terminating: draining for at most ${DRAIN_SECONDS}s"
  while :; do
    # A server that does not answer may be restarting: its sessions are
    # unknown, not gone.
    load=$(node_load) || load="? ? ?"
    read -r streams viewers publishers <<<"$load"
    if [ "$viewers" = 0 ] && [ "$publishers" = 0 ]; then
      log "drained after ${waited}s: no publishers or viewers left"
      break
    fi
    if [ "$waited" -ge "$DRAIN_SECONDS" ]; then
      log "drain window of ${DRAIN_SECONDS}s over: $publishers publishers and $viewers viewers still on the node"
      break
    fi
    if [ $((waited % 60)) -eq 0 ]; then
      log "draining: waiting for $publishers publishers and $viewers viewers on $streams streams (${waited}s of ${DRAIN_SECONDS}s)"
    fi
    # Past half the window, one heartbeat keeps the hook open until the
    # agent's own deadline.
    if [ "$beat" = no ] && [ "$waited" -ge $((DRAIN_SECONDS / 2)) ]; then
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
  if complete_lifecycle "$group" "$DRAIN_HOOK" CONTINUE; then
    log "termination may go on"
  else
    log "could not complete the terminating hook; its timeout lets the termination go on"
  fi
}

main() {
  local state load status
  ip=$(aws_call imds meta-data/local-ipv4)
  group=$(aws_call imds meta-data/tags/instance/aws:autoscaling:groupName)
  log "publishing into $METRIC_NAMESPACE for $group every ${AGENT_INTERVAL}s"
  while :; do
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
    keep_settings
    sleep "$AGENT_INTERVAL"
  done
}

main
