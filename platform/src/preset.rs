//! Platform presets and the resolved platform configuration.
//!
//! Everything inside TRETA that the paper's abstract does not give is a parameter.
//! The `treta` preset collects the best guesses in this one file, each marked with
//! its source or as a guess; a scenario starts from a preset and overrides any
//! parameter (`platform:` keys, or `--set platform.KEY=VALUE`).

use crate::energy::EnergyConfig;
use crate::scenario::{
    Dataflow, DramKind, DramMapping, GemmArch, PagePolicyName, PlatformSpec, RefreshName,
    SfuNumerics,
};
use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;
use treta_abi::NumberFormat;
use treta_lower::gemm::{Machine, TileCycles};
use treta_models::dram_ctrl::DramSpec;
use treta_models::mapping::{GemmShape, GemmTiming};
use treta_numerics::sfu::HardwareParams;

/// The platform a run simulates, fully resolved.
#[derive(Clone, Debug, PartialEq)]
pub struct PlatformConfig {
    /// Preset it was built from.
    pub preset: &'static str,
    /// Device clock [MHz].
    pub clock_mhz: u32,
    /// GEMM core.
    pub gemm: GemmConfig,
    /// On-chip SRAM.
    pub sram: SramConfig,
    /// DRAM.
    pub dram: DramConfig,
    /// DMA engine.
    pub dma: DmaConfig,
    /// Special-function unit.
    pub sfu: SfuConfig,
    /// Energy per event and static power (DRAM energies follow `dram.kind`).
    pub energy: EnergyConfig,
}

/// GEMM core parameters.
#[derive(Clone, Debug, PartialEq)]
pub struct GemmConfig {
    /// Micro-architecture.
    pub arch: GemmArch,
    /// Array rows [PEs].
    pub rows: u32,
    /// Array columns [PEs].
    pub cols: u32,
    /// Systolic dataflow.
    pub dataflow: Dataflow,
    /// Default operand format of the training GEMMs.
    pub operand_format: NumberFormat,
    /// Flexible: rows (= columns) of a PE group.
    pub group: u32,
    /// Flexible: operands of the next round preloaded (fill/drain hidden).
    pub preload: bool,
    /// Systolic: folds overlapped (fill/drain paid once per GEMM).
    pub overlap_folds: bool,
}

/// SRAM parameters.
#[derive(Clone, Debug, PartialEq)]
pub struct SramConfig {
    /// Capacity [bytes]: the buffers' total.
    pub bytes: u64,
    /// Banks (of each buffer that does not say).
    pub banks: u32,
    /// Bytes per bank per cycle (of each buffer that does not say).
    pub bank_width_bytes: u32,
    /// The buffers, in address order; one named `unified` when the scenario names
    /// none (every preset's SRAM is unified: the paper gives no split).
    pub buffers: Vec<SramBufferConfig>,
}

/// One SRAM buffer.
#[derive(Clone, Debug, PartialEq)]
pub struct SramBufferConfig {
    /// Name.
    pub name: String,
    /// First address.
    pub base: u64,
    /// Capacity [bytes].
    pub bytes: u64,
    /// Banks.
    pub banks: u32,
    /// Bytes per bank per cycle.
    pub bank_width_bytes: u32,
}

impl SramConfig {
    /// The buffer named `name`, if any.
    pub fn buffer(&self, name: &str) -> Option<&SramBufferConfig> {
        self.buffers.iter().find(|b| b.name == name)
    }
}

/// DRAM parameters.
#[derive(Clone, Debug, PartialEq)]
pub struct DramConfig {
    /// Standard.
    pub kind: DramKind,
    /// Channels.
    pub channels: u32,
    /// Capacity [bytes].
    pub bytes: u64,
    /// Address mapping.
    pub mapping: DramMapping,
    /// Row-buffer policy.
    pub page_policy: PagePolicyName,
    /// Refresh granularity.
    pub refresh: RefreshName,
}

impl DramConfig {
    /// The controller's spec: the standard's timing with these channels and this
    /// refresh; an error names why the combination is impossible.
    pub fn spec(&self) -> Result<DramSpec, String> {
        let mut spec = match self.kind {
            DramKind::Lpddr4_4266 => DramSpec::lpddr4_4266(),
            DramKind::Ddr4_3200 => DramSpec::ddr4_3200(),
            DramKind::Hbm2 => DramSpec::hbm2(),
        };
        spec.channels = self.channels;
        match self.refresh {
            RefreshName::AllBank => Ok(spec),
            RefreshName::PerBank => spec.with_per_bank_refresh(),
        }
    }
}

