{{ define "mongo-replica" -}}
# ----- Replica set member ---------------------------------------------------
# Rendered into mongo-bootstrap.sh when the MongoNode has several members.
# Member 0 is the initiator: while its data holds no replica set
# configuration (local.system.replset, readable with authorization off) it
# keeps the users in maintenance mode as a single node does, so no step
# relies on the localhost exception; then every member runs with the set
# name and the key file. Member 0 waits until every member answers hello,
# initiates the set exactly once (only while replSetGetStatus says
# NotYetInitialized and no other member reports a set), then keeps the
# users through the primary, proves the application user through the
# replica-set URL and publishes readiness. The other members start and
# wait to be configured: heartbeats bring them the configuration and
# initial sync the data, users included. A replaced member finds its
# configuration on its volume and rejoins; nothing re-initiates.
readonly REPLICA_SET={{ shq .Replica.SetName }}
readonly MEMBER_INDEX={{ shq .Replica.MemberIndex }}
readonly MEMBER_HOSTS={{ shq .Replica.MemberHosts }}
readonly KEYFILE_PARAMETER={{ shq .Replica.KeyFileParameter }}
readonly MEMBER_WAIT_SECONDS={{ shq .Replica.MemberWaitSeconds }}
readonly PRIMARY_WAIT_SECONDS={{ shq .Replica.PrimaryWaitSeconds }}
readonly KEYFILE=/etc/mongodb/keyfile
# User writes through the primary wait for a majority of members, at most
# WRITE_TIMEOUT_MS each time, and are retried WRITE_TRIES times in all,
# WRITE_RETRY_SECONDS apart: the implicit {w: "majority"} has no timeout.
readonly WRITE_TIMEOUT_MS=15000 WRITE_TRIES=8 WRITE_RETRY_SECONDS=10

# The EXIT trap above calls on_exit by name: a member's failure says where
# it stopped, and nothing about readiness, which member 0 alone publishes.
on_exit() {
  local status=$?
  if [ "$status" -ne 0 ]; then
    log "FAILED while $step (exit $status)"
  fi
}

# write_keyfile reads the set's internal authentication key from SSM and
# writes it for mongod only (owner mongodb, mode 0400). printf is a shell
# builtin: the key never appears in a process's arguments.
write_keyfile() {
  step="writing the replica set key file"
  local key
  key=$(aws_call ssm-get "$KEYFILE_PARAMETER")
  mkdir -p "${KEYFILE%/*}"
  (umask 077 && printf '%s\n' "$key" >"$KEYFILE.new")
  chown mongodb:mongodb "$KEYFILE.new"
  chmod 0400 "$KEYFILE.new"
  mv -f "$KEYFILE.new" "$KEYFILE"
}

# configure_member writes mongod.conf for a replica set member: the key file
# (which also switches authorization on), loopback and the private address.
configure_member() {
  cat >"$MONGOD_CONF" <<CONF
storage:
  dbPath: $DATA_DIR
systemLog:
  destination: file
  logAppend: true
  path: /var/log/mongodb/mongod.log
net:
  port: 27017
  bindIp: 127.0.0.1,$private_ip
security:
  keyFile: $KEYFILE
replication:
  replSetName: $REPLICA_SET
processManagement:
  timeZoneInfo: /usr/share/zoneinfo
CONF
}

start_member() {
  step="starting as a member of replica set $REPLICA_SET"
  configure_member
  restart_mongod
}

