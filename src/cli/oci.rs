//! `kcpu run --oci runc|crun` (I/O shell): detect the runtime, pick the matching `--runtime`
//! preset for the translation, build each container's `linux.resources.cpu`, and sweep what
//! dead runs left in the runtime's state and in every cgroup hierarchy.
#![allow(clippy::print_stderr)]

use super::assume::AssumptionArgs;
use crate::cgroupfs::{CgroupName, RealFs};
use crate::cpu::{CgroupVersion as Version, CpuShare as Share};
use crate::profile::{CgroupDriver, CgroupVersion};
use crate::runner::oci::{find_program, sweep_stale, OciBackend, OciRuntime, Swept};
use crate::translate::oci::{predict, LinuxCpu};
use crate::units::{Shares, Weight};
use anyhow::{bail, Context};
use std::collections::BTreeMap;
use std::path::Path;

/// Detects `name` (a program on PATH or a path), says which preset it maps to, and makes
/// the translation use that preset with the cgroupfs driver (kcpu hands the runtime a
/// cgroupfs path).
pub fn detect(
    name: &str,
    state_dir: &Path,
    assume: &mut AssumptionArgs,
) -> anyhow::Result<OciRuntime> {
    let rt = OciRuntime::detect(Path::new(name), state_dir).with_context(|| {
        format!("--oci {name}: install it (apt-get install {name}) or give its path")
    })?;
    eprintln!(
        "kcpu run: --oci {name:?}: {} → --runtime {} (driver cgroupfs){}",
        rt.version,
        rt.preset,
        if rt.hide_unified {
            "; crun runs in a private mount namespace without the hybrid cgroup2 mount"
        } else {
            ""
        }
    );
    assume.runtime = rt.preset.to_string();
    assume.driver = CgroupDriver::Cgroupfs.to_string();
    Ok(rt)
}

/// The spec for the direct-flag form: `--shares` (the runtime converts it on v2), `--quota`,
/// `--period`, `--burst`, `--idle`. `--weight` has no OCI field.
pub fn direct_spec(
    shares: Option<u64>,
    weight: Option<u64>,
    quota_us: i64,
    period_us: u64,
    burst_us: Option<u64>,
    idle: bool,
) -> anyhow::Result<LinuxCpu> {
    if weight.is_some() {
        bail!("--weight cannot be used with --oci: the OCI spec carries shares (give --shares; the runtime converts them to cpu.weight on cgroup v2)");
    }
    Ok(LinuxCpu {
        shares,
        quota: Some(quota_us),
        burst: burst_us,
        period: Some(period_us),
        cpus: None,
        idle: idle.then_some(1),
    })
}

/// The share kcpu expects in the container group for the direct-flag form: the shares on v1,
/// the runtime's weight for them on v2.
pub fn expected_share(cpu: &LinuxCpu, rt: &OciRuntime, version: Version) -> Option<Share> {
    let s = cpu.shares?;
    match version {
        Version::V1 => Some(Share::Shares(Shares(s))),
        Version::V2 => predict(cpu, rt.preset, CgroupVersion::V2)
            .into_iter()
            .find(|f| f.file == crate::cpu::files::CPU_WEIGHT && !f.kernel_default)
            .and_then(|f| f.value.parse().ok())
            .map(|w| Share::Weight(Weight(w))),
    }
}

/// The backend for a plan whose primary container is `pod`/`container` with `cpu`.
pub fn backend(
    rt: OciRuntime,
    pod: &str,
    container: &str,
    cpu: LinuxCpu,
) -> anyhow::Result<OciBackend> {
    let key = format!(
        "{}/{}",
        CgroupName::sanitize(pod)?,
        CgroupName::sanitize(container)?
    );
    Ok(OciBackend {
        runtime: rt,
        specs: BTreeMap::from([(key, cpu)]),
    })
}

/// Deletes dead runs' containers and their cgroups in every hierarchy, and says so.
pub fn sweep(rt: &OciRuntime, parent: &str) -> anyhow::Result<Swept> {
    let s = sweep_stale(&RealFs, rt, &CgroupName::parent(parent)?);
    for id in &s.containers {
        eprintln!(
            "kcpu run: deleted container {id:?} of a dead kcpu run ({})",
            rt.version
        );
    }
    Ok(s)
}

/// `--cleanup`: the sweep for every runtime found on PATH.
pub fn sweep_installed(state_dir: &Path, parent: &str) -> Vec<Swept> {
    let mut out = Vec::new();
    for name in ["runc", "crun"] {
        let Some(p) = find_program(name) else {
            continue;
        };
        if let Ok(rt) = OciRuntime::detect(&p, state_dir) {
            if let Ok(s) = sweep(&rt, parent) {
                out.push(s);
            }
        }
    }
    out
}
