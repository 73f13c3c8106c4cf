#!/bin/bash
# Boot program of the MongoDB node that holds the Ant Media cluster state.
# Rendered by components.MongoNode into its user data (mongo-userdata.sh),
# which installs it as /usr/local/lib/ams-mongo/mongo-bootstrap.sh, run by
# ams-mongo-bootstrap.service at every start of the instance until it has
# finished once (DONE): cloud-init runs user data only once per instance,
# even when it was cut off, so a boot cut short converges at the next start.
#
# Every step is safe to run again and converges from any partial state: the
# data volume is formatted only when blank; users are created or updated
# while authorization is off and MongoDB listens on loopback only, then
# authorization is switched on. The node publishes "ready" only once the
# application user's credentials are proven. Passwords are read from SSM
# Parameter Store through the instance role, never from this script, and
# reach mongosh through its environment, never its command line.
set -euo pipefail

readonly REGION={{ shq .Region }}
readonly DATA_VOLUME_ID={{ shq .DataVolumeID }}
readonly DATA_VOLUME_WAIT_SECONDS={{ shq .DataVolumeWaitSeconds }}
readonly MONGO_VERSION={{ shq .MongoVersion }}
readonly ADMIN_USER={{ shq .AdminUser }}
readonly ADMIN_PASSWORD_PARAMETER={{ shq .AdminPasswordParameter }}
readonly APP_USER={{ shq .AppUser }}
readonly APP_PASSWORD_PARAMETER={{ shq .AppPasswordParameter }}
readonly READY_PARAMETER={{ shq .ReadyParameter }}

readonly DATA_DIR=/var/lib/mongodb
# Written once the boot has finished: ams-mongo-bootstrap.service is skipped
# from then on (ConditionPathExists=!DONE).
readonly DONE=/var/lib/ams-mongo/bootstrapped
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

{{ template "awsapi" }}

{{ template "cwagent" . }}

step="starting"
{{ if .Replica }}# A replica set member redefines on_exit below.
# shellcheck disable=SC2317
{{ end }}on_exit() {
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
{{ template "mongo-keep-users" "updated" }}'
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

# mark_done records that the boot has finished on this instance.
mark_done() {
  mkdir -p "${DONE%/*}"
  date -Is >"$DONE"
}

{{ if .Replica }}{{ template "mongo-replica" . }}{{ else }}main{{ end }}
mark_done
