#!/usr/bin/env python3
"""On-CPU intervals of chosen threads from a `perf script` dump of sched_switch events.

    perf record -e sched:sched_switch -a -o trace.data -- kcpu run ...
    perf script -i trace.data -F comm,tid,cpu,time,event,trace | \
        scripts/fidelity/sched-intervals.py [TID,TID,...] [--window MS]

Without TIDs it picks the two threads with the most CPU time (the load's workers). Times are
in ms after the load's start: the first interval of a chosen thread lasting at least 0.5 ms.
Each line: start, end, duration, CPU, thread, and how it left the CPU (`S` slept, `R` was
preempted, `R+` preempted with the preemption flag, as perf prints `prev_state`).
Used for the README's "How accurate is simulate" (the runner's first-sample delay, ref-edge).
"""
import collections
import re
import sys

PAT = re.compile(r"^\s*(\S.*?)\s+(\d+)\s+\[(\d+)\]\s+([\d.]+):\s+sched:sched_switch:\s+(.*)$")
SW = re.compile(r"prev_comm=(.*) prev_pid=(\d+) .*prev_state=(\S+) ==> next_comm=(.*) next_pid=(\d+)")


def main(argv):
    window = None
    tids = None
    args = list(argv)
    while args:
        a = args.pop(0)
        if a == "--window":
            window = float(args.pop(0))
        else:
            tids = [int(x) for x in a.split(",") if x]
    running = {}
    comm = {}
    intervals = collections.defaultdict(list)
    for line in sys.stdin:
        m = PAT.match(line)
        if not m:
            continue
        cpu, t, rest = int(m.group(3)), float(m.group(4)), m.group(5)
        s = SW.search(rest)
        if not s:
            continue
        prev, state, nxt = int(s.group(2)), s.group(3), int(s.group(5))
        comm[prev], comm[nxt] = s.group(1), s.group(4)
        if cpu in running and running[cpu][0] == prev:
            intervals[prev].append((running[cpu][1], t, cpu, state))
        running[cpu] = (nxt, t)
    total = {k: sum(b - a for a, b, _, _ in v) for k, v in intervals.items() if k != 0}
    if tids is None:
        tids = sorted(total, key=lambda k: -total[k])[:2]
    rows = sorted((a, b, c, s, k) for k in tids for a, b, c, s in intervals.get(k, []))
    starts = [a for a, b, _, _, _ in rows if b - a >= 0.0005]
    if not starts:
        print("no interval of at least 0.5 ms for threads", tids, file=sys.stderr)
        return 1
    t0 = starts[0]
    print("# threads:", ", ".join(f"{k} {comm.get(k, '?')} {total.get(k, 0) * 1e3:.1f} ms" for k in tids))
    print("# start_ms\tend_ms\tdur_ms\tcpu\ttid\tleft")
    for a, b, c, s, k in rows:
        ra, rb = (a - t0) * 1e3, (b - t0) * 1e3
        if rb < -5 or (window is not None and ra > window):
            continue
        print(f"{ra:.3f}\t{rb:.3f}\t{rb - ra:.3f}\t{c}\t{k}\t{s}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
