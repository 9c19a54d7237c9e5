//! The kernel against IEEE 1666-2011 and, where the standard leaves a choice to the
//! implementation, against Accellera's reference kernel (SystemC 2.3/3.0), whose
//! logs ported models are written against. Each test names the clause or the
//! reference's routine it follows.

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use treta_kernel::{
    Ctx, Event, Mutex, MutexGuard, RunOutcome, Signal, SimTime, Simulation, StarvationPolicy,
};

type Log = Rc<RefCell<Vec<String>>>;

fn ns(n: u64) -> SimTime {
    SimTime::from_ns(n)
}

fn push(log: &Log, ctx: &Ctx, what: &str) {
    log.borrow_mut()
        .push(format!("{} d{} {what}", ctx.now(), ctx.delta_count()));
}

fn lines(log: &Log) -> Vec<String> {
    log.borrow().clone()
}

// --- 4.5.4 sc_delta_count: delta cycles completed, from zero ----------------------

/// The count starts at zero and goes up as each delta cycle completes, so the
/// processes of the first delta cycle read 0 (as `sc_delta_count()` does).
#[test]
fn delta_count_reads_the_delta_cycles_completed_so_far() {
    let mut sim = Simulation::new();
    let log: Log = Rc::default();
    let l = log.clone();
    sim.spawn("p", move |ctx| async move {
        push(&l, &ctx, "first");
        ctx.wait_delta().await;
        push(&l, &ctx, "second");
        ctx.wait(ns(1)).await;
        push(&l, &ctx, "third");
    });
    assert_eq!(sim.delta_count(), 0);
    sim.run().unwrap();
    assert_eq!(
        lines(&log),
        ["0 s d0 first", "0 s d1 second", "1 ns d2 third"]
    );
    assert_eq!(sim.delta_count(), 3);
}

/// A delta cycle in which no process runs is not counted: an update phase alone
/// (a signal written between runs, observed by nobody) or a delta notification that
/// wakes nobody.
#[test]
fn delta_cycles_without_processes_are_not_counted() {
    let mut sim = Simulation::new();
    let sig = Signal::new(sim.ctx(), "sig", 0u32);
    let lonely = sim.ctx().event("lonely");
    sim.run().unwrap();
    assert_eq!(sim.delta_count(), 0);
    sig.write(7);
    lonely.notify_delta();
    assert_eq!(sim.run().unwrap(), RunOutcome::Starved);
    assert_eq!(sig.read(), 7, "the update phase ran");
    assert_eq!(sim.delta_count(), 0, "but no process did");
}

/// Values written and delta notifications made before the first run are processed
/// in the initialization phase, before any process runs (SystemC's
/// `prepare_to_simulate`): the processes' first activation sees the written value,
/// and a process woken by such a notification runs in the first delta cycle.
#[test]
fn initialization_phase_updates_and_notifies_before_the_first_evaluation() {
    let mut sim = Simulation::new();
    let sig = Signal::new(sim.ctx(), "sig", 0u32);
    let early = sim.ctx().event("early");
    let log: Log = Rc::default();
    {
        let (sig, l) = (sig.clone(), log.clone());
        sim.spawn("reader", move |ctx| async move {
            push(&l, &ctx, &format!("reads {}", sig.read()));
        });
    }
    {
        let (early, l) = (early.clone(), log.clone());
        let ctx = sim.ctx().clone();
        sim.ctx()
            .spawn_method("woken", &[&early], false, move || push(&l, &ctx, "woken"));
    }
    sig.write(5);
    early.notify_delta();
    sim.run().unwrap();
    assert_eq!(lines(&log), ["0 s d0 woken", "0 s d0 reads 5"]);
}

// --- 5.10.8 / 4.2.1.2: a method's own immediate notification -----------------------

