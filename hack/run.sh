#!/usr/bin/env bash
# Runs the operator from source against a cluster, for the edit-and-rerun loop.
#
#   hack/run.sh [manager flags...]
#
# Cluster choice: the cluster in $KUBECONFIG (or ~/.kube/config) when it answers
# within 3 s; otherwise the local cluster, started with `hack/cluster.sh up`, so a
# fresh checkout needs no setup beyond Go and kubectl. The CRDs from
# config/crd/bases are then (re)applied, so the API in the cluster matches the code.
#
# On the local cluster it also sets up what the shared-database sample needs, so every
# sample in config/samples becomes Ready: a local PostgreSQL (`hack/cluster.sh postgres`,
# from the distribution's postgresql package; without it, a hint and no shared server),
# its admin Secret in the operator's namespace, the DatabaseServer of
# apps_v1alpha1_databaseserver_shared.yaml, and the label that lets "default" use it.
# The server keeps running across runs; `hack/cluster.sh down` stops it.
#
# The manager replaces this shell (exec): Ctrl-C reaches it directly and it shuts
# down cleanly, with no wrapper left behind. Its probes listen on 127.0.0.1:8081;
# its metrics endpoint is off. Extra arguments go to the manager.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
KUBECTL=${KUBECTL:-kubectl}

# kubectl resolves an unset KUBECONFIG to ~/.kube/config itself; `version` fails
# when no server answers. Its skew warning and output are noise here.
local_cluster=false
if "$KUBECTL" --request-timeout=3s version >/dev/null 2>&1; then
  echo ">> using the cluster of the current kubeconfig (${KUBECONFIG:-~/.kube/config})" >&2
else
  echo ">> no reachable cluster in ${KUBECONFIG:-~/.kube/config}; starting the local one" >&2
  KUBECONFIG=$(hack/cluster.sh up)
  export KUBECONFIG
  local_cluster=true
fi

echo ">> installing CRDs" >&2
# --force-conflicts: this loop owns the CRDs of a development cluster, even when an
# earlier client-side `kubectl apply` or `make install` wrote them.
"$KUBECTL" apply --server-side --force-conflicts -f config/crd/bases >/dev/null
"$KUBECTL" wait --for=condition=Established --timeout=30s -f config/crd/bases >/dev/null

SHARED_SAMPLE=config/samples/apps_v1alpha1_databaseserver_shared.yaml
manager_flags=()

# shared_database registers the sample's DatabaseServer for a local PostgreSQL on the
# sample's port. Its admin Secret's namespace is passed to the manager as its operator
# namespace, where admin Secrets need no label.
shared_database() {
  local label=kubeship.dev/databases port ns secret value dir
  read -r port ns secret value < <("$KUBECTL" create --dry-run=client -f "$SHARED_SAMPLE" -o \
    "jsonpath={.spec.port} {.spec.adminSecretRef.namespace} {.spec.adminSecretRef.name} {.spec.allowedNamespaces.matchLabels.${label//./\\.}}{\"\\n\"}")
  echo ">> starting the local PostgreSQL for shared databases on 127.0.0.1:$port" >&2
  if ! dir=$(hack/cluster.sh postgres "$port"); then
    echo ">> no local PostgreSQL: the shared-database samples will not become Ready (see above)" >&2
    return 0
  fi
  "$KUBECTL" create namespace "$ns" --dry-run=client -o yaml | "$KUBECTL" apply -f - >/dev/null
  "$KUBECTL" create secret generic "$secret" -n "$ns" \
    --from-file=username="$dir/username" --from-file=password="$dir/password" \
    --dry-run=client -o yaml | "$KUBECTL" apply --server-side --force-conflicts -f - >/dev/null
  "$KUBECTL" label namespace default "$label=$value" --overwrite >/dev/null
  "$KUBECTL" apply -f "$SHARED_SAMPLE" >/dev/null
  manager_flags+=(--operator-namespace="$ns")
  echo ">> registered DatabaseServer shared-pg (admin Secret $ns/$secret; namespace default labelled $label=$value)" >&2
}

if $local_cluster; then shared_database; fi

{
  echo
  echo "In another terminal:"
  echo "  export KUBECONFIG=${KUBECONFIG:-$HOME/.kube/config}"
  for sample in config/samples/*.yaml; do
    [[ "$(basename "$sample")" == kustomization.yaml ]] && continue
    echo "  kubectl apply -f $sample"
  done
  echo "  kubectl wait --for=condition=Ready ms,databaseservers --all --timeout=2m"
  echo
} >&2

# Built, then exec'ed: under `go run` the go command would sit between Ctrl-C and the
# manager and exit 1 after the manager's clean shutdown.
echo ">> building the manager" >&2
go build -o bin/manager .
exec bin/manager --health-probe-bind-address=127.0.0.1:8081 --metrics-bind-address=0 "${manager_flags[@]}" "$@"
