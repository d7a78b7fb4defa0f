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
#   - the federation demo (with the forests and the emulator, unless
#     FEDERATION=0 or HYBRIDSYNC_DNS_SERVER is set), all stand-ins from e2e/
#     and scripts/: two test DNS servers, "intranet" on $FED_INTRANET_DNS
#     (default 127.0.0.1:5353: the demo names, and corp's DNS 127.0.0.2:53
#     for the rest) and "extranet" on $FED_EXTRANET_DNS (127.0.0.1:5354: the
#     names the internet would see); an AD FS farm sts.corp.example.test on
#     127.0.0.40:443 and a PingFederate server ping.corp.example.test on
#     127.0.0.41:9031 (e2e/fedserver), signing corp's users in over LDAPS,
#     with a certificate from the federation test CA kept (and reused) in
#     $DATA_DIR/federation-ca (HYBRIDSYNC_FEDERATION_CA); WinRM stand-ins on
#     127.0.0.38:5985 (the AD FS server srv01.corp.example.test) and
#     127.0.0.39:5985 (the proxy wap1.corp.example.com); and the emulator
#     seeded with corp's routable suffix corp.example.com verified;
#   - the console on $LISTEN with its data in $DATA_DIR, finding corp's DC
#     through corp's DNS (HYBRIDSYNC_DNS_SERVER, default 127.0.0.2:53, or the
#     intranet test DNS, which forwards to it, with the federation demo).
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
FEDERATION=${FEDERATION:-1}
FED_INTRANET_DNS=${FED_INTRANET_DNS:-127.0.0.1:5353}
FED_EXTRANET_DNS=${FED_EXTRANET_DNS:-127.0.0.1:5354}
case "$FORESTS" in
  0|1) ;;
  *) echo "run: FORESTS must be 1 (start the demo forests) or 0 (don't), not '$FORESTS'" >&2; exit 2 ;;
esac
case "$FEDERATION" in
  0|1) ;;
  *) echo "run: FEDERATION must be 1 (start the federation demo) or 0 (don't), not '$FEDERATION'" >&2; exit 2 ;;
esac
mkdir -p "$DATA_DIR" .cache/bin
DATA_DIR=$(cd "$DATA_DIR" && pwd)
bin=$PWD/.cache/bin
console_log=$DATA_DIR/console.log
tenant_log=$DATA_DIR/tenant-emulator.log
started=$DATA_DIR/.make-run-forests # the forests this run started: name pid dir

tenant_ca_dir=$DATA_DIR/tenant-ca # the emulator's test CA and certificate
console_pid= tenant_pid= child_pid= forests_up= tenant_url=

