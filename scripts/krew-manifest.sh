#!/bin/sh
# Packages kcpu as the kubectl plugin `kubectl-kcpu` for krew and writes its manifest.
#
#   scripts/krew-manifest.sh [VERSION] [URI_BASE]
#
# Builds target/release/kcpu (if needed), puts it into dist/kcpu-VERSION-linux-amd64.tar.gz
# as `kubectl-kcpu` with the licence, and writes krew/kcpu.yaml from krew/kcpu.yaml.in with the
# archive's sha256 and URI_BASE/kcpu-VERSION-linux-amd64.tar.gz. Test it without publishing:
#   kubectl krew install --manifest=krew/kcpu.yaml --archive=dist/kcpu-VERSION-linux-amd64.tar.gz
set -eu
cd "$(dirname "$0")/.."
version="${1:-v$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n1)}"
base="${2:-https://github.com/kcpu-dev/kcpu/releases/download/$version}"
archive="kcpu-$version-linux-amd64.tar.gz"
[ -x target/release/kcpu ] || cargo build --release
stage="$(mktemp -d)"
trap 'rm -rf "$stage"' EXIT
cp target/release/kcpu "$stage/kubectl-kcpu"
cp LICENSE "$stage/LICENSE" 2>/dev/null || printf 'Apache-2.0\n' >"$stage/LICENSE"
mkdir -p dist
tar -C "$stage" -czf "dist/$archive" kubectl-kcpu LICENSE
sha="$(sha256sum "dist/$archive" | cut -d' ' -f1)"
sed -e "s|@VERSION@|$version|g" -e "s|@URI@|$base/$archive|g" -e "s|@SHA256@|$sha|g" \
    krew/kcpu.yaml.in >krew/kcpu.yaml
echo "wrote dist/$archive (sha256 $sha) and krew/kcpu.yaml"
