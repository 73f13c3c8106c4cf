#!/bin/bash
# User data of a MongoDB node. Rendered by components.MongoNode; cloud-init
# runs it once per instance, inside cloud-final.service, and never again on
# that instance, even when it failed or the power was cut (the scripts_user
# semaphore is taken before it runs).
#
# So it only installs the boot program (mongo-bootstrap.sh) and the unit
# that runs it at every start of the instance until its work is done:
#   ams-mongo-bootstrap.service  oneshot, WantedBy=multi-user.target, skipped
#                                once DONE exists; a failed attempt is
#                                retried (Restart=on-failure, bounded)
# then starts that unit and waits for it, so that `cloud-init status --wait`
# tells how the first boot went. The unit is not ordered after
# cloud-final.service: a blocking start from here would wait for itself.
set -euo pipefail

readonly BOOT_DIR=/usr/local/lib/ams-mongo
readonly UNIT_FILE=/etc/systemd/system/ams-mongo-bootstrap.service
readonly UNIT=ams-mongo-bootstrap.service
# Attempts of this first boot, RETRY_SECONDS apart, before it gives up; the
# unit runs again at the next start.
readonly ATTEMPTS=5
readonly RETRY_SECONDS=30

log() { printf '%s ams-mongo-userdata: %s\n' "$(date -Is)" "$*" >&2; }

install_program() {
  mkdir -p "$BOOT_DIR"
  cat >"$BOOT_DIR/mongo-bootstrap.sh" <<'BOOT'
{{ template "mongo-bootstrap.sh" . }}
BOOT
  chmod 0755 "$BOOT_DIR/mongo-bootstrap.sh"
}

install_unit() {
  cat >"$UNIT_FILE" <<'UNIT'
[Unit]
Description=MongoDB node bootstrap: at every start until done
Wants=network-online.target
After=network-online.target
ConditionPathExists=!/var/lib/ams-mongo/bootstrapped
StartLimitIntervalSec=1h
StartLimitBurst=10

[Service]
Type=oneshot
RemainAfterExit=yes
TimeoutStartSec=infinity
ExecStart=/usr/local/lib/ams-mongo/mongo-bootstrap.sh
Restart=on-failure
RestartSec=30
StandardOutput=append:/var/log/cloud-init-output.log
StandardError=inherit

[Install]
WantedBy=multi-user.target
UNIT
  systemctl daemon-reload
  systemctl enable "$UNIT"
}

# run_bootstrap starts the unit and waits for it; a failed attempt (an apt
# mirror hiccup, the instance role's first seconds) is tried again, at most
# ATTEMPTS times.
run_bootstrap() {
  local attempt=1
  until systemctl start "$UNIT"; do
    if [ "$attempt" -ge "$ATTEMPTS" ]; then
      log "$UNIT failed $attempt times; it runs again at the next start of the instance"
      return 1
    fi
    log "$UNIT failed (attempt $attempt of $ATTEMPTS); trying again in ${RETRY_SECONDS}s"
    sleep "$RETRY_SECONDS"
    attempt=$((attempt + 1))
  done
  log "$UNIT is done"
}

main() {
  install_program
  install_unit
  run_bootstrap
}

main
