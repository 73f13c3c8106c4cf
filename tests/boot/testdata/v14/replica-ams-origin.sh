#!/bin/bash
# User data of an Ant Media Server node (origin or edge) in cluster mode.
# Rendered by components.ScalingGroup; cloud-init runs it once per instance
# on the Ant Media Server Enterprise Marketplace image.
#
# It installs the node's two programs and their systemd units, then runs
# the start step for this first boot:
#   ams-node.service   every start: joins the cluster on the way to
#                      InService, only warms on the way into the warm pool
#   ams-agent.service  once in the cluster: metrics, scale-in protection
#                      of origins with publishers, drain on termination
# Secrets are read from SSM Parameter Store through the instance role;
# this script carries only parameter names.
set -euo pipefail

readonly ROLE='origin'
readonly AMS_DIR=/usr/local/antmedia
readonly NODE_DIR=/usr/local/lib/ams-bootstrap
readonly UNIT_DIR=/etc/systemd/system

log() { printf '%s ams-bootstrap[%s]: %s\n' "$(date -Is)" "$ROLE" "$*" >&2; }

# The Marketplace image's first-boot step creates a well-known administrator
# ("JamesBond", the instance ID as password) unless this file exists; this
# stack claims the panel with its own secret instead.
disarm_first_boot_admin() {
  touch "$AMS_DIR/conf/initialized"
}

