{{- define "appsettings" -}}
# Application settings (components/appsettings.go), applied by
# appsettings.py through the panel's REST API as the stack's administrator.
readonly APPSET=/usr/local/lib/ams-bootstrap/appsettings.py
readonly APPSET_PARAMETER={{ shq .AppSettingsParameter }}
readonly APPSET_ADMIN_EMAIL={{ shq .PanelAdminEmail }}
readonly APPSET_PASSWORD_PARAMETER={{ shq .PanelAdminPasswordParameter }}

app_settings_document() {
  aws_call ssm-get "$APPSET_PARAMETER"
}

# apply_app_settings DOCUMENT [quiet]: merges the managed fields into each
# application's settings and logs the names of those it changed. Secrets
# reach appsettings.py on standard input (printf is a builtin). Exit 4: the
# panel refused the credentials.
apply_app_settings() {
  local doc=$1 quiet=${2:-} names name value password hash out status=0 line
  local -a values=()
  names=$(printf '%s' "$doc" | python3 -I -S "$APPSET" secrets) || return 1
  while IFS= read -r name; do
    if [ -n "$name" ]; then
      value=$(aws_call ssm-get "$name") || return 1
      values+=("$value")
    fi
  done <<<"$names"
  password=$(aws_call ssm-get "$APPSET_PASSWORD_PARAMETER") || return 1
  hash=$(printf '%s' "$password" | md5sum | cut -d' ' -f1)
  unset password value
  out=$(printf '%s\0' "$doc" "$hash" "${values[@]}" |
    APPSET_URL=$AMS_URL APPSET_EMAIL=$APPSET_ADMIN_EMAIL APPSET_QUIET=$quiet python3 -I -S "$APPSET" apply) || status=$?
  unset values hash
  while IFS= read -r line; do
    if [ -n "$line" ]; then
      log "application settings: $line"
    fi
  done <<<"$out"
  return "$status"
}

# apply_server_settings DOCUMENT: writes its server properties into
# conf/red5.properties, which Ant Media reads at start.
apply_server_settings() {
  local out line
  out=$(printf '%s' "$1" | python3 -I -S "$APPSET" server "$AMS_DIR/conf/red5.properties") || return 1
  while IFS= read -r line; do
    if [ -n "$line" ]; then
      log "server settings: $line"
    fi
  done <<<"$out"
}
{{- end -}}
