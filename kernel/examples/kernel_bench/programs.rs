//! The six benchmark programs (shared by the `kernel_bench` example and the test
//! that runs them small).

use std::cell::{Cell, RefCell};
use std::rc::{Rc, Weak};
use std::time::Instant;
use treta_kernel::tlm::{
    BwTransport, Command, FwTransport, InitiatorSocket, Payload, PayloadEventQueue, PayloadRef,
    Phase, QuantumKeeper, ResponseStatus, SyncEnum, TargetSocket, TransportFuture,
};
use treta_kernel::{Ctx, Event, Fifo, SimTime, Simulation};

/// Size of the target memory of the TLM benchmarks [bytes].
const MEM_SIZE: u64 = 1 << 20;
/// Latency the TLM targets annotate per transaction.
const TARGET_LATENCY: SimTime = SimTime::from_ns(10);

/// The outcome of one benchmark: its output line and whether its checks passed.
pub struct Outcome {
    /// The `key=value` line, in the format of the SystemC versions.
    pub line: String,
    /// Whether every self-check passed.
    pub ok: bool,
}

/// The benchmark names, as given on the command line.
pub const NAMES: [&str; 6] = [
    "a_pingpong",
    "b_manywait",
    "c_fifo",
    "d_tlm_lt_qk1us",
    "d_tlm_lt_wait",
    "e_tlm_at4",
];

/// Checks a finished run and formats its line, given the run's wall time [s].
type Finish = Box<dyn FnOnce(&Simulation, f64) -> Outcome>;

/// A benchmark program, built and not yet run.
pub struct Program {
    name: &'static str,
    /// The simulation, elaborated.
    pub sim: Simulation,
    /// The simulated time at which the program ends.
    pub end: SimTime,
    setup_error: Option<String>,
    finish: Finish,
}

impl Program {
    fn new(
        name: &'static str,
        sim: Simulation,
        end: SimTime,
        finish: impl FnOnce(&Simulation, f64) -> Outcome + 'static,
    ) -> Program {
        Program {
            name,
            sim,
            end,
            setup_error: None,
            finish: Box::new(finish),
        }
    }

    /// A program that could not be built.
    fn broken(name: &'static str, why: String) -> Program {
        Program {
            name,
            sim: Simulation::new(),
            end: SimTime::ZERO,
            setup_error: Some(why),
            finish: Box::new(|_, _| unreachable_outcome()),
        }
    }

    /// Runs the program to completion, timing the run alone, and checks it.
    pub fn run(mut self) -> Outcome {
        if let Some(why) = self.setup_error {
            return failed(self.name, why);
        }
        match timed_run(&mut self.sim) {
            Ok(wall) => {
                let mut outcome = (self.finish)(&self.sim, wall);
                outcome.ok &= self.sim.now() == self.end;
                outcome
            }
            Err(e) => failed(self.name, e),
        }
    }
}

fn unreachable_outcome() -> Outcome {
    Outcome {
        line: "bench=? error=\"broken program finished\"".into(),
        ok: false,
    }
}

/// Builds benchmark `name` with size `n` (its default when `None`); `None` for an
/// unknown name.
pub fn build(name: &str, n: Option<u64>) -> Option<Program> {
    Some(match name {
        "a_pingpong" => a_pingpong(n.unwrap_or(10_000_000)),
        "b_manywait" => b_manywait(n.unwrap_or(1000)),
        "c_fifo" => c_fifo(n.unwrap_or(10_000_000)),
        "d_tlm_lt_qk1us" => d_tlm_lt(n.unwrap_or(10_000_000), true),
        "d_tlm_lt_wait" => d_tlm_lt(n.unwrap_or(10_000_000), false),
        "e_tlm_at4" => e_tlm_at4(n.unwrap_or(1_000_000)),
        _ => return None,
    })
}

/// Builds and runs benchmark `name` (see [`build`]).
pub fn run(name: &str, n: Option<u64>) -> Option<Outcome> {
    build(name, n).map(Program::run)
}

