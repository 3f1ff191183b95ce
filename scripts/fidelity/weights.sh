#!/usr/bin/env bash
# scripts/fidelity/weights.sh - the fidelity grid's weight scenarios: two and three groups
# competing by cpu.shares on cgroup v1, with and without a quota, each group running the
# independent C load generator (scripts/fidelity/loadgen.c, 2 spinning threads, not pinned).
# Writes OUT_DIR/weights-<name>.json (usage per group per run; replayed by
# `cargo test --release --test it fidelity`). Groups live under /sys/fs/cgroup/cpu/kcpu-fidelity/
# and are removed on exit.
#   sudo scripts/fidelity/weights.sh [OUT_DIR] [RUNS]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
[[ $(id -u) -eq 0 && -e /sys/fs/cgroup/cpu/cpu.shares ]] || { echo "weights: needs root and cgroup v1" >&2; exit 2; }
release=$(uname -r)
OUT=${1:-$root/tests/data/fidelity/$release-v1}
RUNS=${2:-3}
DUR_MS=2000
hz=$( (zcat /proc/config.gz 2>/dev/null || cat "/boot/config-$release" 2>/dev/null) | sed -n 's/^CONFIG_HZ=//p' | head -n1)
bin=$(mktemp -d)/loadgen
cc -O2 -pthread -o "$bin" "$here/loadgen.c"
cpu=/sys/fs/cgroup/cpu/kcpu-fidelity; acct=/sys/fs/cgroup/cpuacct/kcpu-fidelity
cleanup() { for d in "$cpu"/g* "$acct"/g* "$cpu" "$acct"; do [[ -d $d ]] && rmdir "$d" 2>/dev/null || true; done; }
trap cleanup EXIT
# name | description | group specs "shares:quota_us" separated by spaces (-1 = no quota)
for row in "two-2to1|two groups, shares 2048 vs 1024, no quota|2048:-1 1024:-1" \
           "three-3to2to1|three groups, shares 3072/2048/1024, no quota|3072:-1 2048:-1 1024:-1" \
           "two-quota|two groups of equal shares, one with a 50 ms quota|1024:50000 1024:-1"; do
  IFS='|' read -r name desc specs <<<"$row"
  runs_json="[]"
  for run in $(seq 0 $((RUNS - 1))); do
    mkdir -p "$cpu" "$acct"; echo 262144 >"$cpu/cpu.shares"
    i=0; pids=(); u0=()
    for spec in $specs; do
      mkdir -p "$cpu/g$i" "$acct/g$i"
      echo "${spec%%:*}" >"$cpu/g$i/cpu.shares"
      echo 100000 >"$cpu/g$i/cpu.cfs_period_us"; echo "${spec##*:}" >"$cpu/g$i/cpu.cfs_quota_us"
      i=$((i + 1))
    done
    sleep 0.3
    for ((j = 0; j < i; j++)); do u0+=("$(cat "$acct/g$j/cpuacct.usage")"); done
    # Every generator starts at the same CLOCK_MONOTONIC instant (0.5 s from now), so usage over
    # the window is usage / duration. /proc/timer_list "now at" is CLOCK_MONOTONIC in ns.
    now=$(awk '/^now at/ {print $3; exit}' /proc/timer_list)
    export LOADGEN_START_NS=$((now + 500000000))
    t0=$(date +%s%N)
    for ((j = 0; j < i; j++)); do
      sh -c 'echo $$ >"$1/cgroup.procs"; echo $$ >"$2/cgroup.procs"; shift 2; exec "$@"' _ "$cpu/g$j" "$acct/g$j" "$bin" spin 2 $DUR_MS >/dev/null &
      pids+=($!)
    done
    wait "${pids[@]}"
    t1=$(date +%s%N)
    usage="["
    for ((j = 0; j < i; j++)); do
      u=$(( $(cat "$acct/g$j/cpuacct.usage") - u0[j] ))
      usage+="$(awk -v u="$u" -v d="$DUR_MS" 'BEGIN{printf "%.4f", u/1e6/d}')"; [[ $j -lt $((i - 1)) ]] && usage+=","
    done
    usage+="]"
    runs_json=$(jq -c --argjson u "$usage" --argjson r "$run" --argjson w "$(( (t1 - t0) / 1000000 ))" '. + [{run: $r, usage_cores: $u, wall_ms: $w}]' <<<"$runs_json")
    for ((j = 0; j < i; j++)); do rmdir "$cpu/g$j" "$acct/g$j"; done
  done
  groups=$(for spec in $specs; do jq -cn --argjson s "${spec%%:*}" --argjson q "${spec##*:}" '{shares: $s, quota_us: $q, period_us: 100000, load: "spin:threads=2"}'; done | jq -cs .)
  others=$(ps -eo ni=,pcpu=,comm= --sort=-pcpu | head -n 6 | awk '{printf "%s%s(nice %s, %s%%)", (NR>1?", ":""), $3, $1, $2}')
  jq -n --arg name "$name" --arg desc "$desc" --arg release "$release" --argjson hz "${hz:-250}" \
     --argjson cpus "$(nproc)" --argjson groups "$groups" --argjson runs "$runs_json" --arg others "$others" \
     --arg cmd "sudo scripts/fidelity/weights.sh" --arg when "$(date -u +%FT%TZ)" \
     '{scenario: $name, description: $desc, command: $cmd, measured_at: $when, kernel: $release, hz: $hz,
       cgroup: "v1", cpus: $cpus, duration: "2s", generator: "scripts/fidelity/loadgen.c spin 2 2000",
       others_running_at_end: $others, groups: $groups, runs: $runs}' >"$OUT/weights-$name.json"
  echo "weights: $name: $(jq -c '[.runs[].usage_cores]' "$OUT/weights-$name.json")" >&2
done
