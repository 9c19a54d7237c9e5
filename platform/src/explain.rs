//! `--explain-mapping`: how each GEMM descriptor of a program is laid onto the
//! GEMM core, why (the alternatives and their cycles) and where the idle
//! PE-cycles go; for GEMM-list workloads, also the flexible-vs-systolic table.

use crate::comparison::{compare, markdown};
use crate::probe::PhaseReport;
use crate::program::gemm_index_of;
use crate::scenario::LoadedScenario;
use crate::soc::gemm_timing;
use std::collections::HashMap;
use std::fmt::Write as _;
use treta_abi::desc::Command;
use treta_abi::Descriptor;
use treta_lower::gemm::Resident;
use treta_lower::Program;
use treta_models::mapping::{Dataflow, GemmShape, GemmTiming, Mapping, SystolicArray};
use treta_models::sfu::sfu_cycles;

/// Alternatives listed per flexible GEMM shape.
const ALTERNATIVES: usize = 5;

/// The dump for `loaded`'s `program`.
pub fn explain_mapping(loaded: &LoadedScenario, program: &Program) -> String {
    let config = &loaded.platform;
    let timing = gemm_timing(config);
    let mut s = String::new();
    let _ = writeln!(
        s,
        "GEMM mappings of `{}` on {}",
        loaded.name(),
        describe(&timing)
    );
    // Distinct shapes in program order, with the descriptors that have them.
    let mut shapes: Vec<(GemmShape, Vec<u32>)> = Vec::new();
    for d in program.queues.iter().flatten() {
        if let Command::Gemm(g) = &d.command {
            let shape = GemmShape::of(g);
            match shapes.iter_mut().find(|(s, _)| *s == shape) {
                Some((_, ids)) => ids.push(d.id),
                None => shapes.push((shape, vec![d.id])),
            }
        }
    }
    if shapes.is_empty() {
        let _ = writeln!(s, "  (no GEMM descriptors)");
    }
    for (shape, ids) in &shapes {
        let _ = writeln!(
            s,
            "\n{}×{}×{} (m×k×n; A {} B, B {} B, C {} B per element{}) — {} descriptor{}, first id {:#x}",
            shape.m,
            shape.k,
            shape.n,
            shape.a_bytes,
            shape.b_bytes,
            shape.c_bytes,
            if shape.accumulate { ", accumulate" } else { "" },
            ids.len(),
            if ids.len() == 1 { "" } else { "s" },
            ids[0]
        );
        let chosen = timing.map(shape);
        let _ = writeln!(s, "  chosen: {chosen}");
        let _ = writeln!(s, "  {}", round_summary(&chosen));
        match timing {
            GemmTiming::Flexible(f) => {
                let _ = writeln!(s, "  fastest alternatives:");
                for (c, m) in f.search(shape).iter().take(ALTERNATIVES) {
                    let _ = writeln!(
                        s,
                        "    {:<44} {:>9} cycles  {:>5.1}%",
                        c.to_string(),
                        m.cycles,
                        100.0 * m.utilization()
                    );
                }
            }
            GemmTiming::Systolic(a) => {
                let _ = writeln!(s, "  other dataflows:");
                for d in Dataflow::ALL {
                    let m = SystolicArray { dataflow: d, ..a }.map(shape);
                    let _ = writeln!(
                        s,
                        "    {:<4} {:>9} cycles  {:>5.1}%",
                        d.name(),
                        m.cycles,
                        100.0 * m.utilization()
                    );
                }
            }
        }
    }
    if let Some(c) = compare(&loaded.scenario, config) {
        let _ = writeln!(
            s,
            "\nWhole GEMMs (operands in SRAM): {} vs {}\n",
            c.flexible, c.systolic
        );
        s += &markdown(&c);
        let _ = writeln!(
            s,
            "\nMAC-weighted utilization: flexible {:.1}%, systolic ({}) {:.1}%; speedup {:.2}× \
             (a systolic array switching to each GEMM's best dataflow: {} cycles)",
            100.0 * c.flexible_utilization,
            c.systolic_dataflow,
            100.0 * c.systolic_utilization,
            c.speedup,
            c.systolic_per_gemm_best_cycles
        );
    }
    s
}

