#!/usr/bin/env bash
# Builds the hydration bundle (wasm + JS glue) into target/site/pkg, with plain cargo and
# wasm-bindgen-cli (no cargo-leptos: see ../shared/TOOLCHAIN.md). The server binary is
# built separately (`cargo build`); both may run at once, they use separate target dirs.
#
#   scripts/build-ui.sh            debug bundle (what tests and the demo use)
#   scripts/build-ui.sh --release  optimised bundle (the Docker image)
set -euo pipefail
cd "$(dirname "$0")/.."

profile=debug
cargo_profile=()
if [[ "${1:-}" == "--release" ]]; then
  profile=release
  cargo_profile=(--release)
fi

name=paymesh   # must equal LEPTOS_OUTPUT_NAME in .cargo/config.toml
front_target="${PAYMESH_FRONT_TARGET_DIR:-target/front}"
site=target/site

# The CLI must match the wasm-bindgen the crate links exactly, or the glue is wrong.
locked=$(grep -A1 '^name = "wasm-bindgen"$' Cargo.lock | sed -n 's/^version = "\(.*\)"/\1/p' | head -1)
have=$(wasm-bindgen --version 2>/dev/null | awk '{print $2}' || true)
if [[ "$have" != "$locked" ]]; then
  echo "build-ui: wasm-bindgen-cli $locked is needed, found '${have:-none}'." >&2
  echo "build-ui: install it with: cargo install wasm-bindgen-cli --version $locked" >&2
  exit 1
fi

cargo rustc -p portals --lib --crate-type cdylib --target wasm32-unknown-unknown \
  --no-default-features --features hydrate,consumer,provider,processing,agent \
  --target-dir "$front_target" "${cargo_profile[@]}"

mkdir -p "$site/pkg"
wasm-bindgen --target web --no-typescript --out-dir "$site/pkg" --out-name "$name" \
  "$front_target/wasm32-unknown-unknown/$profile/portals.wasm"
# Leptos asks for /pkg/<name>.wasm when LEPTOS_OUTPUT_NAME is set at compile time.
mv "$site/pkg/${name}_bg.wasm" "$site/pkg/$name.wasm"
echo "build-ui: $(du -h "$site/pkg/$name.wasm" | cut -f1) wasm in $site/pkg"
