# kubeship Makefile, in kubebuilder's spirit. `make help` lists the targets.

# Build identity, stamped into the manager (internal/version) and its image labels.
# VERSION: the v* tag on HEAD, else v0.0.0-<commit>; "-dirty" marks uncommitted changes.
# SOURCE_DATE_EPOCH (the commit time) fixes the build date and every time in the image,
# so the same commit gives the same image digest.
GIT_COMMIT ?= $(shell git rev-parse HEAD 2>/dev/null || echo unknown)
VERSION ?= $(shell git describe --tags --match 'v[0-9]*' --dirty 2>/dev/null || \
	echo "v0.0.0-$$(git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)$$(git diff --quiet HEAD 2>/dev/null || echo -dirty)")
SOURCE_DATE_EPOCH ?= $(shell git log -1 --format=%ct 2>/dev/null || echo 0)
BUILD_DATE ?= $(shell date -u -d @$(SOURCE_DATE_EPOCH) +%Y-%m-%dT%H:%M:%SZ 2>/dev/null || date -u -r $(SOURCE_DATE_EPOCH) +%Y-%m-%dT%H:%M:%SZ)
# Evaluate once per make run (a command-line or environment value still wins).
GIT_COMMIT := $(GIT_COMMIT)
VERSION := $(VERSION)
SOURCE_DATE_EPOCH := $(SOURCE_DATE_EPOCH)
BUILD_DATE := $(BUILD_DATE)
VERSION_PKG := github.com/kubeship/kubeship/internal/version
LDFLAGS ?= -X $(VERSION_PKG).version=$(VERSION) -X $(VERSION_PKG).commit=$(GIT_COMMIT) -X $(VERSION_PKG).date=$(BUILD_DATE)

# The image `make image`, `make docker-build` and `make deploy` build or use.
IMG ?= ghcr.io/kubeship/kubeship:$(VERSION)
# The release image that the committed dist/install.yaml and the chart's appVersion name:
# a fixed tag, so the committed installer does not change with every commit.
RELEASE_IMG ?= ghcr.io/kubeship/kubeship:v0.2.0
# `make image`: platforms of the multi-platform index, and where the image is written.
PLATFORMS ?= linux/amd64,linux/arm64
IMAGE_DIR ?= dist/image
CONTROLLER_TOOLS_VERSION ?= v0.23.0
LOCALBIN ?= $(CURDIR)/bin
CONTROLLER_GEN ?= $(LOCALBIN)/controller-gen
GOLANGCI_LINT_VERSION ?= v2.15.0
GOLANGCI_LINT ?= $(LOCALBIN)/golangci-lint
HELM_VERSION ?= v3.22.0
HELM ?= $(LOCALBIN)/helm
# The Kubernetes version Helm assumes without a cluster (helm template, helm lint), as
# Helm's own build sets it from its client-go (v0.37 -> 1.37).
HELM_K8S_MINOR ?= 37
HELM_LDFLAGS = -s -w -X helm.sh/helm/v3/internal/version.version=$(HELM_VERSION) \
	$(foreach p,pkg/lint/rules pkg/chartutil,-X helm.sh/helm/v3/$(p).k8sVersionMajor=1 -X helm.sh/helm/v3/$(p).k8sVersionMinor=$(HELM_K8S_MINOR))
KUBECTL ?= kubectl
GO_TEST_FLAGS ?= -count=1

