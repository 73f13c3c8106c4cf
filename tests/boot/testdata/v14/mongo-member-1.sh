#!/bin/bash
# Boot script of the MongoDB node that holds the Ant Media cluster state.
# Rendered by components.MongoNode; cloud-init runs it once per instance,
# and again after a boot it did not finish.
#
# Every step is safe to run again and converges from any partial state: the
# data volume is formatted only when blank; users are created or updated
# while authorization is off and MongoDB listens on loopback only, then
# authorization is switched on. The node publishes "ready" only once the
# application user's credentials are proven. Passwords are read from SSM
# Parameter Store through the instance role, never from this script, and
# reach mongosh through its environment, never its command line.
set -euo pipefail

readonly REGION='eu-central-1'
readonly DATA_VOLUME_ID='vol-4ed0887605add8ac7'
readonly DATA_VOLUME_WAIT_SECONDS='600'
readonly MONGO_VERSION='8.0'
readonly ADMIN_USER='admin'
readonly ADMIN_PASSWORD_PARAMETER='/ams-cluster/dev/ams-cluster-dev-mongo/mongodb/admin-password'
readonly APP_USER='ams'
readonly APP_PASSWORD_PARAMETER='/ams-cluster/dev/ams-cluster-dev-mongo/mongodb/app-password'
readonly READY_PARAMETER='/ams-cluster/dev/ams-cluster-dev-mongo/mongodb/ready'

readonly DATA_DIR=/var/lib/mongodb
readonly MONGOD_CONF=/etc/mongod.conf
readonly MOUNT_DROPIN=/etc/systemd/system/mongod.service.d/ams-data-volume.conf
readonly KEYRING="/usr/share/keyrings/mongodb-server-${MONGO_VERSION}.gpg"
readonly REPO_LIST="/etc/apt/sources.list.d/mongodb-org-${MONGO_VERSION}.list"
readonly REPO_KEY_URL="https://www.mongodb.org/static/pgp/server-${MONGO_VERSION}.asc"
readonly DEVICE_LINK="/dev/disk/by-id/nvme-Amazon_Elastic_Block_Store_${DATA_VOLUME_ID//-/}"
readonly IMDS_URL=http://169.254.169.254
readonly SSM_URL="https://ssm.${REGION}.amazonaws.com"
readonly AUTOSCALING_URL="https://autoscaling.${REGION}.amazonaws.com"

export DEBIAN_FRONTEND=noninteractive

log() { printf '%s ams-mongo-bootstrap: %s\n' "$(date -Is)" "$*" >&2; }

# AWS through awsapi.py: IMDSv2 credentials and signed requests, with the
# Python standard library (cloud-init's own language, on every image).
install_awsapi() {
  mkdir -p "${AWSAPI%/*}"
  cat >"$AWSAPI" <<'PY'
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
}

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
readonly CWAGENT_CONFIG='{"agent":{"metrics_collection_interval":60,"logfile":"/opt/aws/amazon-cloudwatch-agent/logs/amazon-cloudwatch-agent.log","run_as_user":"root"},"logs":{"logs_collected":{"files":{"collect_list":[{"file_path":"/var/log/cloud-init-output.log","log_group_name":"/ams-cluster/dev/boot","log_stream_name":"{instance_id}","timezone":"UTC"},{"file_path":"/var/log/mongodb/mongod.log","log_group_name":"/ams-cluster/dev/mongodb","log_stream_name":"{instance_id}","timezone":"UTC"}]}}},"metrics":{"namespace":"AMSCluster/ams-cluster/dev","append_dimensions":{"InstanceId":"${aws:InstanceId}"},"aggregation_dimensions":[["InstanceId"],["InstanceId","path"]],"metrics_collected":{"mem":{"measurement":["mem_used_percent"]},"disk":{"measurement":["used_percent"],"resources":["/","/var/lib/mongodb"],"drop_device":true}}}}'
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
# A replica set member redefines on_exit below.
# shellcheck disable=SC2317
on_exit() {
  local status=$?
  if [ "$status" -ne 0 ]; then
    log "FAILED while $step (exit $status); $READY_PARAMETER stays 'pending'"
  fi
}
trap on_exit EXIT

# publish sets the readiness parameter that AMS nodes wait for.
publish() {
  AWSAPI_VALUE=$1 aws_call ssm-put "$READY_PARAMETER" String
}

