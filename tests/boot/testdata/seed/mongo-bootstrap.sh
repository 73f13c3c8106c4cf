#!/bin/bash
# Boot script of the MongoDB node that holds the Ant Media cluster state.
# Rendered by components.MongoNode; runs once per instance through cloud-init.
#
# It is safe to run on a replacement instance: the data volume is formatted
# only when it carries no file system, and the database users are created
# only when the data directory has none yet. Passwords are read from SSM
# Parameter Store through the instance role, never from this script.
set -euo pipefail

readonly REGION={{ shq .Region }}
readonly DATA_VOLUME_ID={{ shq .DataVolumeID }}
readonly MONGO_VERSION={{ shq .MongoVersion }}
readonly ADMIN_USER={{ shq .AdminUser }}
readonly ADMIN_PASSWORD_PARAMETER={{ shq .AdminPasswordParameter }}
readonly APP_USER={{ shq .AppUser }}
readonly APP_PASSWORD_PARAMETER={{ shq .AppPasswordParameter }}
readonly DATA_DIR=/var/lib/mongodb
readonly USERS_MARKER="$DATA_DIR/.ams-users-created"

log() { printf '%s ams-mongo-bootstrap: %s\n' "$(date -Is)" "$*"; }

export DEBIAN_FRONTEND=noninteractive

log "installing tools"
apt-get update -q
apt-get install -y -q ca-certificates curl gnupg xfsprogs
if ! command -v aws >/dev/null 2>&1; then
  snap install aws-cli --classic
fi

imds() {
  local token
  token=$(curl -fsS -X PUT http://169.254.169.254/latest/api/token \
    -H 'X-aws-ec2-metadata-token-ttl-seconds: 300')
  curl -fsS -H "X-aws-ec2-metadata-token: $token" "http://169.254.169.254/latest/meta-data/$1"
}

read_secret() {
  aws ssm get-parameter --region "$REGION" --name "$1" --with-decryption \
    --query Parameter.Value --output text
}

log "waiting for data volume $DATA_VOLUME_ID"
serial=${DATA_VOLUME_ID//-/}
device=""
for _ in $(seq 1 120); do
  for candidate in "/dev/disk/by-id/nvme-Amazon_Elastic_Block_Store_${serial}" /dev/xvdf /dev/sdf; do
    if [ -b "$candidate" ]; then
      device=$(readlink -f "$candidate")
      break 2
    fi
  done
  sleep 5
done
if [ -z "$device" ]; then
  log "data volume $DATA_VOLUME_ID was never attached"
  exit 1
fi

if ! blkid "$device" >/dev/null 2>&1; then
  log "formatting empty data volume $device"
  mkfs.xfs -L mongodata "$device"
fi
uuid=$(blkid -s UUID -o value "$device")
mkdir -p "$DATA_DIR"
if ! grep -q "UUID=$uuid" /etc/fstab; then
  echo "UUID=$uuid $DATA_DIR xfs defaults,noatime,nofail 0 2" >>/etc/fstab
fi
mountpoint -q "$DATA_DIR" || mount "$DATA_DIR"

log "installing MongoDB $MONGO_VERSION"
keyring="/usr/share/keyrings/mongodb-server-${MONGO_VERSION}.gpg"
curl -fsSL "https://www.mongodb.org/static/pgp/server-${MONGO_VERSION}.asc" |
  gpg --batch --yes --dearmor -o "$keyring"
codename=$(lsb_release -cs)
echo "deb [ arch=amd64,arm64 signed-by=${keyring} ] https://repo.mongodb.org/apt/ubuntu ${codename}/mongodb-org/${MONGO_VERSION} multiverse" \
  >"/etc/apt/sources.list.d/mongodb-org-${MONGO_VERSION}.list"
apt-get update -q
apt-get install -y -q mongodb-org
chown -R mongodb:mongodb "$DATA_DIR"

private_ip=$(imds local-ipv4)
cat >/etc/mongod.conf <<CONF
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
  authorization: enabled
processManagement:
  timeZoneInfo: /usr/share/zoneinfo
CONF

systemctl enable mongod
systemctl restart mongod
for _ in $(seq 1 60); do
  if mongosh --quiet --eval 'db.runCommand({ ping: 1 }).ok' >/dev/null 2>&1; then
    break
  fi
  sleep 2
done

if [ ! -f "$USERS_MARKER" ]; then
  log "creating database users"
  ADMIN_PASSWORD=$(read_secret "$ADMIN_PASSWORD_PARAMETER")
  APP_PASSWORD=$(read_secret "$APP_PASSWORD_PARAMETER")
  export ADMIN_USER APP_USER ADMIN_PASSWORD APP_PASSWORD
  # The localhost exception lets the first user be created with authorization on;
  # passwords travel through the environment, never the command line.
  mongosh --quiet admin --eval '
    const admin = db.getSiblingDB("admin");
    if (admin.getUser(process.env.ADMIN_USER) === null) {
      admin.createUser({ user: process.env.ADMIN_USER, pwd: process.env.ADMIN_PASSWORD, roles: ["root"] });
    }'
  mongosh --quiet admin --eval '
    const admin = db.getSiblingDB("admin");
    admin.auth(process.env.ADMIN_USER, process.env.ADMIN_PASSWORD);
    if (admin.getUser(process.env.APP_USER) === null) {
      admin.createUser({ user: process.env.APP_USER, pwd: process.env.APP_PASSWORD,
        roles: ["readWriteAnyDatabase", "dbAdminAnyDatabase", "clusterMonitor"] });
    }'
  unset ADMIN_PASSWORD APP_PASSWORD
  touch "$USERS_MARKER"
fi

log "MongoDB is ready on $private_ip:27017 with authorization enabled"
