//! SystemC event semantics: notification kinds, their order, overrides and cancel,
//! waits on several events and timeouts, run control.

use std::cell::RefCell;
use std::rc::Rc;
use treta_kernel::{Ctx, RunOutcome, SimError, SimTime, Simulation};

type Log = Rc<RefCell<Vec<String>>>;

fn log_at(log: &Log, ctx: &Ctx, what: &str) {
    log.borrow_mut()
        .push(format!("{} d{} {what}", ctx.now(), ctx.delta_count()));
}

fn ns(n: u64) -> SimTime {
    SimTime::from_ns(n)
}

#[test]
fn immediate_runs_in_same_delta_delta_in_next_timed_later() {
    let mut sim = Simulation::new();
    let log: Log = Rc::default();
    let (imm, delta, timed) = (
        sim.ctx().event("imm"),
        sim.ctx().event("delta"),
        sim.ctx().event("timed"),
    );
    for (name, ev) in [("imm", &imm), ("delta", &delta), ("timed", &timed)] {
        let (log, ev) = (log.clone(), ev.clone());
        sim.spawn(&format!("waiter_{name}"), move |ctx| async move {
            ev.wait().await;
            log_at(&log, &ctx, name);
        });
    }
    {
        let log = log.clone();
        sim.spawn("notifier", move |ctx| async move {
            timed.notify_after(ns(5));
            delta.notify_delta();
            imm.notify();
            log_at(&log, &ctx, "notifier done");
        });
    }
    assert_eq!(sim.run().unwrap(), RunOutcome::Starved);
    assert_eq!(
        *log.borrow(),
        vec![
            // The delta count reads the delta cycles completed so far (SystemC's
            // sc_delta_count): 0 in the first.
            "0 s d0 notifier done",
            "0 s d0 imm",
            "0 s d1 delta",
            "5 ns d2 timed"
        ]
    );
}

#[test]
fn earlier_notification_overrides_later_but_not_the_reverse() {
    let mut sim = Simulation::new();
    let log: Log = Rc::default();
    let ev = sim.ctx().event("ev");
    {
        let (log, ev) = (log.clone(), ev.clone());
        sim.spawn("waiter", move |ctx| async move {
            ev.wait().await;
            log_at(&log, &ctx, "first");
            ev.wait().await;
            log_at(&log, &ctx, "second");
            ev.wait().await;
            log_at(&log, &ctx, "third");
        });
    }
    sim.spawn("notifier", move |ctx| async move {
        ev.notify_after(ns(10));
        ev.notify_after(ns(3)); // earlier: replaces the 10 ns notification
        ev.notify_after(ns(7)); // later than the pending 3 ns: ignored
        assert_eq!(ev.pending_time(), Some(ns(3)));
        ctx.wait(ns(5)).await;
        ev.notify_after(ns(5));
        ev.notify_delta(); // delta overrides a pending timed notification
        ctx.wait(ns(1)).await;
        ev.notify_after(ns(4));
        ev.cancel();
        assert_eq!(ev.pending_time(), None);
        ctx.wait(ns(10)).await;
        ev.notify_after(ns(2));
    });
    sim.run().unwrap();
    let times: Vec<String> = log
        .borrow()
        .iter()
        .map(|l| l.split(" d").next().unwrap_or_default().to_string())
        .collect();
    assert_eq!(times, vec!["3 ns", "5 ns", "18 ns"]);
    // The cancelled notification at 10 ns does not move time there: the run ends
    // at the last real activity.
    assert_eq!(sim.now(), ns(18));
}

#[test]
fn wait_any_reports_which_event_and_ignores_the_loser() {
    let mut sim = Simulation::new();
    let (a, b) = (sim.ctx().event("a"), sim.ctx().event("b"));
    let got = Rc::new(RefCell::new(Vec::new()));
    {
        let (a, b, got) = (a.clone(), b.clone(), got.clone());
        sim.spawn("waiter", move |ctx| async move {
            let first = ctx.wait_any(&[&a, &b]).await;
            got.borrow_mut().push((first, ctx.now()));
            // `a` fires again at 4 ns; the stale registration from the first wait
            // must not wake this second wait, which is on `b` only.
            let timeout = ctx.wait_any_timeout(&[&b], ns(10)).await;
            got.borrow_mut().push((timeout.unwrap_or(99), ctx.now()));
            let fired = b.wait_timeout(ns(1)).await;
            assert!(!fired);
        });
    }
    sim.spawn("driver", move |ctx| async move {
        b.notify_after(ns(2));
        a.notify_after(ns(4));
        ctx.wait(ns(3)).await;
    });
    sim.run().unwrap();
    assert_eq!(*got.borrow(), vec![(1, ns(2)), (99, ns(12))]);
    assert_eq!(sim.now(), ns(13));
}

