# One image for every paymesh role. The build runs the same scripts CI proves
# (scripts/install-deps.sh, scripts/build-ui.sh, cargo build), in release mode.
#
#   docker build -t paymesh .
#   docker compose up          # compose.yaml: the four participants
#
# Nothing is downloaded at build time beyond apt and crates.io (no wasm-opt, no CDN).

FROM rust:1.95-bookworm AS build
WORKDIR /src
# Toolchain first, so the layer survives source changes.
COPY Cargo.toml Cargo.lock ./
COPY scripts/install-deps.sh scripts/install-deps.sh
RUN scripts/install-deps.sh
COPY . .
# kiosk-shell without its built-in WebKit window: a container has no display, and the
# slim image below has no WebKitGTK to run it (--no-window and --chromium still work).
RUN scripts/build-ui.sh --release \
 && cargo build --release -p portals --bin paymesh \
 && cargo build --release -p kiosk-shell --no-default-features

FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --home /var/lib/paymesh --create-home paymesh
COPY --from=build /src/target/release/paymesh /src/target/release/kiosk-shell /app/
# The UI bundle; found as site/ beside the executable.
COPY --from=build /src/target/site /app/site
USER paymesh
WORKDIR /var/lib/paymesh
VOLUME /var/lib/paymesh
EXPOSE 8401 8402 8403 8404
# A TCP connect to the port the role listens on (compose sets PAYMESH_PORT).
HEALTHCHECK CMD ["/bin/bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/${PAYMESH_PORT:-8402}"]
ENTRYPOINT ["/app/paymesh"]
