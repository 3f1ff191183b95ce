#!/usr/bin/env bash
# scripts/fidelity-measure.sh - measure the fidelity grid on this machine's real cgroups and write
# one data file per scenario (replayed through the simulator by `cargo test --release --test it fidelity`).
#
#   sudo scripts/fidelity-measure.sh [OUT_DIR] [SCENARIO...]
#
# The grid is scripts/fidelity/scenarios.txt; each result is wrapped by scripts/fidelity/wrap.jq.
#
# OUT_DIR defaults to tests/data/fidelity/<kernel release>-<cgroup version>. Each scenario runs
# `kcpu run --isolate --pin --compare --output json` at normal priority (run it while nothing else
# heavy runs at normal priority; builds under `nice -n 19` are recorded, not stopped) and keeps:
# kernel release, HZ, cgroup version, CPUs, slice, the exact command, and per run the phase,
# measured figures and background CPU. Noise criterion (documented in the README, "How accurate
# is simulate"): a run is dropped as noisy when the *competing* background CPU, i.e. busy time of
# the rest of the machine minus the user time of niced processes, exceeds ${FID_NOISY:-0.3} cores.
# Niced processes are kept out of the criterion because the kcpu parent is isolated (weight
# 262144) so they take at most a few % from the measured group; they are recorded per run.
# The weight scenarios (several groups) use the independent C load generator
# (scripts/fidelity/loadgen.c), which also cross-checks `kcpu run` on a few scenarios.
# Settings: KCPU (binary; default target/release/kcpu), FID_DURATION (default 2s), FID_RUNS (4).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
KCPU=${KCPU:-$here/target/release/kcpu}
[[ -x $KCPU ]] || { echo "fidelity-measure: $KCPU not found (cargo build --release)" >&2; exit 2; }
[[ $(id -u) -eq 0 ]] || { echo "fidelity-measure: needs root (real cgroups)" >&2; exit 2; }
command -v jq >/dev/null || { echo "fidelity-measure: needs jq" >&2; exit 2; }
DUR=${FID_DURATION:-2s}
RUNS=${FID_RUNS:-4}
NOISY=${FID_NOISY:-0.3}
release=$(uname -r)
if [[ -d /sys/fs/cgroup/cpu && -e /sys/fs/cgroup/cpu/cpu.shares ]]; then cgv=v1; else cgv=v2; fi
hz=$( (zcat /proc/config.gz 2>/dev/null || cat "/boot/config-$release" 2>/dev/null) | sed -n 's/^CONFIG_HZ=//p' | head -n1)
if [[ -z $hz ]]; then # count jiffies over one second
  j0=$(sed -n 's/^jiffies: //p' /proc/timer_list | head -n1); sleep 1
  j1=$(sed -n 's/^jiffies: //p' /proc/timer_list | head -n1)
  hz=$(( (j1 - j0 + 25) / 50 * 50 ))
fi
OUT=${1:-tests/data/fidelity/$release-$cgv}
shift || true
mkdir -p "$OUT"
cpus=$(nproc)


others() { ps -eo ni=,pcpu=,comm= --sort=-pcpu | head -n 8 | awk '{printf "%s%s(nice %s, %s%%)", (NR>1?", ":""), $3, $1, $2}'; }

trace=tests/data/fidelity/small-trace.csv
SELECTED=("$@")
selected() { [[ ${#SELECTED[@]} -eq 0 ]] && return 0; local s; for s in "${SELECTED[@]}"; do [[ $s == "$1" ]] && return 0; done; return 1; }
while IFS='|' read -r name args desc; do
  [[ -z $name || $name == \#* ]] && continue
  selected "$name" || continue
  args=${args//TRACE/$trace}
  dur=$DUR; [[ $args == *--duration* ]] && dur=""
  runs="--runs $RUNS"; [[ $args == *--phase-sweep* ]] && runs=""
  pin="--pin"; [[ $args == *--pin-cpus* ]] && pin=""
  cmd="kcpu run --cgroup $cgv $args ${dur:+--duration $dur} $runs --isolate $pin --compare --output json"
  echo "fidelity-measure: $name: $cmd" >&2
  bg_before=$(others)
  # shellcheck disable=SC2086
  rc=0
  "$KCPU" run --cgroup $cgv $args ${dur:+--duration $dur} $runs --isolate $pin --compare --output json \
    </dev/null >"$OUT/.raw.json" 2>"$OUT/.raw.err" || rc=$?
  # 1: the comparison found a difference (still a measurement); anything else is a failure.
  [[ $rc -le 1 ]] || { cat "$OUT/.raw.err" >&2; echo "fidelity-measure: $name failed ($rc)" >&2; continue; }
  jq --arg name "$name" --arg desc "$desc" --arg cmd "$cmd" --arg hz "$hz" --arg cgv "$cgv" \
     --arg release "$release" --argjson cpus "$cpus" --arg others "$bg_before" --argjson noisy "$NOISY" \
     --arg when "$(date -u +%FT%TZ)" --arg load "$(sed -n 's/.*--load \([^ ]*\).*/\1/p' <<<"$args")" \
     --arg dur "${dur:-$(sed -n 's/.*--duration \([^ ]*\).*/\1/p' <<<"$args")}" \
     -f scripts/fidelity/wrap.jq "$OUT/.raw.json" >"$OUT/$name.json.tmp"
  mv "$OUT/$name.json.tmp" "$OUT/$name.json"
done <scripts/fidelity/scenarios.txt
rm -f "$OUT/.raw.json" "$OUT/.raw.err"
