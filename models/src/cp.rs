//! [`CommandProcessor`]: the device's register block and its command queues.
//!
//! ```text
//!  MMIO ──► regs ──(doorbell)──► queue q process: fetch 64 B from DRAM ─► decode
//!                                   │  ├─ DMA/GEMM/SFU: job ─► EnginePort ─► wait reply
//!                                   │  ├─ SEM_SIGNAL / SEM_WAIT: semaphores
//!                                   │  └─ IRQ: IRQ_STATUS.COMPLETION ─► irq line
//!                                   └─ fault: STATUS.ERROR, ERR_*, IRQ_STATUS.ERROR
//! ```
//!
//! Each queue executes its descriptors in order, one at a time; queues run
//! concurrently and share the engines (an engine serves jobs in arrival order). A bad
//! descriptor stops its queue and is reported in the error registers, never a panic.
//!
//! Each queue also has a prefetcher: it reads up to [`PREFETCH_DEPTH`] published
//! descriptors ahead of the one executing, several in one DRAM read, so a
//! semaphore or the next engine command is ready the moment the previous command
//! completes. Without it every descriptor would pay a DRAM round trip on the
//! critical path — behind whatever bulk transfer the DRAM is serving — and the
//! engines of a pipelined schedule would wait on their own command stream.

use crate::job::{self, EnginePort, Fault, Job};
use crate::EngineStats;
use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::rc::{Rc, Weak};
use treta_abi::regs::{self, queue, PerfCounter, Reg, QUEUES};
use treta_abi::{Command, Descriptor, DeviceError, DESC_BYTES};
use treta_kernel::timeline::{ArgValue, TrackId};
use treta_kernel::tlm::{
    Command as TlmCommand, FwTransport, InitiatorSocket, Payload, ResponseStatus, TargetSocket,
    TransportFuture,
};
use treta_kernel::{Clock, Ctx, Event, Signal, SimTime};

#[derive(Clone, Copy, Default)]
struct QueueRegs {
    base: u64,
    size: u32,
    head: u32,
    tail: u32,
    completed: u32,
    stopped: bool,
}

/// Descriptors a queue's prefetcher holds ahead of execution (a 512-byte buffer
/// per queue): enough for a pipelined GEMM's wait, command and signal plus the
/// next step's, so the compute queue never waits for a fetch.
pub const PREFETCH_DEPTH: u32 = 8;

/// A descriptor read ahead of execution: its queue index and what decoding it (or
/// reading it from DRAM) gave.
type Fetched = (u32, Result<Descriptor, Fault>);

#[derive(Default)]
struct State {
    enabled: bool,
    err_code: u32,
    err_queue: u32,
    err_index: u32,
    err_addr: u64,
    /// `ERR_FIELD`: offset of the field at fault, or `ERR_FIELD_NONE`.
    err_field: u32,
    irq_status: u32,
    irq_mask: u32,
    irq_code: u32,
    queues: [QueueRegs; QUEUES],
    sems: [u32; treta_abi::desc::SEMAPHORES as usize],
    descriptors: u64,
    /// Per queue: descriptors read ahead, oldest first (from `head` on).
    fetched: [VecDeque<Fetched>; QUEUES],
    /// Per queue: the index the prefetcher reads next.
    fetch_at: [u32; QUEUES],
    /// Bumped by a reset or a ring reconfiguration: a fetch that was in flight
    /// across one is stale and dropped.
    epoch: u64,
}

/// Reads a performance counter from the rest of the SoC (wired by the platform).
pub type PerfSource = Box<dyn Fn(PerfCounter) -> u64>;

/// Called as each descriptor completes, with its id and the time (wired by the
/// platform to observe a program's progress: phase boundaries, power samples).
pub type CompletionHook = Box<dyn Fn(u32, SimTime)>;

