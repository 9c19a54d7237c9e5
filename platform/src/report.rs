//! Reports: the figures of a finished run, as JSON (`--report FILE`) and as a
//! readable summary, and the check of the scenario's expectations.
//!
//! JSON schema (stable keys; new ones may be added):
//!
//! | key | meaning |
//! |---|---|
//! | `scenario`, `preset` | names |
//! | `sim_time_ps`, `cycles`, `clock_mhz` | simulated time, device cycles, clock |
//! | `engines.<name>.{busy_ps, utilization, commands}` | per engine (`cp`, `dma`, `gemm`, `sfu`); utilization = busy / simulated time |
//! | `gemms[].{name, m, k, n, count, cycles, utilization, tile_m, tile_k, tile_n, tiles}` | per GEMM of a `gemm_list`, in workload order; cycles summed over its tiles and instances; utilization = useful MACs / (MACs × cycles) |
//! | `gemms[].{mapping, planned_cycles, stall_cycles}` | the GEMM core's mapping of the largest tile; cycles its mappings planned; cycles it waited for SRAM |
//! | `gemms[].{dram_planned_bytes, dram_floor_bytes}` | DRAM bytes the tiling moves (whole bursts, all instances); the least any output-stationary tiling of this SRAM could move |
//! | `gemms[].idle.{edge, fill_drain, bandwidth, imbalance, reduction}` | idle PE-cycles by cause, fractions of MACs × cycles (utilization + these = 1) |
//! | `engine_comparison.{flexible, systolic, systolic_dataflow, flexible_cycles, systolic_cycles, systolic_per_gemm_best_cycles, flexible_utilization, systolic_utilization, speedup}` | `gemm_list` only: the workload's whole GEMMs on the flexible engine vs a systolic array of the same rows × cols in its best single dataflow (SCALE-Sim v3 timing), from the mapping models |
//! | `engine_comparison.gemms[].{name, m, k, n, count, flexible, systolic}` | per GEMM: `{mapping, cycles, utilization}` of one instance on each |
//! | `sfu_ops[].{op, commands, rows, elements, cycles, stall_cycles, time_ps}` | per kind of SFU operation (`softmax_fwd`, …, `vector.mse_loss`), in order of first use |
//! | `dram.{read_bytes, write_bytes, bandwidth_gbps, peak_gbps, row_hits, row_misses, row_conflicts, refreshes}` | DRAM traffic; bandwidth = bytes / simulated time; row-buffer outcomes of the bursts |
//! | `dram.latency.{mean_ns, max_ns, histogram: [{from_ns, to_ns, count}]}` | burst latency from acceptance into a channel queue (queueing in the controller included, waiting for a free slot not) to the end of its data; power-of-two buckets |
//! | `sram.{read_bytes, write_bytes, bank_conflicts}` | SRAM traffic; accesses that waited for a busy bank |
//! | `sram.buffers: [{name, bytes, read_bytes, write_bytes, bank_conflicts}]` | the same per named buffer, in address order |
//! | `peak_tops`, `achieved_tops` | 2 × MACs × clock; 2 × useful MACs / simulated time |
//! | `interrupts[]` | codes of the `IRQ` descriptors the device executed, in order (the driver's join code 0xFFFFFFFF left out) |
//! | `expectations[].{what, bound, value, pass}` | the scenario's `expect:` checks |
//! | `losses[]` | a functional `encoder_training_step`: the loss of each step |
//! | `golden.{dir, pass, strict, tensors[].{name, max_abs_err, tolerance, tol, pass}}` (`tol` = `tolerance`) | `encoder_training_step` with `golden`: every tensor the run computes that the manifest lists (parameters as their SGD-updated `sgd.*`) |

use crate::comparison::{compare, EngineComparison};
use crate::energy::{self, Activity, EnergyReport};
use crate::golden_check::GoldenReport;
use crate::preset::PlatformConfig;
use crate::probe::{sram_bank_bytes, PhaseReport};
use crate::program::gemm_index_of;
use crate::scenario::{Bound, EngineName, Scenario};
use crate::soc::Soc;
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use treta_abi::{NumberFormat, SfuOp};
use treta_kernel::Clock;
use treta_kernel::SimTime;
use treta_lower::Program;
use treta_models::mapping::Idle;
use treta_models::sfu::SfuRecord;
use treta_models::{EngineStats, GemmRecord, LatencyHistogram};

