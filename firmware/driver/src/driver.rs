//! [`Driver`]: brings the device up, feeds its command queues and waits for them.

use crate::hal::{Hal, HalError};
use std::fmt;
use treta_abi::field::Field;
use treta_abi::regs::{self, queue, queue_reg, QUEUES};
use treta_abi::{Command, Descriptor, DeviceError, DESC_BYTES};

/// Semaphore the driver reserves to join queues at the end of a program.
const JOIN_SEM: u8 = treta_abi::desc::DRIVER_JOIN_SEM;

/// Where the driver keeps its rings in device DRAM.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Layout {
    /// DRAM address of queue 0's ring (64-byte aligned); queue q's follows at
    /// `q · ring_size · 64`.
    pub ring_base: u64,
    /// Descriptors per ring.
    pub ring_size: u32,
    /// Give up waiting for the device after this long without an interrupt
    /// [ns]; 0 waits forever.
    pub watchdog_ns: u64,
}

/// A device error as firmware sees it: the registers, plus what the driver knows of
/// the descriptor at fault.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeviceFault {
    /// `ERR_CODE`.
    pub error: Option<DeviceError>,
    /// Raw `ERR_CODE` (for codes this firmware does not know).
    pub code: u32,
    /// `ERR_QUEUE`.
    pub queue: u32,
    /// `ERR_INDEX`: the descriptor's slot in its ring.
    pub index: u32,
    /// `ERR_ADDR`.
    pub addr: u64,
    /// The descriptor the driver wrote into that slot: (id, mnemonic).
    pub descriptor: Option<(u32, &'static str)>,
    /// `ERR_FIELD` as a field of that descriptor, when the error names one.
    pub field: Option<Field>,
}

impl fmt::Display for DeviceFault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.error {
            Some(e) => write!(f, "device error: {e}")?,
            None => write!(f, "device error code {}", self.code)?,
        }
        write!(f, " in queue {} at slot {}", self.queue, self.index)?;
        if let Some((id, mnemonic)) = self.descriptor {
            write!(f, " (descriptor id {id}, {mnemonic})")?;
        }
        if let Some(field) = self.field {
            write!(f, ", field `{}`", field.name)?;
        }
        write!(f, ", address {:#x}", self.addr)
    }
}

/// Why the driver could not do what was asked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DriverError {
    /// A register or memory access failed on the bus.
    Bus(HalError),
    /// The device is not a TRETA (its `ID` register).
    WrongDevice {
        /// The `ID` read.
        id: u32,
    },
    /// More descriptors than free slots in the ring.
    RingFull {
        /// The queue.
        queue: usize,
        /// Descriptors asked for.
        wanted: usize,
        /// Free slots.
        free: u32,
    },
    /// A queue index past the device's queues.
    NoSuchQueue(usize),
    /// The device stopped a queue on an error.
    Device(DeviceFault),
    /// No interrupt came within the watchdog: where each unfinished queue is.
    Timeout {
        /// The watchdog [ns].
        after_ns: u64,
        /// Every queue with work left and where it is.
        stuck: Vec<StuckQueue>,
    },
}

/// A queue that did not finish: (queue, the ring slot it is at, the descriptor
/// the driver wrote there: id and mnemonic).
pub type StuckQueue = (usize, u32, Option<(u32, &'static str)>);

impl fmt::Display for DriverError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DriverError::Bus(e) => write!(f, "{e}"),
            DriverError::WrongDevice { id } => {
                write!(
                    f,
                    "device ID {id:#010x} is not a TRETA ({:#010x})",
                    regs::ID_VALUE
                )
            }
            DriverError::RingFull {
                queue,
                wanted,
                free,
            } => write!(
                f,
                "queue {queue}: {wanted} descriptors do not fit in the {free} free ring slots"
            ),
            DriverError::NoSuchQueue(q) => write!(f, "queue {q} does not exist"),
            DriverError::Device(fault) => write!(f, "{fault}"),
            DriverError::Timeout { after_ns, stuck } => {
                write!(f, "device timeout: no interrupt within {after_ns} ns")?;
                for (q, slot, d) in stuck {
                    write!(f, "; queue {q} stuck at slot {slot}")?;
                    match d {
                        // The driver's own descriptors (the join of the queues).
                        Some((u32::MAX, mnemonic)) => write!(f, " (the driver's {mnemonic})")?,
                        Some((id, mnemonic)) => write!(f, " (descriptor id {id}: {mnemonic})")?,
                        None => {}
                    }
                }
                Ok(())
            }
        }
    }
}