/// The command processor.
pub struct CommandProcessor {
    /// MMIO register block (offsets as in `treta_abi::regs`).
    pub regs: TargetSocket,
    /// Descriptor fetches from DRAM.
    pub dram: InitiatorSocket,
    /// The interrupt line: high while `IRQ_STATUS & IRQ_MASK != 0`.
    pub irq: Signal<bool>,
    /// Jobs for the DMA engine.
    pub dma: EnginePort,
    /// Jobs for the GEMM core.
    pub gemm: EnginePort,
    /// Jobs for the special-function unit.
    pub sfu: EnginePort,
    ctx: Ctx,
    clock: Clock,
    state: RefCell<State>,
    doorbells: Vec<Event>,
    /// Per queue: the prefetcher added a descriptor.
    prefetched: Vec<Event>,
    /// Per queue: the executor took a descriptor (room to prefetch).
    consumed: Vec<Event>,
    sem_changed: Event,
    /// Codes of every `IRQ` descriptor executed, in order (kept across resets: it is
    /// the run's record, not a register).
    raised: RefCell<Vec<u32>>,
    perf: RefCell<Option<PerfSource>>,
    on_complete: RefCell<Option<CompletionHook>>,
    tracks: Vec<TrackId>,
    stats: Cell<EngineStats>,
    /// Commands in flight over all queues, and since when some have been.
    active: Cell<u32>,
    active_since: Cell<SimTime>,
    next_flow: Cell<u64>,
}

impl CommandProcessor {
    /// A command processor named `name` dispatching to the given engine ports; its
    /// queue processes start with the simulation.
    pub fn new(
        ctx: &Ctx,
        name: &str,
        clock: Clock,
        dma: EnginePort,
        gemm: EnginePort,
        sfu: EnginePort,
    ) -> Rc<CommandProcessor> {
        let cp = Rc::new_cyclic(|me: &Weak<CommandProcessor>| CommandProcessor {
            regs: TargetSocket::new(&format!("{name}.regs"), me.clone()),
            dram: InitiatorSocket::new(&format!("{name}.dram")),
            irq: Signal::new(ctx, &format!("{name}.irq"), false),
            dma,
            gemm,
            sfu,
            ctx: ctx.clone(),
            clock,
            state: RefCell::new(State::default()),
            doorbells: (0..QUEUES)
                .map(|q| ctx.event(&format!("{name}.q{q}.doorbell")))
                .collect(),
            prefetched: (0..QUEUES)
                .map(|q| ctx.event(&format!("{name}.q{q}.prefetched")))
                .collect(),
            consumed: (0..QUEUES)
                .map(|q| ctx.event(&format!("{name}.q{q}.consumed")))
                .collect(),
            sem_changed: ctx.event(&format!("{name}.sem")),
            raised: RefCell::default(),
            perf: RefCell::new(None),
            on_complete: RefCell::new(None),
            tracks: (0..QUEUES)
                .map(|q| ctx.timeline().track(&format!("{name}.queue{q}")))
                .collect(),
            stats: Cell::new(EngineStats::default()),
            active: Cell::new(0),
            active_since: Cell::new(SimTime::ZERO),
            next_flow: Cell::new(1),
        });
        for q in 0..QUEUES {
            let executor = cp.clone();
            ctx.spawn(&format!("{name}.queue{q}"), move |_| async move {
                executor.queue_process(q).await
            });
            let prefetcher = cp.clone();
            ctx.spawn(&format!("{name}.prefetch{q}"), move |_| async move {
                prefetcher.prefetch_process(q).await
            });
        }
        cp
    }

    /// Wires the source of the performance counters other than cycles and descriptors.
    pub fn set_perf_source(&self, source: PerfSource) {
        *self.perf.borrow_mut() = Some(source);
    }

    /// Calls `hook` as each descriptor completes (successfully or not).
    pub fn set_completion_hook(&self, hook: CompletionHook) {
        *self.on_complete.borrow_mut() = Some(hook);
    }

    /// Time during which at least one queue was executing a command (so it never
    /// exceeds the simulated time), and commands executed.
    pub fn stats(&self) -> EngineStats {
        self.stats.get()
    }

    /// Codes of the `IRQ` descriptors the device has executed, in order: what the
    /// run's report lists, whichever firmware drove the device (in the VP or over a
    /// socket) and whether or not it read each code before the next overwrote it.
    pub fn raised_irqs(&self) -> Vec<u32> {
        self.raised.borrow().clone()
    }