/// A process is not made runnable by its own immediate notification: a method
/// statically sensitive to an event it notifies immediately runs once per trigger
/// (SystemC warns and ignores the trigger), while other methods sensitive to the
/// event are triggered.
#[test]
fn a_method_is_not_triggered_by_its_own_immediate_notification() {
    let mut sim = Simulation::new();
    let ev = sim.ctx().event("ev");
    let (own, other) = (Rc::new(Cell::new(0)), Rc::new(Cell::new(0)));
    {
        let (ev2, own) = (ev.clone(), own.clone());
        sim.ctx()
            .spawn_method("self_notifier", &[&ev], true, move || {
                own.set(own.get() + 1);
                ev2.notify();
            });
    }
    {
        let other = other.clone();
        sim.ctx()
            .spawn_method("other", &[&ev], false, move || other.set(other.get() + 1));
    }
    assert_eq!(sim.run().unwrap(), RunOutcome::Starved);
    assert_eq!(own.get(), 1);
    assert_eq!(other.get(), 1);
    // A later trigger by someone else runs it again, once.
    let e = ev.clone();
    sim.spawn("poker", move |ctx| async move {
        ctx.wait(ns(1)).await;
        e.notify();
    });
    sim.run().unwrap();
    assert_eq!((own.get(), other.get()), (2, 3));
}

// --- sc_start(t, SC_EXIT_ON_STARVATION) -----------------------------------------------

fn two_steps(sim: &mut Simulation) {
    sim.spawn("steps", move |ctx| async move {
        ctx.wait(ns(2)).await;
        ctx.wait(ns(8)).await;
    });
}

/// With activity pending beyond the end time, exit-on-starvation leaves time at the
/// last activity within the slice (SystemC's `simulate`); run-to-time moves it to
/// the end.
#[test]
fn exit_on_starvation_stays_at_the_last_activity_before_the_end() {
    let mut sim = Simulation::new();
    two_steps(&mut sim);
    let out = sim.run_until_with(ns(5), StarvationPolicy::ExitOnStarvation);
    assert_eq!(out.unwrap(), RunOutcome::TimeReached);
    assert_eq!(sim.now(), ns(2));

    let mut sim = Simulation::new();
    two_steps(&mut sim);
    sim.run_until(ns(5)).unwrap();
    assert_eq!(sim.now(), ns(5));
}

/// With no activity in the slice at all, time stays where it was; with activity
/// exactly at the end time, time moves there (the reference triggers it there and
/// runs it in the next call).
#[test]
fn exit_on_starvation_without_activity_in_the_slice_and_at_its_end() {
    let mut sim = Simulation::new();
    sim.spawn("late", move |ctx| async move { ctx.wait(ns(10)).await });
    sim.run_until(ns(1)).unwrap(); // the process parks at 0
    sim.run_until_with(ns(6), StarvationPolicy::ExitOnStarvation)
        .unwrap();
    assert_eq!(sim.now(), ns(1));
    sim.run_until_with(ns(10), StarvationPolicy::ExitOnStarvation)
        .unwrap();
    assert_eq!(sim.now(), ns(10));
    assert_eq!(sim.run().unwrap(), RunOutcome::Starved);
    assert_eq!(sim.now(), ns(10));
}

// --- the reference kernel's order within a delta cycle -------------------------------

fn waiter(sim: &Simulation, log: &Log, name: &str, ev: &Event) {
    let (l, ev, name) = (log.clone(), ev.clone(), name.to_string());
    sim.spawn(&name.clone(), move |ctx| async move {
        ev.wait().await;
        push(&l, &ctx, &name);
    });
}