/// DMA parameters.
#[derive(Clone, Debug, PartialEq)]
pub struct DmaConfig {
    /// Burst size [bytes].
    pub burst_bytes: u32,
}

/// SFU parameters.
#[derive(Clone, Debug, PartialEq)]
pub struct SfuConfig {
    /// Elements per cycle.
    pub lanes: u32,
    /// Pipeline depth [cycles].
    pub pipeline_depth: u32,
    /// Elements of a row kept between passes.
    pub row_buffer: u32,
    /// Arithmetic of functional runs.
    pub numerics: SfuNumerics,
    /// Hardware exp polynomial degree.
    pub exp_degree: u32,
    /// Hardware table index bits.
    pub lut_bits: u32,
    /// Hardware Newton steps.
    pub newton_steps: u32,
}

impl SfuConfig {
    /// The hardware approximations' parameters.
    pub fn hardware_params(&self) -> HardwareParams {
        HardwareParams {
            exp_degree: self.exp_degree,
            lut_bits: self.lut_bits,
            newton_steps: self.newton_steps,
        }
    }
}

impl DramKind {
    /// Peak bandwidth of one channel [bytes/s] (data rate × bus width).
    pub fn channel_peak_bytes_per_s(self) -> u64 {
        match self {
            // 4266 MT/s × 16-bit channel.
            DramKind::Lpddr4_4266 => 4_266_000_000 * 2,
            // 3200 MT/s × 64-bit channel.
            DramKind::Ddr4_3200 => 3_200_000_000 * 8,
            // 2000 MT/s × 128-bit channel.
            DramKind::Hbm2 => 2_000_000_000 * 16,
        }
    }

    /// The name used in scenarios.
    pub fn name(self) -> &'static str {
        match self {
            DramKind::Lpddr4_4266 => "lpddr4_4266",
            DramKind::Ddr4_3200 => "ddr4_3200",
            DramKind::Hbm2 => "hbm2",
        }
    }
}

/// The share of the DRAM's peak a stream of long DMA rows sustains: refresh
/// and row switches take the rest (docs/dram.md: 91.4 % on `memtest_stream`).
pub const STREAM_EFFICIENCY: f64 = 0.91;

impl PlatformConfig {
    /// MAC units of the GEMM core.
    pub fn macs(&self) -> u64 {
        u64::from(self.gemm.rows) * u64::from(self.gemm.cols)
    }

    /// Peak GEMM throughput [TOPS], counting a MAC as 2 operations.
    pub fn peak_tops(&self) -> f64 {
        2.0 * self.macs() as f64 * f64::from(self.clock_mhz) * 1e6 / 1e12
    }

    /// Peak DRAM bandwidth [bytes/s].
    pub fn dram_peak_bytes_per_s(&self) -> u64 {
        self.dram.kind.channel_peak_bytes_per_s() * u64::from(self.dram.channels)
    }

    /// The balance the firmware plans pipelined GEMMs for: MACs per cycle, and
    /// DRAM bytes per cycle at [`STREAM_EFFICIENCY`] of the peak; on a
    /// systolic array also each tile's cycles from its own timing model
    /// (SCALE-Sim's folds: cheap to evaluate, memoized per tile shape), so a
    /// schedule is chosen for the engine it runs on and a comparison of the
    /// two engines does not measure the flexible engine's tiles on the array.
    pub fn machine(&self) -> Machine {
        let tile_cycles = match crate::soc::gemm_timing(self) {
            GemmTiming::Systolic(array) => {
                let seen: RefCell<HashMap<([u64; 3], u32), u64>> = RefCell::default();
                let cost = move |[m, k, n]: [u64; 3], bytes: u32| {
                    *seen
                        .borrow_mut()
                        .entry(([m, k, n], bytes))
                        .or_insert_with(|| {
                            let shape = GemmShape {
                                a_bytes: bytes,
                                b_bytes: bytes,
                                accumulate: true,
                                ..GemmShape::mkn(m, k, n)
                            };
                            array.map(&shape).cycles
                        })
                };
                Some(Rc::new(cost) as TileCycles)
            }
            GemmTiming::Flexible(_) => None,
        };
        Machine {
            macs_per_cycle: self.macs(),
            dram_bytes_per_cycle: self.dram_peak_bytes_per_s() as f64 * STREAM_EFFICIENCY
                / (f64::from(self.clock_mhz) * 1e6),
            tile_cycles,
        }
    }

