#!/bin/bash
# User data of a TURN node (coturn), rendered by components.TurnServer;
# cloud-init runs it once per instance on Ubuntu 24.04.
#
# The node claims one of its group's Elastic IPs (TURN hands clients the
# node's own public address as their relayed address, so each node needs
# a public address of its own that stays the same), installs coturn with
# the stack's configuration, and completes its launching lifecycle hook
# once coturn runs: until then the group does not count it in service, and
# any failure abandons the launch. Everything it writes survives a reboot
# (the address stays associated, coturn is enabled), so later starts need
# no step of this script. The TURN password is read from SSM Parameter
# Store through the instance role and only its long-term key (RFC 8489
# section 9.2.2, MD5 of user:realm:password) reaches the disk; this script
# carries only the parameter's name.
set -euo pipefail

readonly REGION={{ shq .Region }}
readonly TURN_USER={{ shq .User }}
readonly REALM={{ shq .Realm }}
readonly PASSWORD_PARAMETER={{ shq .PasswordParameter }}
readonly ADDRESS_TAG_KEY={{ shq .AddressTagKey }}
readonly ADDRESS_TAG_VALUE={{ shq .AddressTagValue }}
readonly LAUNCH_HOOK={{ shq .LaunchHookName }}
readonly TURN_PORT={{ .ListeningPort }}
readonly INSTALL_ATTEMPTS=5

readonly IMDS_URL=http://169.254.169.254
readonly SSM_URL="https://ssm.${REGION}.amazonaws.com"
readonly AUTOSCALING_URL="https://autoscaling.${REGION}.amazonaws.com"
readonly EC2_URL="https://ec2.${REGION}.amazonaws.com"
readonly CONF_DIR=/etc/ams-turn
readonly CONF="$CONF_DIR/turnserver.conf"
readonly DROP_IN=/etc/systemd/system/coturn.service.d/ams-turn.conf
readonly POLICY_RC=/usr/sbin/policy-rc.d

log() { printf '%s turn-node: %s\n' "$(date -Is)" "$*" >&2; }

{{ template "awsapi" }}

{{ template "lifecycle" }}

step="starting"
group=""

on_exit() {
  local status=$?
  rm -f "$POLICY_RC"
  if [ "$status" -ne 0 ]; then
    log "FAILED while $step (exit $status); abandoning the launch"
    if [ -n "$group" ]; then
      complete_lifecycle "$group" "$LAUNCH_HOOK" ABANDON || true
    fi
  fi
}

# install_coturn installs Ubuntu's coturn without starting it: its
# package would start it at once with the stock configuration, which has
# no credentials and no denied peers. policy-rc.d exit 101 is Debian's
# "action forbidden" for service starts from maintainer scripts.
install_coturn() {
  local attempt=1
  printf '#!/bin/sh\nexit 101\n' >"$POLICY_RC"
  chmod 0755 "$POLICY_RC"
  until DEBIAN_FRONTEND=noninteractive apt-get -q update &&
    DEBIAN_FRONTEND=noninteractive apt-get -q install -y --no-install-recommends coturn; do
    [ "$attempt" -lt "$INSTALL_ATTEMPTS" ] || return 1
    log "installing coturn failed (attempt $attempt of $INSTALL_ATTEMPTS); retrying"
    attempt=$((attempt + 1))
    sleep $((attempt * 10))
  done
  rm -f "$POLICY_RC"
}

# write_config writes the stack's configuration, then the lines only this
# node knows: its private and public addresses and the user's key. The
# file is readable by coturn's user only.
write_config() {
  local public_ip=$1 private_ip=$2 password key
  password=$(aws_call ssm-get "$PASSWORD_PARAMETER")
  key=$(printf '%s' "$TURN_USER:$REALM:$password" | md5sum)
  key=${key%% *}
  unset password
  mkdir -p "$CONF_DIR"
  install -m 0640 -o root -g turnserver /dev/null "$CONF"
  cat >"$CONF" <<'CONF'
{{ template "turnserver.conf" . }}
CONF
  {
    printf '\n# This node (turn-node.sh).\n'
    printf 'listening-ip=%s\n' "$private_ip"
    printf 'relay-ip=%s\n' "$private_ip"
    printf 'external-ip=%s/%s\n' "$public_ip" "$private_ip"
    printf 'user=%s:0x%s\n' "$TURN_USER" "$key"
  } >>"$CONF"
}

# start_coturn runs coturn in the foreground from the stack's file,
# restarted whenever it stops, and waits until it listens on TURN's port.
# The drop-in sets the service type itself: Debian's packaging has shipped
# coturn.service as Type=notify (with --pidfile=) and as Type=forking with
# a PIDFile=, and a foreground turnserver under Type=forking would hang the
# start until its timeout. Type=simple depends on neither; readiness is the
# listening socket.
start_coturn() {
  mkdir -p "${DROP_IN%/*}"
  cat >"$DROP_IN" <<'UNIT'
[Service]
Type=simple
PIDFile=
ExecStart=
ExecStart=/usr/bin/turnserver -c /etc/ams-turn/turnserver.conf --pidfile=
Restart=always
RestartSec=5
UNIT
  systemctl daemon-reload
  systemctl enable coturn.service
  systemctl restart coturn.service
  local waited=0
  until systemctl is-active --quiet coturn.service && [ -n "$(ss -Hlun "sport = :$TURN_PORT")" ]; do
    [ "$waited" -lt 60 ] || return 1
    sleep 2
    waited=$((waited + 2))
  done
}

main() {
  trap on_exit EXIT
  install_awsapi
  step="reading the group's name"
  group=$(aws_call imds meta-data/tags/instance/aws:autoscaling:groupName)
  step="claiming an Elastic IP"
  local public_ip private_ip
  public_ip=$(aws_call eip-claim "$ADDRESS_TAG_KEY" "$ADDRESS_TAG_VALUE")
  private_ip=$(aws_call imds meta-data/local-ipv4)
  log "public address $public_ip, private address $private_ip"
  step="installing coturn"
  install_coturn
  step="writing the coturn configuration"
  write_config "$public_ip" "$private_ip"
  step="starting coturn"
  start_coturn
  step="completing the launch"
  complete_lifecycle "$group" "$LAUNCH_HOOK" CONTINUE
  log "coturn serves $public_ip; launch completed"
}

main