# The federation demo's world, as e2e/federation_test.go builds it (on other
# loopback addresses, so that both can run at once): the names, their
# addresses, and what each test DNS server answers.
fed_ca_dir=$DATA_DIR/federation-ca # the federation test CA and the servers' certificate
fed_adfs=sts.corp.example.test fed_adfs_listen=127.0.0.40:443
fed_ping=ping.corp.example.test fed_ping_listen=127.0.0.41:9031
fed_server=srv01.corp.example.test fed_server_ip=127.0.0.38 # the AD FS server: corp's computer SRV01
fed_proxy=wap1.corp.example.com fed_proxy_ip=127.0.0.39     # the Web Application Proxy: not joined
fed_domain=corp.example.com                                # corp's routable UPN suffix, federated
fed_winrm="$fed_server_ip:5985 $fed_proxy_ip:5985"
fed_pids=() fed_names=() fed_logs=() # what the federation demo started, in order
fed_adfs_up= fed_seed_missing=

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
  for ((i = ${#fed_pids[@]} - 1; i >= 0; i--)); do stop_pid "${fed_pids[i]}" "${fed_names[i]}"; done
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

# start NAME LOG READY CMD...: CMD in a session of its own, its output in
# LOG; waits (30 s at most) until LOG has a line matching READY (grep -E),
# and adds it to what the federation demo stops.
start() {
  local name=$1 log=$2 ready=$3 pid i
  shift 3
  : >"$log"
  setsid "$@" >>"$log" 2>&1 &
  pid=$!
  fed_pids+=("$pid") fed_names+=("$name") fed_logs+=("$log")
  for ((i = 0; ; i++)); do
    grep -Eq "$ready" "$log" && return 0
    if ! kill -0 "$pid" 2>/dev/null || ((i >= 300)); then
      say "the $name did not start; its log ($log) ends:"
      tail -n 20 "$log" >&2
      return 1
    fi
    sleep 0.1
  done
}

# describe_federation prints the federation demo's part of the block: what
# to type on the federation pages, and what a browser needs to sign in.
describe_federation() {
  local rule=================================================================================
  local adfs_url="https://$fed_adfs" ping_url="https://$fed_ping:${fed_ping_listen##*:}"
  local adfs_ip=${fed_adfs_listen%:*} ping_ip=${fed_ping_listen%:*}
  echo "Federation demo (User sign-in: Federation with AD FS, or with PingFederate), for $fed_domain:"
  if [[ -n $fed_adfs_up ]]; then
    echo "  AD FS farm $fed_adfs: metadata $adfs_url/FederationMetadata/2007-06/FederationMetadata.xml"
    echo "     New farm: certificate file $fed_ca_dir/server.pfx (no password),"
    echo "       service name $fed_adfs; AD FS server $fed_server; proxy $fed_proxy (any"
    echo "       administrator and password); service account a domain user, e.g. CORP\svc-sync (its password"
    echo "       is in step 3). Configure's scripts are for Windows; the stand-in farm answers already."
    echo "     Existing farm: server $fed_adfs."
  else
    echo "  AD FS farm: NOT RUNNING (port 443 needs root); the PingFederate half runs."
  fi
  echo "  PingFederate server $fed_ping, port ${fed_ping_listen##*:}: metadata $ping_url/pf/federation_metadata.ping"
  echo "  Sign in to the tenant (Connect to Microsoft Entra ID) with one that may federate a domain:"
  echo "     Global Administrator                 global.admin@contoso.onmicrosoft.com   Passw0rd!global"
  echo "     Hybrid Identity + Domain Name Admin  fed.admin@contoso.onmicrosoft.com      Passw0rd!fed"
  if [[ -n $fed_seed_missing ]]; then
    echo "  The tenant emulator's state ($DATA_DIR/tenant-emulator.json) is from an earlier run and"
    echo "  lacks $fed_domain verified: delete that file (and restart) to seed it, or add and verify it."
  else
    echo "  Domain to federate: $fed_domain (verified in the tenant emulator; corp's routable UPN suffix)."
  fi
  echo "  The console asks the test DNS $FED_INTRANET_DNS (the demo's names; the rest from corp's DNS"
  echo "  127.0.0.2:53) and, for what the internet sees, $FED_EXTRANET_DNS; it trusts $fed_ca_dir/ca.pem."
  echo "  $fed_server and $fed_proxy answer WinRM checks only: a STAND-IN (scripts/winrm-standin), no Windows."
  echo "  To sign a user in through the federation servers from a browser, it must resolve the names"
  echo "  (this script never writes /etc/hosts; add these lines yourself, or start Chromium with"
  echo "  --host-resolver-rules=\"MAP $fed_adfs $adfs_ip, MAP $fed_ping $ping_ip\")"
  echo "     $adfs_ip  $fed_adfs"
  echo "     $ping_ip  $fed_ping"
  echo "  and trust the CA $fed_ca_dir/ca.pem (import it as an authority, as the tenant's CA above)."
  echo "  Corp's users have no password: set one (e.g. samba-tool) to sign in as tuser001@$fed_domain."
  local i stops=()
  for i in "${!fed_pids[@]}"; do stops+=("the ${fed_names[i]} (pid ${fed_pids[i]})"); done
  echo "  Ctrl-C also stops $(IFS=,; echo "${stops[*]}" | sed 's/,/, /g')."
  echo "  Logs: $DATA_DIR/federation-*.log"
  echo "$rule"
}

tenant_wanted=
[[ -z ${HYBRIDSYNC_ENTRA_AUTHORITY:-} ]] && tenant_wanted=1
# The federation demo needs corp (its users sign in) and the emulator (the
# tenant that federates), and points the console's DNS at its own server.
fed_wanted= fed_skip=
if [[ $FEDERATION == 0 ]]; then
  fed_skip="FEDERATION=0"
elif [[ $FORESTS != 1 ]]; then
  fed_skip="it needs the demo forests (FORESTS=0)"
elif [[ -z $tenant_wanted ]]; then
  fed_skip="it needs the tenant emulator (HYBRIDSYNC_ENTRA_AUTHORITY names a real tenant)"
elif [[ -n ${HYBRIDSYNC_DNS_SERVER:-} ]]; then
  fed_skip="HYBRIDSYNC_DNS_SERVER is set ($HYBRIDSYNC_DNS_SERVER) and the demo needs its own DNS server"
else
  fed_wanted=1
fi
if [[ -n $fed_wanted ]]; then
  # Port 443 needs root, or CAP_NET_BIND_SERVICE, or a low
  # ip_unprivileged_port_start: AD FS listens on 443 only, and the console
  # reaches a farm by its name alone. Without it the PingFederate half runs.
  if ((EUID == 0)) || (($(cat /proc/sys/net/ipv4/ip_unprivileged_port_start 2>/dev/null || echo 1024) <= 443)); then
    fed_adfs_up=1
  else
    say "not root: the AD FS stand-in can't listen on ${fed_adfs_listen} (port 443); the federation demo runs PingFederate only"
  fi
  for a in "$FED_INTRANET_DNS" "$FED_EXTRANET_DNS" ${fed_adfs_up:+"$fed_adfs_listen"} "$fed_ping_listen" $fed_winrm; do
    if in_use "$a"; then
      say "something already listens on $a (another make run?); FEDERATION=0 runs without the federation demo"
      exit 1
    fi
  done
else
  say "no federation demo: $fed_skip"
fi
if in_use "$LISTEN"; then
  say "something already listens on $LISTEN (another make run?); set LISTEN=host:port to use another address"
  exit 1
fi
if [[ -n $tenant_wanted ]] && in_use "$TENANT_ADDR"; then
  say "something already listens on $TENANT_ADDR (another make run?); set TENANT_ADDR=host:port to use another address"
  exit 1
fi

say "building the console, the tenant emulator and the forests command${fed_wanted:+ and the federation demo stand-ins} into .cache/bin (minutes on a fresh Go build cache)"
"$GO" build -o "$bin/" ./cmd/hybridsync ./cmd/tenant-emulator ./e2e/forest/cmd/forests \
  ${fed_wanted:+./e2e/dnstest/cmd/test-dns ./e2e/fedserver/cmd/federation-server ./scripts/fedcert ./scripts/winrm-standin ./scripts/tenantseed}

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

if [[ -n $fed_wanted && -z ${HYBRIDSYNC_TENANT_SEED:-} ]]; then
  # The built-in seed plus corp's routable suffix, verified: the domain the
  # demo federates. The emulator (and forests describe) read
  # HYBRIDSYNC_TENANT_SEED; a state file of an earlier run wins over it.
  export HYBRIDSYNC_TENANT_SEED=$DATA_DIR/tenant-seed.json
  fed_seed_missing=$("$bin/tenantseed" -out "$HYBRIDSYNC_TENANT_SEED" -state "$DATA_DIR/tenant-emulator.json" "$fed_domain")
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

if [[ -n $fed_wanted ]]; then
  say "starting the federation demo: test DNS, federation servers, WinRM stand-ins"
  # corp's CA (for the federation servers' LDAPS), from wherever corp runs.
  corp_dir=$("$bin/forests" status -dir "$DATA_DIR/forests" | sed -n 's/^corp\.example\.test: running .*, dir //p')
  corp_ca=$corp_dir/private/tls/ca.pem
  if [[ -z $corp_dir || ! -s $corp_ca ]]; then
    say "corp.example.test is not running, or has no CA file ($corp_ca); FEDERATION=0 runs without the federation demo"
    exit 1
  fi
  "$bin/fedcert" -dir "$fed_ca_dir" "$fed_adfs" "$fed_ping" | sed 's/^/run: /' >&2
  intranet=(-a "$fed_adfs=${fed_adfs_listen%:*}" -a "$fed_ping=${fed_ping_listen%:*}" -a "$fed_server=$fed_server_ip" -a "$fed_proxy=$fed_proxy_ip")
  start "intranet test DNS" "$DATA_DIR/federation-dns-intranet.log" '^test-dns: listening' \
    "$bin/test-dns" -listen "$FED_INTRANET_DNS" -upstream 127.0.0.2:53 "${intranet[@]}" || exit 1
  # The internet knows the federation services and the proxy only.
  start "extranet test DNS" "$DATA_DIR/federation-dns-extranet.log" '^test-dns: listening' \
    "$bin/test-dns" -listen "$FED_EXTRANET_DNS" -a "$fed_adfs=${fed_adfs_listen%:*}" -a "$fed_ping=${fed_ping_listen%:*}" -a "$fed_proxy=$fed_proxy_ip" || exit 1
  fed_common=(-tls-cert "$fed_ca_dir/server.pem" -tls-key "$fed_ca_dir/server.key"
    -relying-party "$tenant_url/login.srf" -ldap ldaps://127.0.0.2:636 -ldap-ca "$corp_ca"
    -base-dn DC=corp,DC=example,DC=test -source-anchor mS-DS-ConsistencyGuid)
  if [[ -n $fed_adfs_up ]]; then
    start "AD FS stand-in" "$DATA_DIR/federation-adfs.log" '^federation server: .* listening on' \
      "$bin/federation-server" -listen "$fed_adfs_listen" -adfs "$fed_adfs" -signing-dir "$DATA_DIR/federation-signing-adfs" "${fed_common[@]}" || exit 1
  fi
  start "PingFederate stand-in" "$DATA_DIR/federation-ping.log" '^federation server: .* listening on' \
    "$bin/federation-server" -listen "$fed_ping_listen" -ping "$fed_ping" -signing-dir "$DATA_DIR/federation-signing-ping" "${fed_common[@]}" || exit 1
  # shellcheck disable=SC2086 # one argument per address
  start "WinRM stand-in" "$DATA_DIR/federation-winrm.log" "^winrm-standin: listening on $fed_proxy_ip:" \
    "$bin/winrm-standin" $fed_winrm || exit 1
  export HYBRIDSYNC_DNS_SERVER=$FED_INTRANET_DNS
  export HYBRIDSYNC_EXTRANET_DNS_SERVER=$FED_EXTRANET_DNS
  export HYBRIDSYNC_FEDERATION_CA=$fed_ca_dir/ca.pem
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
describe_upstream=
# The intranet test DNS forwards to corp's, so corp's DC is still found
# through DNS: describe says so, naming both.
[[ -n $fed_wanted ]] && describe_upstream=127.0.0.2:53
"$bin/forests" describe -dir "$DATA_DIR/forests" -started "$started" -forests="$forests_flag" \
  -console "$scheme://$(reach "$LISTEN")" -setup-token "$token" -data-dir "$DATA_DIR" \
  -console-pid "$console_pid" -tenant "$tenant_url" -tenant-ca "$tenant_ca" -tenant-pid "${tenant_pid:-0}" \
  -dns "${HYBRIDSYNC_DNS_SERVER:-}" -dns-upstream "$describe_upstream" -logs "$logs"
if [[ -n $fed_wanted ]]; then describe_federation; fi

# Wait until a signal (the traps stop everything) or until the console, the
# emulator or a piece of the federation demo ends by itself (then the rest
# is stopped too).
pids=($console_pid $tenant_pid "${fed_pids[@]}")
names=(console ${tenant_pid:+"tenant emulator"} "${fed_names[@]}")
logs=("$console_log" ${tenant_pid:+"$tenant_log"} "${fed_logs[@]}")
rc=0
wait -n "${pids[@]}" || rc=$?
for i in "${!pids[@]}"; do
  kill -0 "${pids[i]}" 2>/dev/null && continue
  say "the ${names[i]} (pid ${pids[i]}) exited by itself (status $rc); its log (${logs[i]}) ends:"
  tail -n 20 "${logs[i]}" >&2
done
exit 1
