#!/usr/bin/env bash
# make run: everything a newcomer needs to walk the wizard and run a first
# sync cycle, all on loopback:
#
#   - the two demo Samba AD forests (unless FORESTS=0): corp.example.test on
#     127.0.0.2 and fabrikam.example.test on 127.0.0.3, kept in
#     $DATA_DIR/forests next to the console's database (the first run restores
#     them from .cache/forests, or provisions and seeds them, and installs samba
#     with apt-get if it is missing, which needs root). Forests already running
#     (`make forests`, or a make run that was killed) are used and left running;
#   - the tenant emulator standing in for Microsoft Entra ID on $TENANT_ADDR,
#     its directory in $DATA_DIR/tenant-emulator.json, served over HTTPS as
#     the real cloud is, with a test CA kept (and reused) in
#     $DATA_DIR/tenant-ca that the console is told to trust
#     (HYBRIDSYNC_ENTRA_CA) — unless HYBRIDSYNC_ENTRA_AUTHORITY names a real
#     tenant's authority (with HYBRIDSYNC_ENTRA_CLIENT_ID);
#   - the console on $LISTEN with its data in $DATA_DIR, finding corp's DC
#     through corp's DNS (HYBRIDSYNC_DNS_SERVER, default 127.0.0.2:53).
#
# Once the console answers /healthz it prints one block — the URL, the setup
# token, the tenant's and the forests' accounts, the CA files — and waits.
# Ctrl-C (SIGINT) or SIGTERM stops, by PID, what it started; the logs are in
# $DATA_DIR/*.log.
set -euo pipefail
cd "$(dirname "$0")/.."
GO=${GO:-go}
DATA_DIR=${DATA_DIR:-./data}
LISTEN=${LISTEN:-127.0.0.1:8080}
TENANT_ADDR=${TENANT_ADDR:-127.0.0.1:8443}
FORESTS=${FORESTS:-1}
case "$FORESTS" in
  0|1) ;;
  *) echo "run: FORESTS must be 1 (start the demo forests) or 0 (don't), not '$FORESTS'" >&2; exit 2 ;;
esac
mkdir -p "$DATA_DIR" .cache/bin
DATA_DIR=$(cd "$DATA_DIR" && pwd)
bin=$PWD/.cache/bin
console_log=$DATA_DIR/console.log
tenant_log=$DATA_DIR/tenant-emulator.log
started=$DATA_DIR/.make-run-forests # the forests this run started: name pid dir

tenant_ca_dir=$DATA_DIR/tenant-ca # the emulator's test CA and certificate
console_pid= tenant_pid= child_pid= forests_up= tenant_url=

say() { echo "run: $*" >&2; }

# stop_pid PID NAME [SECONDS]: SIGTERM, then SIGKILL if it is still there
# after SECONDS (15).
stop_pid() {
  local pid=$1 name=$2 secs=${3:-15} i
  kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null; return 0; }
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < secs * 10; i++)); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$pid" 2>/dev/null; then
    say "$name (pid $pid) did not stop in $secs s; killing it"
    kill -KILL "$pid" 2>/dev/null || true
  fi
  wait "$pid" 2>/dev/null || true
  say "stopped $name (pid $pid)"
  return 0 # a bare return in a trap would return the status before the trap
}

cleanup() {
  trap '' INT TERM HUP # a second Ctrl-C must not cut the clean-up short
  set +e           # and neither must a failing step
  # forests up stops the forests it started itself when it is stopped midway.
  if [[ -n $child_pid ]]; then stop_pid "$child_pid" "forests up" 60; fi
  if [[ -n $console_pid ]]; then stop_pid "$console_pid" console; fi
  if [[ -n $tenant_pid ]]; then stop_pid "$tenant_pid" "tenant emulator"; fi
  if [[ -n $forests_up ]]; then
    "$bin/forests" down -dir "$DATA_DIR/forests" -started "$started" 2>&1 | sed 's/^/run: /' >&2 || true
  fi
  rm -f "$started"
}
trap cleanup EXIT
trap 'echo >&2; say "stopping (SIGINT)"; exit 130' INT
trap 'say "stopping (SIGTERM)"; exit 143' TERM
trap 'say "stopping (SIGHUP)"; exit 129' HUP
# Every long-running child starts in a session of its own (setsid), so that
# Ctrl-C reaches only this script (and make), whose trap then stops them in
# order, by PID — a child that caught SIGINT and exited cleanly would make bash
# ignore the signal.

# host:port → the loopback address to reach it on (0.0.0.0, :: or empty: 127.0.0.1).
reach() {
  local host=${1%:*} port=${1##*:}
  case "$host" in ''|0.0.0.0|'[::]'|'::') host=127.0.0.1 ;; esac
  echo "$host:$port"
}
in_use() { local a; a=$(reach "$1"); (exec 3<>"/dev/tcp/${a%:*}/${a##*:}") 2>/dev/null; }

