//! The `.kcpu.yaml` policy file (pure core): per-rule switches and severities, thresholds,
//! node shapes, the CPU-limit policy and include/exclude selectors.
//!
//! The file is read by serde-saphyr with `deny_unknown_fields` and [`Spanned`] values, so every
//! mistake (an unknown key, a bad limit mode, an unknown rule id) is reported as
//! `line:column` of the offending node. Finding and reading the file is the CLI's job; this
//! module only turns text into a [`Policy`].
//!
//! ```yaml
//! limits: max-ratio:4          # required | optional | forbidden | equal-to-request | max-ratio:<k>
//! max-cpu: 64                  # KCPU007 threshold (CPUs; default 256)
//! cfs-period: 100ms            # the kubelet's cpuCFSQuotaPeriod
//! cpu-manager-policy: static   # none | static
//! kubernetes: "1.34"           # the cluster's release (feature-gate defaults)
//! nodes:
//!   - {name: general, count: 3, cpu: 4, allocatable: 3800m}
//! throttling: {threshold: 25%, load: "periodic:threads=2,work=20ms,every=100ms"}
//! rules:
//!   KCPU012: off               # off | on | info | warning | error
//!   cpu-limit-policy: error    # ids or names
//! include: {namespaces: [shop, "team-*"]}
//! exclude: {kinds: [Job], names: ["debug-*"], labels: ["tier=experimental"], paths: ["vendor/*"]}
//! ```

use super::rules;
use crate::finding::Severity;
use crate::manifest::model::Workload;
use crate::profile::{Assumptions, CpuManagerPolicy, KubeVersion, ProfileError};
use crate::quantity;
use crate::units::{parse_duration, MilliCpu, PeriodUs};
use serde::Deserialize;
use serde_saphyr::Spanned;
use std::collections::BTreeMap;
use std::fmt;

/// Default of `max-cpu`: 256 CPUs (the kubelet's `MaxShares` 262144 is 256 CPUs' worth of shares).
pub const DEFAULT_MAX_CPU: MilliCpu = MilliCpu(256_000);

/// Default throttling threshold: 25 % of periods (the `CPUThrottlingHigh` alert level of
/// kubernetes-monitoring/kubernetes-mixin).
pub const DEFAULT_THROTTLING_PERCENT: f64 = 25.0;

/// A policy file error with its 1-based position.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{line}:{column}: {message}")]
pub struct PolicyError {
    /// 1-based line (0 when the parser gave no position).
    pub line: usize,
    /// 1-based column.
    pub column: usize,
    /// What is wrong and what is accepted.
    pub message: String,
}

/// The team's stance on CPU limits (rule KCPU002).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LimitPolicy {
    /// Every container must set a CPU limit.
    Required,
    /// Limits are allowed but not required (the default; KCPU002 stays quiet).
    #[default]
    Optional,
    /// No container may set a CPU limit.
    Forbidden,
    /// The limit must equal the request (Guaranteed-style CPU).
    EqualToRequest,
    /// When both are set, limit ÷ request must not exceed this ratio (in thousandths).
    MaxRatio {
        /// The ratio × 1000 (`max-ratio:1.5` → 1500).
        milli: i64,
    },
}

impl fmt::Display for LimitPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LimitPolicy::Required => f.write_str("required"),
            LimitPolicy::Optional => f.write_str("optional"),
            LimitPolicy::Forbidden => f.write_str("forbidden"),
            LimitPolicy::EqualToRequest => f.write_str("equal-to-request"),
            LimitPolicy::MaxRatio { milli } => {
                write!(
                    f,
                    "max-ratio:{}",
                    quantity::format_millicores(MilliCpu(*milli))
                )
            }
        }
    }
}

impl LimitPolicy {
    /// Parses `required | optional | forbidden | equal-to-request | max-ratio:<k>`.
    pub fn parse(s: &str) -> Result<LimitPolicy, String> {
        let t = s.trim();
        match t {
            "required" => Ok(LimitPolicy::Required),
            "optional" => Ok(LimitPolicy::Optional),
            "forbidden" => Ok(LimitPolicy::Forbidden),
            "equal-to-request" => Ok(LimitPolicy::EqualToRequest),
            _ => {
                let Some(k) = t.strip_prefix("max-ratio:") else {
                    return Err(format!(
                        "unknown limit policy {t:?} (expected required, optional, forbidden, equal-to-request or max-ratio:<k>, e.g. max-ratio:4)"
                    ));
                };
                match quantity::parse(k.trim()) {
                    Ok(q) if q.nanos >= 1_000_000_000 && !quantity::has_sub_milli_precision(&q) => {
                        Ok(LimitPolicy::MaxRatio {
                            milli: q.milli_value(),
                        })
                    }
                    _ => Err(format!(
                        "invalid ratio {k:?} in {t:?}: expected a number of at least 1, e.g. max-ratio:4 or max-ratio:1.5"
                    )),
                }
            }
        }
    }
}

