#!/usr/bin/env bash
# Installs what the JavaScript tests of bus-web need, when it is missing:
#
# - the npm packages pinned in package-lock.json (`npm ci`), reinstalled when
#   the lockfile changes;
# - Debian's Chromium at /usr/bin/chromium for the browser test (skipped with
#   `--no-browser`), through apt-get when running as root.
#
# Safe to run concurrently (a lock serialises installs) and cheap when
# everything is already there. Usage: tests/js/setup.sh [--no-browser]
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
cd "$here"

want_browser=1
for arg in "$@"; do
  case "$arg" in
    --no-browser) want_browser=0 ;;
    *) echo "setup.sh: unknown argument $arg; use --no-browser or nothing" >&2; exit 2 ;;
  esac
done

# One installer at a time: cargo runs test binaries in parallel.
exec 9>"$here/.setup.lock"
if ! flock -w 900 9; then
  echo "setup.sh: another install held the lock for 15 minutes; remove $here/.setup.lock if it is stale" >&2
  exit 1
fi

if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "setup.sh: installing nodejs and npm from Debian" >&2
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >&2
  else
    echo "setup.sh: node and npm are missing; install Node.js 18 or newer" >&2
    exit 1
  fi
fi

lock_hash="$(sha256sum package-lock.json | cut -d' ' -f1)"
stamp="node_modules/.installed-lock.sha256"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$lock_hash" ]; then
  echo "setup.sh: npm ci in $here" >&2
  npm ci --no-audit --no-fund --loglevel=error >&2
  echo "$lock_hash" > "$stamp"
fi

if [ "$want_browser" = 1 ] && [ ! -x /usr/bin/chromium ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "setup.sh: installing Debian chromium" >&2
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >&2
  else
    echo "setup.sh: /usr/bin/chromium is missing; run as root or: sudo apt-get install -y chromium" >&2
    exit 1
  fi
fi