    /// Semaphore waits or queued descriptors that can never proceed: `(queue, head)`
    /// of each queue that still has work, for deadlock reports at the end of a run.
    pub fn pending_queues(&self) -> Vec<(usize, u32)> {
        let st = self.state.borrow();
        st.queues
            .iter()
            .enumerate()
            .filter(|(_, q)| !q.stopped && q.head != q.tail)
            .map(|(i, q)| (i, q.head))
            .collect()
    }

    fn read_reg(&self, offset: u64) -> Option<u32> {
        let st = self.state.borrow();
        Some(match Reg::decode(offset)? {
            Reg::Global(regs::ID) => regs::ID_VALUE,
            Reg::Global(regs::VERSION) => regs::VERSION_VALUE,
            Reg::Global(regs::CTRL) => u32::from(st.enabled) * regs::CTRL_ENABLE,
            Reg::Global(regs::STATUS) => {
                let busy = st.queues.iter().any(|q| !q.stopped && q.head != q.tail);
                let error = st.err_code != 0;
                (u32::from(busy) * regs::STATUS_BUSY) | (u32::from(error) * regs::STATUS_ERROR)
            }
            Reg::Global(regs::ERR_CODE) => st.err_code,
            Reg::Global(regs::ERR_QUEUE) => st.err_queue,
            Reg::Global(regs::ERR_INDEX) => st.err_index,
            Reg::Global(regs::ERR_ADDR_LO) => st.err_addr as u32,
            Reg::Global(regs::ERR_ADDR_HI) => (st.err_addr >> 32) as u32,
            Reg::Global(regs::ERR_FIELD) if st.err_code == 0 => regs::ERR_FIELD_NONE,
            Reg::Global(regs::ERR_FIELD) => st.err_field,
            Reg::Global(regs::IRQ_STATUS) => st.irq_status,
            Reg::Global(regs::IRQ_MASK) => st.irq_mask,
            Reg::Global(regs::IRQ_CODE) => st.irq_code,
            Reg::Global(_) => return None,
            Reg::Queue(q, r) => {
                let qr = &st.queues[q];
                match r {
                    queue::BASE_LO => qr.base as u32,
                    queue::BASE_HI => (qr.base >> 32) as u32,
                    queue::SIZE => qr.size,
                    queue::HEAD => qr.head,
                    queue::TAIL => qr.tail,
                    queue::DOORBELL => 0,
                    queue::COMPLETED => qr.completed,
                    _ => return None,
                }
            }
            Reg::Perf(counter, high) => {
                let v = match counter {
                    PerfCounter::Cycles => self.clock.cycle_at(self.ctx.now()),
                    PerfCounter::Descriptors => st.descriptors,
                    other => self.perf.borrow().as_ref().map_or(0, |f| f(other)),
                };
                if high {
                    (v >> 32) as u32
                } else {
                    v as u32
                }
            }
        })
    }

    /// Applies a register write; false if the offset names no writable register.
    fn write_reg(&self, offset: u64, v: u32) -> bool {
        let mut ring = None;
        {
            let mut st = self.state.borrow_mut();
            match Reg::decode(offset) {
                Some(Reg::Global(regs::CTRL)) => {
                    if v & regs::CTRL_RESET != 0 {
                        let epoch = st.epoch + 1;
                        *st = State::default();
                        st.epoch = epoch;
                    }
                    st.enabled = v & regs::CTRL_ENABLE != 0;
                    ring = Some(usize::MAX);
                }
                Some(Reg::Global(regs::IRQ_STATUS)) => st.irq_status &= !v,
                Some(Reg::Global(regs::IRQ_MASK)) => st.irq_mask = v,
                Some(Reg::Queue(q, r)) => {
                    if matches!(r, queue::BASE_LO | queue::BASE_HI | queue::SIZE) {
                        // What was read ahead came from the old ring.
                        st.fetched[q].clear();
                        st.fetch_at[q] = st.queues[q].head;
                        st.epoch += 1;
                    }
                    let qr = &mut st.queues[q];
                    match r {
                        queue::BASE_LO => qr.base = (qr.base & !0xffff_ffff) | u64::from(v),
                        queue::BASE_HI => qr.base = (qr.base & 0xffff_ffff) | (u64::from(v) << 32),
                        queue::SIZE => qr.size = v,
                        queue::TAIL => qr.tail = v,
                        queue::DOORBELL => ring = Some(q),
                        _ => return false,
                    }
                }
                _ => return false,
            }
        }
        self.update_irq();
        match ring {
            Some(usize::MAX) => self.doorbells.iter().for_each(Event::notify),
            Some(q) => self.doorbells[q].notify(),
            None => {}
        }
        true
    }

