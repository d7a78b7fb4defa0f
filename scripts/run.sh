#!/usr/bin/env bash
# make run: the console on the embedded LocalDB in $DATA_DIR. Unless
# HYBRIDSYNC_ENTRA_AUTHORITY names a real tenant's authority (with
# HYBRIDSYNC_ENTRA_CLIENT_ID), the tenant emulator stands in for Microsoft
# Entra ID on loopback, its directory kept in $DATA_DIR/tenant-emulator.json.
set -euo pipefail
cd "$(dirname "$0")/.."
GO=${GO:-go}
DATA_DIR=${DATA_DIR:-./data}
LISTEN=${LISTEN:-127.0.0.1:8080}
TENANT_ADDR=${TENANT_ADDR:-127.0.0.1:8443}
mkdir -p "$DATA_DIR" .cache/bin

if [[ -z "${HYBRIDSYNC_ENTRA_AUTHORITY:-}" ]]; then
	"$GO" build -o .cache/bin/tenant-emulator ./cmd/tenant-emulator
	.cache/bin/tenant-emulator -addr "$TENANT_ADDR" -state "$DATA_DIR/tenant-emulator.json" &
	emulator=$!
	trap 'kill "$emulator" 2>/dev/null || true; wait "$emulator" 2>/dev/null || true' EXIT
	export HYBRIDSYNC_ENTRA_AUTHORITY="http://$TENANT_ADDR/organizations"
	export HYBRIDSYNC_GRAPH_URL="http://$TENANT_ADDR/v1.0"
	export HYBRIDSYNC_ENTRA_CLIENT_ID=5c0e1d2a-7b3f-4c8e-9d10-2a3b4c5d6e01 # tenant.ConnectClientID
	echo "tenant emulator on http://$TENANT_ADDR: sign in on Connect to Microsoft Entra ID as hybrid.admin@contoso.onmicrosoft.com / Passw0rd!hybrid (or mfa.admin@… / Passw0rd!mfa, code 123456)"
fi
"$GO" build -o .cache/bin/hybridsync ./cmd/hybridsync
exec_status=0
.cache/bin/hybridsync serve --data-dir "$DATA_DIR" --listen "$LISTEN" || exec_status=$?
exit "$exec_status"