tenant_wanted=
[[ -z ${HYBRIDSYNC_ENTRA_AUTHORITY:-} ]] && tenant_wanted=1
if in_use "$LISTEN"; then
  say "something already listens on $LISTEN (another make run?); set LISTEN=host:port to use another address"
  exit 1
fi
if [[ -n $tenant_wanted ]] && in_use "$TENANT_ADDR"; then
  say "something already listens on $TENANT_ADDR (another make run?); set TENANT_ADDR=host:port to use another address"
  exit 1
fi

say "building the console, the tenant emulator and the forests command into .cache/bin (minutes on a fresh Go build cache)"
"$GO" build -o "$bin/" ./cmd/hybridsync ./cmd/tenant-emulator ./e2e/forest/cmd/forests

if [[ $FORESTS == 1 ]]; then
  say "starting the demo forests (provisioning them on a first run takes about 40 s)"
  forests_up=1
  # In the background so that a signal reaches the trap at once; up stops
  # what it started when it is stopped midway.
  setsid "$bin/forests" up -q -keep -dir "$DATA_DIR/forests" -started "$started" &
  child_pid=$!
  rc=0
  wait "$child_pid" || rc=$?
  child_pid=
  if ((rc != 0)); then
    say "the demo forests did not come up (see above); \`make run FORESTS=0\` runs without them"
    exit 1
  fi
  export HYBRIDSYNC_DNS_SERVER=${HYBRIDSYNC_DNS_SERVER:-127.0.0.2:53}
fi

if [[ -n $tenant_wanted ]]; then
  : >"$tenant_log"
  setsid "$bin/tenant-emulator" -addr "$TENANT_ADDR" -tls-dir "$tenant_ca_dir" -state "$DATA_DIR/tenant-emulator.json" >>"$tenant_log" 2>&1 &
  tenant_pid=$!
  for ((i = 0; ; i++)); do
    grep -q '^listening on ' "$tenant_log" && break
    if ! kill -0 "$tenant_pid" 2>/dev/null || ((i >= 300)); then
      say "the tenant emulator did not start; its log ($tenant_log) ends:"
      tail -n 20 "$tenant_log" >&2
      exit 1
    fi
    sleep 0.1
  done
  tenant_url="https://$(reach "$TENANT_ADDR")"
  export HYBRIDSYNC_ENTRA_AUTHORITY="$tenant_url/organizations"
  export HYBRIDSYNC_GRAPH_URL="$tenant_url/v1.0"
  export HYBRIDSYNC_ENTRA_CA="$tenant_ca_dir/ca.pem"
  export HYBRIDSYNC_ENTRA_CLIENT_ID=5c0e1d2a-7b3f-4c8e-9d10-2a3b4c5d6e01 # tenant.ConnectClientID
fi

: >"$console_log"
setsid "$bin/hybridsync" serve --data-dir "$DATA_DIR" --listen "$LISTEN" >>"$console_log" 2>&1 &
console_pid=$!
scheme=http
[[ -n ${HYBRIDSYNC_TLS_CERT:-} ]] && scheme=https
health="$scheme://$(reach "$LISTEN")/healthz"
for ((i = 0; ; i++)); do
  curl -ksf --max-time 2 -o /dev/null "$health" && break
  if ! kill -0 "$console_pid" 2>/dev/null || ((i >= 600)); then
    say "the console did not become healthy at $health; its log ($console_log) ends:"
    tail -n 20 "$console_log" >&2
    exit 1
  fi
  sleep 0.1
done

# The console logs the one-time token before it listens, so it is there now
# (text: setup_token=…, json: "setup_token":"…").
token=$(sed -n 's/.*setup_token[=":]*\([A-Za-z0-9_-]*\).*/\1/p' "$console_log" | tail -n 1)
logs=$console_log tenant_ca= forests_flag=false
if [[ -n $tenant_pid ]]; then logs+=", $tenant_log" tenant_ca=$HYBRIDSYNC_ENTRA_CA; fi
if [[ $FORESTS == 1 ]]; then logs+=", each forest's log/samba.log" forests_flag=true; fi
"$bin/forests" describe -dir "$DATA_DIR/forests" -started "$started" -forests="$forests_flag" \
  -console "$scheme://$(reach "$LISTEN")" -setup-token "$token" -data-dir "$DATA_DIR" \
  -console-pid "$console_pid" -tenant "$tenant_url" -tenant-ca "$tenant_ca" -tenant-pid "${tenant_pid:-0}" \
  -dns "${HYBRIDSYNC_DNS_SERVER:-}" -logs "$logs"

# Wait until a signal (the traps stop everything) or until the console or the
# emulator ends by itself (then the rest is stopped too).
rc=0
wait -n $console_pid $tenant_pid || rc=$?
for p in $console_pid $tenant_pid; do
  kill -0 "$p" 2>/dev/null && continue
  if [[ $p == "$console_pid" ]]; then name=console log=$console_log; else name="tenant emulator" log=$tenant_log; fi
  say "the $name (pid $p) exited by itself (status $rc); its log ($log) ends:"
  tail -n 20 "$log" >&2
done
exit 1