/// Runs `sim` to completion and returns the wall time of the run alone [s].
fn timed_run(sim: &mut Simulation) -> Result<f64, String> {
    let start = Instant::now();
    let outcome = sim.run().map_err(|e| e.to_string())?;
    let wall = start.elapsed().as_secs_f64();
    match outcome {
        treta_kernel::RunOutcome::Starved => Ok(wall),
        other => Err(format!("run ended with {other:?}")),
    }
}

fn failed(bench: &str, why: String) -> Outcome {
    Outcome {
        line: format!("bench={bench} system=treta-kernel error={why:?}"),
        ok: false,
    }
}

/// (a) Two processes notify each other with 1 ns timed notifications, N round trips.
fn a_pingpong(n: u64) -> Program {
    let sim = Simulation::new();
    let ev_a = sim.ctx().event("ev_a");
    let ev_b = sim.ctx().event("ev_b");
    let resumes = Rc::new(Cell::new(0u64));
    {
        let (ev_a, ev_b, resumes) = (ev_a.clone(), ev_b.clone(), resumes.clone());
        sim.spawn("ping", move |_ctx| async move {
            for _ in 0..n {
                ev_b.notify_after(SimTime::from_ns(1));
                ev_a.wait().await;
                resumes.set(resumes.get() + 1);
            }
        });
    }
    {
        let resumes = resumes.clone();
        sim.spawn("pong", move |_ctx| async move {
            for _ in 0..n {
                ev_b.wait().await;
                resumes.set(resumes.get() + 1);
                ev_a.notify_after(SimTime::from_ns(1));
            }
        });
    }
    let end = SimTime::from_ns(2 * n);
    Program::new(
        "a_pingpong",
        sim,
        end,
        move |sim: &Simulation, wall: f64| {
            let events = 2 * n;
            Outcome {
        line: format!(
            "bench=a_pingpong system=treta-kernel N={n} sim_end_ns={} kernel_wall_s={wall:.4} \
             timed_notifications={events} events_per_s={:.0} thread_resumes={} ctx_switches_per_s={:.0}",
            sim.now().as_ns(),
            events as f64 / wall,
            resumes.get(),
            resumes.get() as f64 / wall
        ),
        ok: resumes.get() == 2 * n && sim.now() == SimTime::from_ns(2 * n),
    }
        },
    )
}

/// (b) P processes; process i waits k = 1 + i%7 ns while now + k <= 100 us.
fn b_manywait(p: u64) -> Program {
    let t_end = SimTime::from_us(100);
    let sim = Simulation::new();
    let activations = Rc::new(Cell::new(0u64));
    let mut expected = 0u64;
    for i in 0..p {
        let k = SimTime::from_ns(1 + i % 7);
        expected += t_end.as_ps() / k.as_ps();
        let activations = activations.clone();
        sim.spawn(&format!("w{i}"), move |ctx| async move {
            let mut local = 0u64;
            while ctx.now() + k <= t_end {
                ctx.wait(k).await;
                local += 1;
            }
            activations.set(activations.get() + local);
        });
    }
    let end = t_end;
    Program::new(
        "b_manywait",
        sim,
        end,
        move |sim: &Simulation, wall: f64| Outcome {
            line: format!(
                "bench=b_manywait system=treta-kernel P={p} sim_end_ns={} kernel_wall_s={wall:.4} \
             activations={} activations_per_s={:.0}",
                sim.now().as_ns(),
                activations.get(),
                activations.get() as f64 / wall
            ),
            ok: activations.get() == expected && sim.now() == t_end,
        },
    )
}

