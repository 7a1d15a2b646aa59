#!/usr/bin/env bash
# Installs what the demo needs on a fresh Debian 12 + Node 20 machine, and nothing when it is
# already there: npm packages (from the lockfile) and Debian's prometheus. With --tests also what
# only the test suite needs: Debian's chromium (browser tests), the real control plane the e2e
# suite runs on (etcd, kube-apiserver, kube-controller-manager) and Traefik (the real data plane),
# both built from Go modules and cached.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "setup: installing npm packages (npm ci)"
  npm ci --no-audit --no-fund --loglevel=error
fi

# apt_install <package> <binary>: Debian's package, unless the binary is there already.
apt_install() {
  if command -v "$2" >/dev/null 2>&1 || [ -x "/usr/bin/$2" ]; then return 0; fi
  if [ "$(id -u)" != "0" ]; then
    echo "setup: $2 is missing. Install it with: sudo apt-get install -y --no-install-recommends $1" >&2
    exit 1
  fi
  echo "setup: installing Debian's $1 package"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "$1" >/dev/null
}

# Its postinst may start a service on 0.0.0.0:9090 on hosts with systemd; we never use it.
apt_install prometheus prometheus

if [ "${1:-}" = "--tests" ]; then
  # The replay report test opens the HTML report in headless Chromium (through playwright-core).
  apt_install chromium chromium
  bash scripts/controlplane/build.sh >/dev/null
  bash scripts/traefik/build.sh >/dev/null
fi
