# syntax=docker/dockerfile:1
#
# Production image of the openadr3-vtn server, as the Helm chart in helm/openadr3-vtn expects
# it: the binary at /usr/local/bin/openadr3-vtn, run as UID/GID 65532, writing only to /data
# (the SQLite database) and /tmp, so that it works with a read-only root filesystem.
#
#   docker build -t REGISTRY/openadr3-vtn:0.1.0 .
#   docker run --rm -p 8080:8080 -v vtn-data:/data REGISTRY/openadr3-vtn:0.1.0
#
# The runtime base is debian:bookworm-slim rather than distroless on purpose: it has
# /bin/sleep, which the chart's preStop pause runs on Kubernetes < 1.30 (preStopMethod: auto).

ARG RUST_VERSION=1

FROM rust:${RUST_VERSION}-slim-bookworm AS builder
WORKDIR /build

# 1. Dependencies only, built against placeholder sources: this layer is reused until
#    Cargo.toml or Cargo.lock change.
COPY Cargo.toml Cargo.lock ./
RUN mkdir -p src \
 && echo 'fn main() {}' > src/main.rs \
 && : > src/lib.rs \
 && cargo build --release --locked \
 && rm -rf src

# 2. The server. The copied sources can be older than the placeholders, so touch the crate
#    roots, or cargo would keep the placeholder build. The migrations are compiled in.
COPY migrations ./migrations
COPY src ./src
RUN touch src/main.rs src/lib.rs \
 && cargo build --release --locked \
 && ./target/release/openadr3-vtn --version

FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && install -d -o 65532 -g 65532 -m 0750 /data
COPY --from=builder /build/target/release/openadr3-vtn /usr/local/bin/openadr3-vtn
USER 65532:65532
# The server's default database, sqlite://openadr3-vtn.db, is relative: it lands in /data.
WORKDIR /data
ENV VTN_BIND=0.0.0.0:8080
EXPOSE 8080
ENTRYPOINT ["openadr3-vtn"]
CMD ["serve"]