# set_url is the replica-set URL of every member, without credentials; a
# short server selection timeout keeps each try of a wait short.
set_url() {
  local host list=""
  for host in ${MEMBER_HOSTS//,/ }; do
    list="$list${list:+,}$host:27017"
  done
  printf 'mongodb://%s/admin?replicaSet=%s&serverSelectionTimeoutMS=10000' "$list" "$REPLICA_SET"
}

# has_set_config tells, in maintenance mode, whether the data already
# belongs to a replica set.
has_set_config() {
  local count
  count=$(mongosh --quiet --norc --eval 'db.getSiblingDB("local").getCollection("system.replset").countDocuments({})')
  [ "$count" != 0 ]
}

read_passwords() {
  step="reading the database passwords"
  ADMIN_PASSWORD=$(aws_call ssm-get "$ADMIN_PASSWORD_PARAMETER")
  APP_PASSWORD=$(aws_call ssm-get "$APP_PASSWORD_PARAMETER")
  export ADMIN_USER APP_USER ADMIN_PASSWORD APP_PASSWORD REPLICA_SET MEMBER_HOSTS
}

# peer_state prints what a member is: "in-set" when hello names its set;
# "loading" when it does not yet but it holds the set's users (it was
# synced from a set, so it has a stored configuration and is still loading
# it: mongod answers NotYetInitialized, 94, to replSetGetStatus and hello
# names no set while a restarted member is in STARTUP); "new" when it has
# no users (it never received a set's data). It fails when the member does
# not answer.
peer_state() {
  mongosh --quiet --norc "mongodb://$1:27017/admin?directConnection=true&serverSelectionTimeoutMS=5000" --eval '
    if (db.runCommand({ hello: 1 }).setName) {
      print("in-set");
    } else {
      let synced = true;
      try {
        db.getSiblingDB("admin").auth(process.env.ADMIN_USER, process.env.ADMIN_PASSWORD);
      } catch (e) {
        synced = false;
      }
      if (!synced) {
        print("new");
      } else {
        try {
          db.adminCommand({ replSetGetStatus: 1 });
          print("in-set");
        } catch (e) {
          if (e.code !== 94) throw e;
          print("loading");
        }
      }
    }' 2>/dev/null
}

# wait_for_members waits, backing off, until every other member answers and
# none is still loading a stored configuration; it sets peers_in_set to the
# members that report a set.
wait_for_members() {
  step="waiting for every member to answer"
  local waited=0 delay=5 host state missing loading
  while :; do
    missing="" loading="" peers_in_set=""
    for host in ${MEMBER_HOSTS//,/ }; do
      [ "$host" = "$private_ip" ] && continue
      if state=$(peer_state "$host"); then
        case $state in
          in-set) peers_in_set="$peers_in_set $host" ;;
          loading) loading="$loading $host" ;;
        esac
      else
        missing="$missing $host"
      fi
    done
    [ -z "$missing$loading" ] && return 0
    if [ "$waited" -ge "$MEMBER_WAIT_SECONDS" ]; then
      log "members$missing$loading did not answer or load within ${MEMBER_WAIT_SECONDS}s"
      return 1
    fi
    if [ -n "$loading" ]; then
      log "members$loading are loading their stored replica set configuration (${waited}s)"
    fi
    if [ -n "$missing" ]; then
      log "waiting for members$missing to answer (${waited}s)"
    fi
    sleep "$delay"
    waited=$((waited + delay))
    delay=$((delay * 2 > 60 ? 60 : delay * 2))
  done
}

# own_state prints "configured" when this member answers replSetGetStatus,
# "uninitiated" when it answers NotYetInitialized (94): never initiated, or
# still loading its stored configuration after a start.
own_state() {
  mongosh --quiet --norc "mongodb://127.0.0.1:27017/admin?directConnection=true" --eval '
    const admin = db.getSiblingDB("admin");
    admin.auth(process.env.ADMIN_USER, process.env.ADMIN_PASSWORD);
    try {
      admin.runCommand({ replSetGetStatus: 1 });
      print("configured");
    } catch (e) {
      if (e.code !== 94) throw e;
      print("uninitiated");
    }'
}

# initiate_set initiates the set with every member, once: only when this
# member's data holds no configuration (read in maintenance mode, as
# stored_config says: a 94 answer alone also means "still loading"), no
# other member reports a set and none is still loading one.
initiate_set() {
  step="checking the replica set"
  local waited=0 state
  state=$(own_state)
  while [ "$state" != configured ] && [ "$stored_config" = yes ]; do
    if [ "$waited" -ge "$PRIMARY_WAIT_SECONDS" ]; then
      log "this member has not loaded its stored configuration after ${PRIMARY_WAIT_SECONDS}s"
      return 1
    fi
    log "this member is loading its stored replica set configuration (${waited}s)"
    sleep 5
    waited=$((waited + 5))
    state=$(own_state)
  done
  if [ "$state" = configured ]; then
    log "this member already belongs to replica set $REPLICA_SET"
    return 0
  fi
  wait_for_members
  if [ -n "$peers_in_set" ]; then
    log "members$peers_in_set already form replica set $REPLICA_SET; waiting to be synced"
    return 0
  fi
  step="initiating replica set $REPLICA_SET"
  mongosh --quiet --norc "mongodb://127.0.0.1:27017/admin?directConnection=true" --eval '
    const admin = db.getSiblingDB("admin");
    admin.auth(process.env.ADMIN_USER, process.env.ADMIN_PASSWORD);
    const hosts = process.env.MEMBER_HOSTS.split(",");
    admin.runCommand({ replSetInitiate: {
      _id: process.env.REPLICA_SET,
      members: hosts.map((h, i) => ({ _id: i, host: h + ":27017", priority: i === 0 ? 2 : 1 })),
    } });
    print("initiated replica set " + process.env.REPLICA_SET + " with " + hosts.join(", "));'
}

# wait_for_primary waits until the set elects a primary.
wait_for_primary() {
  step="waiting for a primary"
  local waited=0
  until mongosh --quiet --norc "$(set_url)" --eval 'db.runCommand({ ping: 1 }).ok' >/dev/null 2>&1; do
    if [ "$waited" -ge "$PRIMARY_WAIT_SECONDS" ]; then
      log "replica set $REPLICA_SET has no primary after ${PRIMARY_WAIT_SECONDS}s"
      return 1
    fi
    if [ $((waited % 30)) -eq 0 ]; then
      log "waiting for replica set $REPLICA_SET to elect a primary (${waited}s)"
    fi
    sleep 5
    waited=$((waited + 5))
  done
}