/// Processes woken by delta notifications become runnable in the reverse of the
/// order the notifications were made: the reference walks its delta-event list from
/// the back (`sc_simcontext::crunch`).
#[test]
fn delta_notifications_wake_in_reverse_order() {
    let mut sim = Simulation::new();
    let log: Log = Rc::default();
    let evs: Vec<Event> = (0..3).map(|i| sim.ctx().event(&format!("e{i}"))).collect();
    for (i, e) in evs.iter().enumerate() {
        waiter(&sim, &log, &format!("w{i}"), e);
    }
    let n = evs.clone();
    sim.spawn("notifier", move |ctx| async move {
        ctx.wait(ns(1)).await;
        for e in &n {
            e.notify_delta();
        }
    });
    sim.run().unwrap();
    assert_eq!(lines(&log), ["1 ns d2 w2", "1 ns d2 w1", "1 ns d2 w0"]);
}

/// Cancelling a pending delta notification moves the list's last entry into its
/// place (`remove_delta_event`), which changes the order of what is left.
#[test]
fn cancelling_a_delta_notification_moves_the_last_into_its_place() {
    let mut sim = Simulation::new();
    let log: Log = Rc::default();
    let evs: Vec<Event> = (0..4).map(|i| sim.ctx().event(&format!("e{i}"))).collect();
    for (i, e) in evs.iter().enumerate() {
        waiter(&sim, &log, &format!("w{i}"), e);
    }
    let n = evs.clone();
    sim.spawn("notifier", move |ctx| async move {
        ctx.wait(ns(1)).await;
        for e in &n {
            e.notify_delta();
        }
        // [e0 e1 e2 e3] -> [e3 e1 e2]: walked from the back, e2 e1 e3.
        n[0].cancel();
    });
    sim.run().unwrap();
    assert_eq!(lines(&log), ["1 ns d2 w2", "1 ns d2 w1", "1 ns d2 w3"]);
}

/// Zero-time waits share the delta list with delta notifications, in one order.
#[test]
fn zero_time_waits_and_delta_notifications_share_one_list() {
    let mut sim = Simulation::new();
    let log: Log = Rc::default();
    let ev = sim.ctx().event("ev");
    waiter(&sim, &log, "on_event", &ev);
    {
        let l = log.clone();
        sim.spawn("delta_waiter", move |ctx| async move {
            ctx.wait_delta().await;
            push(&l, &ctx, "delta_waiter");
        });
    }
    sim.spawn("notifier", move |_ctx| async move { ev.notify_delta() });
    sim.run().unwrap();
    // delta_waiter's zero timeout was listed before the notifier's notification.
    assert_eq!(lines(&log), ["0 s d1 on_event", "0 s d1 delta_waiter"]);
}

/// One event's waiting threads are made runnable as the reference's
/// `sc_event::trigger` walks its list: the first, then each removed one replaced by
/// the list's last — first waiter, then the others last first.
#[test]
fn one_events_waiting_threads_run_in_the_reference_order() {
    let mut sim = Simulation::new();
    let log: Log = Rc::default();
    let ev = sim.ctx().event("ev");
    for i in 0..4 {
        waiter(&sim, &log, &format!("t{i}"), &ev);
    }
    sim.spawn("notifier", move |ctx| async move {
        ctx.wait(ns(1)).await;
        ev.notify();
    });
    sim.run().unwrap();
    let got: Vec<String> = lines(&log)
        .iter()
        .map(|l| l[l.len() - 2..].to_string())
        .collect();
    assert_eq!(got, ["t0", "t3", "t2", "t1"]);
}

/// Statically sensitive methods are triggered last registered first, and in each
/// round of an evaluate phase every runnable method runs before any thread.
#[test]
fn static_methods_run_last_registered_first_and_before_threads() {
    let mut sim = Simulation::new();
    let log: Log = Rc::default();
    let ev = sim.ctx().event("ev");
    waiter(&sim, &log, "thread", &ev);
    for i in 0..3 {
        let (l, ctx) = (log.clone(), sim.ctx().clone());
        sim.ctx()
            .spawn_method(&format!("m{i}"), &[&ev], false, move || {
                push(&l, &ctx, &format!("m{i}"))
            });
    }
    sim.spawn("notifier", move |ctx| async move {
        ctx.wait(ns(1)).await;
        ev.notify_delta();
    });
    sim.run().unwrap();
    assert_eq!(
        lines(&log),
        ["1 ns d2 m2", "1 ns d2 m1", "1 ns d2 m0", "1 ns d2 thread"]
    );
}

