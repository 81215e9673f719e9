# kubeship Makefile, in kubebuilder's spirit. `make help` lists the targets.

IMG ?= ghcr.io/kubeship/kubeship:dev
CONTROLLER_TOOLS_VERSION ?= v0.23.0
LOCALBIN ?= $(CURDIR)/bin
CONTROLLER_GEN ?= $(LOCALBIN)/controller-gen
GOLANGCI_LINT_VERSION ?= v2.15.0
GOLANGCI_LINT ?= $(LOCALBIN)/golangci-lint
KUBECTL ?= kubectl
GO_TEST_FLAGS ?= -count=1

# Shell with strict mode so a failing step fails the target.
SHELL = /usr/bin/env bash -o pipefail
.SHELLFLAGS = -ec

.PHONY: all
all: build

##@ General

.PHONY: help
help: ## Show this help.
	@awk 'BEGIN {FS = ":.*##"} /^[a-zA-Z_0-9-]+:.*?##/ { printf "  \033[36m%-16s\033[0m %s\n", $$1, $$2 } /^##@/ { printf "\n\033[1m%s\033[0m\n", substr($$0, 5) }' $(MAKEFILE_LIST)

##@ Development

.PHONY: manifests
manifests: controller-gen ## Generate the CRDs and the manager's RBAC role from markers.
	$(CONTROLLER_GEN) rbac:roleName=manager-role crd paths="./..." output:crd:artifacts:config=config/crd/bases
	go run ./hack/reflow config/crd/bases/*.yaml

.PHONY: generate
generate: controller-gen ## Generate DeepCopy methods from markers.
	$(CONTROLLER_GEN) object:headerFile="hack/boilerplate.go.txt" paths="./..."

.PHONY: fmt
fmt: ## Run gofmt on the code.
	gofmt -l -w $$(git ls-files '*.go')

.PHONY: vet
vet: ## Run go vet.
	go vet ./...

.PHONY: lint
lint: golangci-lint ## Run golangci-lint (.golangci.yml) on the whole tree, the e2e build tag included.
	$(GOLANGCI_LINT) run ./...

.PHONY: lint-fix
lint-fix: golangci-lint ## Run golangci-lint and apply the fixes it knows.
	$(GOLANGCI_LINT) run --fix ./...

.PHONY: envtest
envtest: ## Build (or reuse) kube-apiserver and etcd from source for envtest.
	@hack/controlplane.sh envtest-assets >/dev/null

.PHONY: test
test: test-unit test-e2e ## Run every test: unit and envtest, then end-to-end on the local cluster.

.PHONY: test-unit
test-unit: manifests generate vet envtest ## Run unit and envtest tests against the kube-apiserver built from source.
	KUBEBUILDER_ASSETS="$$(hack/controlplane.sh envtest-assets)" go test $(GO_TEST_FLAGS) ./...

.PHONY: test-e2e
test-e2e: manifests cluster-binaries ## Run the end-to-end suite through kubectl against the local cluster, then test/cluster (down/up cycles, make run) on private clusters.
	go test $(GO_TEST_FLAGS) -tags e2e -timeout 30m -v -p 1 ./test/e2e/ ./test/cluster/

.PHONY: bench
bench: envtest cluster-binaries ## Run the benchmarks: per-pass cost (envtest), then convergence at scale (local cluster).
	KUBEBUILDER_ASSETS="$$(hack/controlplane.sh envtest-assets)" go test -run '^$$' -bench . -benchmem ./...
	go test -tags e2e -run '^$$' -bench ConvergeAtScale -benchtime 1x -timeout 30m ./test/e2e/

##@ Build

.PHONY: build
build: manifests generate fmt vet ## Build the manager binary.
	go build -o $(LOCALBIN)/manager .

.PHONY: run
run: manifests generate ## Run the manager: on the cluster in KUBECONFIG, or on the local cluster when none answers.
	hack/run.sh

.PHONY: docker-build
docker-build: ## Build the manager's container image (needs a Docker engine).
	docker build -t $(IMG) .

##@ Deployment

.PHONY: install
install: manifests ## Install the CRDs into the cluster in KUBECONFIG.
	$(KUBECTL) apply --server-side -k config/crd

.PHONY: uninstall
uninstall: manifests ## Remove the CRDs (and with them every Microservice!) from the cluster.
	$(KUBECTL) delete --ignore-not-found -k config/crd

.PHONY: deploy
deploy: manifests ## Deploy the operator to the cluster in KUBECONFIG (image $(IMG)).
	cd config/manager && $(KUBECTL) kustomize . >/dev/null
	$(KUBECTL) kustomize config/default | sed 's|controller:latest|$(IMG)|' | $(KUBECTL) apply --server-side -f -

.PHONY: undeploy
undeploy: ## Remove the operator from the cluster.
	$(KUBECTL) kustomize config/default | $(KUBECTL) delete --ignore-not-found -f -

include hack/cluster.mk

##@ Tools

.PHONY: controller-gen
controller-gen: $(CONTROLLER_GEN) ## Install controller-gen into ./bin.
$(CONTROLLER_GEN):
	GOBIN=$(LOCALBIN) go install sigs.k8s.io/controller-tools/cmd/controller-gen@$(CONTROLLER_TOOLS_VERSION)

.PHONY: golangci-lint
golangci-lint: $(GOLANGCI_LINT) ## Install golangci-lint into ./bin (built from the Go module proxy).
$(GOLANGCI_LINT):
	GOBIN=$(LOCALBIN) go install github.com/golangci/golangci-lint/v2/cmd/golangci-lint@$(GOLANGCI_LINT_VERSION)
