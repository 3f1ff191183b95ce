//! JUnit XML for `kcpu check --format junit` (pure core), built with quick-junit.
//!
//! One test suite per input file; in it one test case per workload × rule that ran on it
//! (classname `Kind namespace/name`, name `KCPU004 suspicious-cpu-unit`). A case fails when it
//! has a finding at or above `--fail-on`; findings below the threshold are listed in the
//! case's system-out; a case whose only findings were suppressed is skipped with the reason.
//! Findings outside workloads (input errors, ResourceQuota totals) get cases of their own.

use super::{region, RenderOptions};
use crate::finding::{Finding, Severity};
use crate::lint::{CheckReport, Suppressed};
use crate::source::SourceSet;
use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestSuite};
use std::collections::BTreeMap;
use std::io::{self, Write};

type CaseKey = (String, String, &'static str); // (file, classname, rule id)

fn describe(f: &Finding, sources: &SourceSet) -> String {
    let r = region(sources, f.span);
    let mut s = format!("{}:{}:{}: {}", r.file, r.line, r.column, f.message);
    for n in &f.notes {
        s.push_str(&format!("\n  note: {n}"));
    }
    if let Some(h) = &f.help {
        s.push_str(&format!("\n  help: {h}"));
    }
    s
}

fn classname(f: &Finding, file: &str) -> String {
    f.subject
        .as_ref()
        .map_or_else(|| file.to_string(), |s| s.object())
}

/// A case's findings and suppressed findings.
type Cases<'a> = BTreeMap<CaseKey, (Vec<&'a Finding>, Vec<&'a Suppressed>)>;

/// Every case (workload × rule that ran, and each finding's own), in first-seen order.
fn cases<'a>(report: &'a CheckReport, sources: &SourceSet) -> (Cases<'a>, Vec<CaseKey>) {
    let file_of = |span: crate::source::Span| {
        sources
            .get(span.source)
            .map_or_else(|| "?".to_string(), |f| f.name.clone())
    };
    let mut cases: Cases<'a> = BTreeMap::new();
    let mut order: Vec<CaseKey> = Vec::new();
    let mut touch = |k: CaseKey, cases: &mut Cases<'a>| {
        if !cases.contains_key(&k) {
            order.push(k.clone());
            cases.insert(k.clone(), (Vec::new(), Vec::new()));
        }
        k
    };
    for w in &report.checked {
        for rule in &w.rules {
            touch((file_of(w.span), w.subject.object(), rule), &mut cases);
        }
    }
    for f in &report.findings {
        let file = file_of(f.span);
        let k = touch((file.clone(), classname(f, &file), f.rule), &mut cases);
        if let Some(c) = cases.get_mut(&k) {
            c.0.push(f);
        }
    }
    for s in &report.suppressed {
        let file = file_of(s.finding.span);
        let k = touch(
            (file.clone(), classname(&s.finding, &file), s.finding.rule),
            &mut cases,
        );
        if let Some(c) = cases.get_mut(&k) {
            c.1.push(s);
        }
    }
    (cases, order)
}

/// One test case: failed by its findings at or above `--fail-on`, skipped when only
/// suppressed findings remain, else passed; lower findings in its system-out.
fn case(
    (_, class, rule): &CaseKey,
    findings: &[&Finding],
    suppressed: &[&Suppressed],
    sources: &SourceSet,
    opts: &RenderOptions,
) -> TestCase {
    let name = crate::lint::lookup(rule).map_or_else(
        || rule.to_string(),
        |r| format!("{} {}", r.meta.id, r.meta.name),
    );
    let failing: Vec<&&Finding> = findings
        .iter()
        .filter(|f| f.severity >= opts.fail_on)
        .collect();
    let status = if let Some(first) = failing.first() {
        let mut st = TestCaseStatus::non_success(NonSuccessKind::Failure);
        st.set_message(first.message.clone());
        st.set_type(first.severity.as_str());
        st.set_description(
            failing
                .iter()
                .map(|f| describe(f, sources))
                .collect::<Vec<_>>()
                .join("\n"),
        );
        st
    } else if findings.is_empty() && !suppressed.is_empty() {
        let mut st = TestCaseStatus::skipped();
        let reasons: Vec<String> = suppressed
            .iter()
            .map(|s| s.reason.clone().unwrap_or_else(|| "no reason given".into()))
            .collect();
        st.set_message(format!(
            "suppressed by kcpu.dev/ignore: {}",
            reasons.join("; ")
        ));
        st
    } else {
        TestCaseStatus::success()
    };
    let mut case = TestCase::new(name, status);
    case.set_classname(class.clone());
    let below: Vec<String> = findings
        .iter()
        .filter(|f| f.severity < opts.fail_on)
        .map(|f| format!("{}: {}", f.severity, describe(f, sources)))
        .collect();
    if !below.is_empty() {
        case.set_system_out(below.join("\n"));
    }
    case
}

