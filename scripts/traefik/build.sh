#!/usr/bin/env bash
# Builds Traefik (the Gateway API data plane of the e2e tests) from its Go module into
# ~/.cache/routeshift/traefik/<release>/traefik (outside the checkout, so fresh clones reuse one build;
# ROUTESHIFT_CACHE moves it). Reuses it when present. ROUTESHIFT_TRAEFIK_BINARY (a traefik executable)
# skips the build. Prints the binary's path.
#
# `go install github.com/traefik/traefik/v3/cmd/traefik@vX` is refused because Traefik's go.mod has
# replace directives (forks of go-http-auth, mux, minheap) and an exclude. A wrapper module requires
# Traefik and copies those directives; they are generated from the release's own go.mod, not written
# by hand, so a new release brings its own list.
set -euo pipefail
cd "$(dirname "$0")/../.."
# shellcheck source=version.sh
. scripts/traefik/version.sh

fail() { echo "traefik: $1" >&2; exit 1; }

if [ -n "${ROUTESHIFT_TRAEFIK_BINARY:-}" ]; then
  [ -x "$ROUTESHIFT_TRAEFIK_BINARY" ] || fail "ROUTESHIFT_TRAEFIK_BINARY=$ROUTESHIFT_TRAEFIK_BINARY is not an executable file"
  echo "$ROUTESHIFT_TRAEFIK_BINARY"
  exit 0
fi

cache="${ROUTESHIFT_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/routeshift}/traefik"
out="$cache/$TRAEFIK_VERSION"
if [ -x "$out/traefik" ]; then
  echo "$out/traefik"
  exit 0
fi

command -v go >/dev/null 2>&1 || fail "no Go toolchain (go) on PATH: install Go >= 1.25, or set ROUTESHIFT_TRAEFIK_BINARY to a traefik $TRAEFIK_VERSION executable"

mkdir -p "$out"
work="$cache/build/traefik-$TRAEFIK_VERSION"
log="$cache/build/build.log"
mkdir -p "$cache/build"
: >"$log"
start=$(date +%s)
echo "traefik: building Traefik $TRAEFIK_VERSION from its Go module into $out (cold: several minutes on 2 cores; log: $log)" >&2

run() { "$@" >>"$log" 2>&1 || fail "build step failed: $* (see $log; or set ROUTESHIFT_TRAEFIK_BINARY to a prebuilt traefik)"; }

export CGO_ENABLED=0 GOFLAGS=-mod=mod GOTOOLCHAIN=local
module=github.com/traefik/traefik/v3

if [ ! -f "$work/.ready" ]; then
  rm -rf "$work"; mkdir -p "$work"
  gomod=$(cd "$work" && go mod download -json "$module@$TRAEFIK_VERSION" | sed -n 's/.*"GoMod": "\(.*\)",*/\1/p')
  [ -f "$gomod" ] || fail "could not download $module@$TRAEFIK_VERSION from the Go module proxy"
  (cd "$work" && run go mod init routeshift.test/traefik)
  # `go mod edit -json` is Go's own parse of the go.mod (block and single-line forms alike); turn its
  # Replace and Exclude lists into the same directives for the wrapper.
  edits=$(go mod edit -json "$gomod" | node -e '
    const m = JSON.parse(require("fs").readFileSync(0, "utf8"));
    const at = (p) => p.Path + (p.Version ? "@" + p.Version : "");
    for (const r of m.Replace ?? []) {
      if (!r.New.Version) { console.error("local replace " + r.New.Path + " cannot be used"); process.exit(1); }
      console.log("-replace=" + at(r.Old) + "=" + at(r.New));
    }
    for (const e of m.Exclude ?? []) console.log("-exclude=" + at(e));
  ') || fail "could not read the replace/exclude directives of $gomod"
  # shellcheck disable=SC2086
  [ -z "$edits" ] || (cd "$work" && run go mod edit $edits)
  (cd "$work" && run go get "$module@$TRAEFIK_VERSION" "$module/cmd/traefik@$TRAEFIK_VERSION")
  touch "$work/.ready"
fi
ld="-s -w -X $module/pkg/version.Version=$TRAEFIK_VERSION -X $module/pkg/version.Codename=routeshift-test"
(cd "$work" && run go build -trimpath -ldflags "$ld" -o "$out/traefik.tmp" "$module/cmd/traefik") && mv "$out/traefik.tmp" "$out/traefik"

echo "traefik: built in $(( $(date +%s) - start ))s" >&2
echo "$out/traefik"
