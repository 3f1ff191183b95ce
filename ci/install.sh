#!/bin/sh
# Installs the static kcpu binary for CI: downloads kcpu-<target> and kcpu-<target>.sha256 from
# a release URL, verifies the SHA-256 and puts the binary in a directory on PATH. Falls back to
# `cargo install --locked --path <source>` when no release URL is given or the download fails
# and a source checkout and cargo are available. POSIX sh (runs on alpine, debian, ubuntu).
#
# Environment:
#   KCPU_RELEASE_URL  base URL holding kcpu-<target> and kcpu-<target>.sha256
#                     (e.g. https://github.com/OWNER/kcpu/releases/download/v0.1.0; file:// works)
#   KCPU_INSTALL_DIR  where to put the binary (default: $HOME/.local/bin)
#   KCPU_SOURCE_DIR   a kcpu checkout for the cargo fallback (optional)
# Prints the installed binary's path on the last line of stdout.
set -eu

dir=${KCPU_INSTALL_DIR:-$HOME/.local/bin}
mkdir -p "$dir"

case "$(uname -m)" in
  x86_64 | amd64) target=x86_64-unknown-linux-musl ;;
  aarch64 | arm64) target=aarch64-unknown-linux-musl ;;
  *) target="" ;;
esac

fetch() { # url file
  if command -v curl >/dev/null 2>&1; then
    curl -fsSL --retry 3 -o "$2" "$1"
  elif command -v wget >/dev/null 2>&1; then
    wget -q -O "$2" "$1"
  else
    echo "kcpu install: neither curl nor wget is available" >&2
    return 1
  fi
}

download() {
  [ -n "${KCPU_RELEASE_URL:-}" ] || { echo "kcpu install: KCPU_RELEASE_URL is not set" >&2; return 1; }
  [ -n "$target" ] || { echo "kcpu install: no release binary for $(uname -m)" >&2; return 1; }
  tmp=$(mktemp -d)
  base=${KCPU_RELEASE_URL%/}
  fetch "$base/kcpu-$target" "$tmp/kcpu-$target" || { rm -rf "$tmp"; return 1; }
  fetch "$base/kcpu-$target.sha256" "$tmp/kcpu-$target.sha256" || { rm -rf "$tmp"; return 1; }
  if ! (cd "$tmp" && sha256sum -c "kcpu-$target.sha256" >&2); then
    echo "kcpu install: SHA-256 mismatch for $base/kcpu-$target; not installing" >&2
    rm -rf "$tmp"
    return 2
  fi
  chmod +x "$tmp/kcpu-$target"
  mv "$tmp/kcpu-$target" "$dir/kcpu"
  rm -rf "$tmp"
}

rc=0
download || rc=$?
if [ "$rc" = 2 ]; then
  exit 1
elif [ "$rc" != 0 ]; then
  src=${KCPU_SOURCE_DIR:-}
  if [ -n "$src" ] && [ -f "$src/Cargo.toml" ] && command -v cargo >/dev/null 2>&1; then
    echo "kcpu install: building from $src with cargo install --locked" >&2
    cargo install --locked --path "$src" --root "$dir/.." --bin kcpu >&2
    [ -x "$dir/kcpu" ] || cp "$dir/../bin/kcpu" "$dir/kcpu"
  else
    echo "kcpu install: no release download and no source checkout with cargo to build from" >&2
    exit 1
  fi
fi
"$dir/kcpu" --version >&2
echo "$dir/kcpu"