/// One node shape.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeShape {
    /// Display name.
    pub name: String,
    /// How many nodes of this shape.
    pub count: u32,
    /// CPU capacity.
    pub capacity: MilliCpu,
    /// Allocatable CPU (capacity minus system/kube reserved; defaults to the capacity).
    pub allocatable: MilliCpu,
}

/// Throttling-risk settings (rule KCPU015).
#[derive(Debug, Clone, PartialEq)]
pub struct ThrottlingPolicy {
    /// Warn when the predicted fraction of throttled periods exceeds this percentage.
    pub threshold_percent: f64,
    /// Load profile for containers without a `kcpu.dev/load` annotation (none: not checked).
    pub default_load: Option<String>,
}

impl Default for ThrottlingPolicy {
    fn default() -> Self {
        ThrottlingPolicy {
            threshold_percent: DEFAULT_THROTTLING_PERCENT,
            default_load: None,
        }
    }
}

/// A rule's setting from the policy file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RuleSetting {
    /// False when turned `off`.
    pub enabled: bool,
    /// Severity override.
    pub severity: Option<Severity>,
}

/// A name pattern with `*` (any run) and `?` (one character) wildcards.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pattern(pub String);

impl Pattern {
    /// True when `text` matches the whole pattern.
    pub fn matches(&self, text: &str) -> bool {
        glob(self.0.as_bytes(), text.as_bytes())
    }
}

fn glob(p: &[u8], t: &[u8]) -> bool {
    // Iterative matcher with single backtracking point (classic wildcard algorithm).
    let (mut pi, mut ti) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && (p[pi] == b'?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == b'*' {
            star = Some((pi, ti));
            pi += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    while pi < p.len() && p[pi] == b'*' {
        pi += 1;
    }
    pi == p.len()
}

/// A label requirement: `key` (present) or `key=value-pattern`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabelMatch {
    /// Label key (exact).
    pub key: String,
    /// Value pattern; `None` matches any value.
    pub value: Option<Pattern>,
}

/// Which workloads an `include` or `exclude` block names.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Selector {
    /// Namespace patterns.
    pub namespaces: Vec<Pattern>,
    /// Kind patterns.
    pub kinds: Vec<Pattern>,
    /// Object name patterns.
    pub names: Vec<Pattern>,
    /// Label requirements (object labels, then pod template labels).
    pub labels: Vec<LabelMatch>,
    /// Path patterns of the file the workload comes from (see [`path_matches`]).
    pub paths: Vec<Pattern>,
}

/// True when `pattern` matches `path` (a leading `./` ignored) or any tail of it that starts
/// after a `/`, as `.gitignore` patterns do: `vendor/*` matches `vendor/a.yaml` and
/// `repo/vendor/b/c.yaml`. `*` and `?` also match `/`.
pub fn path_matches(pattern: &Pattern, path: &str) -> bool {
    let path = path.trim_start_matches("./");
    let pat = Pattern(
        pattern
            .0
            .trim_start_matches("./")
            .trim_start_matches('/')
            .to_string(),
    );
    pat.matches(path)
        || (!pattern.0.starts_with('/')
            && path
                .match_indices('/')
                .any(|(i, _)| pat.matches(&path[i + 1..])))
}

impl Selector {
    /// True when no list is set.
    pub fn is_empty(&self) -> bool {
        self.namespaces.is_empty()
            && self.kinds.is_empty()
            && self.names.is_empty()
            && self.labels.is_empty()
            && self.paths.is_empty()
    }

    fn label_hits(&self, w: &Workload) -> impl Iterator<Item = bool> + '_ {
        let (a, b) = (
            w.metadata.labels.clone(),
            w.template_metadata.labels.clone(),
        );
        self.labels.iter().map(move |l| {
            [&a, &b].iter().any(|m| {
                m.get(&l.key)
                    .is_some_and(|v| l.value.as_ref().is_none_or(|p| p.matches(v)))
            })
        })
    }

    /// Include semantics: every non-empty list must have a match (lists are AND-ed, entries
    /// within a list OR-ed).
    pub fn includes(&self, w: &Workload, path: &str) -> bool {
        let any = |ps: &[Pattern], v: &str| ps.is_empty() || ps.iter().any(|p| p.matches(v));
        (self.paths.is_empty() || self.paths.iter().any(|p| path_matches(p, path)))
            && any(&self.namespaces, w.namespace())
            && any(&self.kinds, &w.kind)
            && any(&self.names, &w.metadata.name)
            && (self.labels.is_empty() || self.label_hits(w).any(|h| h))
    }

    /// Exclude semantics: any single entry of any list that matches excludes the workload.
    pub fn excludes(&self, w: &Workload, path: &str) -> bool {
        let any = |ps: &[Pattern], v: &str| ps.iter().any(|p| p.matches(v));
        self.paths.iter().any(|p| path_matches(p, path))
            || any(&self.namespaces, w.namespace())
            || any(&self.kinds, &w.kind)
            || any(&self.names, &w.metadata.name)
            || self.label_hits(w).any(|h| h)
    }
}

