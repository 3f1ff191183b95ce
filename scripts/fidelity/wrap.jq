# scripts/fidelity/wrap.jq - one `kcpu run --compare --output json` result → one fidelity data file
# (the format tests/it/fidelity.rs replays; see src/sim/fidelity.rs). Arguments (--arg/--argjson):
# name desc cmd hz cgv release cpus others noisy when load dur.
{scenario: $name, description: $desc, command: $cmd, measured_at: $when,
 kernel: $release, hz: ($hz|tonumber), cgroup: $cgv, cpus: $cpus,
 slice_us: .measurement.environment.slice_us,
 limits: {quota_us: .measurement.groups[0].limits.quota, period_us: .measurement.groups[0].limits.period,
          burst_us: (.measurement.groups[0].limits.burst // 0)},
 load: $load,
 burn: (.measurement.environment.burn // "clock"),
 duration: $dur,
 noise: {criterion: "competing_cores = background_cores - nice_cores > threshold", threshold_cores: $noisy,
         others_running_at_start: $others},
 runs: [ range(0; .measurement.runs|length) as $i
   | (.measurement.runs[$i]) as $r | (.measured.per_run[$i].totals) as $t
   | {run: $i, phase_us: $r.phase_us, edge_uncertainty_us: $r.edge_uncertainty_us,
      edge_ns: $r.edge_ns,
      background_cores: $r.background_cores, nice_cores: $r.nice_cores,
      competing_cores: ($r.background_cores - $r.nice_cores),
      noisy: (($r.background_cores - $r.nice_cores) > $noisy),
      usage_cores: $t.usage_cores, nr_periods: $t.nr_periods, nr_throttled: $t.nr_throttled,
      throttled_ratio: $t.throttled_ratio, throttled_time_us: $t.throttled_time_us,
      nr_bursts: $t.nr_bursts, requests: $t.latency.count,
      p50_ms: $t.latency.p50_ms, p99_ms: $t.latency.p99_ms, max_ms: $t.latency.max_ms,
      wakeup_p50_ms: $t.wakeup.p50_ms} ]
}