/// `--explain-plan`: the lowering's plan — of a training step, one line per
/// operation (engine, shape and tiling, descriptors); of a `gemm_list`, one
/// line per GEMM (tiles, buffers, DRAM traffic planned against the floor for
/// this SRAM) — with what it is expected to cost: compute cycles (the GEMM
/// mappings, the SFU's closed form) and the DMA bytes it moves (and their
/// time at the DRAM's peak bandwidth). Given the `phases` of a run, each line
/// also shows what it achieved: its time and the DRAM bytes moved in it.
pub fn explain_plan(
    loaded: &LoadedScenario,
    program: &Program,
    phases: Option<&[PhaseReport]>,
) -> String {
    let Some(step) = &program.step else {
        if program.tilings.is_empty() {
            return "no lowering plan: the workload is neither a training step nor a gemm_list\n"
                .into();
        }
        return gemm_list_plan(loaded, program, phases);
    };
    let config = &loaded.platform;
    let timing = gemm_timing(config);
    let peak = config.dram_peak_bytes_per_s() as f64;
    let clock_hz = f64::from(config.clock_mhz) * 1e6;
    let achieved: HashMap<&str, &PhaseReport> = phases
        .unwrap_or_default()
        .iter()
        .map(|p| (p.op.as_str(), p))
        .collect();
    let mut s = format!(
        "Lowering plan of `{}`: {} operations, {} descriptors, {} DRAM tensors ({} bytes)\n\n\
         | # | operation | engine | shape and tiling | descriptors | compute cycles | DMA bytes | DMA cycles at peak |{}\n\
         |---:|---|---|---|---:|---:|---:|---:|{}\n",
        loaded.name(),
        step.plan.len(),
        step.descriptors.len(),
        step.tensors.len(),
        step.tensors.iter().map(|t| t.bytes()).sum::<u64>(),
        if phases.is_some() { " achieved DRAM bytes | time [µs] |" } else { "" },
        if phases.is_some() { "---:|---:|" } else { "" },
    );
    let mut at = 0;
    let (mut total_compute, mut total_dma) = (0u64, 0u64);
    for (i, entry) in step.plan.iter().enumerate() {
        let descs = &step.descriptors[at..at + entry.descriptors];
        at += entry.descriptors;
        let (compute, bytes) = planned_cost(descs.iter(), loaded, &timing);
        let dma_cycles = (bytes as f64 / peak * clock_hz).ceil() as u64;
        total_compute += compute;
        total_dma += bytes;
        let _ = write!(
            s,
            "| {i} | {} | {} | {} | {} | {compute} | {bytes} | {dma_cycles} |",
            entry.op, entry.engine, entry.detail, entry.descriptors
        );
        if phases.is_some() {
            let _ = match achieved.get(entry.op.as_str()) {
                Some(p) => write!(s, " {} | {:.3} |", p.dram_bytes, p.time_ps as f64 / 1e6),
                None => write!(s, " | |"),
            };
        }
        s.push('\n');
    }
    let _ = writeln!(
        s,
        "\nIn all: {total_compute} compute cycles, {total_dma} DMA bytes ({} cycles at the DRAM's peak); \
         operations run one after another; a pipelined one (`overlap`) overlaps its loads, compute and stores.",
        (total_dma as f64 / peak * clock_hz).ceil() as u64
    );
    s
}

/// Compute cycles and DRAM-side DMA bytes `descs` are planned to cost.
fn planned_cost<'a>(
    descs: impl Iterator<Item = &'a Descriptor>,
    loaded: &LoadedScenario,
    timing: &GemmTiming,
) -> (u64, u64) {
    let config = &loaded.platform;
    let (mut compute, mut bytes) = (0u64, 0u64);
    for d in descs {
        match &d.command {
            Command::Gemm(g) => compute += timing.map(&GemmShape::of(g)).cycles,
            Command::Sfu(f) => {
                compute += sfu_cycles(
                    f.op,
                    u64::from(f.rows),
                    u64::from(f.cols),
                    config.sfu.lanes,
                    config.sfu.pipeline_depth,
                )
            }
            // DRAM-side bytes: a load's rows are counted at the source, a
            // store's converted to the destination format.
            Command::DmaLoad(m) => {
                bytes += u64::from(m.rows) * u64::from(m.row_bytes) * u64::from(m.planes.max(1))
            }
            Command::DmaStore(m) => {
                bytes += u64::from(m.rows)
                    * u64::from(m.row_bytes)
                    * u64::from(m.planes.max(1))
                    * u64::from(m.dst_format.bytes())
                    / u64::from(m.src_format.bytes())
            }
            _ => {}
        }
    }
    (compute, bytes)
}

