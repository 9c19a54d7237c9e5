//! TLM-2.0: blocking transport (direct and suspending), quantum keeper sync points,
//! the four-phase AT protocol through a payload event queue, DMI grant and
//! invalidation, debug transport, binding errors.

use std::cell::{Cell, RefCell};
use std::rc::{Rc, Weak};
use treta_kernel::tlm::{
    BindError, BwTransport, Command, Dmi, DmiAccess, DmiCache, DmiError, FwTransport,
    InitiatorSocket, Payload, PayloadEventQueue, PayloadRef, Phase, QuantumKeeper, ResponseStatus,
    SyncEnum, TargetSocket, TransportFuture,
};
use treta_kernel::{Ctx, Mutex, SimError, SimTime, Simulation};

fn ns(n: u64) -> SimTime {
    SimTime::from_ns(n)
}

/// A 256-byte memory with DMI, debug transport and an optional port lock that makes
/// `b_transport` wait (a suspending target).
struct Ram {
    socket: TargetSocket,
    bytes: treta_kernel::tlm::DmiMemory,
    port: Option<(Ctx, Mutex)>,
}

impl Ram {
    fn new(port: Option<(Ctx, Mutex)>) -> Rc<Ram> {
        Rc::new_cyclic(|me: &Weak<Ram>| Ram {
            socket: TargetSocket::new("ram.socket", me.clone()),
            bytes: Rc::new(RefCell::new(vec![0u8; 256].into_boxed_slice())),
            port,
        })
    }

    fn access(&self, trans: &mut Payload) {
        let end = trans.address as usize + trans.data_length();
        if end > 256 {
            trans.response = ResponseStatus::AddressError;
            return;
        }
        let range = trans.address as usize..end;
        let command = trans.command;
        if let Some(data) = trans.data_mut() {
            match command {
                Command::Write => self.bytes.borrow_mut()[range].copy_from_slice(data),
                Command::Read => data.copy_from_slice(&self.bytes.borrow()[range]),
                Command::Ignore => {}
            }
        }
        trans.response = ResponseStatus::Ok;
        trans.dmi_allowed = true;
    }
}

impl FwTransport for Ram {
    fn b_transport<'a>(
        &'a self,
        trans: &'a mut Payload,
        delay: &'a mut SimTime,
    ) -> TransportFuture<'a> {
        match &self.port {
            None => {
                self.access(trans);
                *delay += ns(10);
                TransportFuture::done()
            }
            Some((ctx, port)) => TransportFuture::suspend(async move {
                // Sync to the initiator's local time, then hold the port for 10 ns.
                ctx.wait(*delay).await;
                *delay = SimTime::ZERO;
                let guard = port.lock().await;
                ctx.wait(ns(10)).await;
                self.access(trans);
                port.unlock(guard).expect("this process owns the port");
            }),
        }
    }

    fn get_direct_mem_ptr(&self, trans: &Payload) -> Option<Dmi> {
        (trans.address < 128).then(|| Dmi {
            memory: self.bytes.clone(),
            offset: 0,
            start: 0,
            end: 127,
            access: DmiAccess::ReadWrite,
            read_latency: ns(2),
            write_latency: ns(3),
        })
    }

    fn transport_dbg(&self, trans: &mut Payload) -> usize {
        let before = trans.response;
        self.access(trans);
        let ok = trans.response.is_ok();
        trans.response = if ok { ResponseStatus::Ok } else { before };
        if ok {
            trans.data_length()
        } else {
            0
        }
    }
}

#[test]
fn b_transport_annotates_delay_and_moves_bytes() {
    let mut sim = Simulation::new();
    let ram = Ram::new(None);
    let socket = InitiatorSocket::new("cpu.socket");
    socket.bind(&ram.socket).unwrap();
    sim.spawn("cpu", move |ctx| async move {
        let mut p = Payload::with_data(Command::Write, 16, vec![1, 2, 3, 4]);
        let mut delay = SimTime::ZERO;
        socket.b_transport(&mut p, &mut delay).await;
        assert_eq!((p.response, delay), (ResponseStatus::Ok, ns(10)));
        ctx.wait(delay).await;
        p.reset(Command::Read, 16);
        p.data_mut().unwrap().fill(0);
        let mut delay = SimTime::ZERO;
        socket.b_transport(&mut p, &mut delay).await;
        assert_eq!(p.data(), Some(&[1u8, 2, 3, 4][..]));
        p.reset(Command::Read, 254);
        socket.b_transport(&mut p, &mut delay).await;
        assert_eq!(p.response, ResponseStatus::AddressError);
        // Timing-only payload: timing without bytes.
        let mut t = Payload::new(Command::Read, 0, 64);
        let mut delay = SimTime::ZERO;
        socket.b_transport(&mut t, &mut delay).await;
        assert_eq!(
            (t.response, delay, t.data()),
            (ResponseStatus::Ok, ns(10), None)
        );
    });
    sim.run().unwrap();
    assert_eq!(sim.now(), ns(10));
}