comma := ,

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
	$(CONTROLLER_GEN) rbac:roleName=manager-role crd paths="./api/...;./controllers/..." output:crd:artifacts:config=config/crd/bases
	go run ./hack/reflow config/crd/bases/*.yaml

.PHONY: generate
generate: controller-gen ## Generate DeepCopy methods from markers.
	$(CONTROLLER_GEN) object:headerFile="hack/boilerplate.go.txt" paths="./api/..."

.PHONY: fmt
fmt: ## Run gofmt on the code.
	gofmt -l -w $$(git ls-files '*.go')

.PHONY: tidy
tidy: ## Run go mod tidy in the main module and in the nested ones (hack/bench and hack/netpol follow the main module's requirements).
	go mod tidy
	cd hack/image && go mod tidy
	cd hack/bench && go mod tidy
	cd hack/netpol && go mod tidy

.PHONY: vet
vet: ## Run go vet.
	go vet ./...
	cd hack/image && go vet ./...
	cd hack/netpol && go vet ./...
	cd hack/bench && go vet ./...

.PHONY: lint
lint: golangci-lint ## Run golangci-lint (.golangci.yml) on the whole tree, the e2e build tag included.
	$(GOLANGCI_LINT) run ./...
	cd hack/image && $(GOLANGCI_LINT) run ./...
	cd hack/netpol && $(GOLANGCI_LINT) run ./...
	cd hack/bench && $(GOLANGCI_LINT) run ./...

.PHONY: lint-fix
lint-fix: golangci-lint ## Run golangci-lint and apply the fixes it knows.
	$(GOLANGCI_LINT) run --fix ./...

.PHONY: envtest
envtest: ## Build (or reuse) kube-apiserver and etcd from source for envtest.
	@hack/controlplane.sh envtest-assets >/dev/null

.PHONY: test
test: test-unit test-e2e ## Run every test: unit and envtest, then end-to-end on the local cluster.

.PHONY: test-unit
test-unit: manifests generate vet envtest helm ## Run unit and envtest tests against the kube-apiserver built from source.
	KUBEBUILDER_ASSETS="$$(hack/controlplane.sh envtest-assets)" HELM="$(HELM)" go test $(GO_TEST_FLAGS) ./...
	cd hack/image && go test $(GO_TEST_FLAGS) -timeout 30m ./...
	cd hack/bench && go test $(GO_TEST_FLAGS) ./...
	# The shop's NetworkPolicies through an upstream evaluator; -v prints its truth table.
	cd hack/netpol && go test $(GO_TEST_FLAGS) -v ./...

# Native Go fuzz targets, as package:target:executions. `go test -fuzz` takes one target at a
# time. The budget is a count of executions (about 10 s each on 2 busy cores), never a duration:
# a duration -fuzztime races Go 1.26's fuzz coordinator at the deadline and fails a clean run with
# a bare "context deadline exceeded" (golang/go#75804, fixed in Go 1.27). FUZZTIME, when set,
# replaces every target's budget (e.g. FUZZTIME=1000000x for a longer local run).
FUZZ_TARGETS = \
	./internal/naming:FuzzNames:100000x ./internal/naming:FuzzNamesDistinct:100000x \
	./internal/dbadmin:FuzzQuoteLiteral:100000x ./internal/dbadmin:FuzzPGIdent:100000x \
	./internal/dbadmin:FuzzMySQLIdent:100000x ./internal/dbadmin:FuzzNamesPassChecks:30000x \
	./controllers/resources:FuzzBuilders:10000x
FUZZTIME ?=

.PHONY: fuzz
fuzz: ## Run each fuzz target for its execution budget (or FUZZTIME); a failing input lands in the package's testdata/fuzz/.
	@set -e; for t in $(FUZZ_TARGETS); do \
	  pkg=$${t%%:*}; rest=$${t#*:}; name=$${rest%%:*}; budget=$${rest#*:}; \
	  budget=$${FUZZTIME:-$$budget}; echo "== $$name ($$pkg, $$budget)"; \
	  go test -run '^$$' -fuzz "^$$name\$$" -fuzztime $$budget $$pkg; \
	done

.PHONY: test-e2e
test-e2e: manifests cluster-binaries helm ## Run the end-to-end suite through kubectl against the local cluster, then test/cluster (down/up cycles, make run) on private clusters.
	HELM="$(HELM)" go test $(GO_TEST_FLAGS) -tags e2e -timeout 30m -v -p 1 ./test/e2e/ ./test/cluster/

BENCH_FLAGS ?= -n 1000

.PHONY: bench
bench: envtest cluster-binaries ## Run the benchmarks: per-pass cost (envtest), then the fleet at scale against the floor (hack/bench, writes docs/benchmarks/).
	KUBEBUILDER_ASSETS="$$(hack/controlplane.sh envtest-assets)" go test -run '^$$' -bench . -benchmem ./...
	cd hack/bench && go build -o $(LOCALBIN)/bench .
	$(LOCALBIN)/bench $(BENCH_FLAGS)

##@ Build

.PHONY: build
build: manifests generate fmt vet ## Build the manager binary.
	go build -ldflags "$(LDFLAGS)" -o $(LOCALBIN)/manager .

.PHONY: kubectl-kubeship
kubectl-kubeship: ## Build the kubectl plugin into ./bin (put ./bin on the PATH for `kubectl kubeship graph`).
	go build -ldflags "$(LDFLAGS)" -o $(LOCALBIN)/kubectl-kubeship ./hack/kubectl-kubeship

.PHONY: run
run: manifests generate ## Run the manager: on the cluster in KUBECONFIG, or on the local cluster when none answers.
	hack/run.sh

.PHONY: image
image: ## Build the manager's OCI image without a container engine: $(IMAGE_DIR)/kubeship-manager.tar (and the layout in $(IMAGE_DIR)/oci).
	@mkdir -p $(IMAGE_DIR)
	for platform in $(subst $(comma), ,$(PLATFORMS)); do \
	  os=$${platform%/*}; arch=$${platform#*/}; \
	  CGO_ENABLED=0 GOOS=$$os GOARCH=$$arch go build -trimpath -ldflags "-s -w $(LDFLAGS)" \
	    -o $(abspath $(IMAGE_DIR))/$$os-$$arch/manager . ; \
	  bins="$$bins -binary $$platform=$(abspath $(IMAGE_DIR))/$$os-$$arch/manager"; \
	done; \
	cd hack/image && go run . $$bins -version $(VERSION) -revision $(GIT_COMMIT) \
	  -epoch $(SOURCE_DATE_EPOCH) -name $(IMG) -out $(abspath $(IMAGE_DIR))

