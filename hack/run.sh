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
# The manager replaces this shell (exec): Ctrl-C reaches it directly and it shuts
# down cleanly, with no wrapper left behind. Its probes listen on 127.0.0.1:8081;
# its metrics endpoint is off. Extra arguments go to the manager.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
KUBECTL=${KUBECTL:-kubectl}

# kubectl resolves an unset KUBECONFIG to ~/.kube/config itself; `version` fails
# when no server answers. Its skew warning and output are noise here.
if "$KUBECTL" --request-timeout=3s version >/dev/null 2>&1; then
  echo ">> using the cluster of the current kubeconfig (${KUBECONFIG:-~/.kube/config})" >&2
else
  echo ">> no reachable cluster in ${KUBECONFIG:-~/.kube/config}; starting the local one" >&2
  KUBECONFIG=$(hack/cluster.sh up)
  export KUBECONFIG
fi

echo ">> installing CRDs" >&2
# --force-conflicts: this loop owns the CRDs of a development cluster, even when an
# earlier client-side `kubectl apply` or `make install` wrote them.
"$KUBECTL" apply --server-side --force-conflicts -f config/crd/bases >/dev/null
"$KUBECTL" wait --for=condition=Established --timeout=30s -f config/crd/bases >/dev/null

{
  echo
  echo "In another terminal:"
  echo "  export KUBECONFIG=${KUBECONFIG:-$HOME/.kube/config}"
  for sample in config/samples/*.yaml; do
    [[ "$(basename "$sample")" == kustomization.yaml ]] && continue
    echo "  kubectl apply -f $sample"
  done
  echo
} >&2

exec go run . --health-probe-bind-address=127.0.0.1:8081 --metrics-bind-address=0 "$@"