#[test]
fn suspending_target_serializes_two_initiators() {
    let mut sim = Simulation::new();
    let ctx = sim.ctx().clone();
    let ram = Ram::new(Some((ctx.clone(), Mutex::new(&ctx, "ram.port"))));
    let done = Rc::new(RefCell::new(Vec::new()));
    for name in ["cpu0", "cpu1"] {
        let socket = InitiatorSocket::new(name);
        socket.bind(&ram.socket).unwrap();
        let done = done.clone();
        sim.spawn(name, move |ctx| async move {
            let mut p = Payload::new(Command::Read, 0, 4);
            let mut delay = ns(1);
            socket.b_transport(&mut p, &mut delay).await;
            done.borrow_mut().push((name, ctx.now(), p.response));
        });
    }
    sim.run().unwrap();
    assert_eq!(
        *done.borrow(),
        vec![
            ("cpu0", ns(11), ResponseStatus::Ok),
            ("cpu1", ns(21), ResponseStatus::Ok)
        ]
    );
}

#[test]
fn quantum_keeper_syncs_at_global_quantum_boundaries() {
    let mut sim = Simulation::new();
    sim.ctx().set_global_quantum(ns(100));
    let syncs = Rc::new(RefCell::new(Vec::new()));
    {
        let syncs = syncs.clone();
        sim.spawn("ini", move |ctx| async move {
            ctx.wait(ns(30)).await; // start off a boundary
            let mut qk = QuantumKeeper::new(&ctx);
            assert_eq!(qk.compute_local_quantum(), ns(70));
            for _ in 0..25 {
                qk.inc(ns(10));
                if qk.need_sync() {
                    qk.sync().await;
                    syncs.borrow_mut().push(ctx.now());
                }
            }
            assert_eq!(qk.current_time(), ns(280));
            qk.sync().await;
        });
    }
    sim.run().unwrap();
    assert_eq!(*syncs.borrow(), vec![ns(100), ns(200)]);
    assert_eq!(sim.now(), ns(280));
}

/// An AT initiator that logs every backward call with its time.
struct AtInitiator {
    ctx: Ctx,
    log: RefCell<Vec<String>>,
    response: treta_kernel::Event,
}

impl BwTransport for AtInitiator {
    fn nb_transport_bw(&self, _: &PayloadRef, phase: &mut Phase, _: &mut SimTime) -> SyncEnum {
        self.log
            .borrow_mut()
            .push(format!("{} bw {phase:?}", self.ctx.now()));
        if *phase == Phase::BeginResp {
            self.response.notify();
        }
        SyncEnum::Accepted
    }
}

/// An AT target: BEGIN_REQ via a PEQ, END_REQ after 2 ns, BEGIN_RESP 5 ns later.
struct AtTarget {
    socket: TargetSocket,
    peq: PayloadEventQueue<(PayloadRef, Phase)>,
    ctx: Ctx,
    log: Rc<RefCell<Vec<String>>>,
}

impl AtTarget {
    fn new(ctx: &Ctx, log: Rc<RefCell<Vec<String>>>) -> Rc<AtTarget> {
        Rc::new_cyclic(|me: &Weak<AtTarget>| {
            let target = me.clone();
            AtTarget {
                socket: TargetSocket::new("tgt.socket", me.clone()),
                peq: PayloadEventQueue::new(ctx, "tgt.peq", move |(trans, phase)| {
                    if let Some(t) = target.upgrade() {
                        t.on_peq(&trans, phase);
                    }
                }),
                ctx: ctx.clone(),
                log,
            }
        })
    }

