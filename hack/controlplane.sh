#!/usr/bin/env bash
# Builds the pinned control-plane binaries from the Go module proxy into a cache
# outside the work tree, so envtest, the local cluster and CI reuse them.
#
#   hack/controlplane.sh build [component...]   build what is missing (default: envtest set)
#   hack/controlplane.sh envtest-assets         build the envtest set, print KUBEBUILDER_ASSETS
#   hack/controlplane.sh path COMPONENT          print the cached binary's path
#
# Each component is built from its own small Go module under hack/controlplane/<module>/.
# A binary is rebuilt only when its module files or link flags change (a stamp file
# next to it records their hash), so a warm run takes well under a second.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CACHE=${KUBESHIP_CACHE:-$HOME/.cache/kubeship}
KUBE_VERSION=v1.37.2

# component -> module directory and package path
declare -A MODULE=(
  [kube-apiserver]=kubernetes
  [kube-controller-manager]=kubernetes
  [kube-scheduler]=kubernetes
  [etcd]=etcd
  [kwok]=kwok
  [kwokctl]=kwok
  [metrics-server]=metrics-server
)
declare -A PACKAGE=(
  [kube-apiserver]=k8s.io/kubernetes/cmd/kube-apiserver
  [kube-controller-manager]=k8s.io/kubernetes/cmd/kube-controller-manager
  [kube-scheduler]=k8s.io/kubernetes/cmd/kube-scheduler
  [etcd]=go.etcd.io/etcd/server/v3
  [kwok]=sigs.k8s.io/kwok/cmd/kwok
  [kwokctl]=sigs.k8s.io/kwok/cmd/kwokctl
  [metrics-server]=sigs.k8s.io/metrics-server/cmd/metrics-server
)
ENVTEST_SET=(etcd kube-apiserver)

ldflags_for() {
  case "${MODULE[$1]}" in
    kubernetes)
      # Without these the server reports v0.0.0-master and kubectl cannot parse it.
      local minor=${KUBE_VERSION#v1.}; minor=${minor%%.*}
      local flags=""
      for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
        flags+=" -X $pkg.gitVersion=$KUBE_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor"
        flags+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=1970-01-01T00:00:00Z"
      done
      echo "-s -w$flags" ;;
    metrics-server)
      # Unstamped it reports v0.0.0-master; take the version pinned in its go.mod.
      local ver; ver=$(awk '$1 == "sigs.k8s.io/metrics-server" {print $2}' \
        "$ROOT/hack/controlplane/metrics-server/go.mod")
      echo "-s -w -X k8s.io/client-go/pkg/version.gitVersion=$ver" ;;
    *) echo "-s -w" ;;
  esac
}

bin_path() { echo "$CACHE/bin/$1"; }

stamp_for() {
  local dir="$ROOT/hack/controlplane/${MODULE[$1]}"
  { cat "$dir/go.mod" "$dir/go.sum"; ldflags_for "$1"; go env GOVERSION; } | sha256sum | cut -c1-16
}

build_one() {
  local c=$1
  [[ -n "${MODULE[$c]:-}" ]] || { echo "unknown component: $c" >&2; exit 2; }
  local out; out=$(bin_path "$c")
  local want; want=$(stamp_for "$c")
  if [[ -x "$out" && "$(cat "$out.stamp" 2>/dev/null)" == "$want" ]]; then
    return 0
  fi
  mkdir -p "$(dirname "$out")"
  echo ">> building $c (${PACKAGE[$c]}); a cold build takes minutes" >&2
  local start=$SECONDS
  (cd "$ROOT/hack/controlplane/${MODULE[$c]}" &&
    CGO_ENABLED=0 go build -ldflags "$(ldflags_for "$c")" -o "$out.tmp" "${PACKAGE[$c]}")
  mv "$out.tmp" "$out"
  echo "$want" > "$out.stamp"
  echo ">> built $c in $((SECONDS - start))s" >&2
}

envtest_assets() {
  for c in "${ENVTEST_SET[@]}"; do build_one "$c"; done
  local dir="$CACHE/envtest-$KUBE_VERSION"
  mkdir -p "$dir"
  for c in "${ENVTEST_SET[@]}"; do ln -sf "$(bin_path "$c")" "$dir/$c"; done
  echo "$dir"
}

cmd=${1:-build}; shift || true
case "$cmd" in
  build)
    comps=("$@"); [[ ${#comps[@]} -gt 0 ]] || comps=("${ENVTEST_SET[@]}")
    for c in "${comps[@]}"; do build_one "$c"; done ;;
  envtest-assets) envtest_assets ;;
  path) bin_path "$1" ;;
  *) echo "usage: $0 build [component...] | envtest-assets | path COMPONENT" >&2; exit 2 ;;
esac
