#!/usr/bin/env bash
# scripts/fidelity/tick-grid.sh - where the scheduler ticks and a group's period edges fall on
# CLOCK_MONOTONIC: runs one `kcpu run` under `perf record -e timer:hrtimer_expire_entry` and
# prints, per CPU and timer, how often the handler ran at each `now mod TICK` (0.1 ms bins).
# The ticks (tick_nohz_handler / tick_sched_timer) should sit at the start of the tick on every
# CPU (kernel/time/tick-sched.c tick_init_jiffy_update()); each run's period edges
# (sched_cfs_period_timer) at its own offset, which `kcpu run` records as `edge_ns` (printed in
# the header: it should match the sched_cfs_period_timer bins within the edge's uncertainty).
#   sudo scripts/fidelity/tick-grid.sh [HZ]        (HZ defaults to 250)
set -euo pipefail
here=$(cd "$(dirname "$0")/../.." && pwd)
hz=${1:-250}
tick=$((1000000000 / hz))
data=$(mktemp /tmp/kcpu-tick-grid.XXXXXX)
json=$(mktemp /tmp/kcpu-tick-grid-json.XXXXXX)
trap 'rm -f "$data" "$json"' EXIT
perf record -q -e timer:hrtimer_expire_entry -a -o "$data" -- "$here/target/release/kcpu" run \
  --cgroup v1 --quota 10ms --period 20ms --load periodic:threads=2,work=8ms,every=50ms \
  --duration 1s --runs 2 --isolate --pin --output json >"$json"
echo "# $(uname -r), HZ $hz, $(date -u +%FT%TZ); sudo scripts/fidelity/tick-grid.sh $hz"
echo "# edges kcpu recorded (edge_ns mod tick, ms, per run): $(jq -r --argjson t "$tick" \
  '[.runs[].edge_ns | select(. != null) | . % $t / 1e6 * 1000 | round / 1000] | map(tostring) | join(" ")' "$json")"
echo "# count	cpu	timer	now_mod_tick_ms (0.1 ms bin)"
perf script -i "$data" -F cpu,trace 2>/dev/null |
  awk -v tick="$tick" '/tick_nohz_handler|tick_sched_timer|sched_cfs_period_timer/ {
      for (i = 1; i <= NF; i++) {
        if ($i ~ /^now=/) { split($i, a, "="); now = a[2] }
        if ($i ~ /^function=/) { split($i, b, "="); fn = b[2] }
      }
      printf "%s\t%s\t%.1f\n", $1, fn, int((now % tick) / 100000) / 10
    }' | sort | uniq -c | awk '{ printf "%s\t%s\t%s\t%s\n", $1, $2, $3, $4 }' | sort -t$'\t' -k3,3 -k2,2 -k4,4n
