#!/bin/bash
# Boot script of an Ant Media Server node (origin or edge) in cluster mode.
# Rendered by components.ScalingGroup; runs once per instance through cloud-init
# on the Ant Media Server Enterprise Marketplace image.
#
# The MongoDB URL and the panel password are read from SSM Parameter Store
# through the instance role; this script carries only their names.
set -euo pipefail

readonly ROLE={{ shq .Role }}
readonly REGION={{ shq .Region }}
readonly DATABASE_URL_PARAMETER={{ shq .DatabaseURLParameter }}
readonly PANEL_ADMIN_EMAIL={{ shq .PanelAdminEmail }}
readonly PANEL_ADMIN_PASSWORD_PARAMETER={{ shq .PanelAdminPasswordParameter }}
readonly AMS_DIR=/usr/local/antmedia
readonly AMS_URL=http://127.0.0.1:5080

log() { printf '%s ams-bootstrap[%s]: %s\n' "$(date -Is)" "$ROLE" "$*"; }

read_secret() {
  aws ssm get-parameter --region "$REGION" --name "$1" --with-decryption \
    --query Parameter.Value --output text
}

# The Marketplace image's first-boot step creates a well-known admin
# ("JamesBond" with the instance ID as password) unless this file exists.
# This stack claims the admin itself below, so that step must not run.
touch "$AMS_DIR/conf/initialized"

if ! command -v aws >/dev/null 2>&1; then
  log "installing the AWS CLI"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  apt-get install -y -q awscli || snap install aws-cli --classic
fi

log "joining the cluster"
database_url=$(read_secret "$DATABASE_URL_PARAMETER")
# The full database URL, quoted: since AMS 3.0 a bare address makes the script
# prompt for confirmation, and under cloud-init the node would stay standalone.
cd "$AMS_DIR"
./change_server_mode.sh cluster "$database_url"
unset database_url

log "waiting for Ant Media Server"
for _ in $(seq 1 120); do
  if curl -fsS "$AMS_URL/rest/v2/liveness" >/dev/null 2>&1; then
    break
  fi
  sleep 5
done
curl -fsS "$AMS_URL/rest/v2/liveness" >/dev/null

if [ -n "$PANEL_ADMIN_PASSWORD_PARAMETER" ]; then
  # Users live in the shared cluster database, so the first node to get here
  # claims the panel for everybody; on the others the server has users already.
  # This runs before the load balancer sees the node healthy, so no visitor
  # can create the first admin instead.
  if curl -fsS "$AMS_URL/rest/v2/first-login-status" | grep -q '"success":true'; then
    log "claiming the web panel administrator $PANEL_ADMIN_EMAIL"
    password=$(read_secret "$PANEL_ADMIN_PASSWORD_PARAMETER")
    # The panel sends the MD5 of what the user types; store the same.
    hash=$(printf '%s' "$password" | md5sum | cut -d' ' -f1)
    unset password
    printf '{"email":"%s","password":"%s","userType":"ADMIN","scope":"system"}' "$PANEL_ADMIN_EMAIL" "$hash" |
      curl -fsS -X POST -H 'Content-Type: application/json' --data-binary @- "$AMS_URL/rest/v2/users/initial" >/dev/null
  fi
fi

log "ready"
