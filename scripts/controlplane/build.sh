#!/usr/bin/env bash
# Builds the real control plane for the e2e suite from Go modules: kube-apiserver and
# kube-controller-manager (k8s.io/kubernetes) and etcd (go.etcd.io/etcd/server/v3), into
# ~/.cache/routeshift/controlplane/<release>/ (outside the checkout, so fresh clones reuse one build;
# ROUTESHIFT_CACHE moves it). Reuses them when present. KUBEBUILDER_ASSETS (envtest's layout:
# a folder with etcd, kube-apiserver, kube-controller-manager) skips the build.
#
# k8s.io/kubernetes cannot be `go install`ed: its go.mod replaces its k8s.io/* staging modules with
# ./staging folders. A wrapper module requires it and replaces each staging module with its
# published v0.Y.Z; the list is generated from the release's own go.mod, not written by hand.
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
# shellcheck source=versions.sh
. scripts/controlplane/versions.sh

fail() { echo "controlplane: $1" >&2; exit 1; }

if [ -n "${KUBEBUILDER_ASSETS:-}" ]; then
  for b in etcd kube-apiserver kube-controller-manager; do
    [ -x "$KUBEBUILDER_ASSETS/$b" ] || fail "KUBEBUILDER_ASSETS=$KUBEBUILDER_ASSETS has no executable $b"
  done
  echo "$KUBEBUILDER_ASSETS"
  exit 0
fi

cache="${ROUTESHIFT_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/routeshift}/controlplane"
out="$cache/$KUBE_VERSION"
if [ -x "$out/etcd" ] && [ -x "$out/kube-apiserver" ] && [ -x "$out/kube-controller-manager" ]; then
  echo "$out"
  exit 0
fi

# Go's own tarball installs to /usr/local/go, often not on a non-login shell's PATH.
fallback=${ROUTESHIFT_GO_FALLBACK:-/usr/local/go/bin}
command -v go >/dev/null 2>&1 || { [ -x "$fallback/go" ] && export PATH="$PATH:$fallback"; }
command -v go >/dev/null 2>&1 || fail "no Go toolchain (go) on PATH: install Go >= 1.26, or set KUBEBUILDER_ASSETS to a folder with etcd, kube-apiserver and kube-controller-manager"

mkdir -p "$out"
work="$cache/build"
mkdir -p "$work"
log="$work/build.log"
: >"$log"
start=$(date +%s)
echo "controlplane: building Kubernetes $KUBE_VERSION and etcd $ETCD_VERSION from Go modules into $out (cold: ~15-25 min on 2 cores; log: $log)" >&2

run() { "$@" >>"$log" 2>&1 || fail "build step failed: $* (see $log; or set KUBEBUILDER_ASSETS to prebuilt binaries)"; }

export CGO_ENABLED=0 GOFLAGS=-mod=mod GOTOOLCHAIN=local
minor=${KUBE_VERSION#v1.}; minor=${minor%%.*}
staging=v0.${KUBE_VERSION#v1.}

# Kubernetes wrapper module.
kw="$work/kubernetes-$KUBE_VERSION"
if [ ! -f "$kw/.ready" ]; then
  rm -rf "$kw"; mkdir -p "$kw"
  gomod=$(cd "$kw" && go mod download -json "k8s.io/kubernetes@$KUBE_VERSION" | sed -n 's/.*"GoMod": "\(.*\)",*/\1/p')
  [ -f "$gomod" ] || fail "could not download k8s.io/kubernetes@$KUBE_VERSION from the Go module proxy"
  (cd "$kw" && run go mod init routeshift.test/controlplane)
  for m in $(sed -n 's|^\s*\(k8s.io/[a-z0-9-]*\) => ./staging.*|\1|p' "$gomod"); do
    (cd "$kw" && go mod edit -replace="$m=$m@$staging")
  done
  (cd "$kw" && run go get "k8s.io/kubernetes@$KUBE_VERSION" \
     "k8s.io/kubernetes/cmd/kube-apiserver@$KUBE_VERSION" \
     "k8s.io/kubernetes/cmd/kube-controller-manager@$KUBE_VERSION")
  touch "$kw/.ready"
fi
ld="-s -w -X k8s.io/component-base/version.gitVersion=$KUBE_VERSION -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=$minor -X k8s.io/component-base/version.gitTreeState=clean"
for b in kube-apiserver kube-controller-manager; do
  [ -x "$out/$b" ] || (cd "$kw" && run go build -trimpath -ldflags "$ld" -o "$out/$b.tmp" "k8s.io/kubernetes/cmd/$b" && mv "$out/$b.tmp" "$out/$b")
done

# etcd wrapper module: etcd's server module has replaces of its own sibling modules; the published
# versions of the same release are used instead.
ew="$work/etcd-$ETCD_VERSION"
if [ ! -x "$out/etcd" ]; then
  if [ ! -f "$ew/.ready" ]; then
    rm -rf "$ew"; mkdir -p "$ew"
    (cd "$ew" && run go mod init routeshift.test/etcd)
    (cd "$ew" && run go get "go.etcd.io/etcd/server/v3@$ETCD_VERSION")
    touch "$ew/.ready"
  fi
  (cd "$ew" && run go build -trimpath -ldflags "-s -w" -o "$out/etcd.tmp" go.etcd.io/etcd/server/v3 && mv "$out/etcd.tmp" "$out/etcd")
fi

echo "controlplane: built in $(( $(date +%s) - start ))s" >&2
echo "$out"