/// The parsed policy.
#[derive(Debug, Clone, PartialEq)]
pub struct Policy {
    /// Default for `--fail-on` (the command line wins).
    pub fail_on: Option<Severity>,
    /// CPU-limit policy (KCPU002).
    pub limits: LimitPolicy,
    /// Largest sensible CPU value (KCPU007).
    pub max_cpu: MilliCpu,
    /// The kubelet's CFS period (KCPU009, KCPU015).
    pub cfs_period: PeriodUs,
    /// CPU manager policy of the nodes (KCPU011).
    pub cpu_manager: CpuManagerPolicy,
    /// Kubernetes release of the cluster (default: kcpu's default target).
    pub kubernetes: Option<KubeVersion>,
    /// Node shapes (KCPU011); empty: the rule cannot run.
    pub nodes: Vec<NodeShape>,
    /// Throttling-risk settings (KCPU015).
    pub throttling: ThrottlingPolicy,
    /// Per-rule settings by rule id.
    pub rules: BTreeMap<&'static str, RuleSetting>,
    /// Only workloads matching this are checked (empty: all).
    pub include: Selector,
    /// Workloads matching this are skipped.
    pub exclude: Selector,
    /// Where path patterns are anchored besides the path as given (set by the CLI from the
    /// policy file's location; `None` for a policy without a file).
    pub anchor: Option<PathAnchor>,
}

/// `.gitignore`-style anchoring of the policy's path patterns: a pattern is matched against
/// the input's path as given and against its path relative to the policy file's directory, so
/// `exclude: {paths: ["/deploy/vendor/*"]}` holds whichever directory kcpu runs in. Plain text;
/// the CLI, which knows the directories, fills it in.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PathAnchor {
    /// The policy file's directory, absolute (`/repo`).
    pub policy_dir: String,
    /// The working directory relative to it (`deploy` when kcpu runs in `/repo/deploy`, empty
    /// in `/repo`); `None` when the working directory is outside it.
    pub cwd_in_policy_dir: Option<String>,
}

impl PathAnchor {
    /// `path` (absolute, or relative to the working directory) relative to the policy file's
    /// directory, when it is inside it.
    pub fn relative(&self, path: &str) -> Option<String> {
        let (base, rest) = match path.strip_prefix('/') {
            Some(abs) => ("", abs),
            None => (self.cwd_in_policy_dir.as_deref()?, path),
        };
        let mut parts: Vec<&str> = Vec::new();
        for part in base.split('/').chain(rest.split('/')) {
            match part {
                "" | "." => {}
                // Lexically, as the path was given: `..` leaving the directory is outside it.
                ".." => {
                    parts.pop()?;
                }
                p => parts.push(p),
            }
        }
        let joined = parts.join("/");
        if !path.starts_with('/') {
            return Some(joined);
        }
        let dir = self.policy_dir.trim_matches('/');
        if dir.is_empty() {
            return Some(joined);
        }
        joined
            .strip_prefix(dir)?
            .strip_prefix('/')
            .map(str::to_string)
    }
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            fail_on: None,
            limits: LimitPolicy::Optional,
            max_cpu: DEFAULT_MAX_CPU,
            cfs_period: PeriodUs::DEFAULT,
            cpu_manager: CpuManagerPolicy::None,
            kubernetes: None,
            nodes: Vec::new(),
            throttling: ThrottlingPolicy::default(),
            rules: BTreeMap::new(),
            include: Selector::default(),
            exclude: Selector::default(),
            anchor: None,
        }
    }
}

impl Policy {
    /// Whether rule `id` runs.
    pub fn enabled(&self, id: &str) -> bool {
        self.rules.get(id).is_none_or(|s| s.enabled)
    }

    /// The severity of rule `id` (override or the rule's default).
    pub fn severity(&self, id: &str, default: Severity) -> Severity {
        self.rules
            .get(id)
            .and_then(|s| s.severity)
            .unwrap_or(default)
    }

