#!/usr/bin/env bash
# scripts/fuzz.sh - run one cargo-fuzz target of fuzz/ for a chosen time, at the lowest CPU
# priority (the build machine is shared).
#
#   usage: scripts/fuzz.sh TARGET SECONDS [extra libFuzzer flags...]
#   targets: quantity translate policy load trace pieces   (scripts/fuzz.sh list prints them)
#
# Needs: the nightly toolchain (rustup toolchain install nightly) and cargo-fuzz
# (cargo install cargo-fuzz). The corpus grows in fuzz/corpus/TARGET (seeded from
# fuzz/seeds/TARGET, which is committed; the grown corpus is not), crashes land in
# fuzz/artifacts/TARGET. The full libFuzzer log goes to fuzz/logs/TARGET.log and the last
# status line (executions, coverage, features, corpus size) is printed at the end.
set -euo pipefail
cd "$(dirname "$0")/../fuzz"
if [[ "${1:-}" == list || $# -lt 2 ]]; then
    echo "usage: scripts/fuzz.sh TARGET SECONDS [libFuzzer flags...]" >&2
    echo "targets: $(ls fuzz_targets | sed 's/\.rs$//' | tr '\n' ' ')" >&2
    [[ "${1:-}" == list ]] && exit 0 || exit 2
fi
target=$1 seconds=$2
shift 2
[[ -f fuzz_targets/$target.rs ]] || { echo "unknown target $target (scripts/fuzz.sh list)" >&2; exit 2; }
mkdir -p "corpus/$target" "artifacts/$target" logs
if [[ -d seeds/$target ]]; then cp -n seeds/"$target"/* "corpus/$target/" 2>/dev/null || true; fi
# -a: debug assertions and overflow checks on; no sanitizer: kcpu denies unsafe code, and
# the shared machine gets more executions per second without ASan.
nice -n 19 cargo +nightly fuzz build -a -s none "$target"
dict=()
[[ -f dicts/$target.dict ]] && dict=(-dict="dicts/$target.dict")
set +e
nice -n 19 cargo +nightly fuzz run -a -s none "$target" "corpus/$target" -- "${dict[@]}" \
    -max_total_time="$seconds" -max_len=65536 -rss_limit_mb=2048 -timeout=20 \
    -print_final_stats=1 "$@" 2>&1 | tee "logs/$target.log" | grep -E --line-buffered 'pulse|DONE|INITED|ERROR|panicked|crash-|Test unit written' || true
status=${PIPESTATUS[0]}
set -e
echo "--- $target: last status line"
grep -E '^#[0-9]+' "logs/$target.log" | tail -1 || true
grep -E '^stat::' "logs/$target.log" || true
exit "$status"
