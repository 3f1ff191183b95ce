//! The kcpu trace format: what `kcpu record` writes and what `trace:FILE` loads read (pure core).
//!
//! A trace is UTF-8 text, streamed line by line so that recording for hours needs no memory
//! beyond the live threads:
//!
//! ```text
//! # kcpu-trace v1
//! # interval_ns=1000000
//! # cpus=2
//! # hz=250
//! # kernel=6.18.44
//! # cpu_model="AMD EPYC 7B13"
//! # cgroup=v1
//! # target="command ./api-server --port 8080"
//! # started_unix_ms=1764874800000
//! start_ns,thread,cpu_ns
//! # thread 0 tid=4242 comm="api-server"
//! 0,0,1000000
//! 1000000,0,350000
//! # thread 1 tid=4250 comm="worker-1"
//! 1000000,1,20000
//! # end duration_ns=60000000000 samples=60000 threads=2 cpu_ns=…
//! ```
//!
//! - `# key=value` lines before the column line are the *header*: the machine facts of the
//!   recording (sampling interval, CPUs, `CONFIG_HZ`, kernel release, CPU model, cgroup version)
//!   and what was recorded. Values with spaces are quoted with Rust escaping (never raw bytes).
//! - Each data row says: in the interval that started `start_ns` after the recording began,
//!   thread `thread` (a dense index, in order of first appearance) ran for `cpu_ns` of CPU time
//!   (the difference of `sum_exec_runtime`, field 1 of `/proc/<pid>/task/<tid>/schedstat`).
//!   Rows with zero CPU are not written. Rows are in time order.
//! - `# thread` and `# end` comment lines are informative (tid, command name, totals and the
//!   sampler's own overhead); readers skip every `#` line they do not know.
//!
//! As a load, row `(start, thread, cpu)` is a request of `cpu` of work arriving at `start` and
//! bound to `thread`: replay is open loop per thread, so when a limit slows a thread its later
//! work queues behind, as the recorded program's would. The recorded CPU is what the program
//! *used*; if it was throttled or starved while recorded, that is a lower bound of its demand.
//!
//! The older request format (`arrival,work` durations per line, e.g. `0ms,15ms`, one shared
//! queue) is still read: a file without the `start_ns,thread,cpu_ns` column line is parsed as
//! that.

use crate::sim::load::{LoadError, Request, MAX_THREADS};
use crate::units::{parse_duration, Nanos};
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// First line of a trace.
pub const MAGIC: &str = "# kcpu-trace v1";
/// The column line that separates the header from the rows.
pub const COLUMNS: &str = "start_ns,thread,cpu_ns";

/// The machine facts and provenance at the top of a trace.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize)]
pub struct Header {
    /// Sampling interval.
    pub interval_ns: u64,
    /// Online CPUs of the recording machine.
    pub cpus: u32,
    /// `CONFIG_HZ` of the recording kernel, when known.
    pub hz: Option<u32>,
    /// Kernel release (`uname -r`).
    pub kernel: String,
    /// CPU model (`/proc/cpuinfo` `model name`), when known.
    pub cpu_model: Option<String>,
    /// cgroup version of the recording machine (`v1`, `v2`), when known.
    pub cgroup: Option<String>,
    /// What was recorded (`command …`, `pid N`, `cgroup PATH`).
    pub target: String,
    /// Wall-clock start, ms since the Unix epoch.
    pub started_unix_ms: u64,
    /// Every other `key=value` of the header (forward compatibility), as written.
    pub extra: BTreeMap<String, String>,
}

/// One data row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Row {
    /// Start of the interval, ns after the recording began.
    pub start_ns: u64,
    /// Dense thread index.
    pub thread: u32,
    /// CPU time the thread used in the interval.
    pub cpu_ns: u64,
}

/// A trace read back: header (absent for the older request format) and its requests.
#[derive(Debug, Clone, PartialEq)]
pub struct Trace {
    /// The header, for a kcpu-trace file.
    pub header: Option<Header>,
    /// Requests sorted by arrival (bound to a thread for a kcpu-trace file).
    pub requests: Vec<Request>,
    /// Number of threads (1 for the request format: one shared queue).
    pub threads: u32,
}

impl Trace {
    /// Total CPU time of all requests.
    pub fn cpu_ns(&self) -> u64 {
        self.requests.iter().map(|r| r.work.0).sum()
    }

