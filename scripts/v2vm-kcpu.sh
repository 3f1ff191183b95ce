#!/usr/bin/env bash
# scripts/v2vm-kcpu.sh - run `kcpu` command lines on cgroup v2 inside the throw-away QEMU VM
# (shared runner run-v2-vm.sh), e.g. the reference experiment of cfs.md §4 on v2:
#
#   scripts/v2vm-kcpu.sh \
#     'run --quota 100ms --load periodic:threads=2,work=80ms,every=200ms --duration 2s --runs 10 --pin' \
#     'run --quota 100ms --burst 100ms --load periodic:threads=2,work=80ms,every=200ms --duration 2s --runs 10 --pin'
#
# Each argument is one kcpu command line (split on spaces; no quoting inside). They run one
# after the other in the same VM as root, with `+cpu` delegated at the cgroup2 root. The exit
# status is the first non-zero status of the command lines (or the runner's 124/125).
# Settings: as scripts/v2vm-test.sh (V2VM_RUNNER, KCPU_V2VM_PROFILE, V2VM_*); KCPU_V2VM_EXTRA lists
# host files copied into the guest's root (/NAME).
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
[[ $# -ge 1 ]] || { sed -n '2,13p' "$0" >&2; exit 125; }
TARGET=x86_64-unknown-linux-musl
PROFILE=${KCPU_V2VM_PROFILE:-dev}
RUNNER=${V2VM_RUNNER:-$(cd "$(dirname "$0")/.." && pwd)/../shared/tools/run-v2-vm.sh}
if [[ ! -x $RUNNER ]]; then RUNNER=/work/shared/tools/run-v2-vm.sh; fi
if [[ ! -x $RUNNER ]]; then RUNNER=$(command -v run-v2-vm.sh || true); fi
[[ -n $RUNNER && -x $RUNNER ]] || { echo "v2vm-kcpu: run-v2-vm.sh not found (set V2VM_RUNNER)" >&2; exit 125; }
if ! rustup target list --installed 2>/dev/null | grep -qx "$TARGET"; then
  rustup target add "$TARGET" >&2
fi
msgs=$(cargo build --profile "$PROFILE" --target "$TARGET" --bin kcpu --message-format=json-render-diagnostics)
kcpubin=$(jq -r 'select(.reason=="compiler-artifact" and .target.name=="kcpu" and (.target.kind|index("bin"))) | .executable' <<<"$msgs" | tail -n1)
[[ -x $kcpubin ]] || { echo "v2vm-kcpu: kcpu binary not found" >&2; exit 125; }

stage=$(mktemp -d /tmp/kcpu-v2vm.XXXXXX)
trap 'rm -rf "$stage"' EXIT
# The guest gets /kcpu and /driver.sh (one kcpu call per argument); PROGRAM is a two-line
# launcher script that the guest's busybox /bin/sh runs.
mkdir -p "$stage/files"
strip -o "$stage/files/kcpu" "$kcpubin"
# KCPU_V2VM_EXTRA: more host files, copied into the guest's root by name (e.g. a trace).
for f in ${KCPU_V2VM_EXTRA:-}; do cp "$f" "$stage/files/"; done
{
  echo 'rc=0'
  for line in "$@"; do
    printf 'echo "== kcpu %s"\n' "$line"
    printf '/kcpu %s || { r=$?; [ $rc -eq 0 ] && rc=$r; }\n' "$line"
  done
  echo 'exit $rc'
} >"$stage/files/driver.sh"
cat >"$stage/launch" <<'EOF'
#!/bin/sh
exec /bin/sh /driver.sh
EOF
chmod +x "$stage/launch"
export V2VM_FILES="$stage/files"
export V2VM_SUBTREE="+cpu"
export V2VM_ENV="KCPU_STATE_DIR=/tmp/kcpu-state TERM=dumb ${V2VM_ENV:-}"
rc=0
"$RUNNER" "$stage/launch" || rc=$?
exit "$rc"