/// An engine's figures.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct EngineReport {
    /// Time busy [ps].
    pub busy_ps: u64,
    /// Busy time ÷ simulated time.
    pub utilization: f64,
    /// Commands executed.
    pub commands: u64,
}

/// A GEMM's figures.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct GemmReport {
    /// Name in the workload.
    pub name: String,
    /// Rows of C.
    pub m: u32,
    /// Reduction length.
    pub k: u32,
    /// Columns of C.
    pub n: u32,
    /// Instances.
    pub count: u32,
    /// GEMM-core cycles, all tiles and instances.
    pub cycles: u64,
    /// Useful MACs ÷ (MACs × cycles).
    pub utilization: f64,
    /// Tile rows of C.
    pub tile_m: u32,
    /// Tile reduction slice.
    pub tile_k: u32,
    /// Tile columns of C.
    pub tile_n: u32,
    /// Tiles per instance.
    pub tiles: u32,
    /// DRAM bytes the tiling moves, all instances (whole bursts).
    pub dram_planned_bytes: u64,
    /// The least DRAM traffic any output-stationary tiling of this SRAM could
    /// move, all instances: how far the plan is from the floor.
    pub dram_floor_bytes: u64,
    /// `gemm_list`: from the end of the previous GEMM (or time 0) to the end
    /// of this one's last descriptor, all instances [ps].
    pub time_ps: u64,
    /// `gemm_list`: DRAM bytes read and written in that time — the traffic
    /// achieved, against `dram_planned_bytes` (descriptor fetches included).
    pub dram_bytes: u64,
    /// How the GEMM core laid out its largest tile (arrangement, K-split, loop
    /// order; or the systolic dataflow).
    pub mapping: String,
    /// Cycles the mappings planned, all tiles and instances.
    pub planned_cycles: u64,
    /// Cycles the GEMM core waited for SRAM beyond the rounds' compute.
    pub stall_cycles: u64,
    /// Idle PE-cycles by cause, as fractions of MACs × cycles (bandwidth as
    /// measured).
    pub idle: IdleReport,
}

/// Idle PE-cycles by cause, as fractions of all PE-cycles.
#[derive(Clone, Debug, Default, Serialize, PartialEq)]
pub struct IdleReport {
    /// Edge tiles (PEs mapped onto nothing).
    pub edge: f64,
    /// Pipeline fill and drain.
    pub fill_drain: f64,
    /// Waiting for SRAM.
    pub bandwidth: f64,
    /// Arrays without work in a round, unequal K-split parts.
    pub imbalance: f64,
    /// The reduction network adding K-split partial sums.
    pub reduction: f64,
}

/// One kind of SFU operation, all its descriptors together.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct SfuOpReport {
    /// `softmax_fwd`, `layernorm_bwd`, `vector.mse_loss`, …
    pub op: String,
    /// Descriptors.
    pub commands: u64,
    /// Rows over all its descriptors.
    pub rows: u64,
    /// Elements (rows × cols) over all its descriptors.
    pub elements: u64,
    /// SFU cycles, stalls included.
    pub cycles: u64,
    /// Cycles waiting for SRAM.
    pub stall_cycles: u64,
    /// Time [ps].
    pub time_ps: u64,
}

/// DRAM traffic.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct DramReport {
    /// Bytes read.
    pub read_bytes: u64,
    /// Bytes written.
    pub write_bytes: u64,
    /// Achieved bandwidth [GB/s].
    pub bandwidth_gbps: f64,
    /// Peak bandwidth [GB/s].
    pub peak_gbps: f64,
    /// Bursts that found their row open.
    pub row_hits: u64,
    /// Bursts that found their bank closed.
    pub row_misses: u64,
    /// Bursts that found another row open.
    pub row_conflicts: u64,
    /// Refreshes.
    pub refreshes: u64,
    /// Burst latency, from acceptance into a channel queue (queueing in the
    /// controller included) to the end of the burst's data.
    pub latency: LatencyReport,
}