#[test]
fn run_until_leaves_activity_at_the_end_time_for_the_next_run() {
    // As sc_start(10 ns): the wake-up at exactly 10 ns runs in the next call.
    let mut sim = Simulation::new();
    let log: Log = Rc::default();
    {
        let log = log.clone();
        sim.spawn("p", move |ctx| async move {
            ctx.wait(ns(10)).await;
            log_at(&log, &ctx, "woke");
        });
    }
    assert_eq!(sim.run_until(ns(10)).unwrap(), RunOutcome::TimeReached);
    assert_eq!(sim.now(), ns(10));
    assert!(log.borrow().is_empty());
    assert_eq!(sim.run_for(ns(2)).unwrap(), RunOutcome::Starved);
    assert_eq!(log.borrow().len(), 1);
    assert_eq!(sim.now(), ns(12), "time runs to the end even when starved");
}

#[test]
fn starvation_is_reported_not_hung() {
    let mut sim = Simulation::new();
    let never = sim.ctx().event("never");
    let p = sim.spawn("stuck", move |_ctx| async move {
        never.wait().await;
    });
    assert_eq!(sim.run().unwrap(), RunOutcome::Starved);
    assert!(!p.is_terminated());
    assert_eq!(
        sim.run_until(SimTime::from_ms(1)).unwrap(),
        RunOutcome::Starved
    );
}

#[test]
fn stop_completes_the_current_delta_cycle() {
    let mut sim = Simulation::new();
    let log: Log = Rc::default();
    for name in ["a", "b"] {
        let log = log.clone();
        sim.spawn(name, move |ctx| async move {
            loop {
                log_at(&log, &ctx, name);
                if name == "a" && ctx.now() == ns(3) {
                    ctx.stop();
                }
                ctx.wait(ns(1)).await;
            }
        });
    }
    assert_eq!(sim.run().unwrap(), RunOutcome::Stopped);
    assert_eq!(sim.now(), ns(3));
    // b ran in the same delta cycle as the stop.
    assert!(log.borrow().last().unwrap().ends_with(" b"));
    assert_eq!(sim.run_until(ns(5)).unwrap(), RunOutcome::TimeReached);
}

#[test]
fn a_panicking_process_ends_the_run_with_its_name() {
    let mut sim = Simulation::new();
    sim.spawn("healthy", |ctx| async move {
        loop {
            ctx.wait(ns(1)).await;
        }
    });
    sim.spawn("dma0", |ctx| async move {
        ctx.wait(ns(5)).await;
        panic!("descriptor 17 is corrupt");
    });
    let err = sim.run().unwrap_err();
    assert_eq!(
        err,
        SimError::ProcessPanicked {
            process: "dma0".into(),
            message: "descriptor 17 is corrupt".into(),
            time: ns(5),
        }
    );
    assert!(err.to_string().contains("dma0"));
    // The simulation survives: the other process goes on.
    assert_eq!(sim.run_until(ns(8)).unwrap(), RunOutcome::TimeReached);
}

#[test]
fn stepping_by_delta_and_by_time() {
    let mut sim = Simulation::new();
    let ev = sim.ctx().event("ev");
    {
        let ev = ev.clone();
        sim.spawn("p", move |ctx| async move {
            ev.notify_delta();
            ctx.wait(ns(4)).await;
            ctx.wait(ns(4)).await;
        });
    }
    sim.spawn("q", move |_ctx| async move {
        ev.wait().await;
    });
    assert_eq!(sim.step_delta().unwrap(), Some(SimTime::ZERO));
    assert_eq!(sim.delta_count(), 1);
    assert_eq!(sim.step_delta().unwrap(), Some(SimTime::ZERO)); // q woken by the delta
    assert_eq!(sim.step_time().unwrap(), Some(ns(4)));
    assert_eq!(sim.step_time().unwrap(), Some(ns(8)));
    assert_eq!(sim.step_time().unwrap(), None);
}