/// (c) A depth-16 FIFO; the consumer checks item i and waits 1 ns after each read.
fn c_fifo(n: u64) -> Program {
    let sim = Simulation::new();
    let fifo: Fifo<u64> = Fifo::new(sim.ctx(), "fifo", 16);
    let bad = Rc::new(Cell::new(0u64));
    let sum = Rc::new(Cell::new(0u64));
    {
        let fifo = fifo.clone();
        sim.spawn("producer", move |_ctx| async move {
            for i in 0..n {
                fifo.write(i).await;
            }
        });
    }
    {
        let (bad, sum) = (bad.clone(), sum.clone());
        sim.spawn("consumer", move |ctx| async move {
            for i in 0..n {
                let v = fifo.read().await;
                if v != i {
                    bad.set(bad.get() + 1);
                }
                sum.set(sum.get().wrapping_add(v));
                ctx.wait(SimTime::from_ns(1)).await;
            }
        });
    }
    let end = SimTime::from_ns(n);
    Program::new("c_fifo", sim, end, move |sim: &Simulation, wall: f64| {
        Outcome {
            line: format!(
            "bench=c_fifo system=treta-kernel N={n} depth=16 sim_end_ns={} kernel_wall_s={wall:.4} \
             items_per_s={:.0} bad={}",
            sim.now().as_ns(),
            n as f64 / wall,
            bad.get()
        ),
            ok: bad.get() == 0 && sim.now() == SimTime::from_ns(n),
        }
    })
}

/// The address and command of transaction `i` of the TLM benchmarks.
fn txn(i: u64) -> (Command, u64) {
    let command = if i & 1 == 0 {
        Command::Write
    } else {
        Command::Read
    };
    (command, ((i >> 1) * 64) & (MEM_SIZE - 1))
}

/// A 1 MiB memory: copies to/from the payload, annotates 10 ns.
struct Memory {
    socket: TargetSocket,
    bytes: RefCell<Vec<u8>>,
    peq: Option<PayloadEventQueue<(PayloadRef, Phase)>>,
    completed: Cell<u64>,
}

impl Memory {
    /// A memory for the loosely-timed bench (b_transport only).
    fn new_lt() -> Rc<Memory> {
        Rc::new_cyclic(|me: &Weak<Memory>| Memory {
            socket: TargetSocket::new("mem.socket", me.clone()),
            bytes: RefCell::new(vec![0; MEM_SIZE as usize]),
            peq: None,
            completed: Cell::new(0),
        })
    }

    /// A memory for the approximately-timed bench, with its payload event queue.
    fn new_at(ctx: &Ctx) -> Rc<Memory> {
        Rc::new_cyclic(|me: &Weak<Memory>| {
            let target = me.clone();
            let peq = PayloadEventQueue::new(ctx, "tgt.peq", move |(trans, phase)| {
                if let Some(target) = target.upgrade() {
                    target.peq_callback(&trans, phase);
                }
            });
            Memory {
                socket: TargetSocket::new("tgt.socket", me.clone()),
                bytes: RefCell::new(vec![0; MEM_SIZE as usize]),
                peq: Some(peq),
                completed: Cell::new(0),
            }
        })
    }

    /// Copies between the payload and the array; sets the response status.
    #[inline]
    fn access(&self, trans: &mut Payload) {
        let a = trans.address as usize;
        let len = trans.data_length();
        let mut bytes = self.bytes.borrow_mut();
        let Some(cells) = bytes.get_mut(a..a.saturating_add(len)) else {
            trans.response = ResponseStatus::AddressError;
            return;
        };
        if trans.byte_enables.is_some() || trans.effective_streaming_width() < len {
            trans.response = ResponseStatus::GenericError;
            return;
        }
        let command = trans.command;
        if let Some(data) = trans.data_mut() {
            match command {
                Command::Write => cells.copy_from_slice(data),
                Command::Read => data.copy_from_slice(cells),
                Command::Ignore => {}
            }
        }
        trans.response = ResponseStatus::Ok;
    }

    fn peq_callback(&self, trans: &PayloadRef, phase: Phase) {
        match phase {
            Phase::BeginReq => {
                self.access(&mut trans.borrow_mut());
                let mut p = Phase::EndReq;
                let mut d = SimTime::ZERO;
                self.socket.nb_transport_bw(trans, &mut p, &mut d);
                if let Some(peq) = &self.peq {
                    peq.notify((trans.clone(), Phase::BeginResp), TARGET_LATENCY);
                }
            }
            Phase::BeginResp => {
                let mut p = Phase::BeginResp;
                let mut d = SimTime::ZERO;
                self.socket.nb_transport_bw(trans, &mut p, &mut d);
            }
            Phase::EndReq | Phase::EndResp => {}
        }
    }
}