    fn update_irq(&self) {
        let st = self.state.borrow();
        let level = st.irq_status & st.irq_mask != 0;
        drop(st);
        self.irq.write(level);
    }

    fn fault(&self, q: usize, index: u32, fault: Fault) {
        {
            let mut st = self.state.borrow_mut();
            st.queues[q].stopped = true;
            if st.err_code == 0 {
                st.err_code = fault.error.code();
                st.err_queue = q as u32;
                st.err_index = index;
                st.err_addr = fault.addr;
                st.err_field = fault
                    .field
                    .map_or(regs::ERR_FIELD_NONE, |f| u32::from(f.offset));
            }
            st.irq_status |= regs::IRQ_ERROR;
        }
        self.ctx.timeline().instant(
            self.tracks[q],
            "fault",
            &[
                ("error", ArgValue::Str(&fault.error.to_string())),
                ("index", ArgValue::U64(u64::from(index))),
                ("addr", ArgValue::U64(fault.addr)),
            ],
        );
        self.update_irq();
    }

    /// The index of the next descriptor of queue `q` to run, once there is one.
    async fn next_work(&self, q: usize) -> Result<u32, Fault> {
        loop {
            {
                let st = self.state.borrow();
                let qr = &st.queues[q];
                if st.enabled && !qr.stopped && qr.head != qr.tail {
                    if qr.size == 0
                        || qr.size > queue::MAX_SIZE
                        || qr.head >= qr.size
                        || qr.tail >= qr.size
                        || !qr.base.is_multiple_of(DESC_BYTES as u64)
                    {
                        return Err(Fault::at(DeviceError::BadQueueConfig, qr.base));
                    }
                    return Ok(qr.head);
                }
            }
            self.doorbells[q].wait().await;
        }
    }

    async fn queue_process(self: Rc<Self>, q: usize) {
        loop {
            let index = match self.next_work(q).await {
                Ok(index) => index,
                Err(fault) => {
                    let head = self.state.borrow().queues[q].head;
                    self.fault(q, head, fault);
                    continue;
                }
            };
            match self.run_descriptor(q, index).await {
                None => {}
                Some(Ok(())) => {
                    let mut st = self.state.borrow_mut();
                    let qr = &mut st.queues[q];
                    qr.head = (qr.head + 1) % qr.size.max(1);
                    qr.completed = qr.completed.wrapping_add(1);
                    st.descriptors += 1;
                }
                Some(Err(fault)) => self.fault(q, index, fault),
            }
        }
    }

    /// Descriptor `index` of queue `q`, once its prefetcher has read it; `None` if
    /// the queue stopped, was reset or reconfigured meanwhile (the executor then
    /// looks for its next work afresh).
    async fn take_fetched(&self, q: usize, index: u32) -> Option<Result<Descriptor, Fault>> {
        let epoch = self.state.borrow().epoch;
        loop {
            let front = {
                let mut st = self.state.borrow_mut();
                let qr = &st.queues[q];
                if st.epoch != epoch || !st.enabled || qr.stopped || qr.head != index {
                    return None;
                }
                match st.fetched[q].front() {
                    Some((i, _)) if *i == index => st.fetched[q].pop_front(),
                    // The executor takes descriptors in order from `head`, and what
                    // is read ahead starts there: anything else is stale.
                    Some(_) => {
                        st.fetched[q].clear();
                        st.fetch_at[q] = index;
                        st.epoch += 1;
                        None
                    }
                    None => None,
                }
            };
            if let Some((_, desc)) = front {
                self.consumed[q].notify();
                return Some(desc);
            }
            self.ctx
                .wait_any(&[&self.prefetched[q], &self.doorbells[q], &self.consumed[q]])
                .await;
        }
    }

