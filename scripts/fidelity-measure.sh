#!/usr/bin/env bash
# scripts/fidelity-measure.sh - measure the fidelity grid on this machine's real cgroups and write
# one data file per scenario (replayed through the simulator by `cargo test --release --test it fidelity`).
#
#   sudo scripts/fidelity-measure.sh [OUT_DIR] [SCENARIO...]
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

# name | kcpu run arguments | description
SCENARIOS=(
  "spin1-q50|--quota 50ms --load spin:threads=1|one spinner, quota 0.5 CPU"
  "spin2-q150|--quota 150ms --load spin:threads=2|two spinners, quota 1.5 CPUs"
  "spin3-q100|--quota 100ms --load spin:threads=3 --pin-cpus 0,1|three spinners on two CPUs (more threads than CPUs), quota 1 CPU"
  "ref-sweep|--quota 100ms --load periodic:threads=2,work=80ms,every=200ms --phase-sweep 20ms|cfs.md reference case, phases 0..80 ms"
  "ref-edge|--quota 100ms --load periodic:threads=2,work=80ms,every=200ms --phase 99ms|reference case 1 ms before an edge (boundary)"
  "eq-quota|--quota 10ms --load periodic:threads=2,work=5ms,every=100ms|demand equal to quota (issue 11)"
  "below-quota|--quota 10ms --load periodic:threads=2,work=4ms,every=100ms|demand 80 % of quota"
  "above-quota|--quota 10ms --load periodic:threads=2,work=6ms,every=100ms|demand 120 % of quota"
  "threads4-q100|--quota 100ms --load periodic:threads=4,work=30ms,every=100ms --pin-cpus 0,1|four periodic threads on two CPUs, demand 120 % of quota"
  "period5ms|--period 5ms --quota 2ms --load periodic:threads=1,work=3ms,every=20ms|short period 5 ms"
  "period20ms|--period 20ms --quota 10ms --load periodic:threads=2,work=8ms,every=50ms|short period 20 ms"
  "period500ms|--period 500ms --quota 250ms --load periodic:threads=1,work=300ms,every=1s --duration 3s|long period 500 ms"
  "burst-partial|--quota 100ms --burst 40ms --load periodic:threads=2,work=80ms,every=200ms|reference case with burst 40 ms (partial)"
  "burst-full|--quota 100ms --burst 100ms --load periodic:threads=2,work=80ms,every=200ms|reference case with burst = quota (full)"
  "poisson|--quota 50ms --load poisson:rate=80/s,work=5ms,threads=2|Poisson arrivals, demand 80 % of quota"
  "trace|--quota 20ms --load trace:tests/data/fidelity/small-trace.csv|a bursty trace: load"
)

others() { ps -eo ni=,pcpu=,comm= --sort=-pcpu | head -n 8 | awk '{printf "%s%s(nice %s, %s%%)", (NR>1?", ":""), $3, $1, $2}'; }

want() { [[ $# -eq 0 ]] && return 0; local n=$1; shift; for s in "${SELECTED[@]}"; do [[ $s == "$n" ]] && return 0; done; return 1; }
SELECTED=("$@")
for row in "${SCENARIOS[@]}"; do
  IFS='|' read -r name args desc <<<"$row"
  want "${SELECTED[@]}" "$name" 2>/dev/null || { [[ ${#SELECTED[@]} -eq 0 ]] || continue; }
  dur=$DUR; [[ $args == *--duration* ]] && dur=""
  runs="--runs $RUNS"; [[ $args == *--phase-sweep* ]] && runs=""
  pin="--pin"; [[ $args == *--pin-cpus* ]] && pin=""
  cmd="kcpu run --cgroup $cgv $args ${dur:+--duration $dur} $runs --isolate $pin --compare --output json"
  echo "fidelity-measure: $name: $cmd" >&2
  bg_before=$(others)
  # shellcheck disable=SC2086
  if ! "$KCPU" run --cgroup $cgv $args ${dur:+--duration $dur} $runs --isolate $pin --compare --output json >"$OUT/.raw.json" 2>"$OUT/.raw.err"; then
    rc=$?; [[ $rc -eq 1 ]] || { cat "$OUT/.raw.err" >&2; echo "fidelity-measure: $name failed ($rc)" >&2; continue; }
  fi
  jq --arg name "$name" --arg desc "$desc" --arg cmd "$cmd" --arg hz "$hz" --arg cgv "$cgv" \
     --arg release "$release" --argjson cpus "$cpus" --arg others "$bg_before" --argjson noisy "$NOISY" \
     --arg when "$(date -u +%FT%TZ)" --arg args "$args" --arg dur "${dur:-$(sed -n 's/.*--duration \([^ ]*\).*/\1/p' <<<"$args")}" '
    {scenario: $name, description: $desc, command: $cmd, measured_at: $when,
     kernel: $release, hz: ($hz|tonumber), cgroup: $cgv, cpus: $cpus,
     slice_us: .measurement.environment.slice_us,
     limits: {quota_us: .measurement.groups[0].limits.quota, period_us: .measurement.groups[0].limits.period,
              burst_us: (.measurement.groups[0].limits.burst // 0)},
     load: ($args | capture("--load (?<l>[^ ]+)").l),
     duration: $dur,
     noise: {criterion: "competing_cores = background_cores - nice_cores > threshold", threshold_cores: $noisy,
             others_running_at_start: $others},
     runs: [ range(0; .measurement.runs|length) as $i
       | (.measurement.runs[$i]) as $r | (.measured.per_run[$i].totals) as $t
       | {run: $i, phase_us: $r.phase_us, background_cores: $r.background_cores, nice_cores: $r.nice_cores,
          competing_cores: ($r.background_cores - $r.nice_cores),
          noisy: (($r.background_cores - $r.nice_cores) > $noisy),
          usage_cores: $t.usage_cores, nr_periods: $t.nr_periods, nr_throttled: $t.nr_throttled,
          throttled_ratio: $t.throttled_ratio, throttled_time_us: $t.throttled_time_us,
          nr_bursts: $t.nr_bursts, requests: $t.latency.count,
          p50_ms: $t.latency.p50_ms, p99_ms: $t.latency.p99_ms, max_ms: $t.latency.max_ms} ]
    }' "$OUT/.raw.json" >"$OUT/$name.json.tmp"
  mv "$OUT/$name.json.tmp" "$OUT/$name.json"
done
rm -f "$OUT/.raw.json" "$OUT/.raw.err"
