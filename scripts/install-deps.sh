#!/usr/bin/env bash
# Installs what building and testing paymesh needs on Debian 12, from the package
# registries only (apt, crates.io). Idempotent: what is already there is left alone.
#
#   scripts/install-deps.sh         the build toolchain (wasm target, wasm-bindgen-cli)
#   scripts/install-deps.sh --test  plus what the tests drive (Chromium, chromedriver, nextest,
#                                   the aiosmtpd mail server the report tests send to,
#                                   PostgreSQL for the throwaway clusters of its suites,
#                                   HAProxy for the scale-out test, podman and its
#                                   settings for the container test)
set -euo pipefail
cd "$(dirname "$0")/.."

want_test=false
[[ "${1:-}" == "--test" ]] && want_test=true

say() { echo "install-deps: $*"; }
as_root() { if [[ $(id -u) -eq 0 ]]; then "$@"; else sudo "$@"; fi; }

# The kiosk window (kiosk-shell, part of the default build) links WebKitGTK and GTK.
apt_packages=(pkg-config libwebkit2gtk-4.1-dev libgtk-3-dev libsoup-3.0-dev libjavascriptcoregtk-4.1-dev)
# The window tests: a virtual X server, a screenshot tool, and keys and clicks (xdotool);
# x11-utils' xwininfo reads the windows' titles (`paymesh <role> --window`).
if $want_test; then
  apt_packages+=(xvfb imagemagick xdotool x11-utils)
fi
if $want_test; then
  # socat: the PTY pairs of the CCNET tests; libudev-dev: the `cashcode` dev-dependency's
  # serialport builds with libudev.
  apt_packages+=(chromium chromium-driver socat libudev-dev)
fi
# The report tests mail to a real SMTP server: aiosmtpd, for Debian's /usr/bin/python3.
if $want_test; then
  # openssl: the mail-over-TLS test makes its own CA and server certificate.
  apt_packages+=(python3-aiosmtpd openssl)
fi
# The PostgreSQL suites start their own throwaway clusters from Debian's server binaries
# (/usr/lib/postgresql/15/bin); the system service the package sets up is not used.
# HAProxy: the scale-out test and `paymesh demo --processing 2` put it in front of the
# processing processes (its system service is not used either).
if $want_test; then
  apt_packages+=(postgresql haproxy)
fi
# The container test (scripts/container-test.sh): podman, daemonless, and Debian's
# podman-compose; runc (crun, podman's default, fails on this kernel's cgroups), netavark
# and aardvark-dns (the compose network and its names), iptables (published ports);
# debootstrap makes the base image where no registry can be reached; uidmap, slirp4netns
# and fuse-overlayfs for podman without root; curl and jq drive the APIs.
if $want_test; then
  apt_packages+=(podman podman-compose runc netavark aardvark-dns iptables debootstrap
                 uidmap slirp4netns fuse-overlayfs curl jq)
fi
missing=()
for p in "${apt_packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  say "apt: ${missing[*]}"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  say "rustup: wasm32-unknown-unknown"
  rustup target add wasm32-unknown-unknown
fi

# The wasm-bindgen CLI must equal the wasm-bindgen crate in Cargo.lock.
bindgen=$(grep -A1 '^name = "wasm-bindgen"$' Cargo.lock | sed -n 's/^version = "\(.*\)"/\1/p' | head -1)
if [[ "$(wasm-bindgen --version 2>/dev/null | awk '{print $2}')" != "$bindgen" ]]; then
  say "cargo: wasm-bindgen-cli $bindgen"
  # Without --locked: one of its locked dependencies is not on the registry mirror.
  cargo install wasm-bindgen-cli --version "$bindgen"
fi

# podman's settings that work here (docs/deployment.md "Containers"): runc as the
# runtime, no default ulimits (raising them is refused in this sandbox). Added to
# /etc/containers/containers.conf only where the file does not set them already; what
# else it holds is kept.
if $want_test && command -v podman >/dev/null; then
  conf=/etc/containers/containers.conf
  # set_once TABLE KEY LINE: LINE under [TABLE] unless KEY is set there already.
  set_once() {
    local table=$1 key=$2 line=$3
    if [[ -f "$conf" ]] && awk -v t="[$table]" -v k="$key" '
        /^[[:space:]]*\[/ { gsub(/[[:space:]]/, ""); in_t = ($0 == t); next }
        in_t && $0 ~ "^[[:space:]]*" k "[[:space:]]*=" { found = 1 }
        END { exit !found }' "$conf"; then
      return
    fi
    say "podman: $line under [$table] in $conf"
    if [[ -f "$conf" ]] && grep -q "^[[:space:]]*\[$table\][[:space:]]*$" "$conf"; then
      as_root sed -i "0,/^[[:space:]]*\[$table\][[:space:]]*$/s//[$table]\n$line/" "$conf"
    else
      as_root mkdir -p "$(dirname "$conf")"
      printf '\n[%s]\n%s\n' "$table" "$line" | as_root tee -a "$conf" >/dev/null
    fi
  }
  set_once containers default_ulimits 'default_ulimits = []'
  set_once engine runtime 'runtime = "runc"'
fi

if $want_test && ! cargo nextest --version >/dev/null 2>&1; then
  say "cargo: cargo-nextest"
  cargo install cargo-nextest --locked
fi
say "ready"
