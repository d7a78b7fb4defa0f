#!/usr/bin/env bash
# Installs what the browser and directory tests need, and nothing when it is all there:
#   - Debian's chromium (apt), the browser the tests drive;
#   - Samba's AD DC (apt), for the test forests (e2e/forest); installed here, once,
#     because test packages run in parallel and two apt-gets would fight over the lock;
#   - node (apt), which runs the playwright driver;
#   - npm's playwright-core at the version playwright-go pins, unpacked so that
#     "$PLAYWRIGHT_DRIVER_PATH/package/cli.js" exists.
# The browser and driver are never downloaded by playwright itself: the tests
# never call playwright.Install().
set -euo pipefail

PW_VERSION="${PW_VERSION:-1.64.1}"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PLAYWRIGHT_DRIVER_PATH="${PLAYWRIGHT_DRIVER_PATH:-$ROOT/.cache/playwright-core-$PW_VERSION}"

log() { printf 'e2e-deps: %s\n' "$*" >&2; }

SUDO=()
if [[ $(id -u) -ne 0 ]]; then
	if command -v sudo >/dev/null 2>&1; then
		SUDO=(sudo)
	fi
fi

apt_updated=0
apt_install() {
	if ! command -v apt-get >/dev/null 2>&1; then
		log "apt-get is not available: install $* yourself"
		exit 1
	fi
	if [[ $apt_updated -eq 0 ]]; then
		log "apt-get update"
		"${SUDO[@]}" apt-get update -qq
		apt_updated=1
	fi
	log "apt-get install $*"
	"${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@"
}

# 1. The browser.
if [[ -x /usr/lib/chromium/chromium || -x /usr/bin/chromium ]]; then
	:
else
	apt_install chromium
fi

# 1b. Samba AD DC for the test forests.
if ! command -v samba-tool >/dev/null 2>&1 || ! command -v samba >/dev/null 2>&1 || ! command -v ldbsearch >/dev/null 2>&1 \
	|| [[ ! -d /usr/share/samba/setup ]]; then
	apt_install samba samba-ad-dc samba-ad-provision ldb-tools openssl
fi
# ldapsearch (ldap-utils): the raw read the AD import benchmark compares with.
if ! command -v ldapsearch >/dev/null 2>&1; then
	apt_install ldap-utils
fi

# 2. Node and npm (npm only to fetch the driver package).
missing=()
command -v node >/dev/null 2>&1 || missing+=(nodejs)
if [[ ! -f "$PLAYWRIGHT_DRIVER_PATH/package/cli.js" ]] && ! command -v npm >/dev/null 2>&1; then
	missing+=(npm)
fi
if [[ ${#missing[@]} -gt 0 ]]; then
	apt_install "${missing[@]}"
fi

# 3. The driver: playwright-core at exactly the version playwright-go pins.
driver_ok() {
	[[ -f "$PLAYWRIGHT_DRIVER_PATH/package/cli.js" ]] &&
		grep -q "\"version\": \"$PW_VERSION\"" "$PLAYWRIGHT_DRIVER_PATH/package/package.json" 2>/dev/null
}
if ! driver_ok; then
	log "unpacking playwright-core@$PW_VERSION into $PLAYWRIGHT_DRIVER_PATH"
	tmp="$(mktemp -d)"
	trap 'rm -rf "$tmp"' EXIT
	(cd "$tmp" && npm pack --silent "playwright-core@$PW_VERSION" >/dev/null)
	tgz=("$tmp"/playwright-core-*.tgz)
	if [[ ! -f "${tgz[0]}" ]]; then
		log "npm pack playwright-core@$PW_VERSION produced no archive"
		exit 1
	fi
	mkdir -p "$tmp/unpack"
	tar -xzf "${tgz[0]}" -C "$tmp/unpack"
	# Replace the folder in one move, so that a half-unpacked driver never remains.
	mkdir -p "$(dirname "$PLAYWRIGHT_DRIVER_PATH")"
	rm -rf "$PLAYWRIGHT_DRIVER_PATH.new"
	mkdir -p "$PLAYWRIGHT_DRIVER_PATH.new"
	mv "$tmp/unpack/package" "$PLAYWRIGHT_DRIVER_PATH.new/package"
	rm -rf "$PLAYWRIGHT_DRIVER_PATH"
	mv "$PLAYWRIGHT_DRIVER_PATH.new" "$PLAYWRIGHT_DRIVER_PATH"
	driver_ok || { log "the unpacked driver is not version $PW_VERSION"; exit 1; }
fi

version="$(node "$PLAYWRIGHT_DRIVER_PATH/package/cli.js" --version 2>/dev/null || true)"
if [[ "$version" != *"$PW_VERSION"* ]]; then
	log "the driver at $PLAYWRIGHT_DRIVER_PATH answers '$version', not $PW_VERSION"
	exit 1
fi
log "ready: chromium, samba $(samba --version 2>/dev/null | head -1), node $(node --version), playwright-core $PW_VERSION at $PLAYWRIGHT_DRIVER_PATH"
