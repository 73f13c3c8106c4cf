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
{{- end -}}
