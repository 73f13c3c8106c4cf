{{- define "awsapi" -}}
# AWS through awsapi.py: IMDSv2 credentials and signed requests, with the
# Python standard library (cloud-init's own language, on every image).
install_awsapi() {
  mkdir -p "${AWSAPI%/*}"
  cat >"$AWSAPI" <<'PY'
{{ template "awsapi.py" }}
PY
}

{{ template "awscall" }}
{{- end -}}

{{- define "awscall" -}}
readonly AWSAPI=/usr/local/lib/ams-bootstrap/awsapi.py
readonly AWS_ATTEMPTS=8
# How long a refusal of the instance's own credentials (awsapi.py exit 6) is
# retried while no call with them has worked yet: IAM reaches a new
# instance's profile seconds after the instance starts ("Changes that I make
# are not always immediately visible", IAM User Guide). Once a call worked,
# a refusal is final.
readonly AWS_CREDENTIALS_WAIT_SECONDS=180
readonly AWS_CREDENTIALS_WORKED=/var/lib/awsapi/credentials-worked

# aws_call COMMAND ARGS...: runs awsapi.py, retrying transient failures
# (exit 2: throttling, server errors, no network) and, until the instance's
# credentials have worked once, their refusal (exit 6), with a growing pause.
aws_call() {
  local attempt=1 status pause=1 waited=0
  while :; do
    status=0
    AWSAPI_IMDS="$IMDS_URL" AWSAPI_REGION="$REGION" AWSAPI_SSM="$SSM_URL" \
      AWSAPI_AUTOSCALING="$AUTOSCALING_URL" AWSAPI_MONITORING="${MONITORING_URL:-}" AWSAPI_EC2="${EC2_URL:-}" \
      python3 -I -S "$AWSAPI" "$@" || status=$?
    case $status in
      2)
        [ "$attempt" -lt "$AWS_ATTEMPTS" ] || return 2
        log "AWS call $1 failed transiently (attempt $attempt of $AWS_ATTEMPTS); retrying in ${pause}s"
        attempt=$((attempt + 1))
        ;;
      6)
        if [ -e "$AWS_CREDENTIALS_WORKED" ] || [ "$waited" -ge "$AWS_CREDENTIALS_WAIT_SECONDS" ]; then
          return 6
        fi
        log "AWS call $1: the instance's credentials are not in force yet (IAM propagates to a new instance); retrying in ${pause}s (${waited}s of ${AWS_CREDENTIALS_WAIT_SECONDS}s)"
        ;;
      *)
        # Any answer the service gave past IAM proves the credentials.
        if [ "$1" != imds ] && [[ $status =~ ^[0357]$ ]] && [ ! -e "$AWS_CREDENTIALS_WORKED" ]; then
          mkdir -p "${AWS_CREDENTIALS_WORKED%/*}" && : >"$AWS_CREDENTIALS_WORKED"
        fi
        return "$status"
        ;;
    esac
    sleep "$pause"
    waited=$((waited + pause))
    pause=$((pause * 2 > 30 ? 30 : pause * 2))
  done
}
{{- end -}}

{{- define "lifecycle" -}}
# How long "No active Lifecycle Action" (awsapi.py exit 7) is retried:
# Auto Scaling opens an instance's lifecycle action seconds after the
# state change that opens it, and completing it earlier fails
# (aws-samples/amazon-ec2-auto-scaling-group-examples issues 3 and 5).
readonly LIFECYCLE_WAIT_SECONDS=180

# complete_lifecycle GROUP HOOK RESULT: completes this instance's lifecycle
# action of HOOK, retrying while Auto Scaling has not opened it yet. Exit 7
# means no action was open for LIFECYCLE_WAIT_SECONDS.
complete_lifecycle() {
  local status waited=0 pause=2
  while :; do
    status=0
    aws_call complete-lifecycle "$@" || status=$?
    if [ "$status" -ne 7 ] || [ "$waited" -ge "$LIFECYCLE_WAIT_SECONDS" ]; then
      return "$status"
    fi
    log "no lifecycle action of $2 open for this instance yet; retrying in ${pause}s (${waited}s of ${LIFECYCLE_WAIT_SECONDS}s)"
    sleep "$pause"
    waited=$((waited + pause))
    pause=$((pause * 2 > 20 ? 20 : pause * 2))
  done
}
{{- end -}}