/// A latency distribution: exact mean and maximum, power-of-two buckets.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct LatencyReport {
    /// Mean [ns].
    pub mean_ns: f64,
    /// Maximum [ns].
    pub max_ns: f64,
    /// Non-empty buckets `[from_ns, to_ns)`, lowest first.
    pub histogram: Vec<LatencyBucket>,
}

/// One bucket of a [`LatencyReport`].
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct LatencyBucket {
    /// Inclusive lower bound [ns].
    pub from_ns: u64,
    /// Exclusive upper bound [ns].
    pub to_ns: u64,
    /// Bursts in the bucket.
    pub count: u64,
}

impl LatencyReport {
    fn of(h: &LatencyHistogram) -> LatencyReport {
        LatencyReport {
            mean_ns: h.mean_ns(),
            max_ns: h.max_ns(),
            histogram: h
                .buckets()
                .iter()
                .map(|b| LatencyBucket {
                    from_ns: b.from_ns,
                    to_ns: b.to_ns,
                    count: b.count,
                })
                .collect(),
        }
    }
}

/// SRAM traffic.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct SramReport {
    /// Bytes read.
    pub read_bytes: u64,
    /// Bytes written.
    pub write_bytes: u64,
    /// Accesses that waited for a busy bank.
    pub bank_conflicts: u64,
    /// The same per named buffer, in address order.
    pub buffers: Vec<SramBufferReport>,
}

/// One SRAM buffer's traffic.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct SramBufferReport {
    /// Name.
    pub name: String,
    /// Capacity [bytes].
    pub bytes: u64,
    /// Bytes read.
    pub read_bytes: u64,
    /// Bytes written.
    pub write_bytes: u64,
    /// Accesses that waited for one of its banks.
    pub bank_conflicts: u64,
}

/// One expectation and whether it held.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct ExpectationResult {
    /// What was checked, e.g. `engines.gemm.utilization`.
    pub what: String,
    /// The bound, as text.
    pub bound: String,
    /// The measured value.
    pub value: f64,
    /// Whether it held.
    pub pass: bool,
}

/// The report of a run.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Report {
    /// Scenario name.
    pub scenario: String,
    /// Platform preset.
    pub preset: String,
    /// Simulated time [ps].
    pub sim_time_ps: u64,
    /// Device cycles.
    pub cycles: u64,
    /// Device clock [MHz].
    pub clock_mhz: u32,
    /// Per engine.
    pub engines: BTreeMap<String, EngineReport>,
    /// Per GEMM, in workload order.
    pub gemms: Vec<GemmReport>,
    /// Flexible engine vs systolic array on the workload's whole GEMMs
    /// (`gemm_list` workloads).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub engine_comparison: Option<EngineComparison>,
    /// Per kind of SFU operation, in order of first use.
    pub sfu_ops: Vec<SfuOpReport>,
    /// DRAM traffic.
    pub dram: DramReport,
    /// SRAM traffic.
    pub sram: SramReport,
    /// Peak GEMM throughput [TOPS].
    pub peak_tops: f64,
    /// Achieved GEMM throughput [TOPS].
    pub achieved_tops: f64,
    /// Energy of the run, chip and DRAM devices [pJ] (`energy.total_pj`).
    pub energy_pj: f64,
    /// 2 × useful MACs ÷ chip energy [TOPS/W] (`energy.tops_per_w`).
    pub tops_per_w: f64,
    /// The energy model's breakdown.
    pub energy: EnergyReport,
    /// An `encoder_training_step`: each operation of the plan with its time and
    /// energy, in order.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub phases: Vec<PhaseReport>,
    /// The program's own interrupts.
    pub interrupts: Vec<u32>,
    /// The scenario's expectations.
    pub expectations: Vec<ExpectationResult>,
    /// An `encoder_training_step` with `golden`: every tensor compared.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub golden: Option<GoldenReport>,
    /// A functional `encoder_training_step`: the loss of each step.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub losses: Vec<f32>,
}