# keep_through_primary adds members missing from the configuration and
# creates or updates both users, as admin, on the primary: writes there
# replicate to every member. The user writes carry an explicit write
# concern, {w: "majority", wtimeout}: since MongoDB 5.0 the implicit one is
# {w: "majority"} with no timeout, which waits without end on lagging
# secondaries. A timeout (WriteConcernFailed, 64: the write is applied but
# not yet acknowledged by a majority) is logged and the users are kept
# again, WRITE_TRIES times at most.
keep_through_primary() {
  step="keeping the members and users through the primary"
  export WRITE_TIMEOUT_MS WRITE_TRIES WRITE_RETRY_SECONDS
  mongosh --quiet --norc "$(set_url)" --eval '
    const primary = db.getSiblingDB("admin");
    primary.auth(process.env.ADMIN_USER, process.env.ADMIN_PASSWORD);
    const have = rs.conf().members.map(m => m.host);
    for (const h of process.env.MEMBER_HOSTS.split(",").map(h => h + ":27017")) {
      if (!have.includes(h)) {
        rs.add({ host: h, priority: 1 });
        print("added " + h);
      }
    }
    const wc = { w: "majority", wtimeout: Number(process.env.WRITE_TIMEOUT_MS) };
    const admin = {
      getUser: (user) => primary.getUser(user),
      createUser: (doc) => primary.createUser(doc, wc),
      updateUser: (user, doc) => primary.updateUser(user, doc, wc),
    };
    function keepUsers() {
{{ template "mongo-keep-users" "kept" }}
    }
    const tries = Number(process.env.WRITE_TRIES);
    for (let attempt = 1; ; attempt++) {
      try {
        keepUsers();
        break;
      } catch (e) {
        if (e.code !== 64 || attempt >= tries) throw e;
        print("the user writes are not yet on a majority of members (" + e.message + ", attempt " + attempt +
          " of " + tries + "); keeping them again in " + process.env.WRITE_RETRY_SECONDS + "s");
        sleep(Number(process.env.WRITE_RETRY_SECONDS) * 1000);
      }
    }'
  unset ADMIN_PASSWORD
}

# verify_set_url proves the application user through the replica-set URL,
# as AMS nodes connect.
verify_set_url() {
  step="verifying the application user through the replica set"
  mongosh --quiet --norc "$(set_url)" --eval '
    db.getSiblingDB("admin").auth(process.env.APP_USER, process.env.APP_PASSWORD);
    db.getSiblingDB("clusterdb").getCollection("clusternode").countDocuments({});' >/dev/null
}

initiator_main() {
  step="reading the replica set state of the data"
  configure maintenance
  restart_mongod
  stored_config=no
  has_set_config && stored_config=yes
  if [ "$stored_config" = no ]; then
    # A new set, or a single node growing into one: nobody is served yet.
    publish "pending $(date -Is)"
    ensure_users
  fi
  read_passwords
  start_member
  initiate_set
  wait_for_primary
  keep_through_primary
  verify_set_url
  step="publishing readiness"
  publish "ready sha256:$(printf '%s:%s' "$APP_USER" "$APP_PASSWORD" | sha256sum | cut -d' ' -f1)"
  unset APP_PASSWORD
  log "replica set $REPLICA_SET is ready"
}

replica_main() {
  step="installing the AWS client"
  install_awsapi
  step="reading the private address"
  private_ip=$(aws_call imds meta-data/local-ipv4)
  install_tools
  attach_data_volume
  install_mongodb
  write_keyfile
  if [ "$MEMBER_INDEX" = 0 ]; then
    initiator_main
  else
    start_member
    log "member $MEMBER_INDEX runs on $private_ip:27017; member 0 adds it to replica set $REPLICA_SET"
  fi
  step="starting log shipping"
  start_log_shipping
}

replica_main
{{- end }}

{{/* mongo-keep-users is mongosh JavaScript that creates or updates both
users with the passwords in the environment, given admin, the admin
database, printing "created <user>" or "<its argument> <user>": the single
node (in maintenance mode) and the replica set's primary both run it. */}}
{{ define "mongo-keep-users" }}    function keep(user, pwd, roles) {
      if (admin.getUser(user) === null) {
        admin.createUser({ user: user, pwd: pwd, roles: roles });
        print("created " + user);
      } else {
        admin.updateUser(user, { pwd: pwd, roles: roles });
        print("{{ . }} " + user);
      }
    }
    keep(process.env.ADMIN_USER, process.env.ADMIN_PASSWORD, ["root"]);
    keep(process.env.APP_USER, process.env.APP_PASSWORD,
      ["readWriteAnyDatabase", "dbAdminAnyDatabase", "clusterMonitor"]);{{ end }}