    /// Span of the trace: from 0 to the end of the last interval (or the last arrival + work).
    pub fn duration_ns(&self) -> u64 {
        let step = self.header.as_ref().map_or(0, |h| h.interval_ns);
        crate::sim::load::requests_span_ns(&self.requests, step)
    }
}

/// At most 80 characters of a line for an error message (the message escapes it).
fn excerpt(l: &str) -> String {
    l.chars().take(80).collect()
}

fn quote(v: &str) -> String {
    if !v.is_empty()
        && v.chars()
            .all(|c| c.is_ascii_alphanumeric() || "._-/:+@".contains(c))
    {
        v.to_string()
    } else {
        format!("{v:?}")
    }
}

/// Reverses [`quote`]: a bare value, or a Rust-escaped `"…"` string.
fn unquote(v: &str) -> String {
    let Some(inner) = v.strip_prefix('"').and_then(|s| s.strip_suffix('"')) else {
        return v.to_string();
    };
    let mut out = String::with_capacity(inner.len());
    let mut it = inner.chars();
    while let Some(c) = it.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match it.next() {
            Some('n') => out.push('\n'),
            Some('t') => out.push('\t'),
            Some('r') => out.push('\r'),
            Some('0') => out.push('\0'),
            Some('u') => {
                // \u{XXXX}
                let hex: String = it
                    .by_ref()
                    .skip_while(|c| *c == '{')
                    .take_while(|c| *c != '}')
                    .collect();
                if let Some(ch) = u32::from_str_radix(&hex, 16).ok().and_then(char::from_u32) {
                    out.push(ch);
                }
            }
            Some(other) => out.push(other),
            None => {}
        }
    }
    out
}

/// The header lines (magic, `key=value` facts, column line), each ending in `\n`.
pub fn header_text(h: &Header) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "{MAGIC}");
    let _ = writeln!(s, "# interval_ns={}", h.interval_ns);
    let _ = writeln!(s, "# cpus={}", h.cpus);
    if let Some(hz) = h.hz {
        let _ = writeln!(s, "# hz={hz}");
    }
    let _ = writeln!(s, "# kernel={}", quote(&h.kernel));
    if let Some(m) = &h.cpu_model {
        let _ = writeln!(s, "# cpu_model={}", quote(m));
    }
    if let Some(c) = &h.cgroup {
        let _ = writeln!(s, "# cgroup={}", quote(c));
    }
    let _ = writeln!(s, "# target={}", quote(&h.target));
    let _ = writeln!(s, "# started_unix_ms={}", h.started_unix_ms);
    for (k, v) in &h.extra {
        let _ = writeln!(s, "# {k}={}", quote(v));
    }
    let _ = writeln!(s, "{COLUMNS}");
    s
}

/// The informative line that introduces thread `index` (`# thread 3 tid=4250 comm="w"`).
pub fn thread_line(index: u32, tid: u32, comm: &str) -> String {
    format!(
        "# thread {index} tid={tid} comm={}\n",
        quote(comm.trim_end())
    )
}

/// One data row, ending in `\n`.
pub fn row_text(r: &Row) -> String {
    format!("{},{},{}\n", r.start_ns, r.thread, r.cpu_ns)
}

/// Writes one data row (as [`row_text`]) without allocating.
pub fn write_row(w: &mut dyn std::io::Write, r: &Row) -> std::io::Result<()> {
    writeln!(w, "{},{},{}", r.start_ns, r.thread, r.cpu_ns)
}

/// The closing `# end k=v …` line.
pub fn end_line(facts: &[(&str, String)]) -> String {
    let mut s = String::from("# end");
    for (k, v) in facts {
        let _ = write!(s, " {k}={}", quote(v));
    }
    s.push('\n');
    s
}

fn header_value(h: &mut Header, key: &str, value: &str) -> Result<(), String> {
    let num = |v: &str| -> Result<u64, String> {
        v.parse::<u64>()
            .map_err(|_| format!("{key} must be a whole number, got {v:?}"))
    };
    match key {
        "interval_ns" => h.interval_ns = num(value)?,
        "cpus" => {
            h.cpus = u32::try_from(num(value)?)
                .ok()
                .filter(|c| (1..=4096).contains(c))
                .ok_or_else(|| format!("cpus must be between 1 and 4096, got {value}"))?
        }
        "hz" => h.hz = Some(u32::try_from(num(value)?).map_err(|_| "hz too large".to_string())?),
        "kernel" => h.kernel = unquote(value),
        "cpu_model" => h.cpu_model = Some(unquote(value)),
        "cgroup" => h.cgroup = Some(unquote(value)),
        "target" => h.target = unquote(value),
        "started_unix_ms" => h.started_unix_ms = num(value)?,
        _ => {
            h.extra.insert(key.to_string(), unquote(value));
        }
    }
    Ok(())
}

