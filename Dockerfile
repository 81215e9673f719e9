# The manager's image for machines with a Docker engine; `make image` builds the same
# image without one (hack/image). `make docker-build` passes the build identity:
#   docker build --build-arg VERSION=v1.2.3 --build-arg COMMIT=$(git rev-parse HEAD) \
#     --build-arg BUILD_DATE=2026-01-02T03:04:05Z -t ghcr.io/kubeship/kubeship:v1.2.3 .
FROM golang:1.26 AS builder
ARG TARGETOS
ARG TARGETARCH
ARG VERSION=devel
ARG COMMIT=unknown
ARG BUILD_DATE=unknown
WORKDIR /workspace
COPY go.mod go.sum ./
RUN go mod download
COPY main.go main.go
COPY api/ api/
COPY controllers/ controllers/
COPY internal/ internal/
# The same flags as `make image`: static, no local paths, stamped (internal/version).
RUN CGO_ENABLED=0 GOOS=${TARGETOS:-linux} GOARCH=${TARGETARCH} go build -trimpath \
    -ldflags "-s -w -X github.com/kubeship/kubeship/internal/version.version=${VERSION} \
      -X github.com/kubeship/kubeship/internal/version.commit=${COMMIT} \
      -X github.com/kubeship/kubeship/internal/version.date=${BUILD_DATE}" \
    -o manager .

# Static and nonroot: no shell, user 65532, CA certificates and /etc/passwd only.
FROM gcr.io/distroless/static:nonroot
ARG VERSION=devel
ARG COMMIT=unknown
ARG BUILD_DATE=unknown
LABEL org.opencontainers.image.title="kubeship" \
      org.opencontainers.image.description="kubeship operator manager" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${COMMIT}" \
      org.opencontainers.image.created="${BUILD_DATE}" \
      org.opencontainers.image.source="https://github.com/kubeship/kubeship"
WORKDIR /
COPY --from=builder /workspace/manager /manager
USER 65532:65532
ENTRYPOINT ["/manager"]
