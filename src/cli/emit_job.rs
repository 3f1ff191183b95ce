//! `kcpu run --emit-job` (I/O shell): find the workload's raw pod spec in the manifests, build
//! the Job (and the trace ConfigMap) with [`crate::emit_job`], print them as YAML.
#![allow(clippy::print_stdout)]

use super::exit;
use super::pick;
use super::run::Args;
use crate::emit_job::{self, JobSettings, Target, TRACE_DIR};
use crate::manifest::split_documents;
use crate::sim::load::{parse_load, LoadProfile};
use anyhow::{bail, Context};
use std::collections::BTreeMap;
use std::io::Write;
use std::process::ExitCode;

/// Flags of `kcpu run` for `--emit-job`.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct EmitArgs {
    /// Print an indexed Kubernetes Job (one completion per run) whose pods carry the
    /// container's pod with its resources and measure it with `kcpu probe`, instead of running
    /// here.
    #[arg(long, requires = "image")]
    pub emit_job: bool,
    /// With --emit-job: the kcpu image (built from the repository's Containerfile).
    #[arg(long, value_name = "IMAGE")]
    pub image: Option<String>,
    /// With --emit-job: run id for the `kcpu.dev/run` label (default: derived from the inputs).
    #[arg(long, value_name = "ID")]
    pub run_id: Option<String>,
    /// With --emit-job: pods running at a time (default: all runs).
    #[arg(long, value_name = "N")]
    pub parallelism: Option<u32>,
    /// With --emit-job: pin the pods to nodes with this label (`KEY=VALUE`, repeatable) instead
    /// of spreading them over nodes.
    #[arg(long = "node-selector", value_name = "KEY=VALUE")]
    pub node_selector: Vec<String>,
    /// With --emit-job: delete the Job this long after it finished (seconds).
    #[arg(long, default_value_t = 86_400, value_name = "SECONDS")]
    pub ttl: u32,
}

/// The raw manifest object of `entry` and its `kind: List` index path, from the sources
/// [`pick::load`] read (its document is parsed again as a whole object, not read again from the
/// inputs).
fn raw_object(
    m: &pick::Manifests,
    entry: &pick::Entry,
) -> anyhow::Result<(serde_json::Value, Vec<usize>)> {
    let src = m
        .sources
        .get(entry.pod.span.source)
        .with_context(|| format!("{}: its source is gone", pick::label(&entry.pod)))?;
    let doc = entry.doc_index;
    let value = src.with_text(|text, _| -> anyhow::Result<serde_json::Value> {
        let docs = split_documents(text);
        let (_, text) = docs
            .get(doc)
            .with_context(|| format!("{}: document {doc} vanished", src.name))?;
        serde_saphyr::from_str(text)
            .with_context(|| format!("{}: re-reading document {doc}", src.name))
    })?;
    Ok((value, entry.list_path.clone()))
}

/// Prints the Job(s) for `args` (manifest mode only).
pub fn run(args: &Args) -> anyhow::Result<ExitCode> {
    let e = &args.emit;
    let image = e.image.clone().context("--emit-job needs --image")?;
    let Some(container) = args.pick.container.as_deref() else {
        bail!("--emit-job needs manifests and --container NAME");
    };
    if !args.command.is_empty() {
        bail!("--emit-job runs the built-in load (kcpu probe), not a command");
    }
    let m = pick::load(&args.inputs, &args.assume)?;
    let (entry, c) = pick::pick(&m, args.pick.workload.as_deref(), container)?;
    let load_text = match (&args.load, entry.declared_load(&c.name)) {
        (Some(l), _) => l.clone(),
        (None, Some(d)) => d.text,
        (None, None) => bail!(
            "nothing to run: give --load PROFILE ({} has no {}{} annotation)",
            pick::label(&entry.pod),
            pick::LOAD_ANNOTATION_PREFIX,
            c.name
        ),
    };
    let (load, trace) = job_load(&load_text)?;
    let (raw, list_path) = raw_object(&m, entry)?;
    let pod = emit_job::pod_spec(&raw, &list_path)
        .with_context(|| format!("{}: no pod spec", pick::label(&entry.pod)))?;
    let namespace = namespace_of(&raw, &list_path);
    let runs = args.runs.unwrap_or(1).max(1);
    let duration_s = args.duration.0.div_ceil(1_000_000_000).max(1);
    let node_selector = node_selector(&e.node_selector)?;
    let run_id = match &e.run_id {
        Some(id) => {
            let clean = emit_job::dns_label(&[id], 20);
            if clean != *id {
                bail!("--run-id {id:?}: use at most 20 lowercase letters, digits and '-'");
            }
            clean
        }
        None => emit_job::run_id(&[
            &entry.pod.kind,
            &entry.pod.namespace,
            &entry.pod.name,
            &c.name,
            &load_text,
            &image,
            &runs.to_string(),
            &duration_s.to_string(),
            &args.seed.to_string(),
        ]),
    };
    let settings = JobSettings {
        image,
        run_id,
        runs,
        parallelism: e.parallelism.unwrap_or(runs),
        load,
        duration_s,
        seed: args.seed,
        node_selector,
        ttl_seconds: e.ttl,
        trace,
    };
    let target = Target {
        kind: entry.pod.kind.clone(),
        namespace,
        name: entry.pod.name.clone(),
        container: c.name.clone(),
    };
    let objects = emit_job::emit(pod, &target, &settings)?;
    print_objects(
        &objects,
        &pick::label(&entry.pod),
        &target,
        &load_text,
        &settings,
    )?;
    Ok(exit::code(exit::OK))
}

