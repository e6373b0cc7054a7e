# One image for every paymesh role: the role is the command.
#
#   docker build -t paymesh .                       # compiles inside (rust:1.95-bookworm)
#   docker run --rm -p 127.0.0.1:8403:8403 -v processing:/var/lib/paymesh paymesh processing
#   docker compose up                               # compose.yaml: the network
#
# BINARIES picks where paymesh comes from:
#   compiled  (default) built here in release mode by the same scripts CI proves
#             (scripts/install-deps.sh, scripts/build-ui.sh, cargo build);
#   prebuilt  taken from prebuilt/ in the build context: paymesh, site/ (the UI bundle,
#             found beside the executable) and optionally a headless kiosk-shell.
#             scripts/container-image.sh stages them from target/ and builds with it;
#             CI does this (a release build takes 10 minutes on 2 cores).
# Only the stage BINARIES names is built (BuildKit and buildah skip unused stages), so a
# prebuilt build never needs the rust image. docs/deployment.md "Containers".
#
# Nothing is downloaded at build time beyond apt and crates.io (no wasm-opt, no CDN).
ARG BINARIES=compiled

FROM rust:1.95-bookworm AS compiled
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
 && cargo build --release -p kiosk-shell --no-default-features \
 && mkdir -p /out \
 && cp target/release/paymesh target/release/kiosk-shell /out/ \
 && cp -r target/site /out/site

FROM scratch AS prebuilt
COPY prebuilt/ /out/
LABEL org.paymesh.stage=prebuilt

FROM ${BINARIES} AS binaries

FROM debian:bookworm-slim
# ca-certificates: providers and processing centers on public HTTPS. A fixed uid, so a
# secret file on the host can be given to it (chown 10001).
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
 && apt-get clean \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 paymesh \
 && useradd --system --uid 10001 --gid paymesh --home-dir /var/lib/paymesh --no-create-home paymesh \
 && install -d -o paymesh -g paymesh -m 0700 /var/lib/paymesh
COPY deploy/container/entrypoint.sh /app/entrypoint
COPY deploy/container/healthcheck.sh /app/healthcheck
COPY --from=binaries /out/ /app/
USER paymesh
# Data (the SQLite database, generated passwords, logs) in a volume; the entrypoint
# listens on 0.0.0.0:<the role's port> unless --listen or PAYMESH_LISTEN says otherwise.
ENV PAYMESH_DATA_DIR=/var/lib/paymesh
WORKDIR /var/lib/paymesh
VOLUME /var/lib/paymesh
EXPOSE 8401 8402 8403 8404
# GET /healthz must answer 200 (an HTTP request, not only a TCP connect).
HEALTHCHECK --interval=10s --timeout=5s --start-period=20s --retries=3 CMD ["/app/healthcheck"]
ENTRYPOINT ["/app/entrypoint"]
CMD ["--help"]
# scripts/container-image.sh prunes the unnamed images of earlier builds by this label.
LABEL org.paymesh.stage=image
