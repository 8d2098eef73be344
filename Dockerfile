# syntax=docker/dockerfile:1
# tokenbridge: a multi-stage build. The builder compiles with the toolchain CI uses (1.95.0; the
# crate needs 1.88 or newer); the runtime image holds the binary, the OpenSSL it links and the CA
# certificates, and runs as an unprivileged user.

FROM rust:1.95.0-slim-bookworm AS builder
# josekit and the openssl crate link the system OpenSSL (headers + pkg-config); aws-lc-sys
# compiles C (gcc, libc6-dev, make).
RUN apt-get update \
    && apt-get install -y --no-install-recommends pkg-config libssl-dev gcc libc6-dev make \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
# Only what the build reads: the manifests, the sources (presets are include_str!'d from src/),
# and benches/, which Cargo.toml names as a [[bench]] target and so must exist.
COPY Cargo.toml Cargo.lock ./
COPY src ./src
COPY benches ./benches
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked \
    && install -m 0755 target/release/tokenbridge /usr/local/bin/tokenbridge

FROM debian:12.12-slim AS runtime
# libssl3: the binary links libssl.so.3 and libcrypto.so.3 dynamically (glibc and libgcc_s come
# with the base image, Debian 12 like the builder); ca-certificates: the trust store for https
# upstreams.
RUN apt-get update \
    && apt-get install -y --no-install-recommends libssl3 ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 10001 tokenbridge \
    && useradd --system --no-log-init --uid 10001 --gid tokenbridge \
        --home-dir /var/lib/tokenbridge --shell /usr/sbin/nologin tokenbridge \
    && install -d -o tokenbridge -g tokenbridge -m 0700 /var/lib/tokenbridge /var/lib/tokenbridge/keys \
    && install -d -m 0755 /etc/tokenbridge
COPY --from=builder /usr/local/bin/tokenbridge /usr/local/bin/tokenbridge

# The config is mounted at /etc/tokenbridge/tokenbridge.toml (see CMD); generated keys go to the
# volume at /var/lib/tokenbridge/keys (created above, owned by the user, so a new named volume
# inherits that owner and mode).
WORKDIR /var/lib/tokenbridge
VOLUME ["/var/lib/tokenbridge/keys"]
USER 10001:10001
EXPOSE 8080
# No curl here: the binary probes its own readiness, GET http://127.0.0.1:8080/readyz, exit 0 on
# 2xx. Set the environment variable TOKENBRIDGE_HEALTH_URL when the config listens elsewhere.
HEALTHCHECK --interval=10s --timeout=5s --start-period=15s --retries=3 \
    CMD ["/usr/local/bin/tokenbridge", "health"]
ENTRYPOINT ["/usr/local/bin/tokenbridge"]
CMD ["serve", "--config", "/etc/tokenbridge/tokenbridge.toml"]