    /// True when the workload, read from the file `path`, is inside the include/exclude
    /// selection.
    pub fn selects(&self, w: &Workload, path: &str) -> bool {
        let relative = self.anchor.as_ref().and_then(|a| a.relative(path));
        let paths: Vec<&str> = std::iter::once(path).chain(relative.as_deref()).collect();
        (self.include.is_empty() || paths.iter().any(|p| self.include.includes(w, p)))
            && !paths.iter().any(|p| self.exclude.excludes(w, p))
    }

    /// The translation target the policy describes: its CFS period, CPU manager policy and
    /// Kubernetes release; everything else at kcpu's defaults.
    pub fn assumptions(&self) -> Assumptions {
        Assumptions {
            cfs_period: self.cfs_period,
            cpu_manager_policy: self.cpu_manager,
            kubernetes: self.kubernetes.unwrap_or(KubeVersion::DEFAULT),
            ..Assumptions::default()
        }
    }

    /// Total node count over the shapes (DaemonSet pods: one per node), at least 1.
    pub fn node_count(&self) -> u32 {
        self.nodes.iter().map(|n| n.count).sum::<u32>().max(1)
    }

    /// The largest allocatable CPU over the node shapes.
    pub fn largest_node(&self) -> Option<&NodeShape> {
        self.nodes
            .iter()
            .max_by(|a, b| a.allocatable.cmp(&b.allocatable).then(b.name.cmp(&a.name)))
    }

    /// Parses a policy file.
    pub fn from_yaml(text: &str) -> Result<Policy, PolicyError> {
        let raw: Option<RawPolicy> = serde_saphyr::from_str(text).map_err(|e| yaml_error(&e))?;
        match raw {
            Some(raw) => raw.into_policy(),
            None => Ok(Policy::default()),
        }
    }
}

fn yaml_error(e: &serde_saphyr::Error) -> PolicyError {
    let message = crate::manifest::yaml_error_message(e);
    let (line, column) = e
        .location()
        .map_or((0, 0), |l| (l.line() as usize, l.column() as usize));
    PolicyError {
        line,
        column,
        // In the user's terms: no configuration names of the YAML library.
        message: crate::manifest::plain_yaml_message(&message),
    }
}

type S = Spanned<String>;

