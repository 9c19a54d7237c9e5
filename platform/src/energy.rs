//! The energy model: energy per event, counted from the run's statistics, plus
//! static power per block over the simulated time.
//!
//! Events: a MAC by operand format, an SRAM byte read or written (by bank size),
//! a DRAM byte, activation and refresh (by standard), an SFU lane-cycle, a byte
//! moved over the on-chip bus by the DMA. The per-event figures are in the
//! preset (`energy.*`, each with its source); the DRAM ones follow `dram.kind`
//! ([`DramEnergy::of`]). Chip energy leaves the DRAM devices out, as accelerator
//! papers' TOPS/W (TRETA's 3.31 included) do; the total puts them in.

use crate::scenario::DramKind;
use serde::Serialize;
use std::collections::BTreeMap;
use treta_abi::NumberFormat;

/// Per-event energies and static power of the on-chip blocks (28 nm).
#[derive(Clone, Debug, PartialEq)]
pub struct EnergyConfig {
    /// One fp32 multiply-accumulate [pJ].
    pub mac_fp32_pj: f64,
    /// One bf16/fp16 multiply with fp32 accumulation [pJ].
    pub mac_16bit_pj: f64,
    /// One fp8/int8 multiply with fp32 accumulation [pJ].
    pub mac_8bit_pj: f64,
    /// One SRAM byte read or written in a 32 KiB bank [pJ]; a bank of B bytes
    /// costs `× sqrt(B / 32 KiB)` (bit-line and word-line lengths grow with the
    /// square root of the array).
    pub sram_pj_per_byte_32k: f64,
    /// One byte moved over the on-chip bus between DRAM controller and SRAM [pJ].
    pub bus_pj_per_byte: f64,
    /// One SFU lane computing for one cycle [pJ].
    pub sfu_pj_per_lane_cycle: f64,
    /// Static power of the GEMM core [mW].
    pub static_gemm_mw: f64,
    /// Static power of the SRAM [mW] (for the preset's size; scaled by capacity).
    pub static_sram_mw_per_mib: f64,
    /// Static power of the SFU [mW].
    pub static_sfu_mw: f64,
    /// Static power of the command processor, DMA and bus [mW].
    pub static_control_mw: f64,
    /// DRAM energy per byte [pJ]; `None`: the standard's ([`DramEnergy::of`]).
    pub dram_pj_per_byte: Option<f64>,
    /// DRAM energy per activate–precharge [pJ]; `None`: the standard's.
    pub dram_activate_pj: Option<f64>,
    /// DRAM energy per refresh command [pJ]; `None`: the standard's.
    pub dram_refresh_pj: Option<f64>,
}

impl EnergyConfig {
    /// The energy of one MAC in `format` [pJ].
    pub fn mac_pj(&self, format: NumberFormat) -> f64 {
        match format.bytes() {
            4 => self.mac_fp32_pj,
            2 => self.mac_16bit_pj,
            _ => self.mac_8bit_pj,
        }
    }

    /// The DRAM energies of `kind`, with this configuration's overrides.
    pub fn dram(&self, kind: DramKind) -> DramEnergy {
        let standard = DramEnergy::of(kind);
        DramEnergy {
            pj_per_byte: self.dram_pj_per_byte.unwrap_or(standard.pj_per_byte),
            activate_pj: self.dram_activate_pj.unwrap_or(standard.activate_pj),
            refresh_pj: self.dram_refresh_pj.unwrap_or(standard.refresh_pj),
        }
    }

    /// The energy of one SRAM byte in banks of `bank_bytes` [pJ].
    pub fn sram_pj_per_byte(&self, bank_bytes: u64) -> f64 {
        self.sram_pj_per_byte_32k * (bank_bytes as f64 / 32768.0).sqrt()
    }
}

/// DRAM energies of one standard: device core and I/O, per event.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct DramEnergy {
    /// Reading or writing one byte (array access and I/O) [pJ].
    pub pj_per_byte: f64,
    /// One activate–precharge pair [pJ].
    pub activate_pj: f64,
    /// One refresh command of a channel [pJ].
    pub refresh_pj: f64,
}