/// Longest line a trace reader accepts (a row is under 64 bytes; a header line is short).
pub const MAX_LINE_BYTES: usize = 64 * 1024;

/// Most requests one read keeps (a request is 24 bytes: ~96 MiB): beyond it the read fails
/// with a message naming `--duration`, instead of growing without bound on a long trace.
pub const MAX_ROWS: usize = 1 << 22;

fn budget_error() -> String {
    format!(
        "more than {MAX_ROWS} rows to keep (~{} MiB of memory): read a shorter window with --duration (simulate, run, recommend), or record with a coarser --interval",
        (MAX_ROWS * std::mem::size_of::<Request>()) >> 20
    )
}

/// Which of the two formats a trace turned out to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// Before the first line that is neither empty nor a comment.
    Unknown,
    /// A kcpu-trace: header until the column line, then rows.
    Kcpu { in_header: bool },
    /// The older `arrival,work` format.
    Requests,
}

/// A trace parser fed one line at a time, so a trace is never held as text: memory is the
/// requests kept (rows before `until_ns`), whatever the file's size.
struct Parser {
    mode: Mode,
    header: Header,
    requests: Vec<Request>,
    threads: u32,
    last_start: u64,
    until_ns: Option<u64>,
    /// A kcpu-trace row at or after `until_ns` was reached: the rest is not needed.
    done: bool,
    /// [`MAX_ROWS`] (smaller in tests).
    max_rows: usize,
    /// The first error in the comments before the first data line (a header error only if
    /// the column line follows).
    pending: Option<LoadError>,
}

impl Parser {
    fn new(until_ns: Option<u64>) -> Parser {
        Parser {
            mode: Mode::Unknown,
            header: Header::default(),
            requests: Vec::new(),
            threads: 0,
            last_start: 0,
            until_ns,
            done: false,
            max_rows: MAX_ROWS,
            pending: None,
        }
    }

    /// Line `i` (0-based) of the trace.
    fn line(&mut self, i: usize, line: &str) -> Result<(), LoadError> {
        let l = line.trim();
        let bad = |reason: String| LoadError {
            input: format!("line {}: {}", i + 1, excerpt(l)),
            reason,
        };
        if l.is_empty() {
            return Ok(());
        }
        if self.mode == Mode::Unknown && !l.starts_with('#') {
            if l == COLUMNS {
                self.mode = Mode::Kcpu { in_header: true };
                if let Some(e) = self.pending.take() {
                    return Err(e);
                }
            } else {
                self.mode = Mode::Requests;
                self.header = Header::default();
                self.pending = None;
            }
        }
        match self.mode {
            Mode::Unknown => {
                // Comments before the first data line: a kcpu-trace header if it turns out so
                // (an error in it only counts then).
                if let Err(e) = self.header_line(l) {
                    self.pending.get_or_insert(bad(e));
                }
                Ok(())
            }
            Mode::Kcpu { in_header: true } => {
                if l == COLUMNS {
                    self.mode = Mode::Kcpu { in_header: false };
                    if self.header.interval_ns == 0 {
                        return Err(bad("the header lacks `# interval_ns=N`".into()));
                    }
                    return Ok(());
                }
                self.header_line(l).map_err(bad)
            }
            Mode::Kcpu { in_header: false } => {
                if l.starts_with('#') {
                    return Ok(());
                }
                self.row(l).map_err(bad)
            }
            Mode::Requests => {
                if l.starts_with('#')
                    || (i == 0 && l.starts_with(|c: char| c.is_ascii_alphabetic()))
                {
                    return Ok(());
                }
                self.request(l).map_err(bad)
            }
        }
    }

    fn header_line(&mut self, l: &str) -> Result<(), String> {
        if let Some(kv) = l.strip_prefix('#') {
            if let Some((k, v)) = kv.trim().split_once('=') {
                header_value(&mut self.header, k.trim(), v.trim())?;
            }
        }
        Ok(())
    }