.PHONY: docker-build
docker-build: ## Build the manager's container image with a Docker engine (the Dockerfile, same stamping).
	docker build --build-arg VERSION=$(VERSION) --build-arg COMMIT=$(GIT_COMMIT) \
	  --build-arg BUILD_DATE=$(BUILD_DATE) -t $(IMG) .

##@ Deployment

.PHONY: install
install: manifests ## Install the CRDs into the cluster in KUBECONFIG.
	$(KUBECTL) apply --server-side -k config/crd

.PHONY: uninstall
uninstall: manifests ## Remove the CRDs (and with them every Microservice!) from the cluster.
	$(KUBECTL) delete --ignore-not-found -k config/crd

.PHONY: deploy
deploy: manifests ## Deploy the operator to the cluster in KUBECONFIG (image $(IMG)).
	hack/build-installer.sh "$(IMG)" - | $(KUBECTL) apply --server-side -f -

.PHONY: undeploy
undeploy: ## Remove the operator (and its CRDs, with every Microservice!) from the cluster.
	hack/build-installer.sh "$(IMG)" - | $(KUBECTL) delete --ignore-not-found -f -

##@ Distribution

INSTALLER ?= dist/install.yaml

.PHONY: build-installer
build-installer: manifests installer ## Write dist/install.yaml (config/default with image $(RELEASE_IMG)): one file for kubectl apply.

# installer writes $(INSTALLER) from config/ as it is (no generators run); the install
# tests call it with INSTALLER=- to check that dist/install.yaml is up to date.
.PHONY: installer
installer:
	hack/build-installer.sh "$(RELEASE_IMG)" "$(INSTALLER)"

.PHONY: chart-crds
chart-crds: manifests ## Generate the Helm chart's CRD and manager ClusterRole templates from config/ (dist/chart/templates/).
	go run ./hack/chartgen -crds config/crd/bases -role config/rbac/role.yaml -out dist/chart/templates

.PHONY: dist
dist: build-installer chart-crds ## Regenerate everything under dist/ (the installer and the chart's generated templates).

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

.PHONY: helm
helm: $(HELM) ## Install the Helm CLI into ./bin (built from the Go module proxy; several minutes cold on 2 cores).
$(HELM):
	GOBIN=$(LOCALBIN) go install -ldflags "$(HELM_LDFLAGS)" helm.sh/helm/v3/cmd/helm@$(HELM_VERSION)