    fn on_peq(&self, trans: &PayloadRef, phase: Phase) {
        self.log
            .borrow_mut()
            .push(format!("{} peq {phase:?}", self.ctx.now()));
        let mut next = match phase {
            Phase::BeginReq => Phase::EndReq,
            Phase::EndReq => {
                trans.borrow_mut().response = ResponseStatus::Ok;
                self.peq.notify((trans.clone(), Phase::BeginResp), ns(5));
                return;
            }
            _ => phase,
        };
        let mut delay = SimTime::ZERO;
        self.socket.nb_transport_bw(trans, &mut next, &mut delay);
        if next == Phase::EndReq {
            self.peq.notify((trans.clone(), Phase::EndReq), ns(2));
        }
    }
}

impl FwTransport for AtTarget {
    fn nb_transport_fw(
        &self,
        trans: &PayloadRef,
        phase: &mut Phase,
        delay: &mut SimTime,
    ) -> SyncEnum {
        self.log
            .borrow_mut()
            .push(format!("{} fw {phase:?}", self.ctx.now()));
        if *phase == Phase::EndResp {
            return SyncEnum::Completed;
        }
        self.peq.notify((trans.clone(), *phase), *delay);
        SyncEnum::Accepted
    }
}

#[test]
fn at_four_phase_sequence_in_order_and_time() {
    let mut sim = Simulation::new();
    let ctx = sim.ctx().clone();
    let target_log = Rc::new(RefCell::new(Vec::new()));
    let target = AtTarget::new(&ctx, target_log.clone());
    let initiator = Rc::new(AtInitiator {
        ctx: ctx.clone(),
        log: RefCell::new(Vec::new()),
        response: ctx.event("resp"),
    });
    let bw: Weak<dyn BwTransport> = Rc::downgrade(&initiator) as Weak<dyn BwTransport>;
    let socket = InitiatorSocket::with_backward("ini.socket", bw.clone());
    socket.bind(&target.socket).unwrap();
    let second = InitiatorSocket::with_backward("other.socket", bw);
    assert_eq!(
        second.bind(&target.socket),
        Err(BindError::TargetAlreadyBound {
            target: "tgt.socket".into()
        })
    );
    assert!(matches!(
        socket.bind(&target.socket),
        Err(BindError::InitiatorAlreadyBound { .. })
    ));
    {
        let initiator = initiator.clone();
        sim.spawn("ini", move |ctx| async move {
            let trans: PayloadRef = Rc::new(RefCell::new(Payload::new(Command::Read, 0, 8)));
            let mut phase = Phase::BeginReq;
            let mut delay = ns(1);
            assert_eq!(
                socket.nb_transport_fw(&trans, &mut phase, &mut delay),
                SyncEnum::Accepted
            );
            initiator.response.wait().await;
            assert_eq!(trans.borrow().response, ResponseStatus::Ok);
            let mut phase = Phase::EndResp;
            let mut delay = SimTime::ZERO;
            assert_eq!(
                socket.nb_transport_fw(&trans, &mut phase, &mut delay),
                SyncEnum::Completed
            );
            assert_eq!(ctx.now(), ns(8));
        });
    }
    sim.run().unwrap();
    assert_eq!(
        *target_log.borrow(),
        vec![
            "0 s fw BeginReq",
            "1 ns peq BeginReq",
            "3 ns peq EndReq",
            "8 ns peq BeginResp",
            "8 ns fw EndResp"
        ]
    );
    assert_eq!(
        *initiator.log.borrow(),
        vec!["1 ns bw EndReq", "8 ns bw BeginResp"]
    );
}