install_tools() {
  step="installing tools"
  apt-get update -q
  apt-get install -y -q ca-certificates curl gnupg xfsprogs
}

# attach_data_volume waits for the data volume's NVMe device, formats it
# only when it carries no file system, and mounts it at DATA_DIR.
attach_data_volume() {
  step="attaching data volume $DATA_VOLUME_ID"
  local waited=0 device uuid
  until [ -e "$DEVICE_LINK" ]; do
    if [ "$waited" -ge "$DATA_VOLUME_WAIT_SECONDS" ]; then
      log "data volume $DATA_VOLUME_ID did not appear within ${DATA_VOLUME_WAIT_SECONDS}s"
      return 1
    fi
    if [ $((waited % 30)) -eq 0 ]; then
      log "waiting for data volume $DATA_VOLUME_ID (${waited}s)"
    fi
    sleep 5
    waited=$((waited + 5))
  done
  device=$(readlink -f "$DEVICE_LINK")
  if ! blkid "$device" >/dev/null 2>&1; then
    log "formatting the blank data volume $device"
    mkfs.xfs -L mongodata "$device"
  fi
  uuid=$(blkid -s UUID -o value "$device")
  mkdir -p "$DATA_DIR"
  if ! grep -q "^UUID=$uuid " /etc/fstab; then
    # nofail: a missing volume must not stop the boot (the node stays
    # reachable for repair); mongod itself requires the mount (see below).
    echo "UUID=$uuid $DATA_DIR xfs defaults,noatime,nofail 0 2" >>/etc/fstab
  fi
  if ! mountpoint -q "$DATA_DIR"; then
    mount "$DATA_DIR"
  fi
  log "data volume $DATA_VOLUME_ID mounted at $DATA_DIR"
}

install_mongodb() {
  step="installing MongoDB $MONGO_VERSION"
  if [ ! -s "$KEYRING" ]; then
    curl -fsSL "$REPO_KEY_URL" | gpg --batch --yes --dearmor -o "$KEYRING"
  fi
  echo "deb [ arch=amd64,arm64 signed-by=$KEYRING ] https://repo.mongodb.org/apt/ubuntu $(lsb_release -cs)/mongodb-org/$MONGO_VERSION multiverse" >"$REPO_LIST"
  apt-get update -q
  apt-get install -y -q mongodb-org
  # A nofail mount is only wanted by local-fs.target, not ordered before
  # mongod: without this, mongod can start on the empty root-disk directory.
  mkdir -p "${MOUNT_DROPIN%/*}"
  printf '[Unit]\nRequiresMountsFor=%s\n' "$DATA_DIR" >"$MOUNT_DROPIN"
  systemctl daemon-reload
  systemctl enable mongod
  chown -R mongodb:mongodb "$DATA_DIR"
}

# configure writes mongod.conf: maintenance (authorization off, loopback
# only) or service (authorization on, loopback and the private address).
configure() {
  local authorization=disabled bind_ip=127.0.0.1
  if [ "$1" = service ]; then
    authorization=enabled
    bind_ip="127.0.0.1,$private_ip"
  fi
  cat >"$MONGOD_CONF" <<CONF
storage:
  dbPath: $DATA_DIR
systemLog:
  destination: file
  logAppend: true
  path: /var/log/mongodb/mongod.log
net:
  port: 27017
  bindIp: $bind_ip
security:
  authorization: $authorization
processManagement:
  timeZoneInfo: /usr/share/zoneinfo
CONF
}

restart_mongod() {
  systemctl restart mongod
  local tries=0
  until mongosh --quiet --norc --eval 'db.runCommand({ ping: 1 }).ok' >/dev/null 2>&1; do
    tries=$((tries + 1))
    if [ "$tries" -ge 60 ]; then
      log "mongod does not answer after a restart"
      return 1
    fi
    sleep 2
  done
}