#[test]
fn methods_run_once_per_delta_and_processes_can_be_joined() {
    let mut sim = Simulation::new();
    let ctx = sim.ctx().clone();
    let (a, b) = (ctx.event("a"), ctx.event("b"));
    let runs = Rc::new(RefCell::new(Vec::new()));
    {
        let (runs, c) = (runs.clone(), ctx.clone());
        ctx.spawn_method("m", &[&a, &b], false, move || {
            runs.borrow_mut().push(c.now())
        });
    }
    let worker = ctx.spawn("worker", move |ctx| async move {
        a.notify_delta();
        b.notify_delta(); // same delta cycle: the method runs once
        ctx.wait(ns(3)).await;
        b.notify();
    });
    let joined = Rc::new(RefCell::new(None));
    {
        let joined = joined.clone();
        ctx.spawn("joiner", move |ctx| async move {
            worker.terminated_event().wait().await;
            assert!(worker.is_terminated());
            *joined.borrow_mut() = Some(ctx.now());
        });
    }
    sim.run().unwrap();
    assert_eq!(*runs.borrow(), vec![SimTime::ZERO, ns(3)]);
    assert_eq!(*joined.borrow(), Some(ns(3)));
}

#[test]
fn simulations_are_independent_and_run_on_threads() {
    let handles: Vec<_> = (1..=4u64)
        .map(|k| {
            std::thread::spawn(move || {
                let mut sim = Simulation::new();
                sim.spawn("p", move |ctx| async move {
                    for _ in 0..1000 {
                        ctx.wait(SimTime::from_ns(k)).await;
                    }
                });
                sim.run().unwrap();
                sim.now()
            })
        })
        .collect();
    let ends: Vec<SimTime> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    assert_eq!(ends, (1..=4).map(|k| ns(1000 * k)).collect::<Vec<_>>());
}

#[test]
fn processes_spawned_while_running_run_in_the_same_evaluate_phase() {
    let mut sim = Simulation::new();
    let log: Log = Rc::default();
    {
        let log = log.clone();
        sim.spawn("parent", move |ctx| async move {
            ctx.wait(ns(2)).await;
            for i in 0..3 {
                let log = log.clone();
                ctx.spawn(&format!("child{i}"), move |ctx| async move {
                    log_at(&log, &ctx, &format!("child{i} start"));
                    ctx.wait(ns(i + 1)).await;
                    log_at(&log, &ctx, &format!("child{i} end"));
                });
            }
            log_at(&log, &ctx, "parent spawned");
        });
    }
    assert_eq!(sim.run().unwrap(), RunOutcome::Starved);
    assert_eq!(
        *log.borrow(),
        vec![
            "2 ns d1 parent spawned",
            "2 ns d1 child0 start",
            "2 ns d1 child1 start",
            "2 ns d1 child2 start",
            "3 ns d2 child0 end",
            "4 ns d3 child1 end",
            "5 ns d4 child2 end",
        ]
    );
}

#[test]
fn exit_on_starvation_keeps_the_time_of_the_last_activity() {
    use treta_kernel::StarvationPolicy;
    let build = || {
        let sim = Simulation::new();
        sim.spawn("p", |ctx| async move {
            ctx.wait(ns(7)).await;
        });
        sim
    };
    let mut sliced = build();
    let mut t = SimTime::ZERO;
    loop {
        t += ns(5);
        match sliced
            .run_until_with(t, StarvationPolicy::ExitOnStarvation)
            .unwrap()
        {
            RunOutcome::TimeReached => continue,
            other => {
                assert_eq!(other, RunOutcome::Starved);
                break;
            }
        }
    }
    let mut whole = build();
    whole.run().unwrap();
    assert_eq!(sliced.now(), ns(7));
    assert_eq!(whole.now(), sliced.now());
    let mut to_time = build();
    to_time.run_until(ns(20)).unwrap();
    assert_eq!(to_time.now(), ns(20));
}