    /// The parameters as (key, value, unit) rows, in a stable order.
    pub fn rows(&self) -> Vec<(&'static str, String, &'static str)> {
        let e = &self.energy;
        let dram = e.dram(self.dram.kind);
        let arch = match self.gemm.arch {
            GemmArch::Flexible => "flexible",
            GemmArch::Systolic => "systolic",
        };
        let dataflow = match self.gemm.dataflow {
            Dataflow::Os => "os",
            Dataflow::Ws => "ws",
            Dataflow::Is => "is",
        };
        vec![
            ("clock_mhz", self.clock_mhz.to_string(), "MHz"),
            ("gemm.arch", arch.into(), ""),
            ("gemm.rows", self.gemm.rows.to_string(), "PEs"),
            ("gemm.cols", self.gemm.cols.to_string(), "PEs"),
            ("gemm.dataflow", dataflow.into(), ""),
            ("gemm.group", self.gemm.group.to_string(), "PEs"),
            ("gemm.preload", self.gemm.preload.to_string(), ""),
            (
                "gemm.overlap_folds",
                self.gemm.overlap_folds.to_string(),
                "",
            ),
            (
                "gemm.operand_format",
                self.gemm.operand_format.name().into(),
                "",
            ),
            ("sram.bytes", self.sram.bytes.to_string(), "bytes"),
            ("sram.banks", self.sram.banks.to_string(), "banks"),
            (
                "sram.bank_width_bytes",
                self.sram.bank_width_bytes.to_string(),
                "bytes/cycle",
            ),
            ("dram.kind", self.dram.kind.name().into(), ""),
            ("dram.channels", self.dram.channels.to_string(), "channels"),
            ("dram.bytes", self.dram.bytes.to_string(), "bytes"),
            (
                "dram.mapping",
                match self.dram.mapping {
                    DramMapping::Interleaved => "interleaved",
                    DramMapping::RowBankRankColumnChannel => "row_bank_rank_column_channel",
                }
                .into(),
                "",
            ),
            (
                "dram.page_policy",
                match self.dram.page_policy {
                    PagePolicyName::Open => "open",
                    PagePolicyName::Closed => "closed",
                }
                .into(),
                "",
            ),
            (
                "dram.refresh",
                match self.dram.refresh {
                    RefreshName::AllBank => "all_bank",
                    RefreshName::PerBank => "per_bank",
                }
                .into(),
                "",
            ),
            ("dma.burst_bytes", self.dma.burst_bytes.to_string(), "bytes"),
            ("sfu.lanes", self.sfu.lanes.to_string(), "elements/cycle"),
            (
                "sfu.pipeline_depth",
                self.sfu.pipeline_depth.to_string(),
                "cycles",
            ),
            (
                "sfu.row_buffer",
                self.sfu.row_buffer.to_string(),
                "elements",
            ),
            (
                "sfu.numerics",
                match self.sfu.numerics {
                    SfuNumerics::Exact => "exact",
                    SfuNumerics::Hardware => "hardware",
                }
                .into(),
                "",
            ),
            ("sfu.exp_degree", self.sfu.exp_degree.to_string(), ""),
            ("sfu.lut_bits", self.sfu.lut_bits.to_string(), "bits"),
            ("sfu.newton_steps", self.sfu.newton_steps.to_string(), ""),
            ("energy.mac_fp32_pj", e.mac_fp32_pj.to_string(), "pJ"),
            ("energy.mac_16bit_pj", e.mac_16bit_pj.to_string(), "pJ"),
            ("energy.mac_8bit_pj", e.mac_8bit_pj.to_string(), "pJ"),
            (
                "energy.sram_pj_per_byte_32k",
                e.sram_pj_per_byte_32k.to_string(),
                "pJ/byte",
            ),
            (
                "energy.bus_pj_per_byte",
                e.bus_pj_per_byte.to_string(),
                "pJ/byte",
            ),
            (
                "energy.sfu_pj_per_lane_cycle",
                e.sfu_pj_per_lane_cycle.to_string(),
                "pJ",
            ),
            ("energy.static_gemm_mw", e.static_gemm_mw.to_string(), "mW"),
            (
                "energy.static_sram_mw_per_mib",
                e.static_sram_mw_per_mib.to_string(),
                "mW/MiB",
            ),
            ("energy.static_sfu_mw", e.static_sfu_mw.to_string(), "mW"),
            (
                "energy.static_control_mw",
                e.static_control_mw.to_string(),
                "mW",
            ),
            (
                "energy.dram_pj_per_byte",
                dram.pj_per_byte.to_string(),
                "pJ/byte",
            ),
            (
                "energy.dram_activate_pj",
                dram.activate_pj.to_string(),
                "pJ",
            ),
            ("energy.dram_refresh_pj", dram.refresh_pj.to_string(), "pJ"),
        ]
    }
}

