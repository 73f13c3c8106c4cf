#!/bin/bash
# Run over SSH by the MongoNode's bootstrap check: waits for cloud-init, then
# proves that mongod answers an authenticated ping. On failure it prints the
# tail of the boot log so that `pulumi up` shows why.
set -uo pipefail

readonly REGION={{ shq .Region }}
readonly ADMIN_USER={{ shq .AdminUser }}
readonly ADMIN_PASSWORD_PARAMETER={{ shq .AdminPasswordParameter }}
readonly IMDS_URL=http://169.254.169.254
readonly SSM_URL="https://ssm.${REGION}.amazonaws.com"
readonly AUTOSCALING_URL="https://autoscaling.${REGION}.amazonaws.com"

log() { printf '%s ams-mongo-verify: %s\n' "$(date -Is)" "$*" >&2; }

{{ template "awsapi" }}

fail() {
  echo "MongoDB bootstrap check failed: $*" >&2
  sudo tail -n 60 /var/log/cloud-init-output.log >&2 || true
  exit 1
}

# cloud-init status exits 1 on an error and 2 on a degraded boot
# (recoverable warnings, cloudinit/cmd/status.py): 2 is done.
status=0
cloud-init status --wait >/dev/null || status=$?
case $status in
  0) ;;
  2) log "cloud-init finished with recoverable warnings (degraded); see cloud-init status --long" ;;
  *) fail "cloud-init did not finish cleanly (cloud-init status exited $status)" ;;
esac

# The boot script installed the AWS client; the instance role reads the password.
ADMIN_PASSWORD=$(aws_call ssm-get "$ADMIN_PASSWORD_PARAMETER") || fail "cannot read $ADMIN_PASSWORD_PARAMETER"
export ADMIN_USER ADMIN_PASSWORD
ok=$(mongosh --quiet --norc --eval '
  db.getSiblingDB("admin").auth(process.env.ADMIN_USER, process.env.ADMIN_PASSWORD);
  print(db.runCommand({ ping: 1 }).ok)') || fail "mongosh could not authenticate"
[ "$ok" = "1" ] || fail "authenticated ping answered '$ok'"
echo "MongoDB answers an authenticated ping"