fn err_at<T>(s: &Spanned<T>, message: impl Into<String>) -> PolicyError {
    PolicyError {
        line: s.referenced.line() as usize,
        column: s.referenced.column() as usize,
        message: message.into(),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawPolicy {
    #[serde(default)]
    fail_on: Option<S>,
    #[serde(default)]
    limits: Option<S>,
    #[serde(default)]
    max_cpu: Option<S>,
    #[serde(default)]
    cfs_period: Option<S>,
    #[serde(default)]
    cpu_manager_policy: Option<S>,
    #[serde(default)]
    kubernetes: Option<S>,
    #[serde(default)]
    nodes: Option<Spanned<RawNodes>>,
    #[serde(default)]
    throttling: Option<RawThrottling>,
    #[serde(default)]
    rules: Option<crate::manifest::raw::Pairs<S, S>>,
    #[serde(default)]
    include: Option<RawSelector>,
    #[serde(default)]
    exclude: Option<RawSelector>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawNode {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    count: Option<S>,
    cpu: S,
    #[serde(default)]
    allocatable: Option<S>,
}

/// `nodes:` as a list of shapes or as the `--nodes` text (`"3x8cpu,2x16cpu"`).
enum RawNodes {
    /// `COUNTxCPU` shapes separated by commas.
    Text(String),
    /// `{name, count, cpu, allocatable}` entries.
    List(Vec<Spanned<RawNode>>),
}

impl<'de> Deserialize<'de> for RawNodes {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = RawNodes;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a list of node shapes or a string such as \"3x8cpu,2x16cpu\"")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<RawNodes, E> {
                Ok(RawNodes::Text(v.to_string()))
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<RawNodes, A::Error> {
                let mut v = Vec::new();
                while let Some(n) = seq.next_element::<Spanned<RawNode>>()? {
                    v.push(n);
                }
                Ok(RawNodes::List(v))
            }
        }
        d.deserialize_any(V)
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawThrottling {
    #[serde(default)]
    threshold: Option<S>,
    #[serde(default)]
    load: Option<S>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawSelector {
    #[serde(default)]
    namespaces: Vec<String>,
    #[serde(default)]
    kinds: Vec<String>,
    #[serde(default)]
    names: Vec<String>,
    #[serde(default)]
    labels: Option<RawLabels>,
    #[serde(default)]
    paths: Vec<String>,
}

/// `labels:` as a list of `key` / `key=value` strings or as a `key: value` mapping.
#[derive(Deserialize)]
#[serde(untagged)]
enum RawLabels {
    List(Vec<String>),
    Map(BTreeMap<String, String>),
}

fn cpu_value(s: &S, what: &str) -> Result<MilliCpu, PolicyError> {
    match quantity::parse_manifest(&s.value) {
        Ok(q) if !q.is_negative() && !q.is_zero() => Ok(q.millicpu()),
        Ok(_) => Err(err_at(s, format!("{what} must be more than 0"))),
        Err(e) => Err(err_at(
            s,
            format!(
                "invalid {what} {:?}: {}{}",
                s.value,
                e.reason,
                e.hint.map(|h| format!(" ({h})")).unwrap_or_default()
            ),
        )),
    }
}

impl RawSelector {
    fn into_selector(self) -> Selector {
        let pats = |v: Vec<String>| v.into_iter().map(Pattern).collect();
        let labels = match self.labels {
            None => Vec::new(),
            Some(RawLabels::List(v)) => v
                .into_iter()
                .map(|s| match s.split_once('=') {
                    Some((k, v)) => LabelMatch {
                        key: k.trim().to_string(),
                        value: Some(Pattern(v.trim().to_string())),
                    },
                    None => LabelMatch {
                        key: s.trim().to_string(),
                        value: None,
                    },
                })
                .collect(),
            Some(RawLabels::Map(m)) => m
                .into_iter()
                .map(|(k, v)| LabelMatch {
                    key: k,
                    value: Some(Pattern(v)),
                })
                .collect(),
        };
        Selector {
            namespaces: pats(self.namespaces),
            kinds: pats(self.kinds),
            names: pats(self.names),
            labels,
            paths: pats(self.paths),
        }
    }
}

/// One `nodes:` entry: capacity, allocatable (at most the capacity) and count (at least 1).
fn node_shape(i: usize, node: &RawNode) -> Result<NodeShape, PolicyError> {
    let capacity = cpu_value(&node.cpu, "node cpu")?;
    let allocatable = match &node.allocatable {
        Some(a) => cpu_value(a, "node allocatable")?,
        None => capacity,
    };
    if allocatable > capacity {
        return Err(err_at(
            node.allocatable.as_ref().unwrap_or(&node.cpu),
            "node allocatable is larger than its cpu capacity",
        ));
    }
    let count = match &node.count {
        Some(c) => match c.value.trim().parse::<u32>() {
            Ok(v) if v > 0 => v,
            _ => {
                return Err(err_at(
                    c,
                    format!(
                        "node count {:?} must be a whole number of at least 1",
                        c.value
                    ),
                ))
            }
        },
        None => 1,
    };
    Ok(NodeShape {
        name: node
            .name
            .clone()
            .unwrap_or_else(|| format!("node-shape-{}", i + 1)),
        count,
        capacity,
        allocatable,
    })
}

/// The `throttling:` section: threshold percentage and default load profile.
fn throttling(t: RawThrottling) -> Result<ThrottlingPolicy, PolicyError> {
    let mut out = ThrottlingPolicy::default();
    if let Some(s) = t.threshold {
        let v = s.value.trim();
        let num = v.strip_suffix('%').unwrap_or(v).trim();
        match num.parse::<f64>() {
            Ok(x) if (0.0..=100.0).contains(&x) => out.threshold_percent = x,
            _ => {
                return Err(err_at(
                    &s,
                    format!(
                        "invalid throttling threshold {v:?} (expected a percentage between 0 and 100, e.g. 25%)"
                    ),
                ))
            }
        }
    }
    if let Some(s) = t.load {
        if let Err(e) = crate::sim::load::parse_load(&s.value) {
            return Err(err_at(&s, format!("invalid throttling load profile: {e}")));
        }
        out.default_load = Some(s.value);
    }
    Ok(out)
}

/// One `rules:` entry: a configurable rule (by id or name) and its setting.
fn rule_setting(k: &S, v: &S) -> Result<(&'static str, RuleSetting), PolicyError> {
    let Some(rule) = rules::lookup(&k.value) else {
        return Err(err_at(
            k,
            format!(
                "unknown rule {:?} (run `kcpu check --list-rules` for the ids and names)",
                k.value
            ),
        ));
    };
    if !rule.meta.configurable {
        return Err(err_at(
            k,
            format!(
                "rule {} ({}) cannot be configured",
                rule.meta.id, rule.meta.name
            ),
        ));
    }
    let setting = match v.value.trim().to_ascii_lowercase().as_str() {
        "off" | "false" | "disabled" => RuleSetting {
            enabled: false,
            severity: None,
        },
        "on" | "true" | "enabled" => RuleSetting {
            enabled: true,
            severity: None,
        },
        other => match other.parse::<Severity>() {
            Ok(sev) => RuleSetting {
                enabled: true,
                severity: Some(sev),
            },
            Err(_) => {
                return Err(err_at(
                    v,
                    format!(
                        "invalid setting {:?} for {} (expected off, on, info, warning or error)",
                        v.value, rule.meta.id
                    ),
                ))
            }
        },
    };
    Ok((rule.meta.id, setting))
}

impl RawPolicy {
    fn into_policy(self) -> Result<Policy, PolicyError> {
        let mut p = Policy::default();
        if let Some(s) = self.fail_on {
            p.fail_on = Some(
                s.value
                    .parse::<Severity>()
                    .map_err(|e| err_at(&s, e.to_string()))?,
            );
        }
        if let Some(s) = self.limits {
            p.limits = LimitPolicy::parse(&s.value).map_err(|m| err_at(&s, m))?;
        }
        if let Some(s) = self.max_cpu {
            p.max_cpu = cpu_value(&s, "max-cpu")?;
        }
        if let Some(s) = self.cfs_period {
            let ns = parse_duration(&s.value).map_err(|e| err_at(&s, e.to_string()))?;
            let us = ns.0 / 1_000;
            if ns.0 % 1_000 != 0 || !(PeriodUs::MIN.0..=PeriodUs::MAX.0).contains(&us) {
                return Err(err_at(
                    &s,
                    format!(
                        "cfs-period {:?} must be a whole number of microseconds between 1ms and 1s (kubelet validation of cpuCFSQuotaPeriod)",
                        s.value
                    ),
                ));
            }
            p.cfs_period = PeriodUs(us);
        }
        if let Some(s) = self.cpu_manager_policy {
            p.cpu_manager = s
                .value
                .parse()
                .map_err(|e: ProfileError| err_at(&s, e.to_string()))?;
        }
        if let Some(s) = self.kubernetes {
            p.kubernetes = Some(
                s.value
                    .parse()
                    .map_err(|e: ProfileError| err_at(&s, e.to_string()))?,
            );
        }
        let listed = match self.nodes {
            None => Vec::new(),
            Some(sp) => {
                let at = err_at(&sp, "");
                match sp.value {
                    RawNodes::List(v) => v,
                    RawNodes::Text(t) => {
                        let shapes =
                            crate::capacity::parse_nodes(&t, MilliCpu(0)).map_err(|e| {
                                PolicyError {
                                    message: e.to_string(),
                                    ..at
                                }
                            })?;
                        p.nodes = shapes
                            .into_iter()
                            .map(|n| NodeShape {
                                name: n.name,
                                count: n.count,
                                capacity: MilliCpu(n.capacity_millicores),
                                allocatable: MilliCpu(n.allocatable_millicores),
                            })
                            .collect();
                        Vec::new()
                    }
                }
            }
        };
        for (i, n) in listed.into_iter().enumerate() {
            p.nodes.push(node_shape(i, &n.value)?);
        }
        if let Some(t) = self.throttling {
            p.throttling = throttling(t)?;
        }
        for (k, v) in self.rules.map(|r| r.0).unwrap_or_default() {
            let (id, setting) = rule_setting(&k, &v)?;
            p.rules.insert(id, setting);
        }
        if let Some(s) = self.include {
            p.include = s.into_selector();
        }
        if let Some(s) = self.exclude {
            p.exclude = s.into_selector();
        }
        Ok(p)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn glob_patterns() {
        let p = |s: &str| Pattern(s.into());
        assert!(p("debug-*").matches("debug-shell"));
        assert!(p("*").matches(""));
        assert!(p("a?c").matches("abc"));
        assert!(!p("a?c").matches("ac"));
        assert!(p("*-prod-*").matches("x-prod-y"));
        assert!(!p("team-*").matches("shop"));
        assert!(p("kube-system").matches("kube-system"));
    }

    #[test]
    fn limit_policy_parsing() {
        assert_eq!(LimitPolicy::parse("forbidden"), Ok(LimitPolicy::Forbidden));
        assert_eq!(
            LimitPolicy::parse("max-ratio:1.5"),
            Ok(LimitPolicy::MaxRatio { milli: 1500 })
        );
        assert!(LimitPolicy::parse("max-ratio:0.5").is_err());
        assert!(LimitPolicy::parse("max-ratio:").is_err());
        assert!(LimitPolicy::parse("sometimes").is_err());
        assert_eq!(
            LimitPolicy::MaxRatio { milli: 1500 }.to_string(),
            "max-ratio:1500m"
        );
    }

    fn workloads(text: &str) -> Vec<Workload> {
        let l = crate::manifest::load_source(
            crate::source::SourceId(0),
            text,
            &crate::manifest::LoadOptions::default(),
        );
        l.workloads().cloned().collect()
    }

    #[test]
    fn include_and_exclude_select_workloads() {
        let ws = workloads(
            "kind: Deployment\nmetadata: {name: web, namespace: shop, labels: {tier: front}}\nspec: {template: {spec: {containers: [{name: a}]}}}\n---\nkind: Job\nmetadata: {name: debug-1, namespace: shop}\nspec: {template: {metadata: {labels: {tier: experimental}}, spec: {containers: [{name: a}]}}}\n---\nkind: Pod\nmetadata: {name: dns, namespace: kube-system}\nspec: {containers: [{name: a}]}\n",
        );
        assert_eq!(ws.len(), 3);
        let names = |p: &Policy| -> Vec<String> {
            ws.iter()
                .filter(|w| p.selects(w, "k8s/shop.yaml"))
                .map(|w| w.metadata.name.clone())
                .collect()
        };
        let p = Policy::from_yaml("exclude: {namespaces: [kube-*]}").unwrap();
        assert_eq!(names(&p), ["web", "debug-1"]);
        // Paths and globs: the file the workloads come from.
        let p = Policy::from_yaml("exclude: {paths: [\"shop.yaml\"]}").unwrap();
        assert!(names(&p).is_empty());
        let p = Policy::from_yaml("exclude: {paths: [\"vendor/*\"]}").unwrap();
        assert_eq!(names(&p).len(), 3);
        let p = Policy::from_yaml("include: {paths: [\"k8s/*.yaml\"]}").unwrap();
        assert_eq!(names(&p).len(), 3);
        for (pat, path, hit) in [
            ("vendor/*", "vendor/a.yaml", true),
            ("vendor/*", "./repo/vendor/b/c.yaml", true),
            ("vendor/*", "src/vendors.yaml", false),
            ("/vendor/*", "repo/vendor/a.yaml", false),
            ("/vendor/*", "vendor/a.yaml", true),
            ("*.yaml", "deep/dir/x.yaml", true),
            ("charts/*/templates/*", "charts/web/templates/d.yaml", true),
        ] {
            assert_eq!(
                path_matches(&Pattern(pat.into()), path),
                hit,
                "{pat} {path}"
            );
        }
        let p = Policy::from_yaml("exclude: {names: [\"debug-*\"]}").unwrap();
        assert_eq!(names(&p), ["web", "dns"]);
        // Pod template labels count too; both list and map forms.
        let p = Policy::from_yaml("exclude: {labels: [tier=experimental]}").unwrap();
        assert_eq!(names(&p), ["web", "dns"]);
        let p = Policy::from_yaml("include: {labels: {tier: front}}").unwrap();
        assert_eq!(names(&p), ["web"]);
        // Include lists are AND-ed across kinds of selector, OR-ed within one.
        let p = Policy::from_yaml("include: {namespaces: [shop], kinds: [Job, Pod]}").unwrap();
        assert_eq!(names(&p), ["debug-1"]);
        let p =
            Policy::from_yaml("include: {namespaces: [shop]}\nexclude: {kinds: [Job]}").unwrap();
        assert_eq!(names(&p), ["web"]);
        let p = Policy::from_yaml("exclude: {labels: [tier]}").unwrap();
        assert_eq!(names(&p), ["dns"]);
    }

    #[test]
    fn full_policy_parses() {
        let p = Policy::from_yaml(
            "fail-on: warning\nlimits: equal-to-request\nmax-cpu: 64\ncfs-period: 10ms\ncpu-manager-policy: static\nkubernetes: \"1.33\"\nnodes:\n  - {name: big, count: 2, cpu: 16, allocatable: 15.5}\n  - {cpu: 4}\nthrottling: {threshold: 10%, load: \"spin:threads=2\"}\nrules: {KCPU013: off, limit-below-request: warning}\n",
        )
        .unwrap();
        assert_eq!(p.fail_on, Some(Severity::Warning));
        assert_eq!(p.limits, LimitPolicy::EqualToRequest);
        assert_eq!(p.max_cpu, MilliCpu(64_000));
        assert_eq!(p.cfs_period, PeriodUs(10_000));
        assert_eq!(p.cpu_manager, CpuManagerPolicy::Static);
        assert_eq!(p.kubernetes, Some(KubeVersion::new(33)));
        assert_eq!(
            p.largest_node().map(|n| n.allocatable),
            Some(MilliCpu(15_500))
        );
        assert_eq!(p.nodes[1].name, "node-shape-2");
        // The `--nodes` text form is accepted too.
        let q = Policy::from_yaml("nodes: \"3x8cpu, 2x16cpu\"\n").unwrap();
        assert_eq!(q.nodes.len(), 2);
        assert_eq!((q.nodes[0].count, q.nodes[0].capacity), (3, MilliCpu(8000)));
        assert_eq!(q.nodes[1].allocatable, MilliCpu(16000));
        let e = Policy::from_yaml("rules: {}\nnodes: \"3x\"\n").unwrap_err();
        assert_eq!((e.line, e.column), (2, 8), "{e:?}");
        assert!(e.message.contains("3x8cpu"), "{}", e.message);
        assert_eq!(p.node_count(), 3);
        assert_eq!(p.throttling.threshold_percent, 10.0);
        assert!(!p.enabled("KCPU013"));
        assert_eq!(p.severity("KCPU009", Severity::Error), Severity::Warning);
        let a = p.assumptions();
        assert_eq!(a.cfs_period, PeriodUs(10_000));
        assert_eq!(a.cpu_manager_policy, CpuManagerPolicy::Static);
    }

    #[test]
    fn empty_file_is_the_default_policy() {
        assert_eq!(Policy::from_yaml(""), Ok(Policy::default()));
        assert_eq!(Policy::from_yaml("# nothing\n"), Ok(Policy::default()));
    }

    #[test]
    fn errors_carry_positions() {
        let e = Policy::from_yaml("limits: optional\nmax-cpus: 3\n").unwrap_err();
        assert_eq!(e.line, 2, "{e}");
        assert!(e.message.contains("max-cpus"), "{e}");
        let e = Policy::from_yaml("rules:\n  KCPU999: off\n").unwrap_err();
        assert_eq!((e.line, e.column), (2, 3), "{e}");
        let e = Policy::from_yaml("limits:   sometimes\n").unwrap_err();
        assert_eq!((e.line, e.column), (1, 11), "{e}");
        let e = Policy::from_yaml("rules: {KCPU002: loud}\n").unwrap_err();
        assert_eq!(e.line, 1, "{e}");
        assert!(e.message.contains("loud"), "{e}");
    }

    /// Path patterns hold relative to the policy file's directory, whichever directory kcpu
    /// runs in, and for absolute input paths.
    #[test]
    fn path_patterns_are_anchored_at_the_policy_directory() {
        let a = PathAnchor {
            policy_dir: "/repo".into(),
            cwd_in_policy_dir: Some("deploy".into()),
        };
        assert_eq!(
            a.relative("./sub/x.yaml").as_deref(),
            Some("deploy/sub/x.yaml")
        );
        assert_eq!(
            a.relative("/repo/deploy/x.yaml").as_deref(),
            Some("deploy/x.yaml")
        );
        assert_eq!(a.relative("/repository/x.yaml"), None);
        assert_eq!(a.relative("../x.yaml").as_deref(), Some("x.yaml"));
        assert_eq!(a.relative("../../x.yaml"), None);
        assert_eq!(
            a.relative("/repo/./deploy/../x.yaml").as_deref(),
            Some("x.yaml")
        );
        let top = PathAnchor {
            cwd_in_policy_dir: Some(String::new()),
            ..a.clone()
        };
        assert_eq!(top.relative("x.yaml").as_deref(), Some("x.yaml"));
        let outside = PathAnchor {
            cwd_in_policy_dir: None,
            ..a.clone()
        };
        assert_eq!(outside.relative("x.yaml"), None);

        let ws = workloads("kind: Pod\nmetadata: {name: p}\nspec: {containers: [{name: a}]}\n");
        let mut p = Policy::from_yaml("exclude: {paths: [\"/deploy/vendor/*\"]}").unwrap();
        assert!(
            p.selects(&ws[0], "vendor/x.yaml"),
            "no anchor: only the path as given"
        );
        p.anchor = Some(a);
        assert!(!p.selects(&ws[0], "vendor/x.yaml"));
        assert!(!p.selects(&ws[0], "/repo/deploy/vendor/x.yaml"));
        assert!(p.selects(&ws[0], "/repo/other/vendor/x.yaml"));
        let mut inc = Policy::from_yaml("include: {paths: [\"deploy/*.yaml\"]}").unwrap();
        inc.anchor = Some(top);
        assert!(inc.selects(&ws[0], "deploy/x.yaml"));
        assert!(!inc.selects(&ws[0], "other/x.yaml"));
    }
}
