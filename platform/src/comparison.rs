//! The paper's comparison: every GEMM of a `gemm_list` workload, whole (operands
//! in SRAM, no DRAM tiling), on the flexible engine and on a systolic array with
//! the same rows × cols in its best dataflow — from the mapping models, so the
//! figures are exactly those `--explain-mapping` shows and the systolic ones are
//! SCALE-Sim v3's. A systolic array's dataflow is fixed in hardware, so "best" is
//! the one dataflow with the fewest cycles over the whole workload; the best per
//! GEMM (as if the array could switch) is given as a bound.

use crate::preset::PlatformConfig;
use crate::scenario::{GemmArch, Scenario};
use crate::soc::gemm_timing;
use serde::Serialize;
use treta_models::mapping::{Dataflow, GemmShape, GemmTiming, SystolicArray};

/// One engine's figures for one GEMM.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct EngineFigures {
    /// The mapping (flexible) or the dataflow (systolic) chosen.
    pub mapping: String,
    /// Cycles of one instance.
    pub cycles: u64,
    /// Useful MACs ÷ (MACs × cycles).
    pub utilization: f64,
}

/// One GEMM compared.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct ComparedGemm {
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
    /// The flexible engine.
    pub flexible: EngineFigures,
    /// The systolic array in the workload's best dataflow.
    pub systolic: EngineFigures,
}

/// The whole comparison.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct EngineComparison {
    /// The flexible engine compared (`macs`, group, preload).
    pub flexible: String,
    /// The systolic array compared (rows × cols; folds not overlapped).
    pub systolic: String,
    /// The dataflow with the fewest cycles over the whole workload.
    pub systolic_dataflow: String,
    /// Per GEMM, in workload order.
    pub gemms: Vec<ComparedGemm>,
    /// Cycles of all GEMMs (instances counted), flexible.
    pub flexible_cycles: u64,
    /// Cycles of all GEMMs, systolic in that dataflow.
    pub systolic_cycles: u64,
    /// Cycles of all GEMMs if the systolic array could pick each GEMM's best
    /// dataflow (a bound no rigid array reaches).
    pub systolic_per_gemm_best_cycles: u64,
    /// MAC-weighted utilization: all useful MACs ÷ (MACs × all cycles), flexible.
    pub flexible_utilization: f64,
    /// The same for the systolic array.
    pub systolic_utilization: f64,
    /// systolic cycles ÷ flexible cycles.
    pub speedup: f64,
}