impl DramEnergy {
    /// The figures for `kind`; where each comes from is in docs/energy.md.
    pub fn of(kind: DramKind) -> DramEnergy {
        match kind {
            // ~5 pJ/bit access+I/O, ~0.6 nJ per ACT/PRE of a 2 KiB page,
            // ~60 nJ per all-bank refresh of a channel.
            DramKind::Lpddr4_4266 => DramEnergy {
                pj_per_byte: 40.0,
                activate_pj: 600.0,
                refresh_pj: 60_000.0,
            },
            // ~15 pJ/bit, ~2 nJ per ACT/PRE across a x64 rank, ~300 nJ per refresh.
            DramKind::Ddr4_3200 => DramEnergy {
                pj_per_byte: 120.0,
                activate_pj: 2_000.0,
                refresh_pj: 300_000.0,
            },
            // 3.9 pJ/bit, ~0.9 nJ per ACT/PRE of a 1 KiB row, ~40 nJ per refresh.
            DramKind::Hbm2 => DramEnergy {
                pj_per_byte: 31.2,
                activate_pj: 900.0,
                refresh_pj: 40_000.0,
            },
        }
    }
}

/// What a run did, counted for the energy model.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Activity {
    /// Simulated time [s].
    pub seconds: f64,
    /// Useful MACs per operand format.
    pub macs: Vec<(NumberFormat, u64)>,
    /// SRAM bytes read plus written, per bank size [bytes].
    pub sram_bytes: Vec<(u64, u64)>,
    /// Total SRAM capacity [bytes] (static power).
    pub sram_capacity: u64,
    /// DRAM bytes read plus written.
    pub dram_bytes: u64,
    /// DRAM activations (row misses and conflicts).
    pub dram_activates: u64,
    /// DRAM refresh commands.
    pub dram_refreshes: u64,
    /// Bytes the DMA moved over the bus.
    pub bus_bytes: u64,
    /// SFU computing cycles (stalls excluded) × lanes, per operation name.
    pub sfu_lane_cycles: Vec<(String, u64)>,
}

/// The report's `energy`.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct EnergyReport {
    /// Chip plus DRAM devices [pJ].
    pub total_pj: f64,
    /// On-chip blocks only [pJ].
    pub chip_pj: f64,
    /// Per block: `gemm`, `sram`, `sfu`, `bus` (DMA transfers), `control`
    /// (command processor and DMA, static), `dram` [pJ].
    pub by_engine: BTreeMap<String, f64>,
    /// Per kind of event: `mac.<format>`, `sram`, `sfu.<op>`, `bus`,
    /// `dram.access`, `dram.activate`, `dram.refresh`, `static` [pJ].
    pub by_class: BTreeMap<String, f64>,
    /// Total energy ÷ simulated time [W].
    pub average_power_w: f64,
    /// Chip energy ÷ simulated time [W].
    pub chip_power_w: f64,
    /// 2 × useful MACs ÷ chip energy [TOPS/W] (as accelerator papers count).
    pub tops_per_w: f64,
    /// 2 × useful MACs ÷ total energy [TOPS/W].
    pub tops_per_w_with_dram: f64,
}