impl FwTransport for Memory {
    fn b_transport<'a>(
        &'a self,
        trans: &'a mut Payload,
        delay: &'a mut SimTime,
    ) -> TransportFuture<'a> {
        self.access(trans);
        if trans.response.is_ok() {
            *delay += TARGET_LATENCY;
        }
        TransportFuture::done()
    }

    fn nb_transport_fw(
        &self,
        trans: &PayloadRef,
        phase: &mut Phase,
        delay: &mut SimTime,
    ) -> SyncEnum {
        if *phase == Phase::EndResp {
            self.completed.set(self.completed.get() + 1);
            return SyncEnum::Completed;
        }
        if let Some(peq) = &self.peq {
            peq.notify((trans.clone(), *phase), *delay);
        }
        SyncEnum::Accepted
    }
}

/// (d) N blocking transports of 64 bytes, with a quantum keeper or a wait per call.
fn d_tlm_lt(n: u64, use_qk: bool) -> Program {
    let bench = if use_qk {
        "d_tlm_lt_qk1us"
    } else {
        "d_tlm_lt_wait"
    };
    let sim = Simulation::new();
    sim.ctx().set_global_quantum(SimTime::from_us(1));
    let memory = Memory::new_lt();
    let socket = InitiatorSocket::new("ini.socket");
    if let Err(e) = socket.bind(&memory.socket) {
        return Program::broken(bench, e.to_string());
    }
    let checksum = Rc::new(Cell::new(0u64));
    let errors = Rc::new(Cell::new(0u64));
    {
        let (checksum, errors) = (checksum.clone(), errors.clone());
        sim.spawn("ini", move |ctx| async move {
            let mut trans = Payload::with_data(Command::Write, 0, vec![0; 64]);
            let mut qk = QuantumKeeper::new(&ctx);
            let (mut sum, mut errs) = (0u64, 0u64);
            for i in 0..n {
                let (command, address) = txn(i);
                trans.reset(command, address);
                if let (Command::Write, Some(data)) = (command, trans.data_mut()) {
                    data[..8].copy_from_slice(&i.to_le_bytes());
                }
                if use_qk {
                    let mut delay = qk.local_time();
                    socket.b_transport(&mut trans, &mut delay).await;
                    qk.set(delay);
                    if qk.need_sync() {
                        qk.sync().await;
                    }
                } else {
                    let mut delay = SimTime::ZERO;
                    socket.b_transport(&mut trans, &mut delay).await;
                    ctx.wait(delay).await;
                }
                if trans.response.is_error() {
                    errs += 1;
                }
                if let (Command::Read, Some(data)) = (command, trans.data()) {
                    let mut word = [0u8; 8];
                    word.copy_from_slice(&data[..8]);
                    sum = sum.wrapping_add(u64::from_le_bytes(word));
                }
            }
            if use_qk {
                qk.sync().await;
            }
            checksum.set(sum);
            errors.set(errs);
        });
    }
    let end = TARGET_LATENCY * n;
    Program::new(bench, sim, end, move |sim: &Simulation, wall: f64| {
        let h = n / 2;
        let expect = h.wrapping_mul(h.wrapping_sub(1));
        let ok = checksum.get() == expect && errors.get() == 0 && sim.now() == TARGET_LATENCY * n;
        Outcome {
            line: format!(
                "bench={bench} system=treta-kernel N={n} sim_end_ns={} kernel_wall_s={wall:.4} \
             txn_per_s={:.0} checksum_ok={} errors={}",
                sim.now().as_ns(),
                n as f64 / wall,
                u8::from(checksum.get() == expect),
                errors.get()
            ),
            ok,
        }
    })
}

