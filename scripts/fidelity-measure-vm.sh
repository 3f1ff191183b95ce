#!/usr/bin/env bash
# scripts/fidelity-measure-vm.sh - measure the fidelity grid (scripts/fidelity/scenarios.txt) on
# cgroup v2 inside the throw-away QEMU VM (scripts/v2vm-kcpu.sh: Debian's 6.1 cloud kernel, TCG,
# 2 vCPUs), and write one data file per scenario, as scripts/fidelity-measure.sh does on the host.
#
#   scripts/fidelity-measure-vm.sh [OUT_DIR] [SCENARIO...]
#
# OUT_DIR defaults to tests/data/fidelity/<guest kernel release>-v2. The guest has busybox only,
# so every scenario is one `kcpu run --cgroup v2 … --compare --output json` line in one VM, and
# the host wraps each result with scripts/fidelity/wrap.jq. HZ is read from the booted kernel's
# config in the VM cache. The guest's own background CPU is recorded per run by kcpu; the host's
# busiest processes (the vCPUs are host threads under TCG) are recorded per data set.
# Settings: FID_DURATION (2s), FID_RUNS (6), FID_NOISY (0.3), V2VM_* and KCPU_V2VM_PROFILE
# (default release here).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
command -v jq >/dev/null || { echo "fidelity-measure-vm: needs jq" >&2; exit 2; }
DUR=${FID_DURATION:-2s}
RUNS=${FID_RUNS:-6}
NOISY=${FID_NOISY:-0.3}
export KCPU_V2VM_PROFILE=${KCPU_V2VM_PROFILE:-release}
trace=tests/data/fidelity/small-trace.csv
OUT=${1:-}
shift || true
SELECTED=("$@")
selected() { [[ ${#SELECTED[@]} -eq 0 ]] && return 0; local s; for s in "${SELECTED[@]}"; do [[ $s == "$1" ]] && return 0; done; return 1; }

names=() descs=() cmds=() loads=() durs=() lines=()
while IFS='|' read -r name args desc; do
  [[ -z $name || $name == \#* ]] && continue
  selected "$name" || continue
  load=$(sed -n 's/.*--load \([^ ]*\).*/\1/p' <<<"$args")
  guest_args=${args//TRACE//$(basename "$trace")}
  dur=$DUR; [[ $args == *--duration* ]] && dur=""
  runs="--runs $RUNS"; [[ $args == *--phase-sweep* ]] && runs=""
  pin="--pin"; [[ $args == *--pin-cpus* ]] && pin=""
  names+=("$name") descs+=("$desc") loads+=("${load//TRACE/$trace}")
  durs+=("${dur:-$(sed -n 's/.*--duration \([^ ]*\).*/\1/p' <<<"$args")}")
  cmds+=("kcpu run --cgroup v2 ${args//TRACE/$trace} ${dur:+--duration $dur} $runs --isolate $pin --compare --output json")
  lines+=("run --cgroup v2 $guest_args ${dur:+--duration $dur} $runs --isolate $pin --compare --output json 2>/dev/null")
done <scripts/fidelity/scenarios.txt
[[ ${#names[@]} -gt 0 ]] || { echo "fidelity-measure-vm: no scenario selected" >&2; exit 2; }

others=$(ps -eo ni=,pcpu=,comm= --sort=-pcpu | head -n 8 | awk '{printf "%s%s(nice %s, %s%%)", (NR>1?", ":""), $3, $1, $2}')
raw=$(mktemp -d /tmp/kcpu-fid-vm.XXXXXX)
trap 'rm -rf "$raw"' EXIT
when=$(date -u +%FT%TZ)
rc=0
KCPU_V2VM_EXTRA="$trace" V2VM_TIMEOUT=${V2VM_TIMEOUT:-3000} scripts/v2vm-kcpu.sh \
  'run --cleanup' "${lines[@]}" | tr -d '\r' >"$raw/all.txt" || rc=$?
# 1 from a scenario = the comparison disagreed (still a measurement).
[[ $rc -le 1 ]] || { tail -n 20 "$raw/all.txt" >&2; echo "fidelity-measure-vm: exit $rc (a scenario or the VM failed); writing what came back" >&2; }
# Split the output at the driver's "== kcpu …" lines (the first block is the cleanup).
awk -v dir="$raw" '/^== kcpu /{n++; next} n>1{print > (dir "/" (n-2) ".json")}' "$raw/all.txt"
config=$(ls /tmp/v2vm-cache/kernel/*/boot/config-* 2>/dev/null | head -n1 || true)
hz=$(sed -n 's/^CONFIG_HZ=//p' "${config:-/dev/null}" 2>/dev/null | head -n1)
hz=${hz:-250}
for i in "${!names[@]}"; do
  f=$raw/$i.json
  if ! jq -e .measurement "$f" >/dev/null 2>&1; then
    echo "fidelity-measure-vm: ${names[$i]}: no result" >&2; continue
  fi
  release=$(jq -r .measurement.environment.kernel "$f")
  cpus=$(jq -r .measurement.environment.cpus "$f")
  dir=${OUT:-tests/data/fidelity/$release-v2}
  mkdir -p "$dir"
  jq --arg name "${names[$i]}" --arg desc "${descs[$i]}" --arg cmd "${cmds[$i]}" --arg hz "$hz" \
     --arg cgv v2 --arg release "$release" --argjson cpus "$cpus" \
     --arg others "host at start (QEMU TCG, 2 vCPUs): $others" --argjson noisy "$NOISY" \
     --arg when "$when" --arg load "${loads[$i]}" --arg dur "${durs[$i]}" \
     -f scripts/fidelity/wrap.jq "$f" >"$dir/${names[$i]}.json.tmp"
  mv "$dir/${names[$i]}.json.tmp" "$dir/${names[$i]}.json"
  echo "fidelity-measure-vm: ${names[$i]} → $dir/${names[$i]}.json" >&2
done
