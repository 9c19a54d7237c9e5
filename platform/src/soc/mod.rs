//! SoC assembly: builds the models of a platform configuration and wires them.
//!
//! ```text
//!  firmware (control processor) ── cpu socket ──► Bus ─┬─ 0x4000_0000 regs ─► CommandProcessor
//!                                                      └─ 0x8000_0000 DRAM ─► Dram
//!  CommandProcessor ── dram ─► Dram        CP ─ dma/gemm/sfu ports (FIFOs) ─► Dma, GemmCore, Sfu
//!  Dma ── dram ─► Dram, ── sram ─► Sram    GemmCore, Sfu ── sram ─► Sram
//! ```

mod hal;

pub use hal::VpHal;

use crate::preset::PlatformConfig;
use crate::scenario::{Dataflow, GemmArch, SfuNumerics};
use crate::scenario::{DramMapping, PagePolicyName};
use std::rc::Rc;
use treta_abi::regs::PerfCounter;
use treta_kernel::clock::ClockError;
use treta_kernel::tlm::{BindError, InitiatorSocket};
use treta_kernel::{Clock, Ctx, Fifo, SimTime};
use treta_models::dram_ctrl::{Mapping, PagePolicy};
use treta_models::mapping::{self as gemm_mapping, FlexibleEngine, SystolicArray};
use treta_models::sfu::{SfuMath, SfuParams};
use treta_models::{
    Bus, CommandProcessor, Dma, Dram, GemmCore, GemmTiming, Sfu, Sram, SramGeometry,
};
use treta_numerics::sfu::Hardware;

/// The address map of the control processor.
pub mod map {
    /// Device registers.
    pub const MMIO_BASE: u64 = 0x4000_0000;
    /// Device DRAM (device address 0 is here on the bus).
    pub const DRAM_BASE: u64 = 0x8000_0000;
}

/// Ports per SRAM bank (a guess until the SRAM issue makes it a parameter).
const SRAM_PORTS: u32 = 2;
/// SRAM access latency [cycles] (a guess).
const SRAM_LATENCY: u32 = 1;
/// Latency of an MMIO access through the bus.
const BUS_LATENCY: SimTime = SimTime::from_ns(2);

/// The assembled SoC.
pub struct Soc {
    /// Device clock.
    pub clock: Clock,
    /// Interconnect.
    pub bus: Rc<Bus>,
    /// DRAM.
    pub dram: Rc<Dram>,
    /// SRAM.
    pub sram: Rc<Sram>,
    /// Command processor.
    pub cp: Rc<CommandProcessor>,
    /// DMA engine.
    pub dma: Rc<Dma>,
    /// GEMM core.
    pub gemm: Rc<GemmCore>,
    /// Special-function unit.
    pub sfu: Rc<Sfu>,
}

/// Why a platform cannot be assembled.
#[derive(Debug)]
pub enum SocError {
    /// The clock frequency is impossible.
    Clock(ClockError),
    /// Two sockets could not be bound (a bug in the assembly).
    Bind(BindError),
    /// The DRAM configuration is impossible (scenario loading checks this first).
    Dram(String),
    /// The SFU's approximation parameters are out of range (loading checks first).
    Sfu(String),
}

impl std::fmt::Display for SocError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SocError::Clock(e) => write!(f, "platform.clock_mhz: {e}"),
            SocError::Bind(e) => write!(f, "SoC assembly: {e}"),
            SocError::Dram(e) => write!(f, "platform.dram: {e}"),
            SocError::Sfu(e) => write!(f, "platform.sfu: {e}"),
        }
    }
}

impl std::error::Error for SocError {}

impl From<BindError> for SocError {
    fn from(e: BindError) -> Self {
        SocError::Bind(e)
    }
}

/// The GEMM core's micro-architecture as `config` describes it. The flexible
/// engine's distribution network delivers at most one SRAM buffer's bank bandwidth
/// per cycle (BRIEF §4).
pub fn gemm_timing(config: &PlatformConfig) -> GemmTiming {
    match config.gemm.arch {
        GemmArch::Flexible => GemmTiming::Flexible(FlexibleEngine {
            macs: config.gemm.rows * config.gemm.cols,
            group: config.gemm.group,
            preload: config.gemm.preload,
            fetch_bytes_per_cycle: config.sram.banks * config.sram.bank_width_bytes,
        }),
        GemmArch::Systolic => GemmTiming::Systolic(SystolicArray {
            rows: config.gemm.rows,
            cols: config.gemm.cols,
            dataflow: match config.gemm.dataflow {
                Dataflow::Os => gemm_mapping::Dataflow::Os,
                Dataflow::Ws => gemm_mapping::Dataflow::Ws,
                Dataflow::Is => gemm_mapping::Dataflow::Is,
            },
            overlap_folds: config.gemm.overlap_folds,
        }),
    }
}

