# syntax=docker/dockerfile:1
# The Latchkey server image (the one helm/latchkey deploys).
#
#   docker build -t registry.example.com/identity/latchkey:0.1.0 .
#   docker run --rm -p 8080:8080 registry.example.com/identity/latchkey:0.1.0
#
# With no LATCHKEY_DATABASE_URL the container runs the embedded default (SQLite in
# /home/nonroot/latchkey-data, in-process store) for a quick look; production passes
# PostgreSQL, Redis and the master key as LATCHKEY_* variables (docs/operations.md).

# ---- build ------------------------------------------------------------------------------
# The official Rust image (Debian bookworm): its glibc matches the runtime image below.
# The workspace needs Rust 1.95 or newer (Cargo.toml `rust-version`).
ARG RUST_IMAGE=rust:1-bookworm
FROM ${RUST_IMAGE} AS builder

# cmake for aws-lc-sys should its cc build not apply to the target; everything else (C
# compiler for bundled SQLite and aws-lc) is in the image.
RUN apt-get update \
 && apt-get install -y --no-install-recommends cmake \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /usr/src/latchkey
# The whole workspace (see .dockerignore): cargo needs every member's manifest, and the
# server embeds web/ at compile time.
COPY . .
# --locked: exactly the versions in Cargo.lock. The registry cache mount only speeds up
# rebuilds; the binary itself lands in the image layer.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    cargo build --release --locked -p latchkey-api --bin latchkey \
 && strip target/release/latchkey \
 && target/release/latchkey --version

# ---- runtime ----------------------------------------------------------------------------
# Distroless: glibc, libgcc, CA certificates and tzdata; no shell, no package manager.
# `:nonroot` runs as 65532:65532 with HOME=/home/nonroot.
FROM gcr.io/distroless/cc-debian12:nonroot

LABEL org.opencontainers.image.title="latchkey" \
      org.opencontainers.image.description="Latchkey: multi-tenant customer identity and access management" \
      org.opencontainers.image.licenses="Apache-2.0"

COPY --from=builder /usr/src/latchkey/target/release/latchkey /usr/local/bin/latchkey

USER 65532:65532
WORKDIR /home/nonroot
ENV LATCHKEY_BIND=0.0.0.0:8080
EXPOSE 8080
# SIGTERM (the default stop signal) makes the server stop accepting and drain in-flight
# requests for up to 30 s before it exits 0.
ENTRYPOINT ["/usr/local/bin/latchkey"]
CMD ["serve"]