    /// The prefetch loop of queue `q`: while the queue is enabled and running and
    /// published descriptors remain past those already read, reads as many as fit
    /// the buffer (up to the ring's end) in one DRAM transaction.
    async fn prefetch_process(self: Rc<Self>, q: usize) {
        loop {
            let work = {
                let st = self.state.borrow();
                let qr = &st.queues[q];
                let at = st.fetch_at[q];
                let held = st.fetched[q].len() as u32;
                let valid = qr.size != 0
                    && qr.size <= queue::MAX_SIZE
                    && qr.tail < qr.size
                    && at < qr.size
                    && qr.base.is_multiple_of(DESC_BYTES as u64);
                if st.enabled && !qr.stopped && valid && at != qr.tail && held < PREFETCH_DEPTH {
                    let published = (qr.tail + qr.size - at) % qr.size;
                    let count = published.min(PREFETCH_DEPTH - held).min(qr.size - at);
                    Some((at, count, qr.base, qr.size, st.epoch))
                } else {
                    None
                }
            };
            let Some((at, count, base, size, epoch)) = work else {
                self.ctx
                    .wait_any(&[&self.doorbells[q], &self.consumed[q]])
                    .await;
                continue;
            };
            let entries = self.read_descriptors(base, at, count).await;
            let mut st = self.state.borrow_mut();
            if st.epoch != epoch {
                continue;
            }
            let read = entries.len() as u32;
            st.fetched[q].extend(entries);
            st.fetch_at[q] = (at + read) % size;
            drop(st);
            self.prefetched[q].notify();
        }
    }

    /// Reads descriptors `at..at + count` of the ring at `base` in one DRAM
    /// transaction and decodes them. If the read fails (the ring runs past the
    /// DRAM), reads them one by one up to the first that fails, which is returned
    /// as its fault, so the executor stops at exactly that index.
    async fn read_descriptors(&self, base: u64, at: u32, count: u32) -> Vec<Fetched> {
        let addr_of = |i: u32| base + u64::from(i) * DESC_BYTES as u64;
        let mut trans = Payload::with_data(
            TlmCommand::Read,
            addr_of(at),
            vec![0; DESC_BYTES * count as usize],
        );
        let mut delay = SimTime::ZERO;
        self.dram.b_transport(&mut trans, &mut delay).await;
        self.ctx.wait(delay).await;
        if trans.response.is_ok() {
            let data = trans.data().unwrap_or(&[]);
            return (0..count)
                .zip(data.chunks_exact(DESC_BYTES))
                .map(|(k, bytes)| (at + k, decode(bytes, addr_of(at + k))))
                .collect();
        }
        let mut out = Vec::new();
        for i in at..at + count {
            let mut one = Payload::with_data(TlmCommand::Read, addr_of(i), vec![0; DESC_BYTES]);
            let mut delay = SimTime::ZERO;
            self.dram.b_transport(&mut one, &mut delay).await;
            self.ctx.wait(delay).await;
            if !one.response.is_ok() {
                out.push((i, Err(Fault::at(DeviceError::DramOutOfRange, addr_of(i)))));
                break;
            }
            out.push((i, decode(one.data().unwrap_or(&[]), addr_of(i))));
        }
        out
    }

