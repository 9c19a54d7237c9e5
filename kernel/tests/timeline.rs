//! The timeline hook: records in simulated time, free when nothing listens, and
//! byte-identical across runs of the same program.

use treta_kernel::timeline::{ArgValue, MemoryRecorder};
use treta_kernel::{SimTime, Simulation};

/// A small producer/consumer system with jittered (seeded) service times that records
/// spans, counters, instants and flows.
fn run_once(seed: u64, record: bool) -> (SimTime, Vec<String>) {
    let mut sim = Simulation::new();
    let recorder = MemoryRecorder::new();
    if record {
        sim.set_recorder(Box::new(recorder.clone()));
    }
    let fifo = treta_kernel::Fifo::new(sim.ctx(), "q", 4);
    let engine = sim.ctx().timeline().track("engine");
    let queue = sim.ctx().timeline().track("queue");
    {
        let fifo = fifo.clone();
        sim.spawn("issuer", move |ctx| async move {
            let mut x = seed;
            for id in 0..50u64 {
                x = x
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                ctx.wait(SimTime::from_ns(1 + (x >> 60))).await;
                ctx.timeline().flow_start(queue, id);
                fifo.write((id, x)).await;
                ctx.timeline()
                    .counter(queue, "depth", fifo.occupancy() as f64);
            }
        });
    }
    sim.spawn("engine", move |ctx| async move {
        for _ in 0..50 {
            let (id, x) = fifo.read().await;
            let tl = ctx.timeline();
            tl.flow_end(engine, id);
            tl.begin(engine, "cmd", &[("id", ArgValue::U64(id))]);
            ctx.wait(SimTime::from_ns(2 + (x >> 61))).await;
            tl.end(engine);
            tl.instant(engine, "irq", &[]);
        }
        let start = ctx.now();
        ctx.timeline().complete(
            engine,
            "drain",
            start,
            start + SimTime::from_ns(3),
            &[("ok", ArgValue::Bool(true))],
        );
    });
    sim.run().unwrap();
    (sim.now(), recorder.lines())
}

#[test]
fn two_runs_give_identical_timelines() {
    let (t1, a) = run_once(7, true);
    let (t2, b) = run_once(7, true);
    assert_eq!(t1, t2);
    assert!(a.len() > 200, "recorded {} records", a.len());
    assert_eq!(a, b);
    let (_, c) = run_once(8, true);
    assert_ne!(a, c, "a different seed gives a different timeline");
}

#[test]
fn records_carry_simulated_time_and_tracks_come_first() {
    let (end, lines) = run_once(3, true);
    assert!(lines[0].starts_with("Track { track: TrackId(0), name: \"engine\""));
    assert!(lines[1].starts_with("Track { track: TrackId(1), name: \"queue\""));
    let last_end = lines.iter().rev().find(|l| l.starts_with("End")).unwrap();
    assert!(last_end.contains("time: SimTime("));
    assert!(lines.iter().any(|l| l.starts_with("Counter")));
    assert!(lines.iter().any(|l| l.starts_with("FlowStart")));
    assert!(lines.iter().any(|l| l.starts_with("Complete")));
    assert!(end > SimTime::from_ns(100));
}

#[test]
fn without_a_recorder_nothing_is_recorded_and_timing_is_the_same() {
    let (t_recorded, _) = run_once(5, true);
    let (t_plain, lines) = run_once(5, false);
    assert_eq!(t_recorded, t_plain);
    assert!(lines.is_empty());
}

#[test]
fn a_recorder_attached_late_learns_the_tracks_declared_before() {
    let mut sim = Simulation::new();
    let t = sim.ctx().timeline().track("dram.ch0");
    let rec = MemoryRecorder::new();
    sim.set_recorder(Box::new(rec.clone()));
    sim.ctx().timeline().instant(t, "refresh", &[]);
    assert_eq!(rec.lines().len(), 2);
    assert!(rec.lines()[0].contains("dram.ch0"));
    assert!(sim.take_recorder().is_some());
    sim.ctx().timeline().instant(t, "refresh", &[]);
    assert_eq!(rec.lines().len(), 2);
}