/// A named starting point for platforms.
pub struct Preset {
    /// Name used in scenarios.
    pub name: &'static str,
    /// One line on what it is.
    pub summary: &'static str,
    /// Its parameters.
    pub config: fn() -> PlatformConfig,
    /// Where each value comes from, by key (a paper, a standard, or "guess: why").
    pub sources: &'static [(&'static str, &'static str)],
}

/// Every preset.
pub const PRESETS: &[Preset] = &[
    Preset {
        name: "treta",
        summary: "TRETA (Shao et al., TVLSI 2023) as far as its abstract tells; the rest guessed",
        config: treta,
        sources: TRETA_SOURCES,
    },
    Preset {
        name: "systolic_baseline",
        summary: "the same MACs, SRAM and DRAM as `treta`, as a rigid 128x64 output-stationary systolic array",
        config: systolic_baseline,
        sources: &[(
            "gemm.arch",
            "the baseline TRETA is compared against; everything else as in `treta`",
        )],
    },
];

const TRETA_SOURCES: &[(&str, &str)] = &[
    (
        "clock_mhz",
        "derived: 14.71 TOPS peak (abstract) / (2 ops x 8192 MACs) = 897.8 MHz; the MAC count is a guess",
    ),
    (
        "gemm.arch",
        "abstract: a flexible, scalable GEMM architecture (SIGMA-like assumed)",
    ),
    (
        "gemm.rows",
        "guess: 8192 MACs as 32 PE groups of 16x16, fused here as 128x64",
    ),
    ("gemm.cols", "guess: see gemm.rows"),
    ("gemm.dataflow", "guess: output-stationary PE groups"),
    (
        "gemm.group",
        "guess: 32 groups of 16x16 PEs (BRIEF §4's starting point)",
    ),
    (
        "gemm.preload",
        "guess: double-buffered operands, as an engine built to stay busy on training GEMMs would have",
    ),
    (
        "gemm.overlap_folds",
        "systolic only; off = SCALE-Sim v3's timing, the baseline's reference",
    ),
    (
        "gemm.operand_format",
        "abstract: 8-bit-class mixed precision for training; fp8 E4M3 guessed",
    ),
    ("sram.bytes", "guess: 1.5 MiB of banked SRAM, typical for 28 nm accelerators of this size"),
    ("sram.banks", "guess"),
    ("sram.bank_width_bytes", "guess: 64-byte ports"),

    ("dram.kind", "guess: LPDDR4-class DRAM"),
    ("dram.channels", "guess: 4 x16 channels (a 64-bit LPDDR4 interface)"),
    ("dram.bytes", "guess: 8 GiB"),
    (
        "dram.mapping",
        "guess: bank groups and channels interleaved on consecutive bursts, so streams reach ~91 % of peak (docs/dram.md)",
    ),
    ("dram.page_policy", "guess: open page, as both reference simulators"),
    (
        "dram.refresh",
        "guess: all-bank refresh, as both reference simulators (per_bank is LPDDR4's REFpb)",
    ),
    ("dma.burst_bytes", "guess: one 64-byte DRAM burst"),
    ("sfu.lanes", "guess: 64 lanes"),
    ("sfu.pipeline_depth", "guess: exp, reciprocal and a reduction tree in series"),
    (
        "sfu.row_buffer",
        "guess: a 4096-element row buffer, so rows up to the FFN width are read once",
    ),
    (
        "sfu.numerics",
        "exact: functional runs compare with JAX; `hardware` for the approximations' effect",
    ),
    (
        "sfu.exp_degree",
        "guess: degree 4 (rel. error 5e-6, below bf16's resolution)",
    ),
    ("sfu.lut_bits", "guess: 128-entry tables"),
    ("sfu.newton_steps", "guess: one Newton step (rel. error ~1e-5)"),
    (
        "energy.mac_fp32_pj",
        "Horowitz ISSCC 2014 (45 nm): fp32 mult 3.7 + add 0.9 pJ, x0.5 for 28 nm (guess), x the calibration factor of energy.mac_8bit_pj",
    ),
    (
        "energy.mac_16bit_pj",
        "Horowitz ISSCC 2014: fp16 mult 1.1 + fp32 add 0.9 pJ, x0.5 for 28 nm, x the calibration factor",
    ),
    (
        "energy.mac_8bit_pj",
        "CALIBRATION: Horowitz ISSCC 2014 8-bit mult 0.2 + fp32 add 0.9 pJ, x0.5 for 28 nm, x a factor fit so that a full-utilization fp8 GEMM reports 3.31 TOPS/W (TRETA's abstract); tests/energy.rs checks it",
    ),
    (
        "energy.sram_pj_per_byte_32k",
        "Horowitz ISSCC 2014: 20 pJ per 64-bit read of a 32 KB SRAM (45 nm) = 2.5 pJ/byte, x0.5 for 28 nm; scaled by sqrt(bank size)",
    ),
    (
        "energy.bus_pj_per_byte",
        "guess: ~0.1 pJ/bit/mm of on-chip wire at 28 nm (Dally et al.) over ~1 mm",
    ),
    (
        "energy.sfu_pj_per_lane_cycle",
        "guess: two fp32 multiply-adds per lane-cycle (Horowitz, x0.5 for 28 nm)",
    ),
    (
        "energy.static_gemm_mw",
        "guess: leakage of 8192 MACs at 28 nm HPC, ~3 % of the 4.44 W peak power (14.71 TOPS / 3.31 TOPS/W)",
    ),
    (
        "energy.static_sram_mw_per_mib",
        "guess: ~40 mW leakage per MiB of 28 nm 6T SRAM",
    ),
    ("energy.static_sfu_mw", "guess: 64 fp32 lanes' leakage"),
    (
        "energy.static_control_mw",
        "guess: command processor, DMA, bus and DRAM controller logic",
    ),
    (
        "energy.dram_pj_per_byte",
        "by dram.kind unless set: lpddr4_4266 40 (guess: 5 pJ/bit, within the 4-6 usually quoted), ddr4_3200 120 (guess: 15 pJ/bit), hbm2 31.2 (O'Connor et al., MICRO 2017: 3.9 pJ/bit)",
    ),
    (
        "energy.dram_activate_pj",
        "by dram.kind unless set: lpddr4_4266 600, ddr4_3200 2000, hbm2 900 (guesses from typical IDD0 currents and row sizes)",
    ),
    (
        "energy.dram_refresh_pj",
        "by dram.kind unless set: lpddr4_4266 60000, ddr4_3200 300000, hbm2 40000 (guesses from typical IDD5B currents and tRFC)",
    ),
];

