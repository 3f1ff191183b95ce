//! `kcpu collect` (pure core): read probe lines and Prometheus range-query exports, check
//! recorded cgroup files against `translate`'s prediction, and reduce counters to throttling.
//!
//! Probe lines come raw, or as `kubectl logs --prefix` prints them (`[pod/NAME/CONTAINER] {…}`).
//! Prometheus input is the JSON of `/api/v1/query_range` (`{"status":"success","data":
//! {"resultType":"matrix","result":[{"metric":{…},"values":[[t,"v"],…]}]}}`, see
//! <https://prometheus.io/docs/prometheus/latest/querying/api/#range-queries>) for the cAdvisor
//! counters `container_cpu_cfs_periods_total`, `container_cpu_cfs_throttled_periods_total` and
//! `container_cpu_usage_seconds_total`; a counter's increase over the range adds the drops at
//! resets back, like PromQL's `increase()` without its extrapolation.

use crate::cpu::files;
use crate::probe::ProbeRecord;
use crate::translate::CgroupValues;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Probe records read from one input, and the lines that could not be read.
#[derive(Debug, Default)]
pub struct ProbeInput {
    /// (where: `file:line` and the kubectl prefix if any, record).
    pub records: Vec<(String, ProbeRecord)>,
    /// `file:line: message`.
    pub errors: Vec<String>,
    /// Lines that were not probe JSON (other log output).
    pub skipped: usize,
}

/// Reads probe lines from `text` (named `name` in messages).
pub fn parse_probe_lines(name: &str, text: &str, into: &mut ProbeInput) {
    for (i, line) in text.lines().enumerate() {
        let mut l = line.trim();
        let mut prefix = "";
        if l.starts_with('[') {
            if let Some(end) = l.find("] ") {
                prefix = &l[1..end];
                l = l[end + 2..].trim();
            }
        }
        // '\u{7b}': an opening brace, escaped so that brace-counting tools stay balanced.
        if !l.starts_with('\u{7b}') {
            into.skipped += usize::from(!l.is_empty());
            continue;
        }
        let at = if prefix.is_empty() {
            format!("{name}:{}", i + 1)
        } else {
            format!("{name}:{} ({prefix})", i + 1)
        };
        match serde_json::from_str::<ProbeRecord>(l) {
            Ok(r) => into.records.push((at, r)),
            Err(e) => into
                .errors
                .push(format!("{at}: not a kcpu probe line: {e}")),
        }
    }
}

/// One cgroup file compared with the prediction.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FileCheck {
    /// File name.
    pub file: String,
    /// What `translate` predicts.
    pub expected: String,
    /// What the probe read (`None`: the file was not there).
    pub actual: Option<String>,
    /// The derivation's last step: the rule that sets the value, with its upstream source.
    pub rule: String,
}

impl FileCheck {
    /// True when the file holds the predicted value.
    pub fn agrees(&self) -> bool {
        self.actual.as_deref() == Some(self.expected.as_str())
    }
}

/// The last two steps of a derivation (typically the kubelet's formula, then the runtime's
/// write), each with its upstream source.
fn rule_of<T>(e: &crate::translate::Explained<T>) -> String {
    let n = e.steps.len();
    if n == 0 {
        return "kernel default".into();
    }
    e.steps[n.saturating_sub(2)..]
        .iter()
        .map(|s| format!("{} ({})", s.text, s.source))
        .collect::<Vec<_>>()
        .join("; ")
}

