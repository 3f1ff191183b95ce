#!/usr/bin/env bash
# Builds kcpu's static release binaries: x86_64-unknown-linux-musl and aarch64-unknown-linux-musl
# (its Rust target is added with rustup when missing; linked with aarch64-linux-gnu-gcc when
# installed, else with the toolchain's own rust-lld; skipped, saying why, when the target cannot
# be installed).
# Each binary is stripped and gets a SHA-256 file; all land in dist/:
#   dist/kcpu-<version>-<target>           the binary
#   dist/kcpu-<version>-<target>.sha256    `sha256sum` line (check with `sha256sum -c`)
#   dist/kcpu-<target>                     a copy under a version-less name (CI download URLs)
# Usage: scripts/release.sh [--no-aarch64]
set -euo pipefail
cd "$(dirname "$0")/.."
want_aarch64=1
[ "${1:-}" = "--no-aarch64" ] && want_aarch64=0

version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n1)
mkdir -p dist

# Release profile without debug info, symbols stripped by the linker, one codegen unit for a
# smaller binary. Cargo's environment overrides keep Cargo.toml's profile for development.
export CARGO_PROFILE_RELEASE_DEBUG=0
export CARGO_PROFILE_RELEASE_STRIP=symbols

build() {
  local target=$1
  cargo build --release --locked --target "$target" --bin kcpu
  local bin="target/$target/release/kcpu"
  local out="dist/kcpu-$version-$target"
  cp "$bin" "$out"
  # The linker already stripped; strip again for toolchains that ignore the profile setting.
  if [ "$target" = "x86_64-unknown-linux-musl" ] && command -v strip >/dev/null; then strip "$out"; fi
  (cd dist && sha256sum "kcpu-$version-$target" > "kcpu-$version-$target.sha256")
  cp "$out" "dist/kcpu-$target"
  (cd dist && sha256sum "kcpu-$target" > "kcpu-$target.sha256")
  if command -v file >/dev/null; then file "$out"; fi
  ls -l "$out"
}

installed() { rustup target list --installed 2>/dev/null | grep -qx "$1"; }

if ! installed x86_64-unknown-linux-musl; then
  rustup target add x86_64-unknown-linux-musl
fi
build x86_64-unknown-linux-musl

if [ "$want_aarch64" = 1 ]; then
  if ! installed aarch64-unknown-linux-musl; then
    rustup target add aarch64-unknown-linux-musl \
      || echo "aarch64: skipped: the Rust target aarch64-unknown-linux-musl could not be installed" \
              "(rustup target add aarch64-unknown-linux-musl)"
  fi
  if installed aarch64-unknown-linux-musl; then
    # The linker: a cross gcc when installed, else the LLVM linker every Rust toolchain ships
    # (rust-lld, in `rustc --print sysroot`/lib/rustlib/<host>/bin, on rustc's linker PATH); the
    # musl target links its own C runtime and libc (self-contained), so no aarch64 C toolchain
    # is needed for a static binary.
    if command -v aarch64-linux-gnu-gcc >/dev/null; then
      CARGO_TARGET_AARCH64_UNKNOWN_LINUX_MUSL_LINKER=aarch64-linux-gnu-gcc \
        build aarch64-unknown-linux-musl
    else
      CARGO_TARGET_AARCH64_UNKNOWN_LINUX_MUSL_LINKER=rust-lld \
        build aarch64-unknown-linux-musl
    fi
  fi
fi