# ensure_users creates or updates both users with the passwords in SSM,
# while nobody but this host can connect and authorization is off: no
# read-before-create, no reliance on the localhost exception.
ensure_users() {
  step="creating or updating the database users"
  configure maintenance
  restart_mongod
  ADMIN_PASSWORD=$(aws_call ssm-get "$ADMIN_PASSWORD_PARAMETER")
  APP_PASSWORD=$(aws_call ssm-get "$APP_PASSWORD_PARAMETER")
  export ADMIN_USER APP_USER ADMIN_PASSWORD APP_PASSWORD
  mongosh --quiet --norc --eval '
    const admin = db.getSiblingDB("admin");
    function keep(user, pwd, roles) {
      if (admin.getUser(user) === null) {
        admin.createUser({ user: user, pwd: pwd, roles: roles });
        print("created " + user);
      } else {
        admin.updateUser(user, { pwd: pwd, roles: roles });
        print("updated " + user);
      }
    }
    keep(process.env.ADMIN_USER, process.env.ADMIN_PASSWORD, ["root"]);
    keep(process.env.APP_USER, process.env.APP_PASSWORD,
      ["readWriteAnyDatabase", "dbAdminAnyDatabase", "clusterMonitor"]);'
  unset ADMIN_PASSWORD
}

# serve switches authorization on and opens the private address.
serve() {
  step="switching authorization on"
  configure service
  restart_mongod
}

# verify_app_user proves that MongoDB, as AMS nodes will reach it, accepts
# the application user: authenticated, with read access to the cluster state.
verify_app_user() {
  step="verifying the application user"
  mongosh --quiet --norc "mongodb://$private_ip:27017/admin" --eval '
    db.getSiblingDB("admin").auth(process.env.APP_USER, process.env.APP_PASSWORD);
    db.getSiblingDB("clusterdb").getCollection("clusternode").countDocuments({});' >/dev/null
}

main() {
  step="installing the AWS client"
  install_awsapi
  step="reading the private address"
  private_ip=$(aws_call imds meta-data/local-ipv4)
  # Whatever an earlier boot published, this one is not done yet.
  publish "pending $(date -Is)"
  install_tools
  attach_data_volume
  install_mongodb
  ensure_users
  serve
  verify_app_user
  step="publishing readiness"
  publish "ready sha256:$(printf '%s:%s' "$APP_USER" "$APP_PASSWORD" | sha256sum | cut -d' ' -f1)"
  unset APP_PASSWORD
  log "MongoDB is ready on $private_ip:27017 with authorization enabled"
  step="starting log shipping"
  start_log_shipping
}

# ----- Replica set member ---------------------------------------------------
# Rendered into mongo-bootstrap.sh when the MongoNode has several members.
# Member 0 is the initiator: while its data holds no replica set
# configuration (local.system.replset, readable with authorization off) it
# keeps the users in maintenance mode as a single node does, so no step
# relies on the localhost exception; then every member runs with the set
# name and the key file. Member 0 waits until every member answers hello,
# initiates the set exactly once (only while replSetGetStatus says
# NotYetInitialized and no other member reports a set), then keeps the
# users through the primary, proves the application user through the
# replica-set URL and publishes readiness. The other members start and
# wait to be configured: heartbeats bring them the configuration and
# initial sync the data, users included. A replaced member finds its
# configuration on its volume and rejoins; nothing re-initiates.
readonly REPLICA_SET='ams'
readonly MEMBER_INDEX='1'
readonly MEMBER_HOSTS='10.20.0.177,10.20.32.22,10.20.64.26'
readonly KEYFILE_PARAMETER='/ams-cluster/dev/ams-cluster-dev-mongo/mongodb/keyfile'
readonly MEMBER_WAIT_SECONDS='3600'
readonly PRIMARY_WAIT_SECONDS='600'
readonly KEYFILE=/etc/mongodb/keyfile

# The EXIT trap above calls on_exit by name: a member's failure says where
# it stopped, and nothing about readiness, which member 0 alone publishes.
on_exit() {
  local status=$?
  if [ "$status" -ne 0 ]; then
    log "FAILED while $step (exit $status)"
  fi
}

# write_keyfile reads the set's internal authentication key from SSM and
# writes it for mongod only (owner mongodb, mode 0400). printf is a shell
# builtin: the key never appears in a process's arguments.
write_keyfile() {
  step="writing the replica set key file"
  local key
  key=$(aws_call ssm-get "$KEYFILE_PARAMETER")
  mkdir -p "${KEYFILE%/*}"
  (umask 077 && printf '%s\n' "$key" >"$KEYFILE.new")
  chown mongodb:mongodb "$KEYFILE.new"
  chmod 0400 "$KEYFILE.new"
  mv -f "$KEYFILE.new" "$KEYFILE"
}