/// The comparison for `scenario`'s GEMMs on `config`'s MAC count; `None` for
/// workloads without a GEMM list.
pub fn compare(scenario: &Scenario, config: &PlatformConfig) -> Option<EngineComparison> {
    let gemms = &scenario.workload.gemms;
    if gemms.is_empty() {
        return None;
    }
    let flexible = {
        let mut c = config.clone();
        c.gemm.arch = GemmArch::Flexible;
        gemm_timing(&c)
    };
    let systolic = |dataflow| {
        GemmTiming::Systolic(SystolicArray {
            rows: config.gemm.rows,
            cols: config.gemm.cols,
            dataflow,
            overlap_folds: false,
        })
    };
    let macs = config.macs() as f64;
    let shapes: Vec<(GemmShape, u64)> = gemms
        .iter()
        .map(|g| {
            let format = g.format.map_or(config.gemm.operand_format, |f| f.0);
            let shape = GemmShape {
                a_bytes: format.bytes(),
                b_bytes: format.bytes(),
                ..GemmShape::mkn(
                    u64::from(g.m.get()),
                    u64::from(g.k.get()),
                    u64::from(g.n.get()),
                )
            };
            (shape, u64::from(g.count.get()))
        })
        .collect();
    // Per GEMM, cycles in each dataflow; the workload's dataflow is the one with
    // the fewest cycles in all.
    let per_dataflow: Vec<[u64; 3]> = shapes
        .iter()
        .map(|(shape, _)| Dataflow::ALL.map(|d| systolic(d).map(shape).cycles))
        .collect();
    let total_in = |i: usize| -> u64 {
        per_dataflow
            .iter()
            .zip(&shapes)
            .map(|(c, (_, count))| c[i] * count)
            .sum()
    };
    let best = (0..3).min_by_key(|&i| total_in(i)).unwrap_or(0);
    let dataflow = Dataflow::ALL[best];
    let per_gemm_best: u64 = per_dataflow
        .iter()
        .zip(&shapes)
        .map(|(c, (_, count))| c.iter().min().copied().unwrap_or(0) * count)
        .sum();
    let (mut flex_total, mut useful_total) = (0u64, 0u64);
    let rows: Vec<ComparedGemm> = gemms
        .iter()
        .zip(&shapes)
        .map(|(g, (shape, count))| {
            let f = flexible.map(shape);
            let s = systolic(dataflow).map(shape);
            flex_total += f.cycles * count;
            useful_total += shape.useful_macs() * count;
            ComparedGemm {
                name: g.name.clone(),
                m: g.m.get(),
                k: g.k.get(),
                n: g.n.get(),
                count: g.count.get(),
                flexible: EngineFigures {
                    mapping: f.description.clone(),
                    cycles: f.cycles,
                    utilization: f.utilization(),
                },
                systolic: EngineFigures {
                    mapping: dataflow.name().to_string(),
                    cycles: s.cycles,
                    utilization: s.utilization(),
                },
            }
        })
        .collect();
    let sys_total = total_in(best);
    let util = |cycles: u64| {
        if cycles == 0 {
            0.0
        } else {
            useful_total as f64 / (macs * cycles as f64)
        }
    };
    let describe = match flexible {
        GemmTiming::Flexible(f) => format!(
            "{} PEs as {} groups of {}×{}, preload {}",
            f.macs,
            f.groups(),
            f.group,
            f.group,
            if f.preload { "on" } else { "off" }
        ),
        GemmTiming::Systolic(_) => unreachable!("built as flexible above"),
    };
    Some(EngineComparison {
        flexible: describe,
        systolic: format!(
            "{}×{} systolic, folds not overlapped (SCALE-Sim v3 timing)",
            config.gemm.rows, config.gemm.cols
        ),
        systolic_dataflow: dataflow.name().to_string(),
        gemms: rows,
        flexible_cycles: flex_total,
        systolic_cycles: sys_total,
        systolic_per_gemm_best_cycles: per_gemm_best,
        flexible_utilization: util(flex_total),
        systolic_utilization: util(sys_total),
        speedup: if flex_total == 0 {
            0.0
        } else {
            sys_total as f64 / flex_total as f64
        },
    })
}

/// The comparison as a Markdown table (for docs and `--explain-mapping`).
pub fn markdown(c: &EngineComparison) -> String {
    let mut s = String::from(
        "| GEMM | M | K | N | × | flexible mapping | flexible cycles | util | systolic dataflow | systolic cycles | util |\n\
         |---|---:|---:|---:|---:|---|---:|---:|---|---:|---:|\n"
    );
    for g in &c.gemms {
        s += &format!(
            "| {} | {} | {} | {} | {} | {} | {} | {:.1}% | {} | {} | {:.1}% |\n",
            g.name,
            g.m,
            g.k,
            g.n,
            g.count,
            g.flexible.mapping,
            g.flexible.cycles,
            100.0 * g.flexible.utilization,
            g.systolic.mapping,
            g.systolic.cycles,
            100.0 * g.systolic.utilization
        );
    }
    s += &format!(
        "| **all (× counted)** | | | | | | **{}** | **{:.1}%** | | **{}** | **{:.1}%** |\n",
        c.flexible_cycles,
        100.0 * c.flexible_utilization,
        c.systolic_cycles,
        100.0 * c.systolic_utilization
    );
    s
}