/// The SFU's records grouped by operation, in order of first use.
fn sfu_ops(records: &[SfuRecord], clock: Clock) -> Vec<SfuOpReport> {
    let mut out: Vec<SfuOpReport> = Vec::new();
    for r in records {
        let name = match r.op {
            SfuOp::Vector(v) => format!("vector.{}", v.name()),
            op => op.mnemonic().to_lowercase(),
        };
        let i = match out.iter().position(|o| o.op == name) {
            Some(i) => i,
            None => {
                out.push(SfuOpReport {
                    op: name,
                    commands: 0,
                    rows: 0,
                    elements: 0,
                    cycles: 0,
                    stall_cycles: 0,
                    time_ps: 0,
                });
                out.len() - 1
            }
        };
        let o = &mut out[i];
        o.commands += 1;
        o.rows += u64::from(r.rows);
        o.elements += u64::from(r.rows) * u64::from(r.cols);
        o.cycles += r.cycles;
        o.stall_cycles += r.stall_cycles;
    }
    for o in &mut out {
        o.time_ps = clock.cycles(o.cycles).as_ps();
    }
    out
}

fn ratio(a: f64, b: f64) -> f64 {
    if b > 0.0 {
        a / b
    } else {
        0.0
    }
}

impl Report {
    /// The report as the JSON `--report` writes (pretty, newline-terminated).
    pub fn to_json(&self) -> Result<String, serde_json::Error> {
        serde_json::to_string_pretty(self).map(|j| j + "\n")
    }

    /// Writes [`to_json`](Report::to_json) to `path`; the error names the file.
    pub fn write_json(&self, path: &std::path::Path) -> Result<(), String> {
        let json = self
            .to_json()
            .map_err(|e| format!("{}: cannot serialise the report: {e}", path.display()))?;
        std::fs::write(path, json)
            .map_err(|e| format!("{}: cannot write report: {e}", path.display()))
    }

