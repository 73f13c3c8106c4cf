#!/bin/bash
# Start step of an Ant Media Server node (origin or edge) in cluster mode,
# installed by the user data and run by ams-node.service at every start of
# the instance: cloud-init's user data runs once per instance, but a node
# from a warm pool boots again when it leaves the pool.
#
# It reads the instance's target lifecycle state from IMDSv2: on the way
# into a warm pool (Warmed:*) it only completes the launching hook, so that
# the node goes on to its pool state without joining the cluster; on the
# way to InService it joins once. The node stays out of service (its launching lifecycle hook holds it)
# until it has joined the cluster and the web panel is known to belong to
# this stack; any failure abandons the launch, so a broken node never
# serves. Secrets are read from SSM Parameter Store through the instance
# role; this script carries only parameter names.
set -euo pipefail

readonly ROLE={{ shq .Role }}
readonly REGION={{ shq .Region }}
readonly DATABASE_URL_PARAMETER={{ shq .DatabaseURLParameter }}
readonly DATABASE_READY_PARAMETER={{ shq .DatabaseReadyParameter }}
readonly DATABASE_WAIT_SECONDS={{ shq .DatabaseWaitSeconds }}
readonly PANEL_ADMIN_EMAIL={{ shq .PanelAdminEmail }}
readonly PANEL_ADMIN_PASSWORD_PARAMETER={{ shq .PanelAdminPasswordParameter }}
readonly PANEL_CLAIM_PARAMETER={{ shq .PanelClaimParameter }}
readonly LAUNCH_HOOK={{ shq .LaunchHookName }}
readonly START_WAIT_SECONDS={{ shq .StartWaitSeconds }}

readonly AMS_DIR=/usr/local/antmedia
readonly AMS_URL=http://127.0.0.1:5080
readonly IMDS_URL=http://169.254.169.254
readonly SSM_URL="https://ssm.${REGION}.amazonaws.com"
readonly AUTOSCALING_URL="https://autoscaling.${REGION}.amazonaws.com"
readonly POLL_SECONDS=10
# Written once the node has joined the cluster and gone into service.
readonly JOINED=/var/lib/ams-node/joined
# Written once the node has warmed up for the warm pool.
readonly WARMED=/var/lib/ams-node/warmed
# Bounds of the wait for a target lifecycle state the node acts on, and how
# long a node that warmed already reads Warmed:* before it believes it.
readonly TARGET_WAIT_SECONDS=120
readonly TARGET_SETTLE_SECONDS=45

log() { printf '%s ams-node[%s]: %s\n' "$(date -Is)" "$ROLE" "$*" >&2; }

{{ template "awscall" }}

{{ template "lifecycle" }}

{{ template "cwagent" . }}

{{ template "appsettings" . }}

step="starting"
group=""

# finish completes the launching lifecycle action: CONTINUE puts the node in
# service (and in its target groups), ABANDON terminates it. Auto Scaling
# opens the action seconds after the state change, so "no active lifecycle
# action" is retried for LIFECYCLE_WAIT_SECONDS before it means that no
# launch holds the node (its hook timed out, or it was never held).
finish() {
  local result=$1 status=0
  if [ -z "$group" ]; then
    return 0
  fi
  complete_lifecycle "$group" "$LAUNCH_HOOK" "$result" || status=$?
  case $status in
    0) log "launch completed with $result" ;;
    7) log "no launch held by $LAUNCH_HOOK within ${LIFECYCLE_WAIT_SECONDS}s: nothing to complete" ;;
    *)
      log "could not complete the launch with $result (exit $status)"
      return "$status"
      ;;
  esac
}

on_exit() {
  local status=$?
  if [ "$status" -ne 0 ]; then
    log "FAILED while $step (exit $status); abandoning the launch"
    finish ABANDON || true
  fi
}
trap on_exit EXIT

