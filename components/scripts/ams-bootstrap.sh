#!/bin/bash
# User data of an Ant Media Server node (origin or edge) in cluster mode.
# Rendered by components.ScalingGroup; cloud-init runs it once per instance
# on the Ant Media Server Enterprise Marketplace image.
#
# It installs the node's two programs and their systemd units, then runs
# the start step for this first boot:
#   ams-node.service   every start: joins the cluster on the way to
#                      InService, only warms on the way into the warm pool
#   ams-agent.service  once in the cluster (ConditionPathExists= the join
#                      marker): metrics, scale-in protection of origins
#                      with publishers, drain on termination
# Both are enabled for multi-user.target, so every later start (a reboot,
# leaving the warm pool) starts them in order: ams-node, then the agent.
# ams-node starts the agent with --no-block only: a blocking start from
# inside its oneshot job would wait for a job ordered after that very job.
# Secrets are read from SSM Parameter Store through the instance role;
# this script carries only parameter names.
set -euo pipefail

readonly ROLE={{ shq .Role }}
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
{{ template "awsapi.py" }}
PY
  cat >"$NODE_DIR/appsettings.py" <<'PY'
{{ template "appsettings.py" }}
PY
  cat >"$NODE_DIR/ams-node.sh" <<'NODE'
{{ template "ams-node.sh" . }}
NODE
  cat >"$NODE_DIR/ams-agent.sh" <<'AGENT'
{{ template "ams-agent.sh" . }}
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
ConditionPathExists=/var/lib/ams-node/joined

[Service]
ExecStart=/usr/local/lib/ams-bootstrap/ams-agent.sh
Restart=always
RestartSec=5

[Install]
WantedBy=multi-user.target
UNIT
  systemctl daemon-reload
  systemctl enable ams-node.service ams-agent.service
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
