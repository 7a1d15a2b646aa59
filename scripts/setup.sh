#!/usr/bin/env bash
# Installs what the demo and the tests need on a fresh Debian 12 + Node 20 machine, and nothing
# when it is already there: npm packages (from the lockfile), Debian's prometheus and chromium.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "setup: installing npm packages (npm ci)"
  npm ci --no-audit --no-fund --loglevel=error
fi

if ! command -v prometheus >/dev/null 2>&1 && [ ! -x /usr/bin/prometheus ]; then
  if [ "$(id -u)" = "0" ]; then
    echo "setup: installing Debian's prometheus package"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends prometheus >/dev/null
    # The package's postinst may start a service on 0.0.0.0:9090 on hosts with systemd; we never use it.
  else
    echo "setup: Prometheus is missing. Install it with: sudo apt-get install -y --no-install-recommends prometheus" >&2
    exit 1
  fi
fi

# The replay report test opens the HTML report in Debian's headless Chromium (through playwright-core).
if ! command -v chromium >/dev/null 2>&1 && [ ! -x /usr/bin/chromium ]; then
  if [ "$(id -u)" = "0" ]; then
    echo "setup: installing Debian's chromium package"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends chromium >/dev/null
  else
    echo "setup: Chromium is missing. Install it with: sudo apt-get install -y --no-install-recommends chromium" >&2
    exit 1
  fi
fi