install_programs() {
  mkdir -p "$NODE_DIR"
  cat >"$NODE_DIR/awsapi.py" <<'PY'
"""AWS calls of the boot scripts, with the Python 3 standard library only.

cloud-init is itself Python, so python3 is on every image that runs user
data: nodes need no AWS CLI, and nothing is installed at boot. Credentials
come from the instance profile through IMDSv2; requests are signed with
Signature Version 4 ("Create a signed AWS API request", AWS docs).

Usage: awsapi.py COMMAND ARGS...
  imds PATH                      print an instance metadata value
  ssm-get NAME                   print a parameter's value (decrypted)
  ssm-put NAME TYPE              store $AWSAPI_VALUE in a parameter (overwrite)
  ssm-create NAME TYPE           store $AWSAPI_VALUE in a new parameter, atomically:
                                 exit 5 when it exists already
  complete-lifecycle GROUP HOOK RESULT
                                 complete this instance's lifecycle action
  heartbeat GROUP HOOK           record a heartbeat of this instance's lifecycle action
  protect GROUP true|false       set this instance's scale-in protection
  put-metrics NAMESPACE GROUP NAME=VALUE...
                                 put high-resolution Count metrics of the group

Exit status: 0 done; 2 a transient failure worth retrying (throttling, a
server error, no network); 3 refused (access denied, not found, invalid);
4 the metadata path does not exist; 5 the parameter exists already.
Secret values never travel in arguments.
"""

import datetime
import hashlib
import hmac
import json
import os
import re
import sys
import urllib.error
import urllib.parse
import urllib.request

IMDS = os.environ["AWSAPI_IMDS"]
REGION = os.environ["AWSAPI_REGION"]
ENDPOINTS = {"ssm": os.environ["AWSAPI_SSM"], "autoscaling": os.environ["AWSAPI_AUTOSCALING"],
             "monitoring": os.environ.get("AWSAPI_MONITORING", "")}
TIMEOUT = 10
RETRYABLE_CODES = {
    "ThrottlingException", "Throttling", "TooManyUpdates", "InternalServerError",
    "InternalFailure", "ServiceUnavailable", "RequestTimeout", "RequestLimitExceeded",
}

# The metadata service must be reached directly, never through a proxy.
DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class Failure(Exception):
    """An AWS call that did not succeed, with the exit status to report."""

    def __init__(self, code, message, status):
        super().__init__(f"{code}: {message}")
        self.status = status


def metadata_token():
    req = urllib.request.Request(
        IMDS + "/latest/api/token", method="PUT",
        headers={"X-aws-ec2-metadata-token-ttl-seconds": "300"})
    try:
        with DIRECT.open(req, timeout=TIMEOUT) as resp:
            return resp.read().decode()
    except (urllib.error.URLError, OSError) as err:
        raise Failure("MetadataUnavailable", str(err), 2) from err


def metadata(path, token=None):
    req = urllib.request.Request(
        IMDS + "/latest/" + path,
        headers={"X-aws-ec2-metadata-token": token or metadata_token()})
    try:
        with DIRECT.open(req, timeout=TIMEOUT) as resp:
            return resp.read().decode()
    except urllib.error.HTTPError as err:
        if err.code == 404:
            raise Failure("NotFound", path, 4) from err
        raise Failure("MetadataError", f"HTTP {err.code} for {path}", 2) from err
    except (urllib.error.URLError, OSError) as err:
        raise Failure("MetadataUnavailable", str(err), 2) from err


def credentials():
    token = metadata_token()
    role = metadata("meta-data/iam/security-credentials/", token).split()[0]
    creds = json.loads(metadata("meta-data/iam/security-credentials/" + role, token))
    return creds["AccessKeyId"], creds["SecretAccessKey"], creds["Token"]


def hmac_sha256(key, text):
    return hmac.new(key, text.encode(), hashlib.sha256).digest()


def call(service, body, content_type, target=None):
    """Sends a signed POST to the service's endpoint and returns the body."""
    url = ENDPOINTS[service]
    parts = urllib.parse.urlsplit(url)
    key, secret, session = credentials()
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    headers = {
        "content-type": content_type,
        "host": parts.netloc,
        "x-amz-date": stamp,
        "x-amz-security-token": session,
    }
    if target:
        headers["x-amz-target"] = target
    names = sorted(headers)
    signed_headers = ";".join(names)
    canonical = "\n".join([
        "POST", parts.path or "/", "",
        "".join(f"{name}:{headers[name].strip()}\n" for name in names),
        signed_headers, hashlib.sha256(body).hexdigest(),
    ])
    scope = f"{stamp[:8]}/{REGION}/{service}/aws4_request"
    to_sign = "\n".join(["AWS4-HMAC-SHA256", stamp, scope, hashlib.sha256(canonical.encode()).hexdigest()])
    signing_key = ("AWS4" + secret).encode()
    for part in (stamp[:8], REGION, service, "aws4_request"):
        signing_key = hmac_sha256(signing_key, part)
    signature = hmac.new(signing_key, to_sign.encode(), hashlib.sha256).hexdigest()
    headers["authorization"] = (
        f"AWS4-HMAC-SHA256 Credential={key}/{scope}, "
        f"SignedHeaders={signed_headers}, Signature={signature}")
    del headers["host"]  # urllib sends the same value itself
    req = urllib.request.Request(url, data=body, method="POST", headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=TIMEOUT) as resp:
            return resp.read()
    except urllib.error.HTTPError as err:
        raise failure(err.code, err.read()) from err
    except (urllib.error.URLError, OSError) as err:
        raise Failure("NetworkError", str(err), 2) from err


def failure(http_status, body):
    """Turns an AWS error answer (JSON or XML) into a Failure."""
    text = body.decode(errors="replace")
    code, message = f"HTTP{http_status}", text[:200]
    try:
        doc = json.loads(text)
        code = doc.get("__type", code).split("#")[-1]
        message = doc.get("message") or doc.get("Message") or ""
    except ValueError:
        found = re.search(r"<Code>([^<]*)</Code>", text)
        if found:
            code = found.group(1)
            found = re.search(r"<Message>([^<]*)</Message>", text)
            message = found.group(1) if found else ""
    retry = code in RETRYABLE_CODES or http_status >= 500
    return Failure(code, message, 2 if retry else 3)


def ssm(operation, request):
    body = json.dumps(request).encode()
    return json.loads(call("ssm", body, "application/x-amz-json-1.1", "AmazonSSM." + operation))


FORM = "application/x-www-form-urlencoded; charset=utf-8"


def autoscaling(action, params):
    form = {"Action": action, "Version": "2011-01-01", **params}
    call("autoscaling", urllib.parse.urlencode(form).encode(), FORM)


def main(argv):
    command, args = argv[0], argv[1:]
    if command == "imds" and len(args) == 1:
        sys.stdout.write(metadata(args[0]))
    elif command == "ssm-get" and len(args) == 1:
        answer = ssm("GetParameter", {"Name": args[0], "WithDecryption": True})
        sys.stdout.write(answer["Parameter"]["Value"])
    elif command in ("ssm-put", "ssm-create") and len(args) == 2:
        try:
            ssm("PutParameter", {"Name": args[0], "Value": os.environ["AWSAPI_VALUE"], "Type": args[1],
                                 "Overwrite": command == "ssm-put"})
        except Failure as err:
            if "ParameterAlreadyExists" in str(err):
                raise Failure("ParameterAlreadyExists", args[0], 5) from err
            raise
    elif command == "complete-lifecycle" and len(args) == 3:
        autoscaling("CompleteLifecycleAction", {
            "AutoScalingGroupName": args[0], "LifecycleHookName": args[1],
            "LifecycleActionResult": args[2], "InstanceId": metadata("meta-data/instance-id"),
        })
    elif command == "heartbeat" and len(args) == 2:
        autoscaling("RecordLifecycleActionHeartbeat", {
            "AutoScalingGroupName": args[0], "LifecycleHookName": args[1],
            "InstanceId": metadata("meta-data/instance-id"),
        })
    elif command == "protect" and len(args) == 2 and args[1] in ("true", "false"):
        autoscaling("SetInstanceProtection", {
            "AutoScalingGroupName": args[0], "ProtectedFromScaleIn": args[1],
            "InstanceIds.member.1": metadata("meta-data/instance-id"),
        })
    elif command == "put-metrics" and len(args) >= 3:
        form = {"Action": "PutMetricData", "Version": "2010-08-01", "Namespace": args[0]}
        for i, pair in enumerate(args[2:], 1):
            name, _, value = pair.partition("=")
            member = f"MetricData.member.{i}."
            form.update({
                member + "MetricName": name, member + "Value": str(float(value)), member + "Unit": "Count",
                member + "StorageResolution": "1",
                member + "Dimensions.member.1.Name": "AutoScalingGroupName",
                member + "Dimensions.member.1.Value": args[1],
            })
        call("monitoring", urllib.parse.urlencode(form).encode(), FORM)
    else:
        raise Failure("Usage", "see the header of awsapi.py", 3)


if __name__ == "__main__":
    try:
        main(sys.argv[1:])
    except Failure as err:
        print(f"awsapi: {err}", file=sys.stderr)
        sys.exit(err.status)

PY
  cat >"$NODE_DIR/ams-node.sh" <<'NODE'
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

readonly ROLE='origin'
readonly REGION='eu-central-1'
readonly DATABASE_URL_PARAMETER='/ams-cluster/dev/ams-cluster-dev-mongo/mongodb/url'
readonly DATABASE_READY_PARAMETER='/ams-cluster/dev/ams-cluster-dev-mongo/mongodb/ready'
readonly DATABASE_WAIT_SECONDS='900'
readonly PANEL_ADMIN_EMAIL='ops@example.com'
readonly PANEL_ADMIN_PASSWORD_PARAMETER='/ams-cluster/dev/panel/admin-password'
readonly PANEL_CLAIM_PARAMETER='/ams-cluster/dev/panel/admin-password-claim'
readonly LAUNCH_HOOK='ams-cluster-dev-origin-ready'
readonly START_WAIT_SECONDS='600'

readonly AMS_DIR=/usr/local/antmedia
readonly AMS_URL=http://127.0.0.1:5080
readonly IMDS_URL=http://169.254.169.254
readonly SSM_URL="https://ssm.${REGION}.amazonaws.com"
readonly AUTOSCALING_URL="https://autoscaling.${REGION}.amazonaws.com"
readonly POLL_SECONDS=10
# Written once the node has joined the cluster and gone into service.
readonly JOINED=/var/lib/ams-node/joined

log() { printf '%s ams-node[%s]: %s\n' "$(date -Is)" "$ROLE" "$*" >&2; }

readonly AWSAPI=/usr/local/lib/ams-bootstrap/awsapi.py
readonly AWS_ATTEMPTS=8

# aws_call COMMAND ARGS...: runs awsapi.py, retrying transient failures
# (exit 2: throttling, server errors, no network) with a growing pause.
aws_call() {
  local attempt status pause=1
  for attempt in $(seq 1 "$AWS_ATTEMPTS"); do
    status=0
    AWSAPI_IMDS="$IMDS_URL" AWSAPI_REGION="$REGION" AWSAPI_SSM="$SSM_URL" \
      AWSAPI_AUTOSCALING="$AUTOSCALING_URL" AWSAPI_MONITORING="${MONITORING_URL:-}" \
      python3 -I -S "$AWSAPI" "$@" || status=$?
    if [ "$status" -ne 2 ] || [ "$attempt" -eq "$AWS_ATTEMPTS" ]; then
      return "$status"
    fi
    log "AWS call $1 failed transiently (attempt $attempt of $AWS_ATTEMPTS); retrying in ${pause}s"
    sleep "$pause"
    pause=$((pause * 2 > 30 ? 30 : pause * 2))
  done
}

# The CloudWatch agent ships this node's logs and publishes its memory and
# disk usage. It is not in Ubuntu's archive: Amazon publishes a .deb per
# region. Installing it is never on the way into service and never fails
# the boot: a node without it still serves, and says so in its log.
# The agent itself expands ${aws:InstanceId} in its configuration.
# shellcheck disable=SC2016
readonly CWAGENT_CONFIG='{"agent":{"metrics_collection_interval":60,"logfile":"/opt/aws/amazon-cloudwatch-agent/logs/amazon-cloudwatch-agent.log","run_as_user":"root"},"logs":{"logs_collected":{"files":{"collect_list":[{"file_path":"/var/log/cloud-init-output.log","log_group_name":"/ams-cluster/dev/boot","log_stream_name":"{instance_id}","timezone":"UTC"},{"file_path":"/usr/local/antmedia/log/ant-media-server.log","log_group_name":"/ams-cluster/dev/ams","log_stream_name":"{instance_id}","timezone":"UTC"},{"file_path":"/usr/local/antmedia/log/antmedia-error.log","log_group_name":"/ams-cluster/dev/ams-error","log_stream_name":"{instance_id}","timezone":"UTC"}]}}},"metrics":{"namespace":"AMSCluster/ams-cluster/dev","append_dimensions":{"InstanceId":"${aws:InstanceId}"},"aggregation_dimensions":[["InstanceId"],["InstanceId","path"]],"metrics_collected":{"mem":{"measurement":["mem_used_percent"]},"disk":{"measurement":["used_percent"],"resources":["/"],"drop_device":true}}}}'
readonly CWAGENT_CONFIG_FILE='/opt/aws/amazon-cloudwatch-agent/etc/ams-cluster.json'
readonly CWAGENT_CTL=/opt/aws/amazon-cloudwatch-agent/bin/amazon-cloudwatch-agent-ctl
readonly CWAGENT_ATTEMPTS=5

# install_cwagent downloads and installs the agent's package unless it is
# already installed, retrying a failed download with a growing pause.
install_cwagent() {
  local arch deb url attempt pause=5
  if [ -x "$CWAGENT_CTL" ]; then
    return 0
  fi
  arch=$(dpkg --print-architecture)
  url="https://amazoncloudwatch-agent-${REGION}.s3.${REGION}.amazonaws.com/ubuntu/${arch}/latest/amazon-cloudwatch-agent.deb"
  deb=$(mktemp /tmp/amazon-cloudwatch-agent.XXXXXX.deb)
  for attempt in $(seq 1 "$CWAGENT_ATTEMPTS"); do
    if curl -fsS --max-time 120 -o "$deb" "$url"; then
      break
    fi
    if [ "$attempt" -eq "$CWAGENT_ATTEMPTS" ]; then
      log "could not download the CloudWatch agent from $url"
      rm -f "$deb"
      return 1
    fi
    log "downloading the CloudWatch agent failed (attempt $attempt of $CWAGENT_ATTEMPTS); retrying in ${pause}s"
    sleep "$pause"
    pause=$((pause * 2))
  done
  dpkg -i -E "$deb" || { rm -f "$deb"; return 1; }
  rm -f "$deb"
}

# start_log_shipping writes the agent's configuration and (re)starts the
# agent with it; safe to run again.
start_log_shipping() {
  if [ -z "$CWAGENT_CONFIG" ]; then
    return 0
  fi
  mkdir -p "${CWAGENT_CONFIG_FILE%/*}"
  printf '%s\n' "$CWAGENT_CONFIG" >"$CWAGENT_CONFIG_FILE"
  if ! install_cwagent; then
    log "the CloudWatch agent is not installed: logs stay on this node ($CWAGENT_CONFIG_FILE names them)"
    return 0
  fi
  if ! "$CWAGENT_CTL" -a fetch-config -m ec2 -s -c "file:$CWAGENT_CONFIG_FILE"; then
    log "the CloudWatch agent did not start with $CWAGENT_CONFIG_FILE"
    return 0
  fi
  log "the CloudWatch agent ships this node's logs"
}

step="starting"
group=""

# finish completes the launching lifecycle action: CONTINUE puts the node in
# service (and in its target groups), ABANDON terminates it.
finish() {
  local result=$1 status=0 err
  if [ -z "$group" ]; then
    return 0
  fi
  err=$(aws_call complete-lifecycle "$group" "$LAUNCH_HOOK" "$result" 2>&1) || status=$?
  if [ "$status" -ne 0 ]; then
    if [[ $err == *"No active Lifecycle Action"* ]]; then
      log "no launch in progress to complete (already in service)"
      return 0
    fi
    log "could not complete the launch with $result: $err"
    return "$status"
  fi
  log "launch completed with $result"
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

# target_state prints where Auto Scaling is taking the instance
# (InService, Warmed:Stopped, Terminated, ...), or nothing outside a group.
target_state() {
  local status=0
  aws_call imds meta-data/autoscaling/target-lifecycle-state || status=$?
  [ "$status" -eq 4 ] && return 0
  return "$status"
}

# warm_up lets a node headed for the warm pool go there: installed, Ant
# Media Server stopped, not in the cluster. The launching hook also holds
# instances entering the pool; completing it moves the node on.
warm_up() {
  step="entering the warm pool"
  log "target lifecycle state $1: warming; not joining the cluster until the node leaves the pool"
  systemctl stop antmedia.service || log "could not stop Ant Media Server while warming"
  finish CONTINUE
}

# start_agent starts the node's agent now and at every later start.
start_agent() {
  step="starting the agent"
  systemctl enable --now ams-agent.service
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
  join_cluster
  unset database_url
  wait_for_server
  claim_panel
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

NODE
  cat >"$NODE_DIR/ams-agent.sh" <<'AGENT'
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

readonly ROLE='origin'
readonly REGION='eu-central-1'
readonly METRIC_NAMESPACE='ams-cluster/dev'
readonly DRAIN_HOOK='ams-cluster-dev-origin-drain'
readonly DRAIN_SECONDS='60'
readonly AGENT_INTERVAL='10'

readonly AMS_URL=http://127.0.0.1:5080
readonly AMS_APPS="LiveApp WebRTCAppEE"
readonly IMDS_URL=http://169.254.169.254
readonly SSM_URL="https://ssm.${REGION}.amazonaws.com"
readonly AUTOSCALING_URL="https://autoscaling.${REGION}.amazonaws.com"
readonly MONITORING_URL="https://monitoring.${REGION}.amazonaws.com"
readonly PROTECTED=/var/lib/ams-agent/protected

log() { printf '%s ams-agent[%s]: %s\n' "$(date -Is)" "$ROLE" "$*" >&2; }

readonly AWSAPI=/usr/local/lib/ams-bootstrap/awsapi.py
readonly AWS_ATTEMPTS=8

# aws_call COMMAND ARGS...: runs awsapi.py, retrying transient failures
# (exit 2: throttling, server errors, no network) with a growing pause.
aws_call() {
  local attempt status pause=1
  for attempt in $(seq 1 "$AWS_ATTEMPTS"); do
    status=0
    AWSAPI_IMDS="$IMDS_URL" AWSAPI_REGION="$REGION" AWSAPI_SSM="$SSM_URL" \
      AWSAPI_AUTOSCALING="$AUTOSCALING_URL" AWSAPI_MONITORING="${MONITORING_URL:-}" \
      python3 -I -S "$AWSAPI" "$@" || status=$?
    if [ "$status" -ne 2 ] || [ "$attempt" -eq "$AWS_ATTEMPTS" ]; then
      return "$status"
    fi
    log "AWS call $1 failed transiently (attempt $attempt of $AWS_ATTEMPTS); retrying in ${pause}s"
    sleep "$pause"
    pause=$((pause * 2 > 30 ? 30 : pause * 2))
  done
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
  if aws_call complete-lifecycle "$group" "$DRAIN_HOOK" CONTINUE; then
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
    sleep "$AGENT_INTERVAL"
  done
}

main

AGENT
  chmod 0755 "$NODE_DIR/ams-node.sh" "$NODE_DIR/ams-agent.sh"
}

install_units() {
  cat >"$UNIT_DIR/ams-node.service" <<'UNIT'
[Unit]
Description=Ant Media cluster node: join on the way to InService, at every start
Wants=network-online.target
After=network-online.target antmedia.service

[Service]
Type=oneshot
RemainAfterExit=yes
TimeoutStartSec=infinity
ExecStart=/usr/local/lib/ams-bootstrap/ams-node.sh

[Install]
WantedBy=multi-user.target
UNIT
  cat >"$UNIT_DIR/ams-agent.service" <<'UNIT'
[Unit]
Description=Ant Media cluster node agent: metrics, scale-in protection, drain
Wants=network-online.target
After=network-online.target ams-node.service

[Service]
ExecStart=/usr/local/lib/ams-bootstrap/ams-agent.sh
Restart=always
RestartSec=5

[Install]
WantedBy=multi-user.target
UNIT
  systemctl daemon-reload
  systemctl enable ams-node.service
}

main() {
  disarm_first_boot_admin
  install_programs
  install_units
  log "installed ams-node and ams-agent; starting the node"
  # This boot's units have started already: run the start step now. Later
  # starts (a reboot, leaving the warm pool) run it through ams-node.service.
  exec "$NODE_DIR/ams-node.sh"
}

main
