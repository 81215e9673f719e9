#!/usr/bin/env bash
# The local development cluster: a real control plane (etcd, kube-apiserver,
# kube-controller-manager, kube-scheduler, metrics-server) run as local processes by
# KWOK's kwokctl, with fake nodes whose pods KWOK marks Running without running them.
#
#   hack/cluster.sh up          create (or restart) the cluster; prints the kubeconfig path
#   hack/cluster.sh down        stop every process; the cluster's state stays on disk
#   hack/cluster.sh reset       down, wipe all state, up
#   hack/cluster.sh kubeconfig  print the kubeconfig path
#   hack/cluster.sh status      show whether it runs, its components and nodes
#   hack/cluster.sh binaries    build the binaries it needs (cold: 10+ min; warm: <1 s)
#   hack/cluster.sh postgres PORT  start (or find running) the local PostgreSQL on
#                               127.0.0.1:PORT; prints the directory holding its admin
#                               account (files username, password). `down` stops it too.
#
# All state lives under one directory, ${KUBESHIP_CLUSTER_DIR:-~/.cache/kubeship/cluster}:
#   kwokctl.yaml   the generated kwokctl configuration
#   kwok/          KWOK_WORKDIR: certificates, etcd data, logs, pids, kubeconfig
#   volumes/       hostPath directories behind the pre-created PersistentVolumes
#   postgres/      the local PostgreSQL for shared databases (hack/localdb), when started
# The user's ~/.kube/config is never touched. Every component listens on 127.0.0.1.
# Settings below apply when the cluster is created: after changing them, run `reset`.
#
# Binaries come from hack/controlplane.sh (built from the Go module proxy, cached), so no
# download happens here. Pod CPU and memory usage is simulated from the pod annotations
# kwok.x-k8s.io/usage-cpu and kwok.x-k8s.io/usage-memory (defaults 1m and 1Mi), which
# is what `kubectl top` and HorizontalPodAutoscalers see.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CLUSTER_DIR=${KUBESHIP_CLUSTER_DIR:-$HOME/.cache/kubeship/cluster}
export KWOK_WORKDIR=$CLUSTER_DIR/kwok
NAME=kubeship
CLUSTER_STATE=$KWOK_WORKDIR/clusters/$NAME
KUBECONFIG_PATH=$CLUSTER_STATE/kubeconfig.yaml
CONFIG=$CLUSTER_DIR/kwokctl.yaml
POSTGRES_DIR=$CLUSTER_DIR/postgres

NODES=${KUBESHIP_CLUSTER_NODES:-3}
# KWOK nodes accept any capacity; a small pod limit would silently cap benchmarks
# (the surplus stays Pending), so declare far more than a run needs.
NODE_ALLOCATABLE=(cpu=1000 memory=4Ti pods=1000)
PV_COUNT=20
SERVICE_CIDR=10.96.0.0/16
PV_SIZE=10Gi

COMPONENTS=(etcd kube-apiserver kube-controller-manager kube-scheduler kwok kwokctl metrics-server)
# An absolute path: kwokctl runs it from its own directory.
KUBECTL=$(command -v "${KUBECTL:-kubectl}")

log() { echo ">> $*" >&2; }

bin() { "$ROOT/hack/controlplane.sh" path "$1"; }

# kwokctl logs every step as JSON at INFO; warnings and errors are enough here.
kwokctl() { "$(bin kwokctl)" --name "$NAME" -v WARN "$@"; }

k() { "$KUBECTL" --kubeconfig "$KUBECONFIG_PATH" "$@"; }