impl std::error::Error for DriverError {}

impl From<HalError> for DriverError {
    fn from(e: HalError) -> Self {
        DriverError::Bus(e)
    }
}

/// What the driver remembers of each queue.
#[derive(Clone, Default)]
struct RingState {
    tail: u32,
    /// Slots written since the last drain.
    pending: u32,
    /// What was written into each slot, for error reports.
    shadow: Vec<Option<Written>>,
}

/// A descriptor as the driver remembers writing it.
#[derive(Clone, Copy)]
struct Written {
    id: u32,
    mnemonic: &'static str,
    /// To name the field `ERR_FIELD` points at.
    opcode: u8,
}

impl Written {
    /// (id, mnemonic), as errors name it.
    fn tag(self) -> (u32, &'static str) {
        (self.id, self.mnemonic)
    }
}

/// The device driver.
pub struct Driver<H: Hal> {
    hal: H,
    layout: Layout,
    rings: Vec<RingState>,
    /// Codes of the `IRQ` descriptors seen while waiting, in order.
    pub interrupts: Vec<u32>,
}

impl<H: Hal> Driver<H> {
    /// Checks the device, resets it, programs the rings, unmasks both interrupts and
    /// enables fetching.
    pub async fn init(hal: H, layout: Layout) -> Result<Driver<H>, DriverError> {
        let id = hal.read32(regs::ID).await?;
        if id != regs::ID_VALUE {
            return Err(DriverError::WrongDevice { id });
        }
        hal.write32(regs::CTRL, regs::CTRL_RESET).await?;
        for q in 0..QUEUES {
            let base =
                layout.ring_base + (q as u64) * u64::from(layout.ring_size) * DESC_BYTES as u64;
            hal.write32(queue_reg(q, queue::BASE_LO), base as u32)
                .await?;
            hal.write32(queue_reg(q, queue::BASE_HI), (base >> 32) as u32)
                .await?;
            hal.write32(queue_reg(q, queue::SIZE), layout.ring_size)
                .await?;
            hal.write32(queue_reg(q, queue::TAIL), 0).await?;
        }
        hal.write32(regs::IRQ_MASK, regs::IRQ_COMPLETION | regs::IRQ_ERROR)
            .await?;
        hal.write32(regs::CTRL, regs::CTRL_ENABLE).await?;
        Ok(Driver {
            hal,
            layout,
            rings: vec![
                RingState {
                    shadow: vec![None; layout.ring_size as usize],
                    ..RingState::default()
                };
                QUEUES
            ],
            interrupts: Vec::new(),
        })
    }

    /// The HAL, for accesses the driver does not wrap.
    pub fn hal(&self) -> &H {
        &self.hal
    }

    fn ring_addr(&self, q: usize, slot: u32) -> u64 {
        self.layout.ring_base
            + ((q as u64) * u64::from(self.layout.ring_size) + u64::from(slot)) * DESC_BYTES as u64
    }

    /// Writes `descs` into queue `q`'s ring and rings its doorbell.
    pub async fn submit(&mut self, q: usize, descs: &[Descriptor]) -> Result<(), DriverError> {
        if q >= QUEUES {
            return Err(DriverError::NoSuchQueue(q));
        }
        let size = self.layout.ring_size;
        // One slot stays empty so that HEAD == TAIL means "empty"; two more are kept
        // for the join the driver appends at the end.
        let free = size.saturating_sub(self.rings[q].pending + 3);
        if descs.len() > free as usize {
            return Err(DriverError::RingFull {
                queue: q,
                wanted: descs.len(),
                free,
            });
        }
        for d in descs {
            let slot = self.rings[q].tail;
            self.hal
                .write_mem(self.ring_addr(q, slot), &d.encode())
                .await?;
            let ring = &mut self.rings[q];
            ring.shadow[slot as usize] = Some(Written {
                id: d.id,
                mnemonic: d.command.mnemonic(),
                opcode: d.command.opcode(),
            });
            ring.tail = (slot + 1) % size;
            ring.pending += 1;
        }
        let tail = self.rings[q].tail;
        self.hal.write32(queue_reg(q, queue::TAIL), tail).await?;
        self.hal.write32(queue_reg(q, queue::DOORBELL), 1).await?;
        Ok(())
    }