/// Checks the recorded files of one probe against the container's predicted values, for the
/// cgroup version the probe saw. v2 `cpu.max` is compared as text; `cpu.max.burst`,
/// `cpu.idle` and v1 `cpu.cfs_burst_us` are not predicted by the kubelet and are not checked.
pub fn check_files(r: &ProbeRecord, v: &CgroupValues) -> Vec<FileCheck> {
    let check = |file: &str, expected: String, rule: String| FileCheck {
        file: file.into(),
        expected,
        actual: r.files.get(file).cloned(),
        rule,
    };
    if r.node.cgroup_version == "v1" {
        vec![
            check(
                files::CPU_SHARES,
                v.shares.value.0.to_string(),
                rule_of(&v.shares),
            ),
            check(
                files::CPU_CFS_QUOTA_US,
                v.cfs_quota_us.value.0.to_string(),
                rule_of(&v.cfs_quota_us),
            ),
            check(
                files::CPU_CFS_PERIOD_US,
                v.cfs_period_us.value.0.to_string(),
                rule_of(&v.cfs_period_us),
            ),
        ]
    } else {
        vec![
            check(files::CPU_MAX, v.max.value.to_string(), rule_of(&v.max)),
            check(
                files::CPU_WEIGHT,
                v.weight.value.0.to_string(),
                rule_of(&v.weight),
            ),
        ]
    }
}

/// Why a Prometheus export cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum PromError {
    /// Not JSON of the expected shape.
    #[error("not a Prometheus range-query response: {0}")]
    Shape(String),
    /// The query failed.
    #[error("the query failed: {0}")]
    Status(String),
}

#[derive(Deserialize)]
struct PromResponse {
    status: String,
    #[serde(default)]
    error: Option<String>,
    data: Option<PromData>,
}

#[derive(Deserialize)]
struct PromData {
    #[serde(rename = "resultType")]
    result_type: String,
    result: Vec<PromSeries>,
}

#[derive(Deserialize)]
struct PromSeries {
    metric: BTreeMap<String, String>,
    values: Vec<(f64, String)>,
}

/// Production counters of one container (summed over the series of its pod and container).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Production {
    /// The series' `namespace` label.
    pub namespace: String,
    /// The series' `pod` label.
    pub pod: String,
    /// The series' `container` label.
    pub container: String,
    /// Increase of `container_cpu_cfs_periods_total`.
    pub periods: f64,
    /// Increase of `container_cpu_cfs_throttled_periods_total`.
    pub throttled: f64,
    /// Increase of `container_cpu_usage_seconds_total`.
    pub usage_seconds: f64,
    /// Length of the range, seconds (longest series).
    pub range_seconds: f64,
}

impl Production {
    /// Throttled periods / periods (`None` without periods: no CFS limit).
    pub fn throttled_ratio(&self) -> Option<f64> {
        (self.periods > 0.0).then(|| self.throttled / self.periods)
    }
    /// Mean cores used over the range.
    pub fn usage_cores(&self) -> Option<f64> {
        (self.range_seconds > 0.0).then(|| self.usage_seconds / self.range_seconds)
    }
}

/// Increase of a counter over samples, adding back drops at resets.
pub fn increase(values: &[f64]) -> f64 {
    let mut inc = 0.0;
    for w in values.windows(2) {
        inc += if w[1] >= w[0] { w[1] - w[0] } else { w[1] };
    }
    inc
}

/// Reads one export (several may be merged by calling this repeatedly into `into`). Series
/// without `namespace`, `pod` and `container` labels (or with an empty or `POD` container:
/// the pod-level and pause-container series) are skipped.
pub fn parse_prometheus(
    text: &str,
    into: &mut BTreeMap<(String, String, String), Production>,
) -> Result<(), PromError> {
    let r: PromResponse =
        serde_json::from_str(text).map_err(|e| PromError::Shape(e.to_string()))?;
    if r.status != "success" {
        return Err(PromError::Status(r.error.unwrap_or(r.status)));
    }
    let data = r.data.ok_or_else(|| PromError::Shape("no data".into()))?;
    if data.result_type != "matrix" {
        return Err(PromError::Shape(format!(
            "resultType {:?}, expected matrix (a range query)",
            data.result_type
        )));
    }
    for s in data.result {
        let label = |k: &str| s.metric.get(k).cloned().unwrap_or_default();
        let (ns, pod, c) = (label("namespace"), label("pod"), label("container"));
        if ns.is_empty() || pod.is_empty() || c.is_empty() || c == "POD" {
            continue;
        }
        let vals: Vec<f64> = s
            .values
            .iter()
            .filter_map(|(_, v)| v.parse::<f64>().ok())
            .filter(|v| v.is_finite())
            .collect();
        let inc = increase(&vals);
        let range = match (s.values.first(), s.values.last()) {
            (Some(a), Some(b)) => b.0 - a.0,
            _ => 0.0,
        };
        let p = into
            .entry((ns.clone(), pod.clone(), c.clone()))
            .or_insert(Production {
                namespace: ns,
                pod,
                container: c,
                ..Production::default()
            });
        p.range_seconds = p.range_seconds.max(range);
        match label("__name__").as_str() {
            "container_cpu_cfs_periods_total" => p.periods += inc,
            "container_cpu_cfs_throttled_periods_total" => p.throttled += inc,
            "container_cpu_usage_seconds_total" => p.usage_seconds += inc,
            _ => {}
        }
    }
    Ok(())
}