    fn row(&mut self, l: &str) -> Result<(), String> {
        let mut f = l.split(',');
        let (Some(a), Some(b), Some(c), None) = (f.next(), f.next(), f.next(), f.next()) else {
            return Err(format!("expected {COLUMNS}"));
        };
        let field = |v: &str, name: &str| -> Result<u64, String> {
            v.trim()
                .parse::<u64>()
                .map_err(|_| format!("{name} must be a whole number of ns, got {v:?}"))
        };
        let start = field(a, "start_ns")?;
        let thread = field(b, "thread")?;
        let cpu = field(c, "cpu_ns")?;
        if thread >= MAX_THREADS as u64 {
            return Err(format!(
                "thread index {thread} is beyond the limit of {MAX_THREADS} threads"
            ));
        }
        if start < self.last_start {
            return Err("rows must be in time order".into());
        }
        self.last_start = start;
        if self.until_ns.is_some_and(|u| start >= u) {
            self.done = true;
            return Ok(());
        }
        self.threads = self.threads.max(thread as u32 + 1);
        if cpu > 0 {
            if self.requests.len() >= self.max_rows {
                return Err(budget_error());
            }
            self.requests.push(Request {
                arrival: Nanos(start),
                work: Nanos(cpu),
                thread: Some(thread as u32),
            });
        }
        Ok(())
    }

    fn request(&mut self, l: &str) -> Result<(), String> {
        let (a, w) = l
            .split_once(',')
            .ok_or_else(|| "expected arrival,work".to_string())?;
        let arrival = parse_duration(a).map_err(|e| e.to_string())?;
        let work = parse_duration(w).map_err(|e| e.to_string())?;
        if self.until_ns.is_none_or(|u| arrival.0 < u) {
            if self.requests.len() >= self.max_rows {
                return Err(budget_error());
            }
            self.requests.push(Request {
                arrival,
                work,
                thread: None,
            });
        }
        Ok(())
    }

    fn finish(mut self) -> Trace {
        if let Mode::Kcpu { .. } = self.mode {
            return Trace {
                header: Some(self.header),
                requests: self.requests,
                threads: self.threads.max(1),
            };
        }
        self.requests.sort_by_key(|r| r.arrival);
        Trace {
            header: None,
            requests: self.requests,
            threads: 1,
        }
    }
}

/// Parses a trace: a kcpu-trace (see the module docs) or the older `arrival,work` request
/// format. Errors name the line.
pub fn parse(text: &str) -> Result<Trace, LoadError> {
    let mut p = Parser::new(None);
    for (i, line) in text.lines().enumerate() {
        p.line(i, line)?;
    }
    Ok(p.finish())
}