/// [`explain_plan`] of a `gemm_list`: per GEMM its tiles and buffers, the
/// planned cost, the DRAM traffic planned against the floor for this SRAM,
/// the roofline time those give, and (after a run) what it achieved.
fn gemm_list_plan(
    loaded: &LoadedScenario,
    program: &Program,
    phases: Option<&[PhaseReport]>,
) -> String {
    let config = &loaded.platform;
    let timing = gemm_timing(config);
    let peak = config.dram_peak_bytes_per_s() as f64;
    let clock_hz = f64::from(config.clock_mhz) * 1e6;
    let macs_per_s = config.macs() as f64 * clock_hz;
    let gemms = &loaded.scenario.workload.gemms;
    let mut s = format!(
        "Lowering plan of `{}`: {} GEMMs, {} descriptors\n\n\
         | # | GEMM | m×k×n × count | tiles × count | buffers | compute cycles | DRAM planned [B] | floor [B] | roofline [µs] |{}\n\
         |---:|---|---|---|---|---:|---:|---:|---:|{}\n",
        loaded.name(),
        gemms.len(),
        program.queues.iter().map(Vec::len).sum::<usize>(),
        if phases.is_some() { " achieved DRAM [B] | time [µs] | of roofline |" } else { "" },
        if phases.is_some() { "---:|---:|---:|" } else { "" },
    );
    for (i, (g, t)) in gemms.iter().zip(&program.tilings).enumerate() {
        let mine = program
            .queues
            .iter()
            .flatten()
            .filter(|d| gemm_index_of(d.id) == i);
        let (compute, _) = planned_cost(mine, loaded, &timing);
        let count = u64::from(g.count.get());
        let (planned, floor) = (t.dram_bytes * count, t.dram_floor_bytes * count);
        let macs =
            f64::from(g.m.get()) * f64::from(g.k.get()) * f64::from(g.n.get()) * count as f64;
        // The roofline's time: the larger of the MACs at peak and the planned
        // traffic at the DRAM's peak.
        let roofline_s = (macs / macs_per_s).max(planned as f64 / peak);
        let buffers = match (t.resident, t.c_buffers) {
            (Resident::A, _) => "A resident, B and C ×2".to_string(),
            (Resident::B, _) => "B resident, A and C ×2".to_string(),
            (Resident::None, c) => format!("A and B ×2, C ×{c}"),
        };
        let _ = write!(
            s,
            "| {i} | {} | {}×{}×{} × {count} | {}×{}×{} × {} | {buffers} | {compute} | {planned} | {floor} | {:.3} |",
            g.name,
            g.m.get(),
            g.k.get(),
            g.n.get(),
            t.tm,
            t.tk,
            t.tn,
            t.tiles,
            roofline_s * 1e6,
        );
        if let Some(p) = phases.and_then(|p| p.get(i)) {
            let time_s = p.time_ps as f64 / 1e12;
            let _ = write!(
                s,
                " {} | {:.3} | {:.0} % |",
                p.dram_bytes,
                time_s * 1e6,
                100.0 * roofline_s / time_s.max(f64::MIN_POSITIVE)
            );
        }
        s.push('\n');
    }
    let _ = writeln!(
        s,
        "\nFloor: the least DRAM traffic any output-stationary tiling of this SRAM could move \
         (docs/gemm.md); roofline: the MACs at peak or the planned traffic at the DRAM's peak, whichever is longer."
    );
    s
}

/// The engine in words.
fn describe(timing: &GemmTiming) -> String {
    match timing {
        GemmTiming::Flexible(f) => format!(
            "the flexible engine: {} PEs as {} groups of {}×{}, preload {}, {} B/cycle operand distribution",
            f.macs,
            f.groups(),
            f.group,
            f.group,
            if f.preload { "on" } else { "off" },
            f.fetch_bytes_per_cycle
        ),
        GemmTiming::Systolic(a) => format!(
            "a {}×{} systolic array, {}{}",
            a.rows,
            a.cols,
            a.dataflow.name(),
            if a.overlap_folds {
                ", folds overlapped"
            } else {
                ""
            }
        ),
    }
}

/// Rounds, compute per round and SRAM bytes per round (first and last differ).
fn round_summary(m: &Mapping) -> String {
    let bytes: u64 = m.rounds.iter().map(|r| r.bytes()).sum();
    let first = m.rounds.first().map_or(0, |r| r.compute);
    format!(
        "{} rounds (first {} cycles), {} SRAM bytes in all ({:.1} B/cycle)",
        m.rounds.len(),
        first,
        bytes,
        bytes as f64 / m.cycles.max(1) as f64
    )
}
