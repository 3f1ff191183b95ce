#!/bin/sh
# Side-by-side cost and agreement of kcpu record's two recorders on one program in one run
# (README "record and recommend"): the schedstat poller starts the 51-thread burner, the perf
# recorder attaches to it with --pid 0.3 s later; both record it until it exits. Each prints its
# own CPU time over the wall time; then scripts/compare_traces.py compares the two traces.
# Run as root from the repository (kcpu built with cargo build --release):
#   sudo target/release/kcpu run --isolate --duration 14s -- sh scripts/record-overhead.sh
#   (or without run); the report goes to $OUT.log (/tmp/kcpu-record-overhead.log)
set -eu
exec >"${OUT:-/tmp/kcpu-record-overhead}.log" 2>&1
K=${KCPU:-$(pwd)/target/release/kcpu}
OUT=${OUT:-/tmp/kcpu-record-overhead}
mkdir -p "$OUT"
echo "load average before: $(cat /proc/loadavg)"
"$K" record --recorder schedstat --out "$OUT/schedstat.csv" -- \
  "$K" __burst --threads 5 --work 1ms --every 20ms --duration 10s --idle 45 &
sleep 0.3
P=$(pgrep -n -f "^$K __burst --threads 5")
"$K" record --recorder perf --pid "$P" --out "$OUT/perf.csv"
wait
echo "load average after: $(cat /proc/loadavg)"
python3 "$(dirname "$0")/compare_traces.py" "$OUT/schedstat.csv" "$OUT/perf.csv"