/// True when `pod` belongs to a workload of `kind` named `name`: the pod itself, a
/// StatefulSet's `name-N`, or a controller's `name-<suffix>` (Deployment `name-<hash>-<id>`,
/// DaemonSet/Job/ReplicaSet `name-<id>`).
pub fn pod_of(kind: &str, name: &str, pod: &str) -> bool {
    if kind == "Pod" {
        return pod == name;
    }
    let Some(rest) = pod.strip_prefix(name).and_then(|r| r.strip_prefix('-')) else {
        return false;
    };
    let parts: Vec<&str> = rest.split('-').collect();
    match kind {
        "StatefulSet" => parts.len() == 1 && parts[0].parse::<u32>().is_ok(),
        "Deployment" => parts.len() == 2,
        "CronJob" => parts.len() == 2,
        _ => parts.len() == 1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counter_resets() {
        assert_eq!(increase(&[1.0, 3.0, 6.0]), 5.0);
        assert_eq!(increase(&[10.0, 12.0, 2.0, 5.0]), 2.0 + 2.0 + 3.0);
        assert_eq!(increase(&[]), 0.0);
    }

    #[test]
    fn pods_of_workloads() {
        assert!(pod_of("Deployment", "web", "web-7d4b9c8f6-x2x9z"));
        assert!(!pod_of("Deployment", "web", "web-api-7d4b9c8f6-x2x9z"));
        assert!(pod_of("StatefulSet", "db", "db-0"));
        assert!(!pod_of("StatefulSet", "db", "db-x"));
        assert!(pod_of("Pod", "p", "p"));
        assert!(pod_of("DaemonSet", "agent", "agent-abcde"));
    }

    #[test]
    fn prometheus_shapes() {
        let mut m = BTreeMap::new();
        assert!(parse_prometheus("{}", &mut m).is_err());
        assert!(parse_prometheus(r#"{"status":"error","error":"bad"}"#, &mut m).is_err());
        let vector = r#"{"status":"success","data":{"resultType":"vector","result":[]}}"#;
        assert!(parse_prometheus(vector, &mut m).is_err());
        let ok = r#"{"status":"success","data":{"resultType":"matrix","result":[
          {"metric":{"__name__":"container_cpu_cfs_periods_total","namespace":"a","pod":"p","container":"c"},
           "values":[[0,"10"],[60,"610"]]},
          {"metric":{"__name__":"container_cpu_cfs_throttled_periods_total","namespace":"a","pod":"p","container":"c"},
           "values":[[0,"0"],[60,"150"]]},
          {"metric":{"__name__":"container_cpu_usage_seconds_total","namespace":"a","pod":"p","container":"POD"},
           "values":[[0,"0"],[60,"1"]]}]}}"#;
        parse_prometheus(ok, &mut m).unwrap();
        assert_eq!(m.len(), 1);
        let p = &m[&("a".into(), "p".into(), "c".into())];
        assert_eq!(p.throttled_ratio(), Some(0.25));
    }

    #[test]
    fn kubectl_prefixes_and_junk() {
        let mut inp = ProbeInput::default();
        parse_probe_lines("x", "[pod/a/c] hello\n[pod/a/c] {bad\n\n", &mut inp);
        assert_eq!(inp.skipped, 1);
        assert_eq!(inp.errors.len(), 1);
        assert!(
            inp.errors[0].starts_with("x:2 (pod/a/c)"),
            "{:?}",
            inp.errors
        );
    }
}