/// The AT initiator's backward side: counts END_REQ, fires the response event on
/// BEGIN_RESP.
struct AtInitiator {
    resp_ev: Event,
    end_reqs: Cell<u64>,
}

impl BwTransport for AtInitiator {
    fn nb_transport_bw(&self, _: &PayloadRef, phase: &mut Phase, delay: &mut SimTime) -> SyncEnum {
        match *phase {
            Phase::EndReq => self.end_reqs.set(self.end_reqs.get() + 1),
            Phase::BeginResp if delay.is_zero() => self.resp_ev.notify(),
            Phase::BeginResp => self.resp_ev.notify_after(*delay),
            Phase::BeginReq | Phase::EndResp => {}
        }
        SyncEnum::Accepted
    }
}

/// (e) N four-phase non-blocking transactions, one outstanding.
fn e_tlm_at4(n: u64) -> Program {
    let sim = Simulation::new();
    let ctx = sim.ctx().clone();
    let target = Memory::new_at(&ctx);
    let initiator = Rc::new(AtInitiator {
        resp_ev: ctx.event("ini.resp_ev"),
        end_reqs: Cell::new(0),
    });
    let bw: Weak<dyn BwTransport> = Rc::downgrade(&initiator) as Weak<dyn BwTransport>;
    let socket = InitiatorSocket::with_backward("ini.socket", bw);
    if let Err(e) = socket.bind(&target.socket) {
        return Program::broken("e_tlm_at4", e.to_string());
    }
    let checksum = Rc::new(Cell::new(0u64));
    let errors = Rc::new(Cell::new(0u64));
    {
        let (checksum, errors, initiator) = (checksum.clone(), errors.clone(), initiator.clone());
        sim.spawn("ini", move |_ctx| async move {
            let trans: PayloadRef = Rc::new(RefCell::new(Payload::with_data(
                Command::Write,
                0,
                vec![0; 64],
            )));
            for i in 0..n {
                let (command, address) = txn(i);
                {
                    let mut t = trans.borrow_mut();
                    t.reset(command, address);
                    if let (Command::Write, Some(data)) = (command, t.data_mut()) {
                        data[..8].copy_from_slice(&i.to_le_bytes());
                    }
                }
                let mut phase = Phase::BeginReq;
                let mut delay = SimTime::ZERO;
                if socket.nb_transport_fw(&trans, &mut phase, &mut delay) != SyncEnum::Accepted {
                    errors.set(errors.get() + 1);
                }
                initiator.resp_ev.wait().await;
                {
                    let t = trans.borrow();
                    if t.response.is_error() {
                        errors.set(errors.get() + 1);
                    }
                    if let (Command::Read, Some(data)) = (command, t.data()) {
                        let mut word = [0u8; 8];
                        word.copy_from_slice(&data[..8]);
                        checksum.set(checksum.get().wrapping_add(u64::from_le_bytes(word)));
                    }
                }
                let mut phase = Phase::EndResp;
                let mut delay = SimTime::ZERO;
                if socket.nb_transport_fw(&trans, &mut phase, &mut delay) != SyncEnum::Completed {
                    errors.set(errors.get() + 1);
                }
            }
        });
    }
    let end = TARGET_LATENCY * n;
    Program::new("e_tlm_at4", sim, end, move |sim: &Simulation, wall: f64| {
        let h = n / 2;
        let expect = h.wrapping_mul(h.wrapping_sub(1));
        let ok = checksum.get() == expect
            && errors.get() == 0
            && target.completed.get() == n
            && initiator.end_reqs.get() == n
            && sim.now() == TARGET_LATENCY * n;
        Outcome {
            line: format!(
                "bench=e_tlm_at4 system=treta-kernel N={n} sim_end_ns={} kernel_wall_s={wall:.4} \
             txn_per_s={:.0} ok={}",
                sim.now().as_ns(),
                n as f64 / wall,
                u8::from(ok)
            ),
            ok,
        }
    })
}
