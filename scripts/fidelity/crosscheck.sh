#!/usr/bin/env bash
# scripts/fidelity/crosscheck.sh - cross-check `kcpu run` with the independent C load generator
# (scripts/fidelity/loadgen.c) on cgroup v1: same limits and load, own cgroup under
# /sys/fs/cgroup/cpu/kcpu-fidelity/ (created and removed here), counters from cpu.stat and
# cpuacct.usage. Prints one JSON line per scenario (append to the data set's crosscheck.jsonl).
#   sudo scripts/fidelity/crosscheck.sh
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
[[ $(id -u) -eq 0 && -e /sys/fs/cgroup/cpu/cpu.shares ]] || { echo "crosscheck: needs root and cgroup v1" >&2; exit 2; }
bin=$(mktemp -d)/loadgen
cc -O2 -pthread -o "$bin" "$here/loadgen.c"
cpu=/sys/fs/cgroup/cpu/kcpu-fidelity; acct=/sys/fs/cgroup/cpuacct/kcpu-fidelity
cleanup() { for d in "$cpu/g" "$acct/g" "$cpu" "$acct"; do [[ -d $d ]] && rmdir "$d" 2>/dev/null || true; done; }
trap cleanup EXIT
stat() { awk -v k="$2" '$1==k{print $2}' "$1/cpu.stat"; }
# name | quota_us | loadgen args
for row in "spin1-q50|50000|spin 1 2000" "eq-quota|10000|periodic 2 5000 100000 2000" "ref|100000|periodic 2 80000 200000 2000"; do
  IFS='|' read -r name quota args <<<"$row"
  mkdir -p "$cpu/g" "$acct/g"
  echo 262144 >"$cpu/cpu.shares"
  echo 100000 >"$cpu/g/cpu.cfs_period_us"; echo "$quota" >"$cpu/g/cpu.cfs_quota_us"
  sleep 0.3
  p0=$(stat "$cpu/g" nr_periods); t0=$(stat "$cpu/g" nr_throttled); u0=$(cat "$acct/g/cpuacct.usage")
  # shellcheck disable=SC2086
  out=$(sh -c 'echo $$ >"$1/g/cgroup.procs"; echo $$ >"$2/g/cgroup.procs"; shift 2; exec "$@"' _ "$cpu" "$acct" "$bin" $args)
  p1=$(stat "$cpu/g" nr_periods); t1=$(stat "$cpu/g" nr_throttled); u1=$(cat "$acct/g/cpuacct.usage")
  jq -cn --arg name "$name" --arg args "$args" --argjson out "$out" --argjson p $((p1-p0)) --argjson t $((t1-t0)) \
    --argjson u "$(( (u1-u0) / 1000 ))" --arg kernel "$(uname -r)" \
    '{scenario:$name, kernel:$kernel, loadgen:$args, quota_us:'"$quota"', nr_periods:$p, nr_throttled:$t,
      throttled_ratio:(if $p>0 then $t/$p else 0 end), usage_us:$u, usage_cores:($u/2020000), latency:$out}'
  rmdir "$cpu/g" "$acct/g"
done