/// The single buffer of an SRAM whose scenario names none.
fn unified(sram: &SramConfig) -> SramBufferConfig {
    SramBufferConfig {
        name: "unified".into(),
        base: 0,
        bytes: sram.bytes,
        banks: sram.banks,
        bank_width_bytes: sram.bank_width_bytes,
    }
}

/// The factor on the MAC energies that makes a full-utilization fp8 GEMM on
/// `treta` report TRETA's 3.31 TOPS/W (a calibration, not a measurement:
/// `tests/energy.rs` checks the result).
const MAC_CALIBRATION: f64 = 0.9336;

fn treta() -> PlatformConfig {
    let mut c = PlatformConfig {
        preset: "treta",
        clock_mhz: 898,
        gemm: GemmConfig {
            arch: GemmArch::Flexible,
            rows: 128,
            cols: 64,
            dataflow: Dataflow::Os,
            operand_format: NumberFormat::Fp8E4M3,
            group: 16,
            preload: true,
            overlap_folds: false,
        },
        sram: SramConfig {
            bytes: 3 << 19,
            banks: 32,
            bank_width_bytes: 64,
            // Set below from the three fields above.
            buffers: Vec::new(),
        },
        dram: DramConfig {
            kind: DramKind::Lpddr4_4266,
            channels: 4,
            bytes: 8 << 30,
            mapping: DramMapping::Interleaved,
            page_policy: PagePolicyName::Open,
            refresh: RefreshName::AllBank,
        },
        dma: DmaConfig { burst_bytes: 64 },
        sfu: SfuConfig {
            lanes: 64,
            pipeline_depth: 12,
            row_buffer: 4096,
            numerics: SfuNumerics::Exact,
            exp_degree: 4,
            lut_bits: 7,
            newton_steps: 1,
        },
        energy: EnergyConfig {
            mac_fp32_pj: 2.3 * MAC_CALIBRATION,
            mac_16bit_pj: 1.0 * MAC_CALIBRATION,
            mac_8bit_pj: 0.55 * MAC_CALIBRATION,
            sram_pj_per_byte_32k: 1.25,
            bus_pj_per_byte: 0.8,
            sfu_pj_per_lane_cycle: 2.3,
            static_gemm_mw: 120.0,
            static_sram_mw_per_mib: 40.0,
            static_sfu_mw: 15.0,
            static_control_mw: 30.0,
            dram_pj_per_byte: None,
            dram_activate_pj: None,
            dram_refresh_pj: None,
        },
    };
    c.sram.buffers = vec![unified(&c.sram)];
    c
}

