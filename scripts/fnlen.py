#!/usr/bin/env python3
"""Lengths of the non-test functions under src/ (issue 10: "no function over ~100 lines").

Usage: scripts/fnlen.py [--over N] [--top K] [DIR]
Prints the longest function, the number over N lines (default 100) and the K longest.
A function is counted from its `fn` line to its closing brace; test code is left out:
files named `tests.rs` or under a `tests/` folder, and items after `#[cfg(test)]`.
Strings, chars, lifetimes and comments are skipped when matching braces. That matters: a plain
brace count runs `collect::parse_probe_lines` (27 lines; `'{'`) and `manifest::json_patch`
(18 lines; `"[{"`) on to the end of their files and reports them as ~300 and ~700 lines.
"""
import os, re, sys

def strip(src):
    """Replaces comments and string/char literals by spaces, keeping newlines."""
    out, i, n = [], 0, len(src)
    while i < n:
        c = src[i]
        if src.startswith("//", i):
            j = src.find("\n", i)
            j = n if j < 0 else j
            out.append(" " * (j - i)); i = j
        elif src.startswith("/*", i):
            depth, j = 1, i + 2
            while j < n and depth:
                if src.startswith("/*", j): depth += 1; j += 2
                elif src.startswith("*/", j): depth -= 1; j += 2
                else: j += 1
            out.append(re.sub(r"[^\n]", " ", src[i:j])); i = j
        elif c == "r" and re.match(r'r#*"', src[i:i + 10]) and (i == 0 or not (src[i-1].isalnum() or src[i-1] == "_")):
            m = re.match(r'r(#*)"', src[i:])
            end = src.find('"' + m.group(1), i + len(m.group(0)))
            j = n if end < 0 else end + 1 + len(m.group(1))
            out.append(re.sub(r"[^\n]", " ", src[i:j])); i = j
        elif c == '"':
            j = i + 1
            while j < n and src[j] != '"':
                j += 2 if src[j] == "\\" else 1
            j += 1
            out.append(re.sub(r"[^\n]", " ", src[i:j])); i = j
        elif c == "'":
            m = re.match(r"'(\\.[^']*|[^\\'])'", src[i:])
            if m:
                out.append(" " * len(m.group(0))); i += len(m.group(0))
            else:
                out.append(c); i += 1
        else:
            out.append(c); i += 1
    return "".join(out)

def functions(path):
    text = strip(open(path, encoding="utf-8").read())
    lines = text.split("\n")
    starts = [0]
    for l in lines:
        starts.append(starts[-1] + len(l) + 1)
    def line_of(pos):
        lo, hi = 0, len(starts) - 1
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if starts[mid] <= pos: lo = mid
            else: hi = mid - 1
        return lo + 1
    def block_end(pos):
        depth = 0
        for j in range(pos, len(text)):
            if text[j] == "{": depth += 1
            elif text[j] == "}":
                depth -= 1
                if depth == 0: return j
        return len(text) - 1
    skip = []  # byte ranges of #[cfg(test)] items
    for m in re.finditer(r"#\[cfg\(test\)\]", text):
        b = text.find("{", m.end()); semi = text.find(";", m.end())
        if b >= 0 and (semi < 0 or b < semi):
            skip.append((m.start(), block_end(b)))
    for m in re.finditer(r"\bfn\s+([A-Za-z_][A-Za-z0-9_]*)", text):
        if any(a <= m.start() <= b for a, b in skip):
            continue
        b = text.find("{", m.end()); semi = text.find(";", m.end())
        if b < 0 or (0 <= semi < b):
            continue  # declaration without body
        e = block_end(b)
        yield m.group(1), line_of(m.start()), line_of(e) - line_of(m.start()) + 1

def main():
    args, over, top, root = sys.argv[1:], 100, 10, "src"
    while args:
        a = args.pop(0)
        if a == "--over": over = int(args.pop(0))
        elif a == "--top": top = int(args.pop(0))
        else: root = a
    rows = []
    for d, _, files in os.walk(root):
        if "/tests" in d.replace(os.sep, "/") + "/" and d != root and os.path.basename(d) == "tests":
            continue
        for f in files:
            if not f.endswith(".rs") or f == "tests.rs":
                continue
            p = os.path.join(d, f)
            rows += [(n, p, name, line) for name, line, n in functions(p)]
    rows.sort(reverse=True)
    long = [r for r in rows if r[0] > over]
    if rows:
        n, p, name, line = rows[0]
        print(f"longest: {name} ({p}:{line}) {n} lines")
    print(f"over {over} lines: {len(long)}")
    for n, p, name, line in rows[:max(top, len(long))]:
        print(f"{n:5} {p}:{line} {name}")

if __name__ == "__main__":
    main()