    /// The figures of a finished run.
    pub fn build(
        name: &str,
        scenario: &Scenario,
        config: &PlatformConfig,
        program: &Program,
        soc: &Soc,
        end: SimTime,
        interrupts: Vec<u32>,
    ) -> Report {
        let secs = end.as_secs_f64();
        let engine = |s: EngineStats| EngineReport {
            busy_ps: s.busy.as_ps(),
            utilization: ratio(s.busy.as_ps() as f64, end.as_ps() as f64),
            commands: s.commands,
        };
        let engines = BTreeMap::from([
            ("cp".to_string(), engine(soc.cp.stats())),
            ("dma".to_string(), engine(soc.dma.stats())),
            ("gemm".to_string(), engine(soc.gemm.stats())),
            ("sfu".to_string(), engine(soc.sfu.stats())),
        ]);
        let records = soc.gemm.records();
        let macs = config.macs() as f64;
        let gemms: Vec<GemmReport> = scenario
            .workload
            .gemms
            .iter()
            .enumerate()
            .map(|(i, g)| {
                let mine: Vec<&GemmRecord> = records
                    .iter()
                    .filter(|r| gemm_index_of(r.id) == i)
                    .collect();
                let sum = |f: fn(&GemmRecord) -> u64| mine.iter().map(|r| f(r)).sum::<u64>();
                let cycles = sum(|r| r.cycles);
                let useful = sum(|r| r.useful_macs);
                let mut idle = Idle::default();
                for r in &mine {
                    idle += r.idle(config.macs());
                }
                let pe_cycles = macs * cycles as f64;
                let share = |v: u64| ratio(v as f64, pe_cycles);
                let t = program.tilings.get(i).copied();
                GemmReport {
                    name: g.name.clone(),
                    m: g.m.get(),
                    k: g.k.get(),
                    n: g.n.get(),
                    count: g.count.get(),
                    cycles,
                    utilization: ratio(useful as f64, pe_cycles),
                    tile_m: t.map_or(0, |t| t.tm),
                    tile_k: t.map_or(0, |t| t.tk),
                    tile_n: t.map_or(0, |t| t.tn),
                    tiles: t.map_or(0, |t| t.tiles),
                    dram_planned_bytes: t.map_or(0, |t| t.dram_bytes) * u64::from(g.count.get()),
                    dram_floor_bytes: t.map_or(0, |t| t.dram_floor_bytes)
                        * u64::from(g.count.get()),
                    time_ps: 0,
                    dram_bytes: 0,
                    mapping: mine
                        .iter()
                        .max_by_key(|r| r.useful_macs)
                        .map(|r| r.mapping.description.clone())
                        .unwrap_or_default(),
                    planned_cycles: sum(|r| r.planned_cycles),
                    stall_cycles: sum(|r| r.stall_cycles),
                    idle: IdleReport {
                        edge: share(idle.edge),
                        fill_drain: share(idle.fill_drain),
                        bandwidth: share(idle.bandwidth),
                        imbalance: share(idle.imbalance),
                        reduction: share(idle.reduction),
                    },
                }
            })
            .collect();
        let useful: u64 = records.iter().map(|r| r.useful_macs).sum();
        let (read, write) = (soc.dram.read_bytes(), soc.dram.write_bytes());
        let dram_stats = soc.dram.stats();
        let sfu_records = soc.sfu.records();
        let activity = Activity {
            seconds: secs,
            macs: {
                let mut by_format: BTreeMap<&str, (NumberFormat, u64)> = BTreeMap::new();
                for r in &records {
                    by_format.entry(r.format.name()).or_insert((r.format, 0)).1 += r.useful_macs;
                }
                by_format.into_values().collect()
            },
            sram_bytes: sram_bank_bytes(config)
                .into_iter()
                .zip(soc.sram.buffer_stats())
                .map(|(bank, b)| (bank, b.read_bytes + b.write_bytes))
                .collect(),
            sram_capacity: config.sram.bytes,
            dram_bytes: read + write,
            dram_activates: dram_stats.misses + dram_stats.conflicts,
            dram_refreshes: dram_stats.refreshes,
            bus_bytes: read + write,
            sfu_lane_cycles: sfu_ops(&sfu_records, soc.clock)
                .into_iter()
                .map(|o| {
                    let lanes = u64::from(config.sfu.lanes);
                    (o.op, (o.cycles - o.stall_cycles) * lanes)
                })
                .collect(),
        };
        let energy = energy::account(
            &config.energy,
            config.energy.dram(config.dram.kind),
            &activity,
        );
        let mut report = Report {
            scenario: name.to_string(),
            preset: config.preset.to_string(),
            sim_time_ps: end.as_ps(),
            cycles: soc.clock.cycle_at(end),
            clock_mhz: config.clock_mhz,
            engines,
            gemms,
            engine_comparison: compare(scenario, config),
            sfu_ops: sfu_ops(&sfu_records, soc.clock),
            dram: DramReport {
                read_bytes: read,
                write_bytes: write,
                bandwidth_gbps: ratio((read + write) as f64, secs) / 1e9,
                peak_gbps: config.dram_peak_bytes_per_s() as f64 / 1e9,
                row_hits: dram_stats.hits,
                row_misses: dram_stats.misses,
                row_conflicts: dram_stats.conflicts,
                refreshes: dram_stats.refreshes,
                latency: LatencyReport::of(&soc.dram.latency()),
            },
            sram: SramReport {
                read_bytes: soc.sram.read_bytes(),
                write_bytes: soc.sram.write_bytes(),
                bank_conflicts: soc.sram.conflicts(),
                buffers: soc
                    .sram
                    .buffer_stats()
                    .into_iter()
                    .map(|b| SramBufferReport {
                        name: b.name,
                        bytes: b.bytes,
                        read_bytes: b.read_bytes,
                        write_bytes: b.write_bytes,
                        bank_conflicts: b.conflicts,
                    })
                    .collect(),
            },
            peak_tops: config.peak_tops(),
            achieved_tops: ratio(2.0 * useful as f64, secs) / 1e12,
            energy_pj: energy.total_pj,
            tops_per_w: energy.tops_per_w,
            energy,
            phases: Vec::new(),
            interrupts,
            expectations: Vec::new(),
            golden: None,
            losses: Vec::new(),
        };
        report.expectations = report.check(scenario);
        report
    }

    fn check(&self, scenario: &Scenario) -> Vec<ExpectationResult> {
        let mut out = Vec::new();
        let mut push = |what: String, bound: &Bound, value: f64| {
            out.push(ExpectationResult {
                what,
                bound: bound.to_string(),
                value,
                pass: bound.holds(value),
            });
        };
        let e = &scenario.expect;
        if let Some(b) = &e.sim_time_ps {
            push("sim_time_ps".into(), b, self.sim_time_ps as f64);
        }
        for ee in &e.engines {
            let name = match ee.name {
                EngineName::Cp => "cp",
                EngineName::Dma => "dma",
                EngineName::Gemm => "gemm",
                EngineName::Sfu => "sfu",
            };
            if let (Some(b), Some(r)) = (&ee.utilization, self.engines.get(name)) {
                push(format!("engines.{name}.utilization"), b, r.utilization);
            }
        }
        for ge in &e.gemms {
            if let Some(g) = self.gemms.iter().find(|g| g.name == ge.name) {
                if let Some(b) = &ge.cycles {
                    push(format!("gemms.{}.cycles", g.name), b, g.cycles as f64);
                }
                if let Some(b) = &ge.utilization {
                    push(format!("gemms.{}.utilization", g.name), b, g.utilization);
                }
            }
        }
        out
    }