    /// Waits until every queue has executed what was submitted: each other busy queue
    /// signals the join semaphore, queue 0 waits for them all and raises `IRQ(code)`.
    /// `IRQ`s with other codes (the program's own) are recorded in `interrupts`.
    pub async fn drain(&mut self, code: u32) -> Result<(), DriverError> {
        let others: Vec<usize> = (1..QUEUES).filter(|&q| self.rings[q].pending > 0).collect();
        for &q in &others {
            self.submit(
                q,
                &[Descriptor {
                    id: u32::MAX,
                    command: Command::SemSignal { sem: JOIN_SEM },
                }],
            )
            .await?;
        }
        let mut join = Vec::new();
        if !others.is_empty() {
            join.push(Descriptor {
                id: u32::MAX,
                command: Command::SemWait {
                    sem: JOIN_SEM,
                    count: others.len() as u32,
                },
            });
        }
        join.push(Descriptor {
            id: u32::MAX,
            command: Command::Irq { code },
        });
        self.submit(0, &join).await?;
        loop {
            let watchdog = self.layout.watchdog_ns;
            if watchdog == 0 {
                self.hal.wait_irq().await;
            } else if !self.hal.wait_irq_for(watchdog).await {
                return Err(self.timeout(watchdog).await);
            }
            let status = self.hal.read32(regs::IRQ_STATUS).await?;
            if status & regs::IRQ_ERROR != 0 {
                return Err(DriverError::Device(self.read_fault().await?));
            }
            if status & regs::IRQ_COMPLETION != 0 {
                let irq_code = self.hal.read32(regs::IRQ_CODE).await?;
                self.hal
                    .write32(regs::IRQ_STATUS, regs::IRQ_COMPLETION)
                    .await?;
                if irq_code == code {
                    for ring in &mut self.rings {
                        ring.pending = 0;
                    }
                    return Ok(());
                }
                self.interrupts.push(irq_code);
            }
        }
    }

    /// The timeout error: where each queue with work left stands.
    async fn timeout(&self, after_ns: u64) -> DriverError {
        let mut stuck = Vec::new();
        for (q, ring) in self.rings.iter().enumerate() {
            if ring.pending == 0 {
                continue;
            }
            let Ok(done) = self.hal.read32(queue_reg(q, queue::COMPLETED)).await else {
                continue;
            };
            let slot = done % self.layout.ring_size.max(1);
            let d = ring.shadow.get(slot as usize).copied().flatten();
            stuck.push((q, slot, d.map(Written::tag)));
        }
        DriverError::Timeout { after_ns, stuck }
    }

    async fn read_fault(&self) -> Result<DeviceFault, DriverError> {
        let code = self.hal.read32(regs::ERR_CODE).await?;
        let queue = self.hal.read32(regs::ERR_QUEUE).await?;
        let index = self.hal.read32(regs::ERR_INDEX).await?;
        let lo = self.hal.read32(regs::ERR_ADDR_LO).await?;
        let hi = self.hal.read32(regs::ERR_ADDR_HI).await?;
        let field = self.hal.read32(regs::ERR_FIELD).await?;
        let written = self
            .rings
            .get(queue as usize)
            .and_then(|r| r.shadow.get(index as usize).copied().flatten());
        Ok(DeviceFault {
            error: DeviceError::from_code(code),
            code,
            queue,
            index,
            addr: u64::from(lo) | (u64::from(hi) << 32),
            descriptor: written.map(Written::tag),
            field: written.and_then(|w| treta_abi::field::at(w.opcode, field)),
        })
    }
}