# configure_member writes mongod.conf for a replica set member: the key file
# (which also switches authorization on), loopback and the private address.
configure_member() {
  cat >"$MONGOD_CONF" <<CONF
storage:
  dbPath: $DATA_DIR
systemLog:
  destination: file
  logAppend: true
  path: /var/log/mongodb/mongod.log
net:
  port: 27017
  bindIp: 127.0.0.1,$private_ip
security:
  keyFile: $KEYFILE
replication:
  replSetName: $REPLICA_SET
processManagement:
  timeZoneInfo: /usr/share/zoneinfo
CONF
}

start_member() {
  step="starting as a member of replica set $REPLICA_SET"
  configure_member
  restart_mongod
}

# set_url is the replica-set URL of every member, without credentials; a
# short server selection timeout keeps each try of a wait short.
set_url() {
  local host list=""
  for host in ${MEMBER_HOSTS//,/ }; do
    list="$list${list:+,}$host:27017"
  done
  printf 'mongodb://%s/admin?replicaSet=%s&serverSelectionTimeoutMS=10000' "$list" "$REPLICA_SET"
}

# has_set_config tells, in maintenance mode, whether the data already
# belongs to a replica set.
has_set_config() {
  local count
  count=$(mongosh --quiet --norc --eval 'db.getSiblingDB("local").getCollection("system.replset").countDocuments({})')
  [ "$count" != 0 ]
}

read_passwords() {
  step="reading the database passwords"
  ADMIN_PASSWORD=$(aws_call ssm-get "$ADMIN_PASSWORD_PARAMETER")
  APP_PASSWORD=$(aws_call ssm-get "$APP_PASSWORD_PARAMETER")
  export ADMIN_USER APP_USER ADMIN_PASSWORD APP_PASSWORD REPLICA_SET MEMBER_HOSTS
}

# peer_set prints the set name a member reports in hello (which needs no
# authentication), empty before it has a configuration; it fails when the
# member does not answer.
peer_set() {
  mongosh --quiet --norc "mongodb://$1:27017/admin?directConnection=true&serverSelectionTimeoutMS=5000" --eval 'print(db.runCommand({ hello: 1 }).setName || "")' 2>/dev/null
}

# wait_for_members waits, backing off, until every other member answers;
# it sets peers_in_set to the members that already report a set.
wait_for_members() {
  step="waiting for every member to answer"
  local waited=0 delay=5 host name missing
  while :; do
    missing="" peers_in_set=""
    for host in ${MEMBER_HOSTS//,/ }; do
      [ "$host" = "$private_ip" ] && continue
      if name=$(peer_set "$host"); then
        [ -n "$name" ] && peers_in_set="$peers_in_set $host"
      else
        missing="$missing $host"
      fi
    done
    [ -z "$missing" ] && return 0
    if [ "$waited" -ge "$MEMBER_WAIT_SECONDS" ]; then
      log "members$missing did not answer within ${MEMBER_WAIT_SECONDS}s"
      return 1
    fi
    log "waiting for members$missing to answer (${waited}s)"
    sleep "$delay"
    waited=$((waited + delay))
    delay=$((delay * 2 > 60 ? 60 : delay * 2))
  done
}

# initiate_set initiates the set with every member, once: only when this
# member has no configuration and no other member reports a set.
initiate_set() {
  step="checking the replica set"
  local state
  state=$(mongosh --quiet --norc "mongodb://127.0.0.1:27017/admin?directConnection=true" --eval '
    const admin = db.getSiblingDB("admin");
    admin.auth(process.env.ADMIN_USER, process.env.ADMIN_PASSWORD);
    try {
      admin.runCommand({ replSetGetStatus: 1 });
      print("configured");
    } catch (e) {
      if (e.code !== 94) throw e;
      print("uninitiated");
    }')
  if [ "$state" = configured ]; then
    log "this member already belongs to replica set $REPLICA_SET"
    return 0
  fi
  wait_for_members
  if [ -n "$peers_in_set" ]; then
    log "members$peers_in_set already form replica set $REPLICA_SET; waiting to be synced"
    return 0
  fi
  step="initiating replica set $REPLICA_SET"
  mongosh --quiet --norc "mongodb://127.0.0.1:27017/admin?directConnection=true" --eval '
    const admin = db.getSiblingDB("admin");
    admin.auth(process.env.ADMIN_USER, process.env.ADMIN_PASSWORD);
    const hosts = process.env.MEMBER_HOSTS.split(",");
    admin.runCommand({ replSetInitiate: {
      _id: process.env.REPLICA_SET,
      members: hosts.map((h, i) => ({ _id: i, host: h + ":27017", priority: i === 0 ? 2 : 1 })),
    } });
    print("initiated replica set " + process.env.REPLICA_SET + " with " + hosts.join(", "));'
}

# wait_for_primary waits until the set elects a primary.
wait_for_primary() {
  step="waiting for a primary"
  local waited=0
  until mongosh --quiet --norc "$(set_url)" --eval 'db.runCommand({ ping: 1 }).ok' >/dev/null 2>&1; do
    if [ "$waited" -ge "$PRIMARY_WAIT_SECONDS" ]; then
      log "replica set $REPLICA_SET has no primary after ${PRIMARY_WAIT_SECONDS}s"
      return 1
    fi
    if [ $((waited % 30)) -eq 0 ]; then
      log "waiting for replica set $REPLICA_SET to elect a primary (${waited}s)"
    fi
    sleep 5
    waited=$((waited + 5))
  done
}

# keep_through_primary adds members missing from the configuration and
# creates or updates both users, as admin, on the primary: writes there
# replicate to every member.
keep_through_primary() {
  step="keeping the members and users through the primary"
  mongosh --quiet --norc "$(set_url)" --eval '
    const admin = db.getSiblingDB("admin");
    admin.auth(process.env.ADMIN_USER, process.env.ADMIN_PASSWORD);
    const have = rs.conf().members.map(m => m.host);
    for (const h of process.env.MEMBER_HOSTS.split(",").map(h => h + ":27017")) {
      if (!have.includes(h)) {
        rs.add({ host: h, priority: 1 });
        print("added " + h);
      }
    }
    function keep(user, pwd, roles) {
      if (admin.getUser(user) === null) {
        admin.createUser({ user: user, pwd: pwd, roles: roles });
        print("created " + user);
      } else {
        admin.updateUser(user, { pwd: pwd, roles: roles });
        print("kept " + user);
      }
    }
    keep(process.env.ADMIN_USER, process.env.ADMIN_PASSWORD, ["root"]);
    keep(process.env.APP_USER, process.env.APP_PASSWORD,
      ["readWriteAnyDatabase", "dbAdminAnyDatabase", "clusterMonitor"]);'
  unset ADMIN_PASSWORD
}

# verify_set_url proves the application user through the replica-set URL,
# as AMS nodes connect.
verify_set_url() {
  step="verifying the application user through the replica set"
  mongosh --quiet --norc "$(set_url)" --eval '
    db.getSiblingDB("admin").auth(process.env.APP_USER, process.env.APP_PASSWORD);
    db.getSiblingDB("clusterdb").getCollection("clusternode").countDocuments({});' >/dev/null
}

initiator_main() {
  step="reading the replica set state of the data"
  configure maintenance
  restart_mongod
  if ! has_set_config; then
    # A new set, or a single node growing into one: nobody is served yet.
    publish "pending $(date -Is)"
    ensure_users
  fi
  read_passwords
  start_member
  initiate_set
  wait_for_primary
  keep_through_primary
  verify_set_url
  step="publishing readiness"
  publish "ready sha256:$(printf '%s:%s' "$APP_USER" "$APP_PASSWORD" | sha256sum | cut -d' ' -f1)"
  unset APP_PASSWORD
  log "replica set $REPLICA_SET is ready"
}

replica_main() {
  step="installing the AWS client"
  install_awsapi
  step="reading the private address"
  private_ip=$(aws_call imds meta-data/local-ipv4)
  install_tools
  attach_data_volume
  install_mongodb
  write_keyfile
  if [ "$MEMBER_INDEX" = 0 ]; then
    initiator_main
  else
    start_member
    log "member $MEMBER_INDEX runs on $private_ip:27017; member 0 adds it to replica set $REPLICA_SET"
  fi
  step="starting log shipping"
  start_log_shipping
}

replica_main
