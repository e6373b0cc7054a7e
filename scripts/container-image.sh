#!/usr/bin/env bash
# Builds the paymesh image from the repository's Dockerfile with podman or docker,
# whichever works here (PAYMESH_ENGINE=podman|docker chooses).
#
#   scripts/container-image.sh             binaries built outside (BINARIES=prebuilt):
#                                          target/debug/paymesh, stripped, and target/site
#   scripts/container-image.sh --release   the same from target/release (cargo build
#                                          --release, scripts/build-ui.sh --release)
#   scripts/container-image.sh --compiled  BINARIES=compiled: compiled inside the build,
#                                          in the rust:1.95-bookworm stage (a registry is
#                                          needed; about 10 minutes on 2 cores)
#   --tag NAME                             the image's name (default: paymesh)
#
# The base image: where `debian:bookworm-slim` is not there yet and cannot be pulled (no
# registry), it is made with `debootstrap --variant=minbase bookworm` from this machine's
# apt mirror and imported under the name the Dockerfile's FROM resolves to — once; a
# rerun finds it. A prebuilt build stages the binaries in target/container/context (the
# build context: a few files, not the repository) and never pulls the rust image.
# The last line of output is `image: NAME SIZE`.
set -euo pipefail
cd "$(dirname "$0")/.."

mode=prebuilt
profile=debug
tag=paymesh
while (($#)); do
  case "$1" in
    --release) profile=release ;;
    --compiled) mode=compiled ;;
    --tag) tag=${2:?--tag NAME}; shift ;;
    *) echo "usage: $0 [--release] [--compiled] [--tag NAME]" >&2; exit 2 ;;
  esac
  shift
done

say() { echo "container-image: $*"; }

# shellcheck source=scripts/lib/container-engine.sh
source scripts/lib/container-engine.sh
if [[ -z "$engine" ]]; then
  say "neither podman nor docker is usable here" >&2
  exit 3
fi

base=debian:bookworm-slim
base_full=docker.io/library/debian:bookworm-slim
if ! "$engine" image inspect "$base_full" >/dev/null 2>&1 \
   && ! "$engine" image inspect "$base" >/dev/null 2>&1; then
  if timeout 120 "$engine" pull "$base_full" >/dev/null 2>&1; then
    say "pulled $base_full"
  else
    command -v debootstrap >/dev/null || {
      say "$base cannot be pulled and debootstrap is missing (apt-get install debootstrap)" >&2
      exit 1
    }
    # The first deb822 or one-line Debian mirror apt uses here (it reaches no other).
    mirror=$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources 2>/dev/null |
               sed -n 's/^URIs: *\(http[^ ]*\/debian\)\/*$/\1/p; s/^deb  *\(http[^ ]*\/debian\)\/* bookworm .*/\1/p' |
               head -n1 || true)
    mirror=${mirror:-http://deb.debian.org/debian}
    root=$(mktemp -d /tmp/paymesh-base-XXXXXX)
    trap 'rm -rf "$root"' EXIT
    say "no registry: making $base_full with debootstrap from $mirror"
    base_started=$SECONDS
    debootstrap --variant=minbase bookworm "$root" "$mirror" >"$root.log" 2>&1 || {
      tail -n 20 "$root.log" >&2
      exit 1
    }
    rm -f "$root.log"
    # As slim as the registry's: no package cache, lists, manuals or translations, and
    # dpkg told to leave them out of what the Dockerfile installs.
    rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/cache/apt/*.bin \
           "$root"/var/lib/apt/lists/* "$root"/usr/share/man/* "$root"/usr/share/info/* \
           "$root"/usr/share/locale/*
    find "$root/usr/share/doc" -mindepth 1 -not -type d -not -name copyright -delete
    cat >"$root/etc/dpkg/dpkg.cfg.d/slim" <<'EOF'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
path-exclude /usr/share/lintian/*
EOF
    tar -C "$root" -c . | "$engine" import --change 'CMD ["bash"]' - "$base_full" >/dev/null
    rm -rf "$root"
    trap - EXIT
    say "base image made in $((SECONDS - base_started)) s"
  fi
fi

build=("$engine" build -t "$tag" -f Dockerfile)
if [[ "$engine" == podman ]]; then
  # HEALTHCHECK exists only in the docker image format (OCI drops it); no pulls: the
  # base is local, and a prebuilt build must not reach for the rust image.
  build+=(--format docker --pull=never)
fi

if [[ "$mode" == compiled ]]; then
  "${build[@]}" --build-arg BINARIES=compiled .
else
  exe=target/$profile/paymesh
  if [[ ! -x "$exe" || ! -f target/site/pkg/paymesh.wasm ]]; then
    say "$exe or target/site is missing: build them first (cargo build -p portals --bin paymesh; scripts/build-ui.sh)" >&2
    exit 1
  fi
  ctx=target/container/context
  rm -rf "$ctx"
  mkdir -p "$ctx/prebuilt" "$ctx/deploy"
  # Without symbols: 370 MB of debug binary is 90 MB stripped.
  strip -o "$ctx/prebuilt/paymesh" "$exe"
  cp -r target/site "$ctx/prebuilt/site"
  cp -r deploy/container "$ctx/deploy/container"
  shell=target/$profile/kiosk-shell
  if [[ -x "$shell" ]] && ! ldd "$shell" 2>/dev/null | grep -q libwebkit2gtk; then
    strip -o "$ctx/prebuilt/kiosk-shell" "$shell"
  else
    say "kiosk-shell left out: $shell links WebKitGTK, which the slim image has not (build it with --no-default-features to include it)"
  fi
  "${build[@]}" --build-arg BINARIES=prebuilt "$ctx"
  rm -rf "$ctx" # the image has it; a rerun stages it again (seconds)
fi

# Earlier builds' images, now unnamed (ours only: the Dockerfile labels them).
"$engine" image prune -f --filter label=org.paymesh.stage >/dev/null 2>&1 || true

size=$("$engine" image inspect "$tag" --format '{{.Size}}')
echo "image: $tag $((size / 1000000)) MB"
