//! The layout of a run (pure): a checked plan's cgroup names, the containers that have work
//! ("slots", the primary first) and the values whose period grid a run's start is aligned to.

use super::{Options, Plan, RunError, Work};
use crate::cgroupfs::{CgroupName, CpuLimits};
use std::ffi::OsString;

/// A container with work.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Slot {
    /// Index of its pod in the plan.
    pub pod: usize,
    /// Index of the container in its pod.
    pub container: usize,
    /// `pod/container` (sanitized names).
    pub path: String,
}

/// Where everything of a plan goes.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct RunLayout {
    /// Sanitized pod names, each with its containers' names.
    pub names: Vec<(CgroupName, Vec<CgroupName>)>,
    /// Containers with work in plan order; the first is the primary.
    pub slots: Vec<Slot>,
    /// The run is one command (`kcpu run -- CMD`), not loads.
    pub is_command: bool,
    /// The values whose period grid the start is aligned to: the primary container's when it
    /// has a quota, else its pod's when that has one, else none.
    pub edge_limits: Option<CpuLimits>,
}

impl RunLayout {
    /// Checks `plan` ([`check_plan`]) and lays it out.
    pub fn new(plan: &Plan, opts: &Options) -> Result<RunLayout, RunError> {
        let names = check_plan(plan, opts)?;
        let mut slots = Vec::new();
        for (pi, p) in plan.pods.iter().enumerate() {
            for (ci, c) in p.containers.iter().enumerate() {
                if c.work != Work::Idle {
                    slots.push(Slot {
                        pod: pi,
                        container: ci,
                        path: format!("{}/{}", names[pi].0, names[pi].1[ci]),
                    });
                }
            }
        }
        // check_plan guarantees at least one container with work.
        let primary = slots
            .first()
            .ok_or_else(|| RunError::Plan("nothing to run".into()))?;
        let primary_limits = plan.pods[primary.pod].containers[primary.container].limits;
        let pod_limits = plan.pods[primary.pod].limits;
        let edge_limits = [primary_limits, pod_limits]
            .into_iter()
            .find(CpuLimits::is_limited);
        let is_command = slots.iter().any(|s| {
            matches!(
                plan.pods[s.pod].containers[s.container].work,
                Work::Command(_)
            )
        });
        Ok(RunLayout {
            names,
            slots,
            is_command,
            edge_limits,
        })
    }

    /// The group path (pod, container) of container `ci` of pod `pi`.
    pub fn group_names(&self, pi: usize, ci: usize) -> [CgroupName; 2] {
        [self.names[pi].0.clone(), self.names[pi].1[ci].clone()]
    }

    /// The command of a command run.
    pub fn command<'p>(&self, plan: &'p Plan) -> Option<&'p [OsString]> {
        let s = self.slots.first()?;
        match &plan.pods[s.pod].containers[s.container].work {
            Work::Command(argv) if self.is_command => Some(argv),
            _ => None,
        }
    }
}

