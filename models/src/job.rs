//! Jobs: how the command processor hands a descriptor to an engine and learns how it
//! ended.

use std::cell::Cell;
use std::rc::Rc;
use treta_abi::field::Field;
use treta_abi::{Descriptor, DeviceError};
use treta_kernel::{Ctx, Event, Fifo};

/// A device error with the address and the descriptor field at fault.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Fault {
    /// What went wrong.
    pub error: DeviceError,
    /// The address at fault (DRAM or SRAM), or 0.
    pub addr: u64,
    /// The descriptor field at fault, when one is (`ERR_FIELD`).
    pub field: Option<Field>,
}

impl Fault {
    /// `error` at `addr`, naming no field.
    pub fn at(error: DeviceError, addr: u64) -> Fault {
        Fault {
            error,
            addr,
            field: None,
        }
    }

    /// `error` at `addr`, caused by the descriptor's `field`.
    pub fn in_field(error: DeviceError, addr: u64, field: Field) -> Fault {
        Fault {
            error,
            addr,
            field: Some(field),
        }
    }
}

/// The outcome of a job, written by the engine, read by the command processor.
pub struct JobReply {
    /// Notified when the engine is done with the job.
    pub done: Event,
    result: Cell<Option<Result<(), Fault>>>,
}

impl JobReply {
    /// A reply slot whose completion event is named `name`.
    pub fn new(ctx: &Ctx, name: &str) -> Rc<JobReply> {
        Rc::new(JobReply {
            done: ctx.event(name),
            result: Cell::new(None),
        })
    }

    /// Records the outcome and wakes the waiter.
    pub fn finish(&self, result: Result<(), Fault>) {
        self.result.set(Some(result));
        self.done.notify();
    }

    /// Takes the outcome, if the job finished.
    pub fn take(&self) -> Option<Result<(), Fault>> {
        self.result.take()
    }
}

/// A descriptor for an engine, with where it came from.
pub struct Job {
    /// The descriptor.
    pub desc: Descriptor,
    /// Queue it was fetched from.
    pub queue: usize,
    /// Its index in the queue's ring.
    pub index: u32,
    /// Flow id linking the command's issue to its execution in traces.
    pub flow: u64,
    /// Where the engine reports the outcome.
    pub reply: Rc<JobReply>,
}

impl Job {
    /// A job for `desc` from slot `index` of queue `queue`, traced as flow `flow`,
    /// with a fresh reply slot.
    pub fn new(ctx: &Ctx, desc: Descriptor, queue: usize, index: u32, flow: u64) -> Job {
        Job {
            desc,
            queue,
            index,
            flow,
            reply: JobReply::new(ctx, "job.done"),
        }
    }
}

/// The job FIFO between the command processor and one engine.
pub type EnginePort = Fifo<Job>;

/// Hands `job` to the engine behind `port` and waits for its outcome: what the
/// command processor does with each descriptor (and tests and benchmarks that
/// drive one engine alone).
pub async fn execute(port: &EnginePort, job: Job) -> Result<(), Fault> {
    let reply = job.reply.clone();
    port.write(job).await;
    loop {
        // The engine may finish before this process first waits.
        if let Some(result) = reply.take() {
            return result;
        }
        reply.done.wait().await;
    }
}