#[test]
fn dmi_grant_is_used_until_invalidated() {
    struct Cpu {
        cache: DmiCache,
        invalidations: Cell<u32>,
    }
    impl BwTransport for Cpu {
        fn nb_transport_bw(&self, _: &PayloadRef, _: &mut Phase, _: &mut SimTime) -> SyncEnum {
            SyncEnum::Completed
        }
        fn invalidate_direct_mem_ptr(&self, start: u64, end: u64) {
            self.invalidations.set(self.invalidations.get() + 1);
            self.cache.invalidate(start, end);
        }
    }
    let ram = Ram::new(None);
    let cpu = Rc::new(Cpu {
        cache: DmiCache::new(),
        invalidations: Cell::new(0),
    });
    let socket =
        InitiatorSocket::with_backward("cpu.socket", Rc::downgrade(&cpu) as Weak<dyn BwTransport>);
    socket.bind(&ram.socket).unwrap();

    let probe = Payload::new(Command::Read, 8, 4);
    let grant = socket
        .get_direct_mem_ptr(&probe)
        .expect("granted below 128");
    assert_eq!((grant.read_latency, grant.write_latency), (ns(2), ns(3)));
    cpu.cache.insert(grant);
    let dmi = cpu.cache.find(8, 4).unwrap();
    dmi.write(8, &[9, 8, 7, 6]).unwrap();
    assert_eq!(ram.bytes.borrow()[8..12], [9, 8, 7, 6]);
    let mut buf = [0u8; 2];
    dmi.read(10, &mut buf).unwrap();
    assert_eq!(buf, [7, 6]);
    assert_eq!(
        dmi.read(127, &mut buf),
        Err(DmiError::OutOfRange {
            address: 127,
            len: 2
        })
    );
    assert!(socket
        .get_direct_mem_ptr(&Payload::new(Command::Read, 200, 4))
        .is_none());

    // The target withdraws [100, 300]: the grant [0, 127] overlaps and is dropped.
    ram.socket.invalidate_direct_mem_ptr(100, 300);
    assert_eq!(cpu.invalidations.get(), 1);
    assert!(cpu.cache.find(8, 4).is_none());
    assert!(cpu.cache.is_empty());
}

#[test]
fn debug_transport_takes_no_time_and_reports_bytes() {
    let mut sim = Simulation::new();
    let ram = Ram::new(None);
    let socket = InitiatorSocket::new("dbg");
    socket.bind(&ram.socket).unwrap();
    let mut w = Payload::with_data(Command::Write, 100, vec![5; 16]);
    assert_eq!(socket.transport_dbg(&mut w), 16);
    let mut r = Payload::with_data(Command::Read, 100, vec![0; 16]);
    assert_eq!(socket.transport_dbg(&mut r), 16);
    assert_eq!(r.data(), Some(&[5u8; 16][..]));
    let mut bad = Payload::with_data(Command::Read, 250, vec![0; 16]);
    assert_eq!(socket.transport_dbg(&mut bad), 0);
    assert_eq!(sim.run().unwrap(), treta_kernel::RunOutcome::Starved);
    assert_eq!(sim.now(), SimTime::ZERO);
}

#[test]
fn calling_an_unbound_socket_fails_the_calling_process_by_name() {
    let mut sim = Simulation::new();
    let socket = InitiatorSocket::new("dma.socket");
    sim.spawn("dma", move |_ctx| async move {
        let mut p = Payload::new(Command::Read, 0, 4);
        let mut delay = SimTime::ZERO;
        socket.b_transport(&mut p, &mut delay).await;
    });
    match sim.run() {
        Err(SimError::ProcessPanicked {
            process, message, ..
        }) => {
            assert_eq!(process, "dma");
            assert!(message.contains("'dma.socket' is not bound"), "{message}");
        }
        other => panic!("expected a process failure, got {other:?}"),
    }
}

#[test]
fn binding_to_a_dropped_target_is_an_error() {
    let socket = InitiatorSocket::new("ini");
    let target_socket = {
        let ram = Ram::new(None);
        TargetSocket::new("gone", Rc::downgrade(&ram) as Weak<dyn FwTransport>)
    };
    assert_eq!(
        socket.bind(&target_socket),
        Err(BindError::TargetGone {
            target: "gone".into()
        })
    );
}

#[test]
fn peq_delivers_delta_items_in_the_next_delta_even_when_woken_earlier() {
    let mut sim = Simulation::new();
    let ctx = sim.ctx().clone();
    let got = Rc::new(RefCell::new(Vec::new()));
    let peq = {
        let (got, c) = (got.clone(), ctx.clone());
        Rc::new(PayloadEventQueue::new(
            &ctx,
            "peq",
            move |item: &'static str| got.borrow_mut().push((item, c.now(), c.delta_count())),
        ))
    };
    {
        let peq = peq.clone();
        sim.spawn("p", move |ctx| async move {
            peq.notify("timed", ns(4));
            peq.notify("delta", SimTime::ZERO);
            peq.notify_immediate("immediate");
            assert_eq!(peq.len(), 3);
            ctx.wait(ns(1)).await;
        });
    }
    sim.run().unwrap();
    assert_eq!(
        *got.borrow(),
        vec![
            // Delta cycles completed before each delivery (SystemC's numbering).
            ("immediate", SimTime::ZERO, 0),
            ("delta", SimTime::ZERO, 1),
            ("timed", ns(4), 3)
        ]
    );
    assert!(peq.is_empty());
}
