#!/bin/bash
# Waits, on the machine that runs `pulumi up`, for one MongoDB replica set
# member (an EC2 instance) to be where the next member's change may start.
# It asks the member itself over SSM Run Command (its role has the
# ec2messages permissions Run Command needs) to run CHECK_PARAMETERS, a
# mongosh hello (which MongoDB answers without authentication) that prints
# PRIMARY, SECONDARY or OTHER:
#   WANT=up      mongod answers at all (a new member of a new set: the set
#                forms once every member is up, so nothing more to wait for);
#   WANT=member  mongod is PRIMARY or SECONDARY, i.e. back in the set with
#                its configuration loaded, not merely started (a restarted
#                member answers OTHER while it loads its configuration).
# The program sets WANT in the line before this script; every other value
# arrives in the environment, none in this text: AWS_REGION, INSTANCE_ID,
# CHECK_PARAMETERS (the Run Command parameters, JSON) and WAIT_SECONDS,
# which bounds the wait; the deployment fails after it.
set -u
: "${WANT:?}"

deadline=$((SECONDS + WAIT_SECONDS))
attempt=0
log() { printf '%s member %s: %s\n' "$(date -u +%H:%M:%S)" "$INSTANCE_ID" "$*" >&2; }

# check runs the member's check once and says whether the member is WANT.
check() {
  local id state status=Pending
  id=$(aws ssm send-command --region "$AWS_REGION" --instance-ids "$INSTANCE_ID" \
    --document-name AWS-RunShellScript --parameters "$CHECK_PARAMETERS" \
    --comment "ams-cluster: is the MongoDB member $WANT" \
    --query Command.CommandId --output text) || return 1
  while [ "$SECONDS" -lt "$deadline" ]; do
    sleep 5
    # Right after send-command the invocation may not exist yet.
    status=$(aws ssm get-command-invocation --region "$AWS_REGION" --command-id "$id" \
      --instance-id "$INSTANCE_ID" --query Status --output text 2>/dev/null) || status=Pending
    case "$status" in
    Pending | InProgress | Delayed) ;;
    *) break ;;
    esac
  done
  [ "$status" = Success ] || {
    log "check $attempt: $status"
    return 1
  }
  state=$(aws ssm get-command-invocation --region "$AWS_REGION" --command-id "$id" \
    --instance-id "$INSTANCE_ID" --query StandardOutputContent --output text) || return 1
  log "check $attempt: mongod answers ${state//[^A-Z]/}"
  case "$WANT:$state" in
  up:*) return 0 ;;
  member:*PRIMARY* | member:*SECONDARY*) return 0 ;;
  *) return 1 ;;
  esac
}

while :; do
  attempt=$((attempt + 1))
  if check; then
    log "is $WANT after $SECONDS s"
    exit 0
  fi
  if [ "$SECONDS" -ge "$deadline" ]; then
    log "is not $WANT after $WAIT_SECONDS s: stopping here, before the next member changes"
    exit 1
  fi
  sleep 15
done