# find_group reads the Auto Scaling group from the instance's tags, which
# the launch template exposes in the metadata; a node launched outside a
# group has no lifecycle action to complete.
find_group() {
  step="reading the Auto Scaling group"
  local status=0
  group=$(aws_call imds meta-data/tags/instance/aws:autoscaling:groupName) || status=$?
  case $status in
    0) log "launched by Auto Scaling group $group" ;;
    4) group="" && log "not launched by an Auto Scaling group" ;;
    *) return "$status" ;;
  esac
}

# credential_fingerprint prints the fingerprint the database publishes for
# the credentials of a mongodb:// URL: sha256 of "user:password".
credential_fingerprint() {
  local rest=${1#*://} userinfo=""
  if [[ $rest == *@* ]]; then
    userinfo=${rest%%@*}
  fi
  printf '%s' "$userinfo" | sha256sum | cut -d' ' -f1
}

# wait_for_database waits until the database says it accepts the URL's
# credentials, for at most DATABASE_WAIT_SECONDS.
wait_for_database() {
  step="waiting for the database"
  if [ -z "$DATABASE_READY_PARAMETER" ]; then
    log "no readiness parameter: trusting that the database is up"
    return 0
  fi
  local want waited=0 said="" pause
  want="ready sha256:$(credential_fingerprint "$database_url")"
  while :; do
    said=$(aws_call ssm-get "$DATABASE_READY_PARAMETER")
    if [ "$said" = "$want" ]; then
      log "the database is ready for this node's credentials (after ${waited}s)"
      return 0
    fi
    if [ "$waited" -ge "$DATABASE_WAIT_SECONDS" ]; then
      log "the database did not become ready within ${DATABASE_WAIT_SECONDS}s; $DATABASE_READY_PARAMETER says '${said%% *}'"
      return 1
    fi
    log "waiting for the database: $DATABASE_READY_PARAMETER says '${said%% *}' (${waited}s of ${DATABASE_WAIT_SECONDS}s)"
    # Every POLL_SECONDS for the first minute, then every 30 s.
    pause=$((waited < 60 ? POLL_SECONDS : 30))
    sleep "$pause"
    waited=$((waited + pause))
  done
}

# join_cluster switches the node to cluster mode with the full URL as one
# quoted argument: since AMS 3.0 a bare address makes the script prompt,
# and under cloud-init nobody answers. The script restarts the server.
join_cluster() {
  step="switching to cluster mode"
  log "joining the cluster"
  (cd "$AMS_DIR" && ./change_server_mode.sh cluster "$database_url" </dev/null)
}

# retry LIMIT WHAT COMMAND...: runs COMMAND every POLL_SECONDS until it
# succeeds, for at most LIMIT seconds.
retry() {
  local limit=$1 what=$2 waited=0
  shift 2
  until "$@"; do
    if [ "$waited" -ge "$limit" ]; then
      log "$what did not answer within ${limit}s"
      return 1
    fi
    sleep "$POLL_SECONDS"
    waited=$((waited + POLL_SECONDS))
  done
}

# wait_for_server waits until Ant Media Server answers its liveness endpoint.
wait_for_server() {
  step="waiting for Ant Media Server"
  retry "$START_WAIT_SECONDS" "Ant Media Server" curl -fsS -o /dev/null "$AMS_URL/rest/v2/liveness"
  log "Ant Media Server answers"
}

# panel_post POSTs the administrator's e-mail and password hash, as JSON on
# standard input, to a panel endpoint and prints the answer.
panel_post() {
  PANEL_EMAIL=$PANEL_ADMIN_EMAIL PANEL_HASH=$hash python3 -I -S -c \
    'import json, os; print(json.dumps({"email": os.environ["PANEL_EMAIL"], "password": os.environ["PANEL_HASH"], "userType": "ADMIN", "scope": "system"}))' |
    curl -fsS -X POST -H 'Content-Type: application/json' --data-binary @- "$AMS_URL/rest/v2/$1"
}

# take_claim decides which node claims an empty panel: the one that creates
# the claim parameter (creation is atomic; Ant Media's own users/initial is
# not, across nodes). It succeeds when this node holds the claim.
take_claim() {
  local mine status=0 holder
  mine="$(aws_call imds meta-data/instance-id) $fingerprint"
  AWSAPI_VALUE=$mine aws_call ssm-create "$PANEL_CLAIM_PARAMETER" String 2>/dev/null || status=$?
  case $status in
    0) return 0 ;;
    5) ;;
    *) return "$status" ;;
  esac
  holder=$(aws_call ssm-get "$PANEL_CLAIM_PARAMETER")
  if [ "${holder#* }" != "$fingerprint" ]; then
    # Left by an earlier cluster of this name, with other credentials.
    log "taking over a stale panel claim"
    AWSAPI_VALUE=$mine aws_call ssm-put "$PANEL_CLAIM_PARAMETER" String
    return 0
  fi
  log "node ${holder%% *} is claiming the panel"
  return 1
}

