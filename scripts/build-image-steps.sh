#!/usr/bin/env bash
# Runs the Dockerfile's steps without a Docker engine (none runs on the development machines):
# the build stage in a temporary copy of the build context (npm ci, npm run build, npm prune --omit=dev),
# then assembles the runtime stage's /app from the same paths and checks that
# `node dist/cli/main.js --help` works from the pruned tree, as the image's ENTRYPOINT would run it.
# Prints each step's time and the size of the result.
# test/unit/deploy-image-steps.test.ts checks that the steps and paths here match the Dockerfile.
#
# Usage: scripts/build-image-steps.sh          (KEEP=1 keeps the temporary directory)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/routeshift-image.XXXXXX")"
if [[ "${KEEP:-0}" != 1 ]]; then trap 'rm -rf "$WORK"' EXIT; fi
BUILD="$WORK/src"  # the build stage's WORKDIR
APP="$WORK/app"    # the runtime stage's WORKDIR

# The build stage copies these from the context (in two COPYs, around `npm ci`).
BUILD_CONTEXT=(package.json package-lock.json tsconfig.json tsconfig.build.json src)
# The runtime stage copies these from the build stage ...
RUNTIME_FROM_BUILD=(package.json node_modules dist)
# ... and these from the context.
RUNTIME_FROM_CONTEXT=(analysis deploy/crds)

step() {
  local start ms
  start=$(date +%s%N)
  echo "==> $*"
  (cd "$BUILD" && "$@")
  ms=$((($(date +%s%N) - start) / 1000000))
  printf '    %s: %d.%01d s\n' "$*" $((ms / 1000)) $((ms % 1000 / 100))
}

mkdir -p "$BUILD" "$APP"
cd "$ROOT"
for p in "${BUILD_CONTEXT[@]}"; do cp -R "$p" "$BUILD/$p"; done
# What .dockerignore keeps out of the context: tests and the developer tools.
find "$BUILD/src" -name '*.test.ts' -delete
TOOLS=(src/sandbox src/bench)
for p in "${TOOLS[@]}"; do rm -rf "${BUILD:?}/$p"; done

step npm ci --no-audit --no-fund
step npm run build
step npm prune --omit=dev

for p in "${RUNTIME_FROM_BUILD[@]}"; do cp -R "$BUILD/$p" "$APP/$p"; done
for p in "${RUNTIME_FROM_CONTEXT[@]}"; do mkdir -p "$APP/$(dirname "$p")"; cp -R "$ROOT/$p" "$APP/$p"; done

echo "==> node dist/cli/main.js --help (from the pruned tree, as ENTRYPOINT runs it)"
(cd "$APP" && NODE_ENV=production node dist/cli/main.js --help) > "$WORK/help.txt"
grep -q 'controller' "$WORK/help.txt" || { echo "--help does not list the controller command" >&2; cat "$WORK/help.txt" >&2; exit 1; }
(cd "$APP" && node dist/cli/main.js --version)
# Reads the CRD schemas and built-in templates from the package root: proves the runtime COPYs suffice.
echo "==> node dist/cli/main.js validate -f analysis/examples/istio-canary.yaml"
(cd "$APP" && node dist/cli/main.js validate -f "$ROOT/analysis/examples/istio-canary.yaml")

echo "==> no tool code and no tool-only dependency in the image"
for p in dist/sandbox dist/bench node_modules/@marcbachmann/cel-js; do
  if [[ -e "$APP/$p" ]]; then echo "the image would carry $p" >&2; exit 1; fi
done

echo "==> result (the image's /app)"
for p in . node_modules dist; do printf '    %-14s %s\n' "$p" "$(du -sh "$APP/$p" | cut -f1)"; done
echo "    top-level packages: $(find "$APP/node_modules" -mindepth 2 -maxdepth 3 -name package.json -not -path '*/node_modules/*/node_modules/*' | wc -l)"
# A devDependency can remain when a production dependency needs it too (e.g. @types/node via client-node).
echo "    devDependencies still present: $(cd "$APP" && node -e '
  const p = require("./package.json");
  const fs = require("fs");
  console.log(Object.keys(p.devDependencies || {}).filter((d) => fs.existsSync("node_modules/" + d)).join(" ") || "none");
')"
if [[ "${KEEP:-0}" == 1 ]]; then echo "kept: $WORK"; fi
