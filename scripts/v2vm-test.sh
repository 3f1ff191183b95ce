#!/usr/bin/env bash
# scripts/v2vm-test.sh - run kcpu's real-cgroup integration tests (tests/run.rs) on cgroup v2,
# inside a throw-away QEMU VM (the shared runner run-v2-vm.sh; see its v2vm-README.md).
#
#   usage: scripts/v2vm-test.sh [TEST-FILTER...]        e.g. scripts/v2vm-test.sh weights
#
# What it does:
#   1. makes sure the static target x86_64-unknown-linux-musl is installed (rustup target add)
#      and a musl C compiler for the one C dev-dependency (apt-get install musl-tools as root;
#      without it: a static glibc build, v2vm-README.md pitfall 12);
#   2. builds the `run` integration test binary and the kcpu binary for that target (static:
#      the guest is an initramfs with busybox and nothing else), strips both;
#   3. runs the test binary in the VM as root in the root cgroup, with `+cpu` delegated at the
#      cgroup2 root (kcpu itself never writes above its own `kcpu*` parent), the kcpu binary at
#      /kcpu (KCPU_BIN), one test at a time, output streamed;
#   4. exits with the tests' status (124 VM timeout, 125 VM/setup failure, as run-v2-vm.sh).
#
# Settings: V2VM_RUNNER (default /work/shared/tools/run-v2-vm.sh, else run-v2-vm.sh on PATH),
# KCPU_V2VM_PROFILE=dev|release (default dev), and every V2VM_* variable of the runner
# (V2VM_SMP=2 default, V2VM_TIMEOUT, V2VM_CACHE, ...).
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
TARGET=x86_64-unknown-linux-musl
PROFILE=${KCPU_V2VM_PROFILE:-dev}
# CI runs in a fresh clone with the shared/ folder beside it.
RUNNER=${V2VM_RUNNER:-$here/../shared/tools/run-v2-vm.sh}
if [[ ! -x $RUNNER ]]; then RUNNER=/work/shared/tools/run-v2-vm.sh; fi
if [[ ! -x $RUNNER ]]; then RUNNER=$(command -v run-v2-vm.sh || true); fi
if ! command -v jq >/dev/null; then
  echo "v2vm-test: installing jq" >&2
  apt-get install -y -q jq >&2 || { apt-get update -q >&2 && apt-get install -y -q jq >&2; }
fi
[[ -n $RUNNER && -x $RUNNER ]] || { echo "v2vm-test: run-v2-vm.sh not found (set V2VM_RUNNER)" >&2; exit 125; }

t0=$(date +%s%N)
if ! rustup target list --installed 2>/dev/null | grep -qx "$TARGET"; then
  echo "v2vm-test: rustup target add $TARGET" >&2
  rustup target add "$TARGET" >&2
fi

# A C dependency of the dev-dependencies (criterion → alloca) needs a musl C compiler.
if ! command -v musl-gcc >/dev/null && ! command -v x86_64-linux-musl-gcc >/dev/null; then
  if [[ $(id -u) == 0 ]] && command -v apt-get >/dev/null; then
    echo "v2vm-test: installing musl-tools (musl-gcc)" >&2
    apt-get install -y -q --no-install-recommends musl-tools >&2 || { apt-get update -q >&2 && apt-get install -y -q --no-install-recommends musl-tools >&2; }
  fi
fi
if ! command -v musl-gcc >/dev/null && ! command -v x86_64-linux-musl-gcc >/dev/null; then
  # Fallback from v2vm-README.md pitfall 12: a static glibc build needs only gcc.
  echo "v2vm-test: no musl C compiler; building a static glibc binary instead" >&2
  TARGET=x86_64-unknown-linux-gnu
  export RUSTFLAGS="${RUSTFLAGS:-} -C target-feature=+crt-static"
fi

echo "v2vm-test: building tests/run.rs and kcpu for $TARGET ($PROFILE)" >&2
msgs=$(cargo test --no-run --profile "$PROFILE" --target "$TARGET" --test run --message-format=json-render-diagnostics)
testbin=$(jq -r 'select(.reason=="compiler-artifact" and .target.name=="run" and .profile.test==true) | .executable' <<<"$msgs" | tail -n1)
kcpubin=$(jq -r 'select(.reason=="compiler-artifact" and .target.name=="kcpu" and (.target.kind|index("bin"))) | .executable' <<<"$msgs" | tail -n1)
[[ -x $testbin && -x $kcpubin ]] || { echo "v2vm-test: build artifacts not found ($testbin, $kcpubin)" >&2; exit 125; }
t1=$(date +%s%N)

stage=$(mktemp -d /tmp/kcpu-v2vm.XXXXXX)
trap 'rm -rf "$stage"' EXIT
mkdir -p "$stage/files"
strip -o "$stage/files/kcpu" "$kcpubin"
strip -o "$stage/run-tests" "$testbin"
echo "v2vm-test: build $(( (t1 - t0) / 1000000 )) ms; test binary $(du -h "$stage/run-tests" | cut -f1), kcpu $(du -h "$stage/files/kcpu" | cut -f1)" >&2

# OCI runtimes for the differential suite and `run --oci` tests (tests/run.rs oci_*): the
# Debian binaries plus every library `ldd` lists (runc links libseccomp; crun links libsystemd,
# libseccomp, libcap, libyajl, libgcrypt, liblzma, libzstd, liblz4, libgpg-error), at the same
# paths. Without them the tests print `skipped: runc is not installed`.
for rt in runc crun; do
  p=$(command -v "$rt" || true)
  [[ -n $p ]] || { echo "v2vm-test: $rt not installed; its tests will skip" >&2; continue; }
  mkdir -p "$stage/files$(dirname "$p")"
  cp -L "$p" "$stage/files$p"
  { ldd "$p" 2>/dev/null | grep -oE '/[^ ]+' || true; } | while read -r lib; do
    [[ -e $lib ]] || continue
    mkdir -p "$stage/files$(dirname "$lib")"
    cp -L "$lib" "$stage/files$lib"
  done
done

export V2VM_FILES="$stage/files"
export V2VM_SUBTREE="+cpu"
export V2VM_ENV="V2VM_GUEST=1 KCPU_BIN=/kcpu PATH=/usr/sbin:/usr/bin:/sbin:/bin RUST_BACKTRACE=1 TERM=dumb ${KCPU_OCI_EVERY:+KCPU_OCI_EVERY=$KCPU_OCI_EVERY} ${V2VM_ENV:-}"
rc=0
# The OCI tests run only with KCPU_VM_OCI=1: in the VM each runtime container costs seconds
# under TCG. KCPU_OCI_EVERY picks the differential subset (tests/run.rs oci_stride: default 8,
# 55 of 424 per runtime, ~8 min; 0 = the first combination of every feature, what CI runs; 1 = all).
# With KCPU_VM_OCI=1 the VM gets 30 minutes unless V2VM_TIMEOUT says otherwise.
extra=()
if [[ ${KCPU_VM_OCI:-0} != 1 ]]; then
  extra=(--skip oci_)
else
  export V2VM_TIMEOUT=${V2VM_TIMEOUT:-1800}
fi
"$RUNNER" "$stage/run-tests" --test-threads=1 --nocapture "${extra[@]}" "$@" || rc=$?
t2=$(date +%s%N)
echo "v2vm-test: exit $rc; build $(( (t1 - t0) / 1000000 )) ms, VM run $(( (t2 - t1) / 1000000 )) ms" >&2
exit "$rc"