# panel_status prints the panel's first-login status, once the panel's
# user store answers.
panel_status() {
  retry "$START_WAIT_SECONDS" "the panel's user store" curl -fsS "$AMS_URL/rest/v2/first-login-status"
}

# claim_panel makes sure the panel's administrator is this stack's: while
# the panel has no user, exactly one node claims it (users live in the
# cluster database, shared by all); every node then proves that the stack's
# credentials log in. A panel claimed by anybody else stops the boot: the
# node must not serve a cluster that is not ours.
claim_panel() {
  step="claiming the web panel"
  if [ -z "$PANEL_ADMIN_PASSWORD_PARAMETER" ]; then
    log "no panel password parameter: the panel is not claimed"
    return 0
  fi
  local status password hash fingerprint answer waited=0
  password=$(aws_call ssm-get "$PANEL_ADMIN_PASSWORD_PARAMETER")
  # The panel sends the MD5 of what the user types; the server keeps the MD5
  # of what it receives and accepts either form at login.
  hash=$(printf '%s' "$password" | md5sum | cut -d' ' -f1)
  fingerprint="sha256:$(printf '%s' "$hash" | sha256sum | cut -d' ' -f1)"
  unset password
  status=$(panel_status)
  while [[ $status == *'"success":true'* ]]; do
    if take_claim; then
      log "claiming the web panel administrator $PANEL_ADMIN_EMAIL"
      answer=$(panel_post users/initial)
      [[ $answer == *'"success":true'* ]] || log "the panel refused the claim: $answer"
      break
    fi
    if [ "$waited" -ge "$START_WAIT_SECONDS" ]; then
      log "the claiming node did not finish within ${START_WAIT_SECONDS}s"
      return 1
    fi
    sleep "$POLL_SECONDS"
    waited=$((waited + POLL_SECONDS))
    status=$(panel_status)
  done
  answer=$(panel_post users/authenticate)
  if [[ $answer != *'"success":true'* ]]; then
    log "the panel's administrator does not accept this stack's credentials: the panel was claimed by someone else"
    return 1
  fi
  log "the panel administrator $PANEL_ADMIN_EMAIL is this stack's"
}

# configure_server writes the server's managed properties before the join,
# whose restart makes Ant Media read them.
configure_server() {
  step="writing the server settings"
  if [ -z "$APPSET_PARAMETER" ]; then
    return 0
  fi
  app_settings=$(app_settings_document)
  apply_server_settings "$app_settings"
}

# configure_applications applies the managed application settings before
# the node goes into service: its applications must not serve with factory
# settings (anybody may publish). Each node applies them: a node reads the
# cluster's stored settings only when its applications start
# (AntMediaApplicationAdapter.appStart), and how the closed Enterprise
# notifier spreads later changes is not known.
configure_applications() {
  step="applying the application settings"
  if [ -z "$APPSET_PARAMETER" ]; then
    log "no application settings parameter: the applications keep their settings"
    return 0
  fi
  if [ -z "$APPSET_PASSWORD_PARAMETER" ]; then
    log "no panel password parameter: the application settings cannot be applied"
    return 1
  fi
  local status waited=0
  while :; do
    status=0
    apply_app_settings "$app_settings" || status=$?
    case $status in
      0) return 0 ;;
      4) return 4 ;;
    esac
    if [ "$waited" -ge "$START_WAIT_SECONDS" ]; then
      log "the application settings were not applied within ${START_WAIT_SECONDS}s"
      return "$status"
    fi
    sleep "$POLL_SECONDS"
    waited=$((waited + POLL_SECONDS))
  done
}