    /// Runs descriptor `index` of queue `q`; `None` if the queue changed under it
    /// before it was read (nothing ran).
    async fn run_descriptor(&self, q: usize, index: u32) -> Option<Result<(), Fault>> {
        let desc = match self.take_fetched(q, index).await? {
            Ok(desc) => desc,
            Err(fault) => return Some(Err(fault)),
        };
        let start = self.ctx.now();
        let track = self.tracks[q];
        let flow = self.next_flow.get();
        self.next_flow.set(flow + 1);
        if self.active.get() == 0 {
            self.active_since.set(start);
        }
        self.active.set(self.active.get() + 1);
        let result = self.execute(q, index, flow, desc.clone()).await;
        let end = self.ctx.now();
        self.active.set(self.active.get() - 1);
        let mut stats = self.stats.get();
        if self.active.get() == 0 {
            stats.busy += end - self.active_since.get();
        }
        stats.commands += 1;
        self.stats.set(stats);
        let depth = {
            let st = self.state.borrow();
            let qr = &st.queues[q];
            (qr.tail + qr.size - qr.head) % qr.size.max(1)
        };
        self.ctx
            .timeline()
            .counter(track, "depth", f64::from(depth.saturating_sub(1)));
        self.ctx.timeline().complete(
            track,
            desc.command.mnemonic(),
            start,
            end,
            &[
                ("id", ArgValue::U64(u64::from(desc.id))),
                ("index", ArgValue::U64(u64::from(index))),
            ],
        );
        if let Some(hook) = self.on_complete.borrow().as_ref() {
            hook(desc.id, end);
        }
        Some(result)
    }

    async fn execute(
        &self,
        q: usize,
        index: u32,
        flow: u64,
        desc: Descriptor,
    ) -> Result<(), Fault> {
        let port = match &desc.command {
            Command::Nop | Command::Fence => return Ok(()),
            Command::DmaLoad(_) | Command::DmaStore(_) | Command::DmaCopy(_) => &self.dma,
            Command::Gemm(_) => &self.gemm,
            Command::Sfu(_) => &self.sfu,
            Command::SemSignal { sem } => {
                self.state.borrow_mut().sems[usize::from(*sem)] += 1;
                self.sem_changed.notify();
                return Ok(());
            }
            Command::SemWait { sem, count } => {
                let sem = usize::from(*sem);
                loop {
                    {
                        let mut st = self.state.borrow_mut();
                        if st.sems[sem] >= *count {
                            st.sems[sem] -= *count;
                            return Ok(());
                        }
                    }
                    self.sem_changed.wait().await;
                }
            }
            Command::Irq { code } => {
                {
                    let mut st = self.state.borrow_mut();
                    st.irq_status |= regs::IRQ_COMPLETION;
                    st.irq_code = *code;
                }
                self.raised.borrow_mut().push(*code);
                self.update_irq();
                return Ok(());
            }
        };
        self.ctx.timeline().flow_start(self.tracks[q], flow);
        job::execute(port, Job::new(&self.ctx, desc, q, index, flow)).await
    }
}

/// Decodes the descriptor `bytes` read from `addr`; a bad field is a fault there.
fn decode(bytes: &[u8], addr: u64) -> Result<Descriptor, Fault> {
    let mut buf = [0u8; DESC_BYTES];
    if bytes.len() == DESC_BYTES {
        buf.copy_from_slice(bytes);
    }
    Descriptor::decode(&buf).map_err(|e| Fault::in_field(e.device_error(), addr, e.field()))
}

impl FwTransport for CommandProcessor {
    fn b_transport<'a>(
        &'a self,
        trans: &'a mut Payload,
        delay: &'a mut SimTime,
    ) -> TransportFuture<'a> {
        if trans.data_length() != 4 {
            trans.response = ResponseStatus::BurstError;
            return TransportFuture::done();
        }
        let offset = trans.address;
        let ok = match trans.command {
            TlmCommand::Read => match self.read_reg(offset) {
                Some(v) => {
                    if let Some(data) = trans.data_mut() {
                        data.copy_from_slice(&v.to_le_bytes());
                    }
                    true
                }
                None => false,
            },
            TlmCommand::Write => {
                let mut b = [0u8; 4];
                if let Some(data) = trans.data() {
                    b.copy_from_slice(data);
                }
                self.write_reg(offset, u32::from_le_bytes(b))
            }
            TlmCommand::Ignore => true,
        };
        *delay += self.clock.cycles(1);
        trans.response = if ok {
            ResponseStatus::Ok
        } else {
            ResponseStatus::AddressError
        };
        TransportFuture::done()
    }
}
