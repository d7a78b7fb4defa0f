#!/usr/bin/env bash
# Start, stop or show the two Samba AD test forests (corp.example.test on
# 127.0.0.2, fabrikam.example.test on 127.0.0.3) for development:
#
#   scripts/forests.sh up [-rebuild]   restore (or provision + seed) and start both, print how to reach them
#   scripts/forests.sh down            stop both
#   scripts/forests.sh status          which are running
#
# The logic lives in e2e/forest (Go); state is under .cache/forests/run/, or
# under the folder given with -dir (`make run` keeps its forests in
# $DATA_DIR/forests: `scripts/forests.sh down -dir data/forests` stops them if
# a make run was killed). Installing samba (first `up` only) needs root and apt.
set -euo pipefail
cd "$(dirname "$0")/.."
case "${1:-}" in
  up|down|status|describe) ;;
  *) echo "usage: $0 up [-rebuild] [-dir DIR] | down [-dir DIR] | status [-dir DIR]" >&2; exit 2 ;;
esac
exec "${GO:-go}" run ./e2e/forest/cmd/forests "$@"