/// The energy of `activity` on a chip of `config` with `dram` devices.
pub fn account(config: &EnergyConfig, dram: DramEnergy, activity: &Activity) -> EnergyReport {
    let secs = activity.seconds;
    // (engine, class, pJ) of every event kind on the chip.
    let mut chip: Vec<(&str, String, f64)> = Vec::new();
    for &(format, macs) in &activity.macs {
        let class = format!("mac.{}", format.name());
        chip.push(("gemm", class, macs as f64 * config.mac_pj(format)));
    }
    for &(bank, bytes) in &activity.sram_bytes {
        let pj = bytes as f64 * config.sram_pj_per_byte(bank);
        chip.push(("sram", "sram".into(), pj));
    }
    for (op, lane_cycles) in &activity.sfu_lane_cycles {
        let pj = *lane_cycles as f64 * config.sfu_pj_per_lane_cycle;
        chip.push(("sfu", format!("sfu.{op}"), pj));
    }
    let bus = activity.bus_bytes as f64 * config.bus_pj_per_byte;
    chip.push(("bus", "bus".into(), bus));
    let mib = activity.sram_capacity as f64 / f64::from(1u32 << 20);
    for (engine, mw) in [
        ("gemm", config.static_gemm_mw),
        ("sram", config.static_sram_mw_per_mib * mib),
        ("sfu", config.static_sfu_mw),
        ("control", config.static_control_mw),
    ] {
        chip.push((engine, "static".into(), mw * 1e-3 * secs * 1e12));
    }
    let devices = [
        ("dram.access", activity.dram_bytes as f64 * dram.pj_per_byte),
        (
            "dram.activate",
            activity.dram_activates as f64 * dram.activate_pj,
        ),
        (
            "dram.refresh",
            activity.dram_refreshes as f64 * dram.refresh_pj,
        ),
    ];
    let chip_pj: f64 = chip.iter().map(|e| e.2).sum();
    let total_pj = chip_pj + devices.iter().map(|e| e.1).sum::<f64>();
    let mut by_engine: BTreeMap<String, f64> = BTreeMap::new();
    let mut by_class: BTreeMap<String, f64> = BTreeMap::new();
    let dram_events = devices
        .iter()
        .map(|(class, pj)| ("dram", class.to_string(), *pj));
    for (engine, class, pj) in chip.into_iter().chain(dram_events) {
        *by_engine.entry(engine.to_string()).or_default() += pj;
        *by_class.entry(class).or_default() += pj;
    }
    let useful: u64 = activity.macs.iter().map(|m| m.1).sum();
    let ops = 2.0 * useful as f64;
    let per_second = |pj: f64| if secs > 0.0 { pj * 1e-12 / secs } else { 0.0 };
    // ops / J / 1e12 = ops / (pJ · 1e-12) / 1e12 = ops / pJ.
    let tops_per_w = |pj: f64| if pj > 0.0 { ops / pj } else { 0.0 };
    EnergyReport {
        total_pj,
        chip_pj,
        average_power_w: per_second(total_pj),
        chip_power_w: per_second(chip_pj),
        tops_per_w: tops_per_w(chip_pj),
        tops_per_w_with_dram: tops_per_w(total_pj),
        by_engine,
        by_class,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> EnergyConfig {
        EnergyConfig {
            mac_fp32_pj: 2.0,
            mac_16bit_pj: 1.0,
            mac_8bit_pj: 0.5,
            sram_pj_per_byte_32k: 1.0,
            bus_pj_per_byte: 0.5,
            sfu_pj_per_lane_cycle: 3.0,
            static_gemm_mw: 100.0,
            static_sram_mw_per_mib: 10.0,
            static_sfu_mw: 0.0,
            static_control_mw: 0.0,
            dram_pj_per_byte: None,
            dram_activate_pj: None,
            dram_refresh_pj: None,
        }
    }

    #[test]
    fn events_and_static_power_add_up_per_engine_and_class() {
        let dram = DramEnergy {
            pj_per_byte: 10.0,
            activate_pj: 100.0,
            refresh_pj: 1000.0,
        };
        let a = Activity {
            seconds: 1e-6,
            macs: vec![(NumberFormat::Fp8E4M3, 1000), (NumberFormat::Fp32, 10)],
            sram_bytes: vec![(131072, 100)],
            sram_capacity: 1 << 20,
            dram_bytes: 50,
            dram_activates: 2,
            dram_refreshes: 1,
            bus_bytes: 50,
            sfu_lane_cycles: vec![("softmax_fwd".into(), 10)],
        };
        let r = account(&config(), dram, &a);
        // 1000 × 0.5 + 10 × 2 MACs; 100 B × 1 pJ × sqrt(4); 10 × 3 SFU; 50 × 0.5
        // bus; 100 mW + 10 mW for 1 µs = 110,000 pJ static.
        assert_eq!(r.by_engine["gemm"], 520.0 + 100_000.0);
        assert_eq!(r.by_class["sram"], 200.0);
        assert_eq!(r.by_class["sfu.softmax_fwd"], 30.0);
        assert_eq!(r.by_class["static"], 110_000.0);
        assert_eq!(r.chip_pj, 520.0 + 200.0 + 30.0 + 25.0 + 110_000.0);
        assert_eq!(r.by_engine["dram"], 500.0 + 200.0 + 1000.0);
        assert_eq!(r.total_pj, r.chip_pj + 1700.0);
        assert!((r.chip_power_w - r.chip_pj * 1e-12 / 1e-6).abs() < 1e-12);
        assert!((r.tops_per_w - 2020.0 / r.chip_pj).abs() < 1e-12);
        assert!(r.tops_per_w_with_dram < r.tops_per_w);
    }
}