/// A thread woken out of a wait on several events leaves the other events' lists at
/// once (`remove_dynamic`): firing one of them later wakes nothing, and the order
/// of the threads still waiting there is the reference's.
#[test]
fn a_woken_thread_leaves_its_other_events_at_once() {
    let mut sim = Simulation::new();
    let log: Log = Rc::default();
    let (a, b) = (sim.ctx().event("a"), sim.ctx().event("b"));
    for i in 0..3 {
        let (l, a, b) = (log.clone(), a.clone(), b.clone());
        sim.spawn(&format!("t{i}"), move |ctx| async move {
            let which = ctx.wait_any(&[&a, &b]).await;
            push(&l, &ctx, &format!("t{i} by {which}"));
            if i == 1 {
                b.wait().await;
                push(&l, &ctx, &format!("t{i} by b again"));
            }
        });
    }
    {
        let (a, b) = (a.clone(), b.clone());
        sim.spawn("notifier", move |ctx| async move {
            ctx.wait(ns(1)).await;
            a.notify();
            ctx.wait(ns(1)).await;
            b.notify();
        });
    }
    sim.run().unwrap();
    assert_eq!(
        lines(&log),
        [
            "1 ns d1 t0 by 0",
            "1 ns d1 t2 by 0",
            "1 ns d1 t1 by 0",
            "2 ns d2 t1 by b again"
        ]
    );
}

// --- additions: and-lists, next_trigger, sc_pause, sc_start(SC_ZERO_TIME) -----------

/// `wait(e1 & e2)`: resumes once every event has fired since the wait began; one
/// firing twice counts once.
#[test]
fn wait_all_resumes_when_every_event_has_fired() {
    let mut sim = Simulation::new();
    let (a, b) = (sim.ctx().event("a"), sim.ctx().event("b"));
    let resumed = Rc::new(Cell::new(None));
    {
        let (a, b, r) = (a.clone(), b.clone(), resumed.clone());
        sim.spawn("all", move |ctx| async move {
            assert!(ctx.wait_all(&[&a, &b]).await);
            r.set(Some(ctx.now()));
            assert!(!ctx.wait_all_timeout(&[&a, &b], ns(2)).await, "times out");
            assert_eq!(ctx.now(), ns(5));
        });
    }
    sim.spawn("notifier", move |ctx| async move {
        ctx.wait(ns(1)).await;
        a.notify();
        ctx.wait(ns(1)).await;
        a.notify();
        ctx.wait(ns(1)).await;
        b.notify();
        ctx.wait(ns(1)).await;
        a.notify();
    });
    assert_eq!(sim.run().unwrap(), RunOutcome::Starved);
    assert_eq!(resumed.get(), Some(ns(3)));
}

/// `next_trigger`: a method's dynamic sensitivity for its next trigger overrides its
/// static one (which is ignored meanwhile), then the static one is back.
#[test]
fn next_trigger_overrides_static_sensitivity_once() {
    let mut sim = Simulation::new();
    let (stat, dynamic) = (sim.ctx().event("static"), sim.ctx().event("dynamic"));
    let log: Log = Rc::default();
    {
        let (l, ctx, dynamic) = (log.clone(), sim.ctx().clone(), dynamic.clone());
        let runs = Cell::new(0);
        sim.ctx().spawn_method("m", &[&stat], true, move || {
            push(&l, &ctx, "m");
            runs.set(runs.get() + 1);
            match runs.get() {
                1 => ctx.next_trigger_after(ns(5)),
                2 => ctx.next_trigger(&dynamic),
                3 => {
                    // Replaced, then dropped: the static sensitivity applies.
                    ctx.next_trigger(&dynamic);
                    ctx.next_trigger_static();
                }
                _ => {}
            }
        });
    }
    sim.spawn("driver", move |ctx| async move {
        ctx.wait(ns(2)).await;
        stat.notify(); // ignored: m waits for its 5 ns
        ctx.wait(ns(5)).await;
        stat.notify(); // ignored: m waits for `dynamic`
        ctx.wait(ns(1)).await;
        dynamic.notify(); // triggers m
        ctx.wait(ns(1)).await;
        dynamic.notify(); // nothing: m is back on `static`
        stat.notify(); // triggers m
    });
    sim.run().unwrap();
    let got: Vec<String> = lines(&log)
        .iter()
        .map(|l| l.split(" d").next().unwrap().to_string())
        .collect();
    assert_eq!(got, ["0 s", "5 ns", "8 ns", "9 ns"]);
}