impl Soc {
    /// Builds every model of `config` in the simulation of `ctx` and binds them;
    /// `functional` makes the engines move real bytes (timing is the same either way).
    pub fn build(ctx: &Ctx, config: &PlatformConfig, functional: bool) -> Result<Soc, SocError> {
        let clock = Clock::from_mhz(u64::from(config.clock_mhz)).map_err(SocError::Clock)?;
        let spec = config.dram.spec().map_err(SocError::Dram)?;
        let dram = Dram::new(
            ctx,
            "dram",
            config.dram.bytes,
            spec,
            match config.dram.mapping {
                DramMapping::Interleaved => Mapping::interleaved(&spec),
                DramMapping::RowBankRankColumnChannel => {
                    Mapping::row_bank_rank_column_channel(&spec)
                }
            },
            match config.dram.page_policy {
                PagePolicyName::Open => PagePolicy::Open,
                PagePolicyName::Closed => PagePolicy::Closed,
            },
        );
        let buffers: Vec<(String, SramGeometry)> = config
            .sram
            .buffers
            .iter()
            .map(|b| {
                let geometry = SramGeometry {
                    bytes: b.bytes,
                    banks: b.banks,
                    width: b.bank_width_bytes,
                    ports: SRAM_PORTS,
                    latency: SRAM_LATENCY,
                };
                (b.name.clone(), geometry)
            })
            .collect();
        let sram = Sram::with_buffers(ctx, "sram", clock, &buffers);
        let dma_port = Fifo::new(ctx, "dma.jobs", 4);
        let gemm_port = Fifo::new(ctx, "gemm.jobs", 4);
        let sfu_port = Fifo::new(ctx, "sfu.jobs", 4);
        let cp = CommandProcessor::new(
            ctx,
            "cp",
            clock,
            dma_port.clone(),
            gemm_port.clone(),
            sfu_port.clone(),
        );
        // Functional runs move bytes through the DMA and compute GEMMs; those with
        // SFU commands are refused before assembly until the SFU math exists (#6).
        let dma = Dma::new(ctx, "dma", dma_port, config.dma.burst_bytes, functional);
        let timing = gemm_timing(config);
        let gemm = GemmCore::new(ctx, "gemm", gemm_port, timing, clock, functional);
        let math = match config.sfu.numerics {
            SfuNumerics::Exact => SfuMath::Exact,
            SfuNumerics::Hardware => SfuMath::Hardware(
                Hardware::new(config.sfu.hardware_params()).map_err(SocError::Sfu)?,
            ),
        };
        let params = SfuParams {
            lanes: config.sfu.lanes,
            pipeline_depth: config.sfu.pipeline_depth,
            row_buffer: config.sfu.row_buffer,
            math,
        };
        let sfu = Sfu::new(ctx, "sfu", sfu_port, params, clock, functional);
        let bus = Bus::new(
            "bus",
            &[
                ("regs", map::MMIO_BASE, treta_abi::regs::BLOCK_BYTES),
                ("dram", map::DRAM_BASE, config.dram.bytes),
            ],
            BUS_LATENCY,
        );
        bus.bind(0, &cp.regs)?;
        bus.bind(1, &dram.socket)?;
        cp.dram.bind(&dram.socket)?;
        dma.dram.bind(&dram.socket)?;
        dma.sram.bind(&sram.socket)?;
        gemm.sram.bind(&sram.socket)?;
        sfu.sram.bind(&sram.socket)?;
        {
            let (dma, gemm, sfu, dram) = (dma.clone(), gemm.clone(), sfu.clone(), dram.clone());
            cp.set_perf_source(Box::new(move |counter| {
                let cycles = |t: SimTime| clock.cycle_at(t);
                match counter {
                    PerfCounter::GemmBusy => cycles(gemm.stats().busy),
                    PerfCounter::DmaBusy => cycles(dma.stats().busy),
                    PerfCounter::SfuBusy => cycles(sfu.stats().busy),
                    PerfCounter::DramReadBytes => dram.read_bytes(),
                    PerfCounter::DramWriteBytes => dram.write_bytes(),
                    PerfCounter::Cycles | PerfCounter::Descriptors => 0,
                }
            }));
        }
        Ok(Soc {
            clock,
            bus,
            dram,
            sram,
            cp,
            dma,
            gemm,
            sfu,
        })
    }

    /// A new control-processor socket bound to the bus, for the firmware's HAL.
    pub fn cpu_socket(&self) -> Result<InitiatorSocket, SocError> {
        let socket = InitiatorSocket::new("cpu");
        socket.bind(&self.bus.socket)?;
        Ok(socket)
    }
}
