# The local cluster (hack/cluster.sh): a real control plane with fake KWOK nodes, run
# as local processes. Included by the Makefile; state lives in $(KUBESHIP_CLUSTER_DIR),
# default ~/.cache/kubeship/cluster.

##@ Local cluster

.PHONY: cluster-binaries
cluster-binaries: ## Build (or reuse) the control plane, KWOK and metrics-server binaries.
	hack/cluster.sh binaries

.PHONY: cluster-up
cluster-up: ## Start the local cluster (idempotent); prints its kubeconfig path.
	hack/cluster.sh up

.PHONY: cluster-down
cluster-down: ## Stop every process of the local cluster; its state stays for the next cluster-up.
	hack/cluster.sh down

.PHONY: cluster-reset
cluster-reset: ## Recreate the local cluster from scratch.
	hack/cluster.sh reset