/// Builds the report.
pub fn build(report: &CheckReport, sources: &SourceSet, opts: &RenderOptions) -> Report {
    let (cases, order) = cases(report, sources);
    let mut suites: BTreeMap<String, TestSuite> = BTreeMap::new();
    let mut suite_order: Vec<String> = Vec::new();
    for k in order {
        let Some((findings, suppressed)) = cases.get(&k) else {
            continue;
        };
        let case = case(&k, findings, suppressed, sources, opts);
        let file = &k.0;
        if !suites.contains_key(file) {
            suite_order.push(file.clone());
        }
        suites
            .entry(file.clone())
            .or_insert_with(|| TestSuite::new(file.clone()))
            .add_test_case(case);
    }
    let mut out = Report::new("kcpu check");
    for e in &report.read_errors {
        let mut suite = TestSuite::new(e.path.clone());
        let mut st = TestCaseStatus::non_success(NonSuccessKind::Error);
        st.set_message(e.message.clone());
        let mut case = TestCase::new("read input", st);
        case.set_classname(e.path.clone());
        suite.add_test_case(case);
        out.add_test_suite(suite);
    }
    if report.checked_omitted > 0 {
        // One passing case says how many workloads are not listed one by one.
        let mut case = TestCase::new(
            format!(
                "{} more workloads checked (not listed)",
                report.checked_omitted
            ),
            TestCaseStatus::success(),
        );
        case.set_classname("kcpu");
        case.set_system_out(format!(
            "kcpu lists the test cases of the first {} workloads; the {} others are counted only, and each of their findings has a case of its own above",
            crate::lint::MAX_CHECKED,
            report.checked_omitted
        ));
        let mut suite = TestSuite::new("kcpu: workloads not listed");
        suite.add_test_case(case);
        suites.insert(String::new(), suite);
        suite_order.push(String::new());
    }
    for name in suite_order {
        if let Some(s) = suites.remove(&name) {
            out.add_test_suite(s);
        }
    }
    if let Some(note) = super::omitted_note(report) {
        out.add_test_suite(not_listed(report, &note, opts));
    }
    out
}

/// One case per rule with findings beyond `--max-findings`: failed when one of them is at
/// or above `--fail-on`, so the cases agree with the exit code.
fn not_listed(report: &CheckReport, note: &str, opts: &RenderOptions) -> TestSuite {
    let mut suite = TestSuite::new("kcpu: findings not listed");
    let mut worst: BTreeMap<&str, (usize, Severity)> = BTreeMap::new();
    for ((rule, sev), n) in &report.findings_omitted {
        let e = worst.entry(rule).or_insert((0, *sev));
        e.0 += n;
        e.1 = e.1.max(*sev);
    }
    for (rule, (n, sev)) in worst {
        let message = format!(
            "{n} more {rule} findings not listed (--max-findings {})",
            report.max_findings
        );
        let status = if sev >= opts.fail_on {
            let mut st = TestCaseStatus::non_success(NonSuccessKind::Failure);
            st.set_message(message);
            st.set_type(sev.as_str());
            st.set_description(note.to_string());
            st
        } else {
            TestCaseStatus::success()
        };
        let mut case = TestCase::new(format!("{rule} findings not listed"), status);
        case.set_classname("kcpu");
        case.set_system_out(note.to_string());
        suite.add_test_case(case);
    }
    if report.findings_omitted.is_empty() {
        let mut case = TestCase::new("suppressed findings not listed", TestCaseStatus::success());
        case.set_classname("kcpu");
        case.set_system_out(note.to_string());
        suite.add_test_case(case);
    }
    suite
}

/// Writes the JUnit XML.
pub fn render(
    report: &CheckReport,
    sources: &SourceSet,
    opts: &RenderOptions,
    out: &mut dyn Write,
) -> io::Result<()> {
    build(report, sources, opts)
        .serialize(&mut *out)
        .map_err(io::Error::other)?;
    writeln!(out)
}