# target_state prints where Auto Scaling is taking the instance
# (InService, Warmed:Stopped, Terminated, ...), or nothing outside a group.
# Auto Scaling updates the metadata item after the transition ("Retrieve
# the target lifecycle state through instance metadata"), so the state is
# read until it names one the node acts on, for at most TARGET_WAIT_SECONDS.
# A node leaving the warm pool can still read its pool state for a while: a
# node that warmed already takes Warmed:* only after TARGET_SETTLE_SECONDS
# of reading it.
target_state() {
  local state="" status waited=0
  if [ -z "$group" ]; then
    return 0
  fi
  while :; do
    status=0
    state=$(aws_call imds meta-data/autoscaling/target-lifecycle-state) || status=$?
    case $status in
      0 | 4) ;;
      *) return "$status" ;;
    esac
    case $state in
      InService) break ;;
      Warmed:*) if [ ! -f "$WARMED" ] || [ "$waited" -ge "$TARGET_SETTLE_SECONDS" ]; then break; fi ;;
    esac
    if [ "$waited" -ge "$TARGET_WAIT_SECONDS" ]; then
      log "the target lifecycle state is still '$state' after ${waited}s"
      break
    fi
    log "target lifecycle state '$state': reading it again in ${POLL_SECONDS}s (${waited}s of ${TARGET_WAIT_SECONDS}s)"
    sleep "$POLL_SECONDS"
    waited=$((waited + POLL_SECONDS))
  done
  if [ -z "$state" ]; then
    log "the metadata names no target lifecycle state"
    return 1
  fi
  printf '%s\n' "$state"
}

# warm_up lets a node headed for the warm pool go there: installed, Ant
# Media Server stopped, not in the cluster. The launching hook also holds
# instances entering the pool; completing it moves the node on.
warm_up() {
  step="entering the warm pool"
  log "target lifecycle state $1: warming; not joining the cluster until the node leaves the pool"
  systemctl stop antmedia.service || log "could not stop Ant Media Server while warming"
  finish CONTINUE
  mkdir -p "${WARMED%/*}"
  date -Is >"$WARMED"
}

# start_agent queues the start of the node's agent (enabled at install, so
# it also starts at every later start, after this unit). --no-block: the
# agent is ordered after ams-node.service, whose start job lasts until this
# script exits, so a blocking start would wait forever (systemd job.c
# job_is_runnable()).
start_agent() {
  step="starting the agent"
  systemctl start --no-block ams-agent.service
}

main() {
  find_group
  step="reading the target lifecycle state"
  local state
  state=$(target_state)
  case $state in
    Warmed:*)
      warm_up "$state"
      return 0
      ;;
    "" | InService) ;;
    *)
      log "target lifecycle state $state: nothing to do"
      return 0
      ;;
  esac
  if [ -f "$JOINED" ]; then
    log "already in the cluster ($(cat "$JOINED")); starting again"
    start_agent
    return 0
  fi
  step="reading the database URL"
  database_url=$(aws_call ssm-get "$DATABASE_URL_PARAMETER")
  wait_for_database
  configure_server
  join_cluster
  unset database_url
  wait_for_server
  claim_panel
  configure_applications
  step="completing the launch"
  finish CONTINUE
  mkdir -p "${JOINED%/*}"
  date -Is >"$JOINED"
  start_agent
  log "ready"
  # Off the way into service: a node without log shipping still serves.
  start_log_shipping
}

main
