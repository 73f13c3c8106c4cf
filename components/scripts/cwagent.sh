{{- define "cwagent" -}}
# The CloudWatch agent ships this node's logs and publishes its memory and
# disk usage. It is not in Ubuntu's archive: Amazon publishes a .deb per
# region. Installing it is never on the way into service and never fails
# the boot: a node without it still serves, and says so in its log.
# The agent itself expands ${aws:InstanceId} in its configuration.
# shellcheck disable=SC2016
readonly CWAGENT_CONFIG={{ shq .AgentConfig }}
readonly CWAGENT_CONFIG_FILE={{ shq agentConfigFile }}
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
{{- end -}}