/// `sc_pause`: the run returns once the delta cycle completes; the next run goes on.
#[test]
fn pause_returns_after_the_delta_cycle_and_the_run_goes_on() {
    let mut sim = Simulation::new();
    let log: Log = Rc::default();
    {
        let l = log.clone();
        sim.spawn("pauser", move |ctx| async move {
            ctx.wait(ns(3)).await;
            ctx.pause();
            push(&l, &ctx, "after pause, same activation");
            ctx.wait(ns(1)).await;
            push(&l, &ctx, "resumed");
        });
    }
    assert_eq!(sim.run().unwrap(), RunOutcome::Paused);
    assert_eq!(sim.now(), ns(3));
    assert_eq!(lines(&log), ["3 ns d1 after pause, same activation"]);
    assert_eq!(sim.run().unwrap(), RunOutcome::Starved);
    assert_eq!(lines(&log).last().unwrap(), "4 ns d2 resumed");
}

/// `sc_start(SC_ZERO_TIME)`: exactly one delta cycle, without moving time.
#[test]
fn run_for_zero_runs_exactly_one_delta_cycle() {
    let mut sim = Simulation::new();
    let log: Log = Rc::default();
    {
        let l = log.clone();
        sim.spawn("looper", move |ctx| async move {
            for i in 0..3 {
                push(&l, &ctx, &format!("pass {i}"));
                ctx.wait_delta().await;
            }
            ctx.wait(ns(1)).await;
        });
    }
    for expected in 1..=3 {
        assert_eq!(sim.run_for(SimTime::ZERO).unwrap(), RunOutcome::TimeReached);
        assert_eq!(log.borrow().len(), expected);
        assert_eq!(sim.delta_count(), expected as u64);
    }
    assert_eq!(sim.now(), SimTime::ZERO);
    // The fourth delta cycle ends the zero-time loop; then only the 1 ns wait is left.
    assert_eq!(sim.run_for(SimTime::ZERO).unwrap(), RunOutcome::TimeReached);
    assert_eq!(sim.now(), SimTime::ZERO);
    assert_eq!(sim.run().unwrap(), RunOutcome::Starved);
    assert_eq!(sim.now(), ns(1));
    // Nothing left: one (empty) delta cycle, starved.
    assert_eq!(sim.run_for(SimTime::ZERO).unwrap(), RunOutcome::Starved);
}

/// The guard of a mutex can be named, so it can be stored and passed around.
#[test]
fn a_mutex_guard_can_be_named() {
    struct Held {
        guard: Option<MutexGuard>,
    }
    let mut sim = Simulation::new();
    let m = Mutex::new(sim.ctx(), "m");
    let mm = m.clone();
    sim.spawn("owner", move |ctx| async move {
        let mut held = Held { guard: None };
        held.guard = Some(mm.lock().await);
        ctx.wait(ns(1)).await;
        let guard: MutexGuard = held.guard.take().unwrap();
        mm.unlock(guard).unwrap();
    });
    sim.run_until(ns(1)).unwrap();
    assert!(m.is_locked());
    sim.run().unwrap();
    assert!(!m.is_locked());
}
