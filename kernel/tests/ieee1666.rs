//! The kernel against IEEE 1666-2011 and, where the standard leaves a choice to the
//! implementation, against Accellera's reference kernel, whose logs ported models
//! are written against. Each test names the clause or the reference's routine it
//! follows. Tests marked *reference log* run a scenario of
//! `tests/systemc/conformance.cpp` and compare their log, line by line, with what
//! SystemC 2.3.4 printed for it (`tests/systemc/*.log`, written by
//! `scripts/systemc-conformance.sh`).

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

/// Asserts that `log` holds exactly the lines SystemC printed (`reference`).
fn assert_reference(log: &Log, reference: &str) {
    let want: Vec<&str> = reference.lines().collect();
    assert_eq!(lines(log), want, "the log differs from SystemC 2.3.4's");
}

// --- 4.5.4 sc_delta_count: delta cycles completed, from zero ----------------------

/// The count starts at zero and goes up as each delta cycle completes, so the
/// processes of the first delta cycle read 0 (as `sc_delta_count()` does).
/// Reference log.
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
    assert_reference(&log, include_str!("systemc/init_phase.log"));
}

// --- 5.10.8 / 4.2.1.2: a method's own immediate notification -----------------------

/// A process is not made runnable by its own immediate notification: a method
/// statically sensitive to an event it notifies immediately runs once per trigger
/// (SystemC warns, W536, and ignores the trigger), while other methods sensitive to
/// the event are triggered. Reference log.
#[test]
fn a_method_is_not_triggered_by_its_own_immediate_notification() {
    let mut sim = Simulation::new();
    let ev = sim.ctx().event("ev");
    let log: Log = Rc::default();
    {
        let (ev2, l, ctx) = (ev.clone(), log.clone(), sim.ctx().clone());
        let own = Cell::new(0);
        sim.ctx()
            .spawn_method("self_notifier", &[&ev], true, move || {
                own.set(own.get() + 1);
                push(&l, &ctx, &format!("self_notifier {}", own.get()));
                ev2.notify();
            });
    }
    {
        let (l, ctx) = (log.clone(), sim.ctx().clone());
        let other = Cell::new(0);
        sim.ctx().spawn_method("other", &[&ev], false, move || {
            other.set(other.get() + 1);
            push(&l, &ctx, &format!("other {}", other.get()));
        });
    }
    sim.spawn("poker", move |ctx| async move {
        ctx.wait(ns(1)).await;
        ev.notify();
    });
    assert_eq!(sim.run().unwrap(), RunOutcome::Starved);
    assert_reference(&log, include_str!("systemc/self_notify.log"));
}

// --- sc_start(t, SC_EXIT_ON_STARVATION) -----------------------------------------------

/// With activity pending beyond the end time, exit-on-starvation leaves time at the
/// last activity within the slice (SystemC's `simulate`); run-to-time moves it to
/// the end. Reference log.
#[test]
fn exit_on_starvation_stays_at_the_last_activity_before_the_end() {
    let mut sim = Simulation::new();
    let log: Log = Rc::default();
    let l = log.clone();
    sim.spawn("steps", move |ctx| async move {
        ctx.wait(ns(2)).await;
        push(&l, &ctx, "step");
        ctx.wait(ns(8)).await;
        push(&l, &ctx, "step");
    });
    let end = sim.now() + ns(5);
    let out = sim.run_until_with(end, StarvationPolicy::ExitOnStarvation);
    assert_eq!(out.unwrap(), RunOutcome::TimeReached);
    push(
        &log,
        sim.ctx(),
        "returned from sc_start(5 ns, SC_EXIT_ON_STARVATION)",
    );
    sim.run_for(ns(5)).unwrap();
    push(
        &log,
        sim.ctx(),
        "returned from sc_start(5 ns, SC_RUN_TO_TIME)",
    );
    sim.run().unwrap();
    push(&log, sim.ctx(), "end");
    assert_reference(&log, include_str!("systemc/exit_on_starvation.log"));
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
/// the back (`sc_simcontext::crunch`). Reference log.
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
    assert_reference(&log, include_str!("systemc/delta_reverse.log"));
}

/// Cancelling a pending delta notification moves the list's last entry into its
/// place (`remove_delta_event`), which changes the order of what is left.
/// Reference log.
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
    assert_reference(&log, include_str!("systemc/delta_cancel.log"));
}

/// Zero-time waits share the delta list with delta notifications, in one order.
/// Reference log.
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
    assert_reference(&log, include_str!("systemc/zero_and_delta.log"));
}

/// One event's waiting threads are made runnable as the reference's
/// `sc_event::trigger` walks its list: the first, then each removed one replaced by
/// the list's last — first waiter, then the others last first. Reference log.
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
/// Reference log.
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
    assert_reference(&log, include_str!("systemc/static_methods.log"));
}

/// A thread woken out of a wait on several events leaves the other events' lists at
/// once (`remove_dynamic`): firing one of them later wakes nothing, and the order
/// of the threads still waiting there is the reference's. Reference log.
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
    assert_reference(&log, include_str!("systemc/leave_others.log"));
}

// --- additions: and-lists, next_trigger, sc_pause, sc_start(SC_ZERO_TIME) -----------

/// `wait(e1 & e2)`: resumes once every event has fired since the wait began; one
/// firing twice counts once; with a timeout, resumes then. Reference log.
#[test]
fn wait_all_resumes_when_every_event_has_fired() {
    let mut sim = Simulation::new();
    let (a, b) = (sim.ctx().event("a"), sim.ctx().event("b"));
    let log: Log = Rc::default();
    {
        let (a, b, l) = (a.clone(), b.clone(), log.clone());
        sim.spawn("all", move |ctx| async move {
            assert!(ctx.wait_all(&[&a, &b]).await);
            push(&l, &ctx, "all fired");
            let all = ctx.wait_all_timeout(&[&a, &b], ns(2)).await;
            push(&l, &ctx, if all { "all fired" } else { "timed out" });
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
    push(&log, sim.ctx(), "end");
    assert_reference(&log, include_str!("systemc/wait_all.log"));
}

/// `next_trigger`: a method's dynamic sensitivity for its next trigger overrides its
/// static one (which is ignored meanwhile), a later call replaces an earlier one,
/// `next_trigger()` drops it, and after the trigger the static one is back.
/// Reference log.
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
    assert_reference(&log, include_str!("systemc/next_trigger.log"));
}

/// `sc_pause`: the run returns once the delta cycle completes; the next run goes on.
/// Reference log.
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
    push(&log, sim.ctx(), "returned (paused)");
    assert_eq!(sim.run().unwrap(), RunOutcome::Starved);
    push(&log, sim.ctx(), "end");
    assert_reference(&log, include_str!("systemc/pause.log"));
}

/// `sc_start(SC_ZERO_TIME)`: exactly one delta cycle, without moving time, also when
/// nothing is runnable. Reference log.
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
    for _ in 0..4 {
        assert_eq!(sim.run_for(SimTime::ZERO).unwrap(), RunOutcome::TimeReached);
        push(&log, sim.ctx(), "returned from sc_start(SC_ZERO_TIME)");
    }
    assert_eq!(sim.run().unwrap(), RunOutcome::Starved);
    push(&log, sim.ctx(), "end");
    assert_eq!(sim.run_for(SimTime::ZERO).unwrap(), RunOutcome::Starved);
    push(&log, sim.ctx(), "returned from sc_start(SC_ZERO_TIME)");
    assert_reference(&log, include_str!("systemc/run_zero.log"));
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