/// Why a trace could not be read from a stream.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// Reading failed.
    #[error(transparent)]
    Io(#[from] std::io::Error),
    /// The text is not a trace.
    #[error(transparent)]
    Parse(#[from] LoadError),
}

/// Reads a trace from `r` line by line (never the whole text at once; lines longer than
/// [`MAX_LINE_BYTES`] are an error) and keeps only the requests that arrive before `until_ns`
/// (a kcpu-trace is in time order, so reading stops at the first row past it). Memory is the
/// requests kept, ~24 bytes each, at most [`MAX_ROWS`] of them (else an error naming
/// `--duration`), however long the file.
pub fn read(r: impl std::io::BufRead, until_ns: Option<u64>) -> Result<Trace, ReadError> {
    read_with_budget(r, until_ns, MAX_ROWS)
}

fn read_with_budget(
    r: impl std::io::BufRead,
    until_ns: Option<u64>,
    max_rows: usize,
) -> Result<Trace, ReadError> {
    let mut p = Parser::new(until_ns);
    p.max_rows = max_rows;
    let mut r = r;
    let mut buf = Vec::with_capacity(256);
    let mut i = 0usize;
    loop {
        buf.clear();
        let n = std::io::BufRead::read_until(
            &mut std::io::Read::take(&mut r, MAX_LINE_BYTES as u64 + 1),
            b'\n',
            &mut buf,
        )?;
        if n == 0 {
            break;
        }
        if n > MAX_LINE_BYTES {
            return Err(LoadError {
                input: format!("line {}", i + 1),
                reason: format!("longer than {} KiB", MAX_LINE_BYTES >> 10),
            }
            .into());
        }
        let line = std::str::from_utf8(&buf).map_err(|_| LoadError {
            input: format!("line {}", i + 1),
            reason: "not UTF-8".into(),
        })?;
        p.line(i, line)?;
        i += 1;
        if p.done {
            break;
        }
    }
    Ok(p.finish())
}

/// The older format: one `arrival,work` pair of durations per line (`0ms,15ms`), with optional
/// header and `#` comments; rows sorted by arrival, all in one shared queue.
pub fn parse_requests(text: &str) -> Result<Vec<Request>, LoadError> {
    let mut p = Parser::new(None);
    p.mode = Mode::Requests;
    for (i, line) in text.lines().enumerate() {
        p.line(i, line)?;
    }
    p.requests.sort_by_key(|r| r.arrival);
    Ok(p.requests)
}

/// CPU used per window of `window_ns` (all threads summed), from the requests of `trace`: the
/// series the request and percentile figures of `kcpu recommend` are computed from. A request
/// spanning a window edge is split proportionally.
pub fn usage_per_window(trace: &Trace, window_ns: u64) -> Vec<u64> {
    let window_ns = window_ns.max(1);
    let n = trace.duration_ns().div_ceil(window_ns) as usize;
    let mut out = vec![0u64; n];
    let step = trace.header.as_ref().map_or(0, |h| h.interval_ns);
    for r in &trace.requests {
        // A recorded row's CPU ran somewhere in [start, start + interval); spread it evenly.
        let span = step.max(r.work.0).max(1);
        let (mut t, end) = (r.arrival.0, r.arrival.0 + span);
        while t < end {
            let w = (t / window_ns) as usize;
            let edge = ((t / window_ns) + 1) * window_ns;
            let piece = edge.min(end) - t;
            if let Some(slot) = out.get_mut(w) {
                *slot += (r.work.0 as u128 * piece as u128 / span as u128) as u64;
            }
            t += piece;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample_header() -> Header {
        Header {
            interval_ns: 1_000_000,
            cpus: 2,
            hz: Some(250),
            kernel: "6.18.44-fc".into(),
            cpu_model: Some("AMD EPYC \"7B13\"".into()),
            cgroup: Some("v1".into()),
            target: "command ./a b".into(),
            started_unix_ms: 5,
            extra: BTreeMap::new(),
        }
    }

    #[test]
    fn writes_and_reads_back() {
        let h = sample_header();
        let mut text = header_text(&h);
        text.push_str(&thread_line(0, 42, "api\nx"));
        text.push_str(&row_text(&Row {
            start_ns: 0,
            thread: 0,
            cpu_ns: 1_000_000,
        }));
        text.push_str(&thread_line(1, 43, "w"));
        text.push_str(&row_text(&Row {
            start_ns: 1_000_000,
            thread: 1,
            cpu_ns: 250_000,
        }));
        text.push_str(&end_line(&[("samples", "2".into())]));
        let t = parse(&text).unwrap();
        assert_eq!(t.header.as_ref().unwrap(), &h);
        assert_eq!(t.threads, 2);
        assert_eq!(t.requests.len(), 2);
        assert_eq!(t.requests[1].thread, Some(1));
        assert_eq!(t.requests[1].arrival, Nanos(1_000_000));
        assert_eq!(t.cpu_ns(), 1_250_000);
        assert_eq!(t.duration_ns(), 2_000_000);
    }

    #[test]
    fn older_request_files_still_parse() {
        let t = parse("arrival,work\n# c\n10ms,2ms\n0ms,1ms\n").unwrap();
        assert!(t.header.is_none());
        assert_eq!(t.threads, 1);
        assert_eq!(t.requests[0].arrival, Nanos(0));
        assert_eq!(t.requests[0].thread, None);
        assert!(parse("1ms").is_err());
    }

    #[test]
    fn rejects_bad_rows() {
        let head = header_text(&sample_header());
        for bad in [
            "x,0,1\n",
            "0,0\n",
            "0,0,1,2\n",
            "0,5000,1\n",
            "5,0,1\n4,0,1\n",
            "0,-1,1\n",
        ] {
            assert!(parse(&format!("{head}{bad}")).is_err(), "{bad:?}");
        }
        assert!(parse("# kcpu-trace v1\nstart_ns,thread,cpu_ns\n0,0,1\n").is_err());
        assert!(
            parse("# kcpu-trace v1\n# cpus=0\n# interval_ns=1\nstart_ns,thread,cpu_ns\n").is_err()
        );
    }

    #[test]
    fn usage_windows_split_rows() {
        let mut text = header_text(&sample_header());
        text.push_str("0,0,1000000\n99000000,0,1000000\n99500000,1,500000\n");
        let t = parse(&text).unwrap();
        // The 0.5 ms row at 99.5 ms spreads over its interval [99.5, 100.5) ms.
        let w = usage_per_window(&t, 50_000_000);
        assert_eq!(w, vec![1_000_000, 1_250_000, 250_000]);
        let w = usage_per_window(&t, 99_500_000);
        assert_eq!(w, vec![1_500_000, 1_000_000]);
    }

    #[test]
    fn quoting_round_trips() {
        for v in ["plain", "with space", "q\"uote", "nl\nx", "tab\tü", ""] {
            assert_eq!(unquote(&quote(v)), v, "{v:?}");
        }
    }

    /// A trace generated on demand: `rows` rows of 2 threads at 1 ms, never held as text.
    struct Generated {
        rows: u64,
        next: u64,
        pending: Vec<u8>,
        produced: u64,
    }

    impl Generated {
        fn new(rows: u64) -> Generated {
            let h = header_text(&sample_header()).into_bytes();
            Generated {
                rows,
                next: 0,
                pending: h,
                produced: 0,
            }
        }
    }

    impl Generated {
        fn new_buffered(rows: u64) -> std::io::BufReader<Generated> {
            std::io::BufReader::new(Generated::new(rows))
        }
    }

    impl std::io::Read for Generated {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            while self.pending.len() < buf.len() && self.next < self.rows {
                let r = Row {
                    start_ns: self.next / 2 * 1_000_000,
                    thread: (self.next % 2) as u32,
                    cpu_ns: 250_000 + self.next % 7,
                };
                self.pending.extend_from_slice(row_text(&r).as_bytes());
                self.next += 1;
            }
            let n = buf.len().min(self.pending.len());
            buf[..n].copy_from_slice(&self.pending[..n]);
            self.pending.drain(..n);
            self.produced += n as u64;
            Ok(n)
        }
    }

    #[test]
    fn an_hour_long_trace_is_streamed_and_read_only_as_far_as_needed() {
        // One hour at 1 ms with 2 threads: 7.2 M rows, about 150 MB of text.
        let mut g = Generated::new(7_200_000);
        let t = read(std::io::BufReader::new(&mut g), Some(2_000_000_000)).unwrap();
        assert_eq!(t.requests.len(), 4_000);
        assert_eq!(t.threads, 2);
        assert!(t.requests.iter().all(|r| r.arrival.0 < 2_000_000_000));
        // Reading stopped at the first row past the limit (plus one buffer).
        assert!(g.produced < 200_000, "read {} bytes", g.produced);
    }

    #[test]
    fn a_whole_trace_past_the_row_budget_is_an_error_naming_the_flag() {
        // The budget counts rows kept: a window under it reads, the whole trace does not.
        let under = read_with_budget(Generated::new_buffered(5_000), Some(1_000_000_000), 3_000);
        assert_eq!(under.unwrap().requests.len(), 2_000);
        let e = read_with_budget(Generated::new_buffered(5_000), None, 3_000).unwrap_err();
        let msg = e.to_string();
        assert!(
            msg.contains("--duration") && msg.contains("rows to keep"),
            "{msg}"
        );
        let old = read_with_budget("0ms,1ms\n1ms,1ms\n2ms,1ms\n".as_bytes(), None, 2);
        assert!(old.is_err(), "the older format is budgeted too");
        assert!(budget_error().contains(&MAX_ROWS.to_string()));
    }

    #[test]
    fn streamed_read_equals_parse_and_bounds_lines() {
        let mut g = Generated::new(20_000);
        let mut text = String::new();
        std::io::Read::read_to_string(&mut g, &mut text).unwrap();
        let streamed = read(std::io::BufReader::new(Generated::new(20_000)), None).unwrap();
        assert_eq!(streamed, parse(&text).unwrap());
        assert_eq!(streamed.requests.len(), 20_000);
        // The older format streams too (sorted at the end), and a line without end is refused.
        let old = read(
            "0ms,1ms\n# c\n10ms,2ms\n5ms,1ms\n".as_bytes(),
            Some(8_000_000),
        )
        .unwrap();
        assert_eq!(old.header, None);
        assert_eq!(old.requests.len(), 2);
        assert!(old.requests[0].arrival < old.requests[1].arrival);
        let long = vec![b'1'; MAX_LINE_BYTES + 10];
        let e = read(&long[..], None).unwrap_err();
        assert!(e.to_string().contains("longer than"), "{e}");
        // An error in a comment counts only when the file is a kcpu-trace.
        assert!(read("# cpus=0\n0ms,1ms\n".as_bytes(), None).is_ok());
        assert!(read(
            "# cpus=0\n# interval_ns=1\nstart_ns,thread,cpu_ns\n".as_bytes(),
            None
        )
        .is_err());
    }
}
