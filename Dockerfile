# The headcount image: one static binary on an empty base (FROM scratch),
# with the CA roots (for --tls without --tls-ca), an /etc/passwd naming the
# non-root user it runs as, and nothing else. Two ways to build it:
#
#   scripts/image                   the binary built on this machine, stamped
#                                   with its commit (headcount version); no
#                                   base image to pull, so it works offline.
#                                   This is the target `make test` builds and runs.
#   docker build -t headcount .     (or podman build) the binary built in
#                                   docker.io/library/golang (pulled): needs
#                                   no Go here, but, with .git left out of the
#                                   context, the version names no commit.
#
# Only the stages the chosen target needs are built (BuildKit, podman and
# buildah skip the others; Docker's legacy builder does not), so the prebuilt
# target pulls nothing.

ARG GO_VERSION=1.26

# The binary from source, in the official Go image: static (CGO_ENABLED=0),
# no local paths in it (-trimpath), no symbol table (-s -w; the build
# information `headcount version` reads stays).
FROM docker.io/library/golang:${GO_VERSION} AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY cmd ./cmd
COPY internal ./internal
RUN CGO_ENABLED=0 go build -trimpath -buildvcs=false -ldflags='-s -w' -o /out/headcount ./cmd/headcount

# What every variant holds besides the binary and the CA roots.
FROM scratch AS base
COPY deploy/image/passwd deploy/image/group /etc/
# 65532: the uid distroless images use for "nonroot"; no home, no shell.
USER 65532:65532
WORKDIR /data
ENTRYPOINT ["/usr/local/bin/headcount"]
CMD ["--help"]
LABEL org.opencontainers.image.title="headcount" \
      org.opencontainers.image.description="Unique users per time window in a Kafka stream of JSON events" \
      org.opencontainers.image.source="https://github.com/headcount/headcount"

# scripts/image: the binary and CA roots it staged in bin/image/.
FROM base AS prebuilt
COPY bin/image/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY bin/image/headcount /usr/local/bin/headcount

# The default target (the last stage): built from source.
FROM base AS source
COPY --from=build /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY --from=build /out/headcount /usr/local/bin/headcount