/// The load the Job runs: a `trace:` load's CSV is checked and shipped in the Job's ConfigMap
/// (returned as file name and text), and the load names it under [`TRACE_DIR`].
fn job_load(load_text: &str) -> anyhow::Result<(String, Option<(String, String)>)> {
    Ok(match parse_load(load_text)? {
        LoadProfile::Trace { path } => {
            let text = std::fs::read_to_string(&path)
                .with_context(|| format!("reading the trace {path}"))?;
            crate::sim::load::parse_trace_csv(&text)?;
            let file = std::path::Path::new(&path)
                .file_name()
                .map(|f| f.to_string_lossy().into_owned())
                .unwrap_or_else(|| "trace.csv".into());
            let file = emit_job::dns_label(&[&file], 63).replace('-', "_");
            (format!("trace:{TRACE_DIR}/{file}"), Some((file, text)))
        }
        _ => (load_text.to_string(), None),
    })
}

/// The namespace of the object at `list_path` (items of nested lists) in `raw`, or "".
fn namespace_of(raw: &serde_json::Value, list_path: &[usize]) -> String {
    let mut o = raw;
    for &i in list_path {
        o = &o["items"][i];
    }
    o.pointer("/metadata/namespace")
        .and_then(|v| v.as_str())
        .unwrap_or("")
        .to_string()
}

/// `--node-selector KEY=VALUE`…
fn node_selector(pairs: &[String]) -> anyhow::Result<BTreeMap<String, String>> {
    let mut node_selector = BTreeMap::new();
    for kv in pairs {
        let Some((k, v)) = kv.split_once('=') else {
            bail!("--node-selector {kv:?}: expected KEY=VALUE");
        };
        node_selector.insert(k.to_string(), v.to_string());
    }
    Ok(node_selector)
}

/// Prints the objects as YAML documents after a header saying how to apply, wait, collect and
/// clean up.
fn print_objects(
    objects: &[serde_json::Value],
    label: &str,
    target: &Target,
    load_text: &str,
    settings: &JobSettings,
) -> anyhow::Result<()> {
    let runs = settings.runs;
    let duration_s = settings.duration_s;
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "# kcpu run --emit-job: {:?} container {:?}, {} run(s) of {}s, load {:?}\n\
         # kubectl apply -f THIS && kubectl wait --for=condition=complete job -l kcpu.dev/run={}\n\
         # kubectl logs -l kcpu.dev/run={} --prefix --tail=-1 | kcpu collect --compare MANIFESTS\n\
         # cleanup: kubectl delete job,configmap -l kcpu.dev/run={}",
        label,
        target.container,
        runs,
        duration_s,
        load_text,
        settings.run_id,
        settings.run_id,
        settings.run_id
    )?;
    for o in objects {
        let y = serde_saphyr::to_string(o).context("rendering YAML")?;
        writeln!(out, "---\n{}", y.trim_end())?;
    }
    out.flush()?;
    Ok(())
}