fn systolic_baseline() -> PlatformConfig {
    let mut c = treta();
    c.preset = "systolic_baseline";
    c.gemm.arch = GemmArch::Systolic;
    c
}

/// The preset named `name`.
pub fn find(name: &str) -> Option<&'static Preset> {
    PRESETS.iter().find(|p| p.name == name)
}

/// The names of all presets.
pub fn names() -> Vec<&'static str> {
    PRESETS.iter().map(|p| p.name).collect()
}

/// The platform of a scenario: its preset (`treta` by default) with its overrides.
pub fn resolve(spec: &PlatformSpec) -> PlatformConfig {
    let preset = spec
        .preset
        .as_ref()
        .and_then(|p| find(&p.0))
        .unwrap_or(&PRESETS[0]);
    let mut c = (preset.config)();
    let set_u32 = |slot: &mut u32, v: Option<crate::scenario::Positive>| {
        if let Some(v) = v {
            *slot = v.get();
        }
    };
    set_u32(&mut c.clock_mhz, spec.clock_mhz);
    if let Some(arch) = spec.gemm.arch {
        c.gemm.arch = arch;
    }
    set_u32(&mut c.gemm.rows, spec.gemm.rows);
    set_u32(&mut c.gemm.cols, spec.gemm.cols);
    if let Some(df) = spec.gemm.dataflow {
        c.gemm.dataflow = df;
    }
    if let Some(f) = spec.gemm.operand_format {
        c.gemm.operand_format = f.0;
    }
    set_u32(&mut c.gemm.group, spec.gemm.group);
    if let Some(v) = spec.gemm.preload {
        c.gemm.preload = v;
    }
    if let Some(v) = spec.gemm.overlap_folds {
        c.gemm.overlap_folds = v;
    }
    if let Some(b) = spec.sram.bytes {
        c.sram.bytes = b.get();
    }
    set_u32(&mut c.sram.banks, spec.sram.banks);
    set_u32(&mut c.sram.bank_width_bytes, spec.sram.bank_width_bytes);
    c.sram.buffers = match &spec.sram.buffers {
        Some(buffers) => {
            let mut base = 0;
            buffers
                .iter()
                .map(|b| {
                    let buffer = SramBufferConfig {
                        name: b.name.clone(),
                        base,
                        bytes: b.bytes.get(),
                        banks: b.banks.map_or(c.sram.banks, |v| v.get()),
                        bank_width_bytes: b
                            .bank_width_bytes
                            .map_or(c.sram.bank_width_bytes, |v| v.get()),
                    };
                    base += buffer.bytes;
                    buffer
                })
                .collect()
        }
        // The presets' SRAMs are unified: it follows the overrides above.
        None => vec![unified(&c.sram)],
    };
    if spec.sram.buffers.is_some() && spec.sram.bytes.is_none() {
        c.sram.bytes = c.sram.buffers.iter().map(|b| b.bytes).sum();
    }
    if let Some(k) = spec.dram.kind {
        c.dram.kind = k;
    }
    set_u32(&mut c.dram.channels, spec.dram.channels);
    if let Some(b) = spec.dram.bytes {
        c.dram.bytes = b.get();
    }
    if let Some(m) = spec.dram.mapping {
        c.dram.mapping = m;
    }
    if let Some(p) = spec.dram.page_policy {
        c.dram.page_policy = p;
    }
    if let Some(r) = spec.dram.refresh {
        c.dram.refresh = r;
    }
    set_u32(&mut c.dma.burst_bytes, spec.dma.burst_bytes);
    set_u32(&mut c.sfu.lanes, spec.sfu.lanes);
    set_u32(&mut c.sfu.pipeline_depth, spec.sfu.pipeline_depth);
    set_u32(&mut c.sfu.row_buffer, spec.sfu.row_buffer);
    if let Some(n) = spec.sfu.numerics {
        c.sfu.numerics = n;
    }
    set_u32(&mut c.sfu.exp_degree, spec.sfu.exp_degree);
    set_u32(&mut c.sfu.lut_bits, spec.sfu.lut_bits);
    if let Some(n) = spec.sfu.newton_steps {
        c.sfu.newton_steps = n;
    }
    let (e, o) = (&mut c.energy, &spec.energy);
    for (field, value) in [
        (&mut e.mac_fp32_pj, o.mac_fp32_pj),
        (&mut e.mac_16bit_pj, o.mac_16bit_pj),
        (&mut e.mac_8bit_pj, o.mac_8bit_pj),
        (&mut e.sram_pj_per_byte_32k, o.sram_pj_per_byte_32k),
        (&mut e.bus_pj_per_byte, o.bus_pj_per_byte),
        (&mut e.sfu_pj_per_lane_cycle, o.sfu_pj_per_lane_cycle),
        (&mut e.static_gemm_mw, o.static_gemm_mw),
        (&mut e.static_sram_mw_per_mib, o.static_sram_mw_per_mib),
        (&mut e.static_sfu_mw, o.static_sfu_mw),
        (&mut e.static_control_mw, o.static_control_mw),
    ] {
        if let Some(v) = value {
            *field = v.get();
        }
    }
    for (field, value) in [
        (&mut e.dram_pj_per_byte, o.dram_pj_per_byte),
        (&mut e.dram_activate_pj, o.dram_activate_pj),
        (&mut e.dram_refresh_pj, o.dram_refresh_pj),
    ] {
        if let Some(v) = value {
            *field = Some(v.get());
        }
    }
    c
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn treta_peak_is_14_71_tops() {
        let c = treta();
        assert_eq!(c.macs(), 8192);
        assert_eq!(format!("{:.2}", c.peak_tops()), "14.71");
    }

    #[test]
    fn every_parameter_of_every_preset_has_a_source() {
        for p in PRESETS {
            if p.name == "treta" {
                let c = (p.config)();
                for (key, _, _) in c.rows() {
                    assert!(
                        p.sources.iter().any(|(k, _)| *k == key),
                        "treta: no source for {key}"
                    );
                }
            }
        }
    }

    #[test]
    fn overrides_replace_preset_values() {
        let spec: PlatformSpec = serde_saphyr::from_str(
            "preset: systolic_baseline\ngemm: {rows: 32, cols: 32, dataflow: ws, operand_format: bf16}\nsram: {bytes: 1048576}\n",
        )
        .unwrap();
        let c = resolve(&spec);
        assert_eq!((c.gemm.rows, c.gemm.cols), (32, 32));
        assert_eq!(c.gemm.arch, GemmArch::Systolic);
        assert_eq!(c.gemm.dataflow, Dataflow::Ws);
        assert_eq!(c.sram.bytes, 1 << 20);
        assert_eq!(c.gemm.operand_format, NumberFormat::Bf16);
        assert_eq!(c.clock_mhz, 898);
    }
}
