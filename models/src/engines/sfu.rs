//! The special-function unit (first-order timing; its math and detailed timing
//! are the SFU issue's).

use super::{sram_accesses, start_engine, wrong_engine};
use crate::job::{EnginePort, Fault, Job};
use crate::EngineStats;
use std::cell::Cell;
use std::rc::Rc;
use treta_abi::{Command, DeviceError, SfuDesc, SfuOp};
use treta_kernel::tlm::{Command as TlmCommand, InitiatorSocket};
use treta_kernel::{Clock, Ctx};

/// The special-function unit: Softmax, LayerNorm, GELU and vector ops over rows.
pub struct Sfu {
    /// Jobs from the command processor.
    pub port: EnginePort,
    /// Operand and result traffic.
    pub sram: InitiatorSocket,
    lanes: u32,
    clock: Clock,
    stats: Rc<Cell<EngineStats>>,
}

/// Pipeline depth of the SFU [cycles].
const SFU_PIPELINE: u64 = 8;

impl Sfu {
    /// An SFU with `lanes` elements per cycle serving `port`.
    pub fn new(ctx: &Ctx, name: &str, port: EnginePort, lanes: u32, clock: Clock) -> Rc<Sfu> {
        let sfu = Rc::new(Sfu {
            port: port.clone(),
            sram: InitiatorSocket::new(&format!("{name}.sram")),
            lanes: lanes.max(1),
            clock,
            stats: Rc::default(),
        });
        start_engine(ctx, name, port, sfu.stats.clone(), sfu.clone(), Sfu::handle);
        sfu
    }

    /// Busy time and commands so far.
    pub fn stats(&self) -> EngineStats {
        self.stats.get()
    }

    async fn handle(self: Rc<Self>, ctx: Ctx, job: Job) -> (Job, Result<(), Fault>) {
        let result = match &job.desc.command {
            Command::Sfu(s) => self.compute(&ctx, s).await,
            _ => return wrong_engine(job),
        };
        (job, result)
    }

    async fn compute(&self, ctx: &Ctx, s: &SfuDesc) -> Result<(), Fault> {
        if s.rows == 0 || s.cols == 0 {
            return Err(Fault {
                error: DeviceError::BadField,
                addr: u64::from(s.src_addr),
            });
        }
        let elems = u64::from(s.rows) * u64::from(s.cols);
        let bytes = elems * u64::from(s.format.bytes());
        // Passes over the data: softmax = max, exp-and-sum, normalise; layernorm =
        // mean, variance, normalise; the rest stream once.
        let passes = match s.op {
            SfuOp::SoftmaxFwd | SfuOp::LayerNormFwd | SfuOp::LayerNormBwd => 3,
            SfuOp::SoftmaxBwd => 2,
            SfuOp::GeluFwd | SfuOp::GeluBwd | SfuOp::Vector(_) => 1,
        };
        let sram_delay = sram_accesses(
            &self.sram,
            &[
                (TlmCommand::Read, u64::from(s.src_addr), bytes),
                (TlmCommand::Write, u64::from(s.dst_addr), bytes),
            ],
        )
        .await?;
        let cycles = passes * elems.div_ceil(u64::from(self.lanes)) + SFU_PIPELINE;
        ctx.wait(self.clock.cycles(cycles).max(sram_delay)).await;
        Ok(())
    }
}