    /// Whether every expectation held and every golden tensor matched.
    pub fn passed(&self) -> bool {
        self.expectations.iter().all(|e| e.pass)
            && self.golden.as_ref().is_none_or(|g| g.pass || !g.strict)
    }

    /// The readable summary printed after a run.
    pub fn summary(&self) -> String {
        let mut s = String::new();
        let t = SimTime::from_ps(self.sim_time_ps);
        let _ = writeln!(
            s,
            "{}: {} simulated ({} cycles at {} MHz) on `{}`",
            self.scenario, t, self.cycles, self.clock_mhz, self.preset
        );
        let _ = writeln!(s, "  engine  busy           utilization  commands");
        for (name, e) in &self.engines {
            let _ = writeln!(
                s,
                "  {name:<6}  {:<13}  {:>10.1}%  {:>8}",
                SimTime::from_ps(e.busy_ps).to_string(),
                100.0 * e.utilization,
                e.commands
            );
        }
        if !self.gemms.is_empty() {
            let _ = writeln!(
                s,
                "  {:<22} {:>6} {:>6} {:>6} {:>5} {:>10} {:>7}  {:<22} mapping (largest tile)",
                "gemm", "m", "k", "n", "count", "cycles", "util", "tile (m,k,n) x tiles"
            );
            for g in &self.gemms {
                let _ = writeln!(
                    s,
                    "  {:<22} {:>6} {:>6} {:>6} {:>5} {:>10} {:>6.1}%  {:<22} {}",
                    g.name,
                    g.m,
                    g.k,
                    g.n,
                    g.count,
                    g.cycles,
                    100.0 * g.utilization,
                    format!("({},{},{}) x {}", g.tile_m, g.tile_k, g.tile_n, g.tiles),
                    g.mapping
                );
            }
            for g in &self.gemms {
                let _ = writeln!(
                    s,
                    "  {:<22} DRAM traffic planned {:.1} MB, floor for this SRAM {:.1} MB, achieved {:.1} MB in {:.3} ms ({:.2} GB/s, {:.2} TOPS)",
                    g.name,
                    g.dram_planned_bytes as f64 / 1e6,
                    g.dram_floor_bytes as f64 / 1e6,
                    g.dram_bytes as f64 / 1e6,
                    g.time_ps as f64 / 1e9,
                    ratio(g.dram_bytes as f64, g.time_ps as f64) * 1e3,
                    ratio(
                        2.0 * f64::from(g.m) * f64::from(g.k) * f64::from(g.n) * f64::from(g.count),
                        g.time_ps as f64
                    )
                );
            }
        }
        if let Some(c) = &self.engine_comparison {
            let _ = writeln!(
                s,
                "  whole GEMMs, flexible vs {} ({}): {:.1}% vs {:.1}% MAC-weighted utilization, {:.2}x fewer cycles",
                c.systolic,
                c.systolic_dataflow,
                100.0 * c.flexible_utilization,
                100.0 * c.systolic_utilization,
                c.speedup
            );
        }
        if !self.sfu_ops.is_empty() {
            let _ = writeln!(
                s,
                "  {:<22} {:>8} {:>10} {:>12} {:>10} {:>8} {:>14}",
                "sfu op", "commands", "rows", "elements", "cycles", "stall", "time"
            );
            for o in &self.sfu_ops {
                let _ = writeln!(
                    s,
                    "  {:<22} {:>8} {:>10} {:>12} {:>10} {:>8} {:>14}",
                    o.op,
                    o.commands,
                    o.rows,
                    o.elements,
                    o.cycles,
                    o.stall_cycles,
                    SimTime::from_ps(o.time_ps).to_string()
                );
            }
        }
        let _ = writeln!(
            s,
            "  DRAM: {} B read, {} B written, {:.2} GB/s of {:.1} GB/s peak; bursts: {} row hits, {} misses, {} conflicts; {} refreshes",
            self.dram.read_bytes,
            self.dram.write_bytes,
            self.dram.bandwidth_gbps,
            self.dram.peak_gbps,
            self.dram.row_hits,
            self.dram.row_misses,
            self.dram.row_conflicts,
            self.dram.refreshes
        );
        let _ = writeln!(
            s,
            "  DRAM burst latency: mean {:.1} ns, max {:.1} ns",
            self.dram.latency.mean_ns, self.dram.latency.max_ns
        );
        let _ = writeln!(
            s,
            "  SRAM: {} B read, {} B written, {} bank conflicts",
            self.sram.read_bytes, self.sram.write_bytes, self.sram.bank_conflicts
        );
        if self.sram.buffers.len() > 1 {
            for b in &self.sram.buffers {
                let _ = writeln!(
                    s,
                    "    {:<10} {} B read, {} B written, {} bank conflicts",
                    b.name, b.read_bytes, b.write_bytes, b.bank_conflicts
                );
            }
        }
        let _ = writeln!(
            s,
            "  GEMM throughput: {:.3} TOPS achieved of {:.2} TOPS peak",
            self.achieved_tops, self.peak_tops
        );
        let e = &self.energy;
        let share = |engine: &str| {
            100.0 * e.by_engine.get(engine).copied().unwrap_or(0.0)
                / e.total_pj.max(f64::MIN_POSITIVE)
        };
        let _ = writeln!(
            s,
            "  energy: {:.3} µJ ({:.3} µJ on chip), {:.3} W average ({:.3} W chip); {:.2} TOPS/W chip, {:.2} with DRAM; gemm {:.0} %, sram {:.0} %, sfu {:.0} %, dram {:.0} %, other {:.0} %",
            e.total_pj * 1e-6,
            e.chip_pj * 1e-6,
            e.average_power_w,
            e.chip_power_w,
            e.tops_per_w,
            e.tops_per_w_with_dram,
            share("gemm"),
            share("sram"),
            share("sfu"),
            share("dram"),
            share("bus") + share("control"),
        );
        if let Some(g) = &self.golden {
            let failed: Vec<&crate::golden_check::TensorCheck> =
                g.tensors.iter().filter(|t| !t.pass).collect();
            let _ = writeln!(
                s,
                "  golden {}: {} of {} tensors within tolerance{}{}",
                g.dir,
                g.tensors.len() - failed.len(),
                g.tensors.len(),
                match (g.pass, g.strict) {
                    (true, _) => "",
                    (false, true) => " — FAILED",
                    (false, false) => " (reported, golden_check: report)",
                },
                match g.not_compared.len() {
                    0 => String::new(),
                    n =>
                        format!(" ({n} more the manifest lists are not held: golden.not_compared)"),
                }
            );
            let mut worst = failed.clone();
            worst.sort_by(|a, b| {
                (b.max_abs_err / b.tolerance.max(f64::MIN_POSITIVE))
                    .total_cmp(&(a.max_abs_err / a.tolerance.max(f64::MIN_POSITIVE)))
            });
            for t in worst.iter().take(5) {
                let _ = writeln!(
                    s,
                    "    {}: max |err| {:.3e} > tolerance {:.3e}",
                    t.name, t.max_abs_err, t.tolerance
                );
            }
        }
        if !self.losses.is_empty() {
            let shown: Vec<String> = self.losses.iter().map(|l| format!("{l:.6}")).collect();
            let _ = writeln!(
                s,
                "  loss per step: {}",
                if shown.len() > 8 {
                    format!(
                        "{} … {} ({} steps)",
                        shown[..4].join(", "),
                        shown[shown.len() - 2..].join(", "),
                        shown.len()
                    )
                } else {
                    shown.join(", ")
                }
            );
        }
        for e in &self.expectations {
            let _ = writeln!(
                s,
                "  expect {} {}: {} ({})",
                e.what,
                e.bound,
                if e.pass { "ok" } else { "FAILED" },
                e.value
            );
        }
        s
    }
}