# Directory of a Go module pinned by one of hack/controlplane's modules, downloaded
# into the module cache if needed (the proxy is reachable; GitHub is not).
module_dir() {
  local dir
  dir=$(cd "$ROOT/hack/controlplane/$1" && go mod download -json "$2" | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p')
  [[ -d "$dir" ]] || { echo "cannot locate module $2" >&2; exit 1; }
  echo "$dir"
}

running() {
  [[ -f "$KUBECONFIG_PATH" ]] && k --request-timeout=3s get --raw=/readyz >/dev/null 2>&1
}

# kwokctl starts every component through a link in the cluster's bin/ directory, so
# a command line beginning with that path is this cluster's process and nothing else's
# (not, say, a `tail` of one of its logs).
leftover_pids() { pgrep -f -- "^${CLUSTER_STATE//./\\.}/bin/" || true; }

# True until the process has fully exited. Here that can mean a zombie that the
# machine's init has not reaped yet: it holds no ports once its last thread is gone
# (Go programs leave the main thread a zombie while the others still run).
alive() {
  local st; st=$(cat "/proc/$1/status" 2>/dev/null) || return 1
  ! { [[ $st == *$'\nState:\tZ'* ]] && [[ $st == *$'\nThreads:\t1\n'* ]]; }
}

# kwokctl restarts a component only if the pid in its pid file is gone, and it counts
# an unreaped zombie (or an unrelated process reusing the pid) as running. After an
# unclean stop, drop the pid files that name no live process of this cluster.
forget_dead_pids() {
  local f
  for f in $(dead_pid_files); do rm -f "$f"; done
}

# dead_pid_files prints the pid files that name no live process of this cluster.
dead_pid_files() {
  local f pid live=" "
  for pid in $(leftover_pids); do alive "$pid" && live+="$pid "; done
  for f in "$CLUSTER_STATE"/pids/*.pid; do
    [[ -f "$f" ]] || continue
    pid=$(cat "$f")
    [[ "$live" == *" $pid "* ]] || echo "$f"
  done
}

# kwokctl starts the components all at once and never restarts one that exits. One that
# dials kube-apiserver before it listens may give up: metrics-server has panicked with
# "connection refused", leaving `kubectl top` and autoscalers without metrics. So once the
# API server serves, restart whatever is not running (kwokctl starts only the components
# without a live pid), and make sure the metrics API answers.
dead_components() {
  local f
  for f in $(dead_pid_files); do printf ' %s' "$(basename "$f" .pid)"; done
}

wait_apiserver() {
  local i
  for ((i = 0; i < 120; i++)); do running && return; sleep 0.5; done
  echo "kube-apiserver does not answer /readyz; 'hack/cluster.sh reset' recreates the" \
    "cluster (logs: $CLUSTER_STATE/logs)" >&2
  exit 1
}

restart_dead_components() {
  local attempt dead
  for ((attempt = 1; attempt <= 3; attempt++)); do
    wait_apiserver
    dead=$(dead_components)
    [[ -z "$dead" ]] && return
    log "restarting the components that exited:$dead"
    forget_dead_pids
    kwokctl start cluster
  done
  echo "components keep exiting:$dead (logs: $CLUSTER_STATE/logs)" >&2; exit 1
}

# The metrics APIService turns Available once kube-apiserver reaches metrics-server.
METRICS_APISERVICE=apiservice/v1beta1.metrics.k8s.io
METRICS_WAIT=30s

wait_metrics_api() {
  local attempt pid
  for ((attempt = 1; attempt <= 3; attempt++)); do
    restart_dead_components
    k wait --for=condition=Available "$METRICS_APISERVICE" --timeout="$METRICS_WAIT" >/dev/null 2>&1 && return
    log "the metrics API is not Available after $METRICS_WAIT; restarting metrics-server"
    pid=$(cat "$CLUSTER_STATE/pids/metrics-server.pid" 2>/dev/null) || pid=""
    if [[ -n "$pid" ]] && grep -qx "$pid" <<<"$(leftover_pids)"; then kill -KILL "$pid"; fi
    while [[ -n "$pid" ]] && alive "$pid"; do sleep 0.1; done
  done
  echo "the metrics API did not become Available (logs: $CLUSTER_STATE/logs)" >&2; exit 1
}

# write_config writes the kwokctl configuration to $1 (default: $CONFIG).
write_config() {
  local out=${1:-$CONFIG} kwok_dir ms_dir
  kwok_dir=$(module_dir kwok sigs.k8s.io/kwok)
  ms_dir=$(module_dir metrics-server sigs.k8s.io/metrics-server)
  mkdir -p "$CLUSTER_DIR"
  {
    cat <<EOF
# Generated by hack/cluster.sh; rewritten on every cluster creation.
apiVersion: config.kwok.x-k8s.io/v1alpha1
kind: KwokctlConfiguration
options:
  runtime: binary
  # kwokctl's default is 0.0.0.0.
  bindAddress: 127.0.0.1
  # metrics-server's APIService, Service and RBAC; kwokctl's default is a GitHub URL.
  metricsServerManifests:
  - $ms_dir/manifests/base
  kubectlBinary: $KUBECTL
componentsPatches:
# kwokctl keeps kube-apiserver's default admission plugins (PodSecurity, ServiceAccount,
# LimitRanger, ResourceQuota, ...) and --authorization-mode=Node,RBAC; add the one
# plugin kubeadm clusters enable on top.
- name: kube-apiserver
  extraArgs:
  - key: enable-admission-plugins
    value: NodeRestriction
  # The default range is a /24: 254 Services, which a benchmark of a few hundred
  # services exhausts ("range is full"). A /16 like most clusters'.
  - key: service-cluster-ip-range
    value: $SERVICE_CIDR
# One instance of each: leader election only makes a restarted one (new identity) sit
# idle until its predecessor's 15 s lease expires.
- name: kube-controller-manager
  extraArgs:
  - key: service-cluster-ip-range
    value: $SERVICE_CIDR
  - key: leader-elect
    value: "false"
- name: kube-scheduler
  extraArgs:
  - key: leader-elect
    value: "false"
EOF
    # KWOK's Metric (the kubelet resource-metrics endpoint metrics-server scrapes) and
    # ClusterResourceUsage (usage read from the pod annotations), from the pinned module.
    echo "---"
    "$KUBECTL" kustomize "$kwok_dir/kustomize/metrics/usage"
  } > "$out.tmp"
  mv "$out.tmp" "$out"
}

create_cluster() {
  write_config
  # --kubeconfig '' keeps kwokctl away from ~/.kube/config.
  # --disable-qps-limits: the controller manager's default 20 QPS, not the operator,
  # would otherwise dominate any convergence timing.
  # --heartbeat-factor 1: a kubelet's timings (40 s node lease, 10 s status updates).
  # kwokctl stretches them 5x for huge simulations, which also leaves a restarted KWOK
  # controller unable to take over its nodes (and run their pods) for 200 s.
  kwokctl create cluster \
    --config "$CONFIG" \
    --kubeconfig '' \
    --runtime binary \
    --etcd-binary "$(bin etcd)" \
    --kube-apiserver-binary "$(bin kube-apiserver)" \
    --kube-controller-manager-binary "$(bin kube-controller-manager)" \
    --kube-scheduler-binary "$(bin kube-scheduler)" \
    --kwok-controller-binary "$(bin kwok)" \
    --metrics-server-binary "$(bin metrics-server)" \
    --enable metrics-server \
    --disable-qps-limits \
    --heartbeat-factor 1 \
    --wait 2m
}

# One `scale` call per node, each under its own name: kwokctl adds the replica index to
# every node IP, but metrics-server must reach all nodes at 127.0.0.1, the only address
# the KWOK controller listens on. Distinct pod CIDRs keep pod IPs unique.
create_nodes() {
  local i kv params=(--param '.nodeIPs=["127.0.0.1"]')
  for kv in "${NODE_ALLOCATABLE[@]}"; do params+=(--param ".allocatable.${kv%%=*}=\"${kv#*=}\""); done
  for ((i = 0; i < NODES; i++)); do
    kwokctl scale node "kwok-node-$i" --replicas 1 --serial-length 0 \
      "${params[@]}" --param ".podCIDRs=[\"10.0.$i.0/24\"]"
  done
}

# A pool of unclassed PersistentVolumes, so StatefulSet claim templates bind through
# the controller manager's binder (there is no provisioner). KWOK never mounts them.
create_volumes() {
  local i name
  for ((i = 0; i < PV_COUNT; i++)); do
    name=$(printf 'local-pv-%02d' "$i")
    mkdir -p "$CLUSTER_DIR/volumes/$name"
    cat <<EOF
---
apiVersion: v1
kind: PersistentVolume
metadata:
  name: $name
  labels: {kubeship.dev/local-cluster-pool: "true"}
spec:
  capacity: {storage: $PV_SIZE}
  accessModes: [ReadWriteOnce]
  persistentVolumeReclaimPolicy: Retain
  hostPath: {path: $CLUSTER_DIR/volumes/$name, type: DirectoryOrCreate}
EOF
  done | k apply -f - >/dev/null
}

# Retain leaves a volume Released once its claim is gone; hand it back to the pool so
# repeated test runs do not drain it.
recycle_volumes() {
  local pv
  for pv in $(k get pv -l kubeship.dev/local-cluster-pool=true \
      -o jsonpath='{range .items[?(@.status.phase=="Released")]}{.metadata.name}{" "}{end}'); do
    k patch pv "$pv" --type json -p '[{"op":"remove","path":"/spec/claimRef"}]' >/dev/null
  done
}

# KWOK runs a node's pods only while it holds the node's lease, and a restarted KWOK
# controller has a new identity. `down` releases the leases; after an unclean stop the
# old ones would block it until they expire, so delete those not renewed since $1 (the
# controller retries within ~10 s). Returns once every node's lease is fresh.
wait_nodes_managed() {
  local since=$1 nodes fresh name renewed i
  nodes=$(k get nodes -o name | wc -l)
  for ((i = 0; i < 240; i++)); do
    fresh=0
    while read -r name renewed; do
      if (($(date -d "$renewed" +%s) >= since)); then
        fresh=$((fresh + 1))
      elif ((i == 0)); then
        k -n kube-node-lease delete lease "$name" --ignore-not-found >/dev/null
      fi
    done < <(k -n kube-node-lease get leases \
      -o jsonpath='{range .items[*]}{.metadata.name} {.spec.renewTime}{"\n"}{end}')
    ((fresh >= nodes)) && return
    ((i == 4)) && log "waiting for KWOK to take over the nodes"
    sleep 0.5
  done
  echo "KWOK did not take over the nodes; see $CLUSTER_STATE/logs/kwok-controller.log" >&2
  exit 1
}

# Stop the KWOK controller (so it cannot renew them), then delete its node leases: the
# next `up` takes the nodes over at once instead of waiting for the leases to expire.
release_node_leases() {
  running || return 0
  local pid; pid=$(cat "$CLUSTER_STATE/pids/kwok-controller.pid" 2>/dev/null) || return 0
  grep -qx "$pid" <<<"$(leftover_pids)" || return 0
  kill -KILL "$pid"
  k -n kube-node-lease delete leases --all >/dev/null
}

wait_usable() {
  wait_nodes_managed "$1"
  k wait --for=condition=Ready nodes --all --timeout=120s >/dev/null
  # Pods in a namespace are refused until its "default" ServiceAccount exists.
  until k -n default get serviceaccount default >/dev/null 2>&1; do sleep 0.2; done
}

binaries() { "$ROOT/hack/controlplane.sh" build "${COMPONENTS[@]}"; }

# stale_config tells whether the cluster was created from another configuration than
# this script now writes: kwokctl reads it only at creation, so such a cluster is remade.
stale_config() {
  [[ -d "$CLUSTER_STATE" ]] || return 1
  write_config "$CONFIG.new"
  if cmp -s "$CONFIG.new" "$CONFIG"; then rm -f "$CONFIG.new"; return 1; fi
  rm -f "$CONFIG.new"
}

# The local PostgreSQL is internal/testdb's server kept in $POSTGRES_DIR (hack/localdb):
# the data stays across restarts, `down` stops it, `reset` wipes it.
localdb() { (cd "$ROOT" && go run ./hack/localdb "$@"); }

postgres_up() {
  [[ "${1:-}" =~ ^[0-9]+$ ]] || { echo "usage: $0 postgres PORT" >&2; exit 2; }
  localdb up --dir "$POSTGRES_DIR" --port "$1" >&2
  echo "$POSTGRES_DIR"
}

postgres_down() {
  [[ -e "$POSTGRES_DIR" ]] || return 0
  localdb down --dir "$POSTGRES_DIR" "$@"
}

up() {
  local start=$SECONDS since; since=$(date +%s)
  if stale_config; then
    log "the cluster was created from an older configuration; recreating it"
    down
    wipe
  fi
  if running; then
    # Restarts any component that died (a no-op taking ~0.1 s otherwise), and hands
    # back volumes freed since, so repeated test runs on one cluster find the pool full.
    kwokctl start cluster
    wait_metrics_api
    recycle_volumes
    echo "$KUBECONFIG_PATH"; return
  fi
  binaries
  if [[ -d "$CLUSTER_STATE" ]]; then
    log "starting the existing cluster (state in $CLUSTER_DIR)"
    forget_dead_pids
    # kwokctl may return before kube-apiserver serves, or even with it down.
    kwokctl start cluster
  else
    log "creating cluster $NAME (state in $CLUSTER_DIR)"
    create_cluster
  fi
  restart_dead_components
  # Both steps are idempotent, so a restarted cluster is topped up as well.
  create_nodes
  create_volumes
  recycle_volumes
  wait_usable "$since"
  wait_metrics_api
  log "cluster $NAME is up in $((SECONDS - start))s"
  echo "$KUBECONFIG_PATH"
}

down() {
  postgres_down
  # Remember the processes before kwokctl forgets them (it removes its pid files).
  local pids; pids=$(leftover_pids)
  release_node_leases
  if [[ -d "$CLUSTER_STATE" ]]; then
    # SIGKILLs each component by its pid file; etcd's WAL keeps the state consistent.
    kwokctl stop cluster
  fi
  # Return only once every process is gone, or a zombie (which holds no ports or
  # files), so that an `up` right after cannot race the dying ones for their ports.
  local i p left
  for ((i = 0; i < 50; i++)); do
    left=""
    for p in $pids $(leftover_pids); do alive "$p" && left+=" $p"; done
    [[ -z "$left" ]] && return
    # shellcheck disable=SC2086 # one PID per word
    kill -KILL $left 2>/dev/null || true
    sleep 0.1
  done
  echo "cluster processes still running:$left" >&2; exit 1
}

# kwokctl keeps nothing outside KWOK_WORKDIR (and we keep it off ~/.kube/config), so
# once the processes are gone, removing the directory is the whole deletion.
reset() {
  down
  wipe
  up
}

# wipe removes all cluster state. KUBESHIP_CLUSTER_DIR is user input: it is wiped only
# if it holds nothing but this script's files.
wipe() {
  local extra
  extra=$(find "$CLUSTER_DIR" -mindepth 1 -maxdepth 1 \
    ! -name kwok ! -name volumes ! -name postgres ! -name 'kwokctl.yaml*' 2>/dev/null || true)
  if [[ -n "$extra" ]]; then
    echo "refusing to wipe $CLUSTER_DIR: it holds files not made by $0:" >&2
    echo "$extra" >&2; exit 1
  fi
  # The server's data may live outside $CLUSTER_DIR (see hack/localdb).
  postgres_down --wipe
  rm -rf "$CLUSTER_DIR"
}

status() {
  echo "state:      $CLUSTER_DIR"
  echo "kubeconfig: $KUBECONFIG_PATH"
  if ! running; then
    echo "status:     not running"; return 1
  fi
  echo "status:     running ($(k get --raw /version | sed -n 's/.*"gitVersion": "\(.*\)".*/\1/p'))"
  kwokctl get components
  k get nodes
}

case "${1:-}" in
  up) up ;;
  down) down ;;
  reset) reset ;;
  kubeconfig) echo "$KUBECONFIG_PATH" ;;
  status) status ;;
  binaries) binaries ;;
  postgres) postgres_up "${2:-}" ;;
  *) echo "usage: $0 up|down|reset|kubeconfig|status|binaries|postgres PORT" >&2; exit 2 ;;
esac
