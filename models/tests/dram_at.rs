//! The DRAM's four-phase protocol: END_REQ at once (later under back-pressure),
//! BEGIN_RESP at the controller's completion time.

use std::cell::RefCell;
use std::rc::{Rc, Weak};
use treta_kernel::tlm::{
    BwTransport, Command, InitiatorSocket, Payload, PayloadRef, Phase, SyncEnum,
};
use treta_kernel::{Ctx, SimTime, Simulation};
use treta_models::dram_ctrl::{DramSpec, Loc, Mapping, PagePolicy};
use treta_models::{Dram, LatencyHistogram};

struct Initiator {
    ctx: Ctx,
    responses: RefCell<Vec<SimTime>>,
}

impl BwTransport for Initiator {
    fn nb_transport_bw(&self, _: &PayloadRef, phase: &mut Phase, _: &mut SimTime) -> SyncEnum {
        assert_eq!(*phase, Phase::BeginResp);
        self.responses.borrow_mut().push(self.ctx.now());
        SyncEnum::Completed
    }
}

/// Sends reads at `addrs` at time 0; returns (END_REQ delays, BEGIN_RESP times,
/// the DRAM's latency histogram).
fn send(addrs: Vec<u64>) -> (Vec<SimTime>, Vec<SimTime>, LatencyHistogram) {
    let mut sim = Simulation::new();
    let ctx = sim.ctx().clone();
    let spec = DramSpec::ddr4_3200();
    let m = Mapping::row_bank_rank_column_channel(&spec);
    let dram = Dram::new(&ctx, "dram", 1 << 30, spec, m, PagePolicy::Open);
    let ini = Rc::new(Initiator {
        ctx: ctx.clone(),
        responses: RefCell::new(Vec::new()),
    });
    let socket =
        InitiatorSocket::with_backward("ini", Rc::downgrade(&ini) as Weak<dyn BwTransport>);
    socket.bind(&dram.socket).unwrap();
    let accepts = Rc::new(RefCell::new(Vec::new()));
    {
        let accepts = accepts.clone();
        sim.spawn("ini", move |_| async move {
            for a in addrs {
                let trans: PayloadRef = Rc::new(RefCell::new(Payload::new(Command::Read, a, 64)));
                let mut phase = Phase::BeginReq;
                let mut delay = SimTime::ZERO;
                assert_eq!(
                    socket.nb_transport_fw(&trans, &mut phase, &mut delay),
                    SyncEnum::Updated
                );
                assert_eq!(phase, Phase::EndReq);
                accepts.borrow_mut().push(delay);
            }
        });
    }
    sim.run().unwrap();
    let r = ini.responses.borrow().clone();
    let a = accepts.borrow().clone();
    (a, r, dram.latency())
}

#[test]
fn begin_resp_comes_at_the_controller_completion_time() {
    let spec = DramSpec::ddr4_3200();
    let t = spec.timing;
    let m = Mapping::row_bank_rank_column_channel(&spec);
    let a = m.encode(
        0,
        Loc {
            rank: 0,
            bank_group: 0,
            bank: 0,
            row: 3,
        },
        0,
    );
    let (accepts, responses, latency) = send(vec![a]);
    assert_eq!(accepts, vec![SimTime::ZERO]);
    let miss = 1 + t.rcd + t.cl + t.burst;
    assert_eq!(responses, vec![SimTime::from_ps(miss * t.tck_ps)]);
    assert_eq!(latency.count(), 1);
    assert_eq!(latency.max_ns(), (miss * t.tck_ps) as f64 / 1000.0);
}

#[test]
fn a_full_queue_delays_end_req() {
    // 40 reads to one bank, each a different row: the queue of 32 fills, and the
    // 33rd request is accepted only when the first leaves.
    let spec = DramSpec::ddr4_3200();
    let m = Mapping::row_bank_rank_column_channel(&spec);
    let addrs = (0..40)
        .map(|row| {
            m.encode(
                0,
                Loc {
                    rank: 0,
                    bank_group: 0,
                    bank: 0,
                    row,
                },
                0,
            )
        })
        .collect();
    let (accepts, responses, latency) = send(addrs);
    assert!(accepts[..32].iter().all(|d| d.is_zero()), "{accepts:?}");
    assert!(
        accepts[32] > SimTime::ZERO,
        "back-pressure: {:?}",
        accepts[32]
    );
    assert_eq!(responses.len(), 40);
    // Each row conflict waits in the queue for the ones before it: the latencies
    // spread over several buckets, and each runs from END_REQ (acceptance) to
    // BEGIN_RESP, not from the send (waiting for a slot is not the DRAM's latency).
    assert_eq!(latency.count(), 40);
    assert!(latency.buckets().len() > 2, "{:?}", latency.buckets());
    let slowest = responses
        .iter()
        .zip(&accepts)
        .map(|(r, a)| (*r - *a).as_ps())
        .max()
        .unwrap();
    assert_eq!(latency.max_ns(), slowest as f64 / 1000.0);
    assert!(latency.max_ns() < responses[39].as_ps() as f64 / 1000.0);
    assert!(responses.windows(2).all(|w| w[0] <= w[1]));
}
