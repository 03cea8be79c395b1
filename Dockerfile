# Multi-stage build: dependencies are compiled in their own cached layer, the runtime image
# is slim and runs as an unprivileged user.
FROM rust:1.95-slim-bookworm AS build
WORKDIR /src
# jemalloc (the server's allocator) is built from C sources with make.
RUN apt-get update && apt-get install -y --no-install-recommends make \
    && rm -rf /var/lib/apt/lists/*
# Build dependencies against stub crates first, so code changes do not rebuild them.
COPY Cargo.toml Cargo.lock ./
# Build settings (the bundled SQLite's compile-time options).
COPY .cargo .cargo
# The patched sqlx-core of [patch.crates-io].
COPY vendor vendor
COPY api/Cargo.toml api/Cargo.toml
COPY entity/Cargo.toml entity/Cargo.toml
COPY migration/Cargo.toml migration/Cargo.toml
COPY tests/Cargo.toml tests/Cargo.toml
COPY bench/Cargo.toml bench/Cargo.toml
RUN for crate in api entity migration tests bench; do mkdir -p $crate/src \
      && echo 'fn main() {}' > $crate/src/main.rs && touch $crate/src/lib.rs; done \
    && cargo build --release -p api \
    && rm -rf api/src entity/src migration/src tests/src bench/src
COPY . .
# Touch the sources so cargo rebuilds our crates over the stubs.
RUN find api entity migration -name '*.rs' -exec touch {} + \
    && cargo build --release -p api

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --home /data analytics \
    && mkdir -p /data && chown analytics /data
COPY --from=build /src/target/release/api /usr/local/bin/api
USER analytics
WORKDIR /data
ENV APP_MODE=production \
    DATA_DIR=/data \
    BIND_ADDR=0.0.0.0:8000 \
    LOG_FORMAT=json
EXPOSE 8000
# `serve` migrates the database before it listens.
ENTRYPOINT ["api"]
CMD ["serve"]