/// Checks and sanitizes a plan: names, values, exactly one primary, a command only alone.
pub(crate) fn check_plan(
    plan: &Plan,
    opts: &Options,
) -> Result<Vec<(CgroupName, Vec<CgroupName>)>, RunError> {
    let mut names = Vec::new();
    let mut working = 0;
    let mut commands = 0;
    for p in &plan.pods {
        p.limits.validate()?;
        let pn = CgroupName::sanitize(&p.name)?;
        let mut cs = Vec::new();
        for c in &p.containers {
            c.limits.validate()?;
            let cn = CgroupName::sanitize(&c.name)?;
            if cs.contains(&cn) {
                return Err(RunError::Plan(format!(
                    "two containers named {cn} in pod {pn}"
                )));
            }
            cs.push(cn);
            match &c.work {
                Work::Idle => {}
                Work::Load(_) => working += 1,
                Work::Command(argv) => {
                    if argv.is_empty() {
                        return Err(RunError::Plan("empty command".into()));
                    }
                    working += 1;
                    commands += 1;
                }
            }
        }
        if names.iter().any(|(n, _)| n == &pn) {
            return Err(RunError::Plan(format!("two pods named {pn}")));
        }
        names.push((pn, cs));
    }
    if working == 0 {
        return Err(RunError::Plan(
            "nothing to run: give a --load or a command".into(),
        ));
    }
    if commands > 0 && working > 1 {
        return Err(RunError::Plan(
            "a command runs alone (no other loads in the same run)".into(),
        ));
    }
    if opts.duration.0 == 0 || opts.interval.0 < 1_000_000 {
        return Err(RunError::Plan(
            "duration must be > 0 and interval ≥ 1ms".into(),
        ));
    }
    CgroupName::parent(&opts.parent)?;
    Ok(names)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cpu::CpuMax;
    use crate::runner::{ContainerPlan, PodPlan};
    use crate::sim::load::parse_load;
    use crate::units::{PeriodUs, QuotaUs};

    fn limited(quota_us: i64, period_us: u64) -> CpuLimits {
        CpuLimits {
            max: CpuMax {
                quota: QuotaUs(quota_us),
                period: PeriodUs(period_us),
            },
            ..CpuLimits::default()
        }
    }

    fn c(name: &str, limits: CpuLimits, work: Work) -> ContainerPlan {
        ContainerPlan {
            name: name.into(),
            limits,
            work,
        }
    }

    fn load() -> Work {
        Work::Load(parse_load("spin:threads=1").unwrap())
    }

    #[test]
    fn slots_skip_idle_containers_and_the_first_is_primary() {
        let plan = Plan {
            pods: vec![
                PodPlan {
                    name: "a b".into(),
                    limits: limited(50_000, 100_000),
                    containers: vec![
                        c("side", CpuLimits::default(), Work::Idle),
                        c("app", CpuLimits::default(), load()),
                    ],
                },
                PodPlan {
                    name: "q".into(),
                    limits: CpuLimits::default(),
                    containers: vec![c("w", limited(20_000, 50_000), load())],
                },
            ],
        };
        let l = RunLayout::new(&plan, &Options::default()).unwrap();
        let paths: Vec<&str> = l.slots.iter().map(|s| s.path.as_str()).collect();
        assert_eq!(paths.len(), 2);
        assert!(paths[0].ends_with("/app") && paths[1] == "q/w", "{paths:?}");
        assert_eq!((l.slots[0].pod, l.slots[0].container), (0, 1));
        // The primary has no quota: its pod's grid is used.
        assert_eq!(l.edge_limits, Some(limited(50_000, 100_000)));
        assert!(!l.is_command && l.command(&plan).is_none());
        assert_eq!(l.group_names(1, 0).map(|n| n.to_string()), ["q", "w"]);
    }

    #[test]
    fn the_primary_quota_wins_and_a_command_is_found() {
        let argv: Vec<OsString> = vec!["true".into()];
        let plan = Plan {
            pods: vec![PodPlan {
                name: "pod".into(),
                limits: limited(90_000, 100_000),
                containers: vec![c(
                    "main",
                    limited(10_000, 20_000),
                    Work::Command(argv.clone()),
                )],
            }],
        };
        let l = RunLayout::new(&plan, &Options::default()).unwrap();
        assert_eq!(l.edge_limits, Some(limited(10_000, 20_000)));
        assert!(l.is_command);
        assert_eq!(l.command(&plan), Some(argv.as_slice()));
        let unlimited = Plan {
            pods: vec![PodPlan {
                limits: CpuLimits::default(),
                containers: vec![c("main", CpuLimits::default(), load())],
                ..plan.pods[0].clone()
            }],
        };
        assert_eq!(
            RunLayout::new(&unlimited, &Options::default())
                .unwrap()
                .edge_limits,
            None
        );
    }

    #[test]
    fn bad_plans_are_refused() {
        let opts = Options::default();
        let pod = |containers| Plan {
            pods: vec![PodPlan {
                name: "p".into(),
                limits: CpuLimits::default(),
                containers,
            }],
        };
        let idle = pod(vec![c("a", CpuLimits::default(), Work::Idle)]);
        let twice = pod(vec![
            c("a", CpuLimits::default(), load()),
            c("a", CpuLimits::default(), load()),
        ]);
        let mixed = pod(vec![
            c("a", CpuLimits::default(), load()),
            c("b", CpuLimits::default(), Work::Command(vec!["x".into()])),
        ]);
        let empty = pod(vec![c("a", CpuLimits::default(), Work::Command(vec![]))]);
        for p in [idle, twice, mixed, empty] {
            assert!(matches!(RunLayout::new(&p, &opts), Err(RunError::Plan(_))));
        }
    }
}
