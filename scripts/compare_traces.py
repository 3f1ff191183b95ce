#!/usr/bin/env python3
"""Compare two kcpu traces of the same program recorded at the same time (e.g. one recorder
started the command, the other attached with --pid): total CPU, per-thread CPU (threads matched
by tid), and per-window demand after aligning the two time bases.

usage: scripts/compare_traces.py A.csv B.csv [--window-ms 10]

The recordings start at different instants: B's rows are shifted by the offset (searched in
1 ms steps within +-100 ms around the headers' started_unix_ms difference) that best matches A,
and only the time both cover is compared."""
import sys


def load(path):
    head, tids, rows = {}, {}, []
    for line in open(path):
        line = line.rstrip("\n")
        if line.startswith("# thread "):
            parts = line.split()
            tids[int(parts[2])] = int(parts[3].split("=")[1])
        elif line.startswith("# end"):
            head["end"] = line
        elif line.startswith("# ") and "=" in line:
            k, v = line[2:].split("=", 1)
            head[k] = v
        elif line and line[0].isdigit():
            s, t, c = line.split(",")
            rows.append((int(s), tids.get(int(t), -int(t)), int(c)))
    return head, rows


def per_ms(rows):
    d = {}
    for s, tid, c in rows:
        d[(s // 1_000_000, tid)] = d.get((s // 1_000_000, tid), 0) + c
    return d


def main():
    a_path, b_path = sys.argv[1], sys.argv[2]
    win = int(sys.argv[sys.argv.index("--window-ms") + 1]) if "--window-ms" in sys.argv else 10
    ha, ra = load(a_path)
    hb, rb = load(b_path)
    guess = int(hb["started_unix_ms"]) - int(ha["started_unix_ms"])
    ma, mb = per_ms(ra), per_ms(rb)
    tot_a = {}
    for (ms, _), c in ma.items():
        tot_a[ms] = tot_a.get(ms, 0) + c
    tot_b = {}
    for (ms, _), c in mb.items():
        tot_b[ms] = tot_b.get(ms, 0) + c

    def cost(off):
        keys = set(tot_a) | {k + off for k in tot_b}
        return sum(abs(tot_a.get(k, 0) - tot_b.get(k - off, 0)) for k in keys)

    off = min(range(guess - 100, guess + 101), key=cost)
    lo = max(min(tot_a), min(k + off for k in tot_b)) + win
    hi = min(max(tot_a), max(k + off for k in tot_b)) - win
    a_in = {k: v for k, v in ma.items() if lo <= k[0] < hi}
    b_in = {(k[0] + off, k[1]): v for k, v in mb.items() if lo <= k[0] + off < hi}
    ta, tb = sum(a_in.values()), sum(b_in.values())
    print(f"A: {a_path} recorder={ha.get('recorder')}  B: {b_path} recorder={hb.get('recorder')}")
    print(f"offset B->A {off} ms (headers say {guess} ms); compared {hi - lo} ms both cover")
    print(f"total CPU: A {ta / 1e6:.3f} ms, B {tb / 1e6:.3f} ms, B/A-1 = {(tb / ta - 1) * 100:+.3f} %")
    threads = sorted({k[1] for k in a_in} | {k[1] for k in b_in})
    worst = 0.0
    for tid in threads:
        x = sum(v for k, v in a_in.items() if k[1] == tid)
        y = sum(v for k, v in b_in.items() if k[1] == tid)
        if max(x, y) > 0.01 * max(ta, 1):
            worst = max(worst, abs(y - x) / max(x, 1))
    print(f"threads: {len(threads)}; worst per-thread difference (threads with >1 % of CPU) {worst * 100:.2f} %")
    for w in (1, win):
        wa, wb = {}, {}
        for (ms, tid), c in a_in.items():
            wa[(ms // w, tid)] = wa.get((ms // w, tid), 0) + c
        for (ms, tid), c in b_in.items():
            wb[(ms // w, tid)] = wb.get((ms // w, tid), 0) + c
        keys = set(wa) | set(wb)
        diff = sum(abs(wa.get(k, 0) - wb.get(k, 0)) for k in keys)
        big = sum(1 for k in keys if abs(wa.get(k, 0) - wb.get(k, 0)) > 100_000 * w)
        print(f"per-thread {w} ms windows: sum |A-B| = {diff / max(ta, 1) * 100:.2f} % of the CPU; "
              f"{big} of {len(keys)} windows differ by > 10 % of the window")
    bursts(a_in, b_in)


def runs(d, tid):
    """Bursts of one thread: runs of rows with gaps < 3 ms, as (start ms, CPU ns)."""
    out, last = [], None
    for ms in sorted(k[0] for k in d if k[1] == tid):
        if last is None or ms - last >= 3:
            out.append([ms, 0])
        out[-1][1] += d[(ms, tid)]
        last = ms
    return out


def bursts(a_in, b_in):
    """Matches each burst of A with the burst of B that starts nearest (within 5 ms)."""
    starts, cpu, unmatched, n = [], [], 0, 0
    for tid in sorted({k[1] for k in a_in}):
        ra, rb = runs(a_in, tid), runs(b_in, tid)
        for s, c in ra:
            n += 1
            near = min(rb, key=lambda r: abs(r[0] - s), default=None)
            if near is None or abs(near[0] - s) > 5:
                unmatched += 1
                continue
            starts.append(near[0] - s)
            cpu.append(near[1] - c)
    if not starts:
        print("bursts: none matched")
        return
    starts.sort()
    cpu_abs = sorted(abs(x) for x in cpu)
    med = lambda v: v[len(v) // 2]
    print(f"bursts (runs of rows, gaps >= 3 ms): {n} in A, {unmatched} without a B burst within 5 ms; "
          f"start B-A median {med(starts)} ms, 5-95 % [{starts[len(starts) // 20]}, {starts[len(starts) * 19 // 20]}] ms; "
          f"|CPU B-A| per burst median {med(cpu_abs) / 1e3:.0f} us, p95 {cpu_abs[len(cpu_abs) * 19 // 20] / 1e3:.0f} us")


if __name__ == "__main__":
    main()
