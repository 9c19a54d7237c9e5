//! Primitive channels: signal update visibility, FIFO blocking both ways, mutex and
//! semaphore.

use std::cell::RefCell;
use std::rc::Rc;
use treta_kernel::{Fifo, Mutex, Semaphore, Signal, SimTime, Simulation};

fn ns(n: u64) -> SimTime {
    SimTime::from_ns(n)
}

#[test]
fn signal_write_is_visible_after_the_update_phase() {
    let mut sim = Simulation::new();
    let sig = Signal::new(sim.ctx(), "sig", 0u32);
    let seen = Rc::new(RefCell::new(Vec::new()));
    {
        let (sig, seen) = (sig.clone(), seen.clone());
        sim.spawn("writer", move |ctx| async move {
            sig.write(1);
            sig.write(2); // the last write of the delta cycle wins
            seen.borrow_mut().push(("writer same delta", sig.read()));
            ctx.wait_delta().await;
            seen.borrow_mut().push(("writer next delta", sig.read()));
            sig.write(2); // no change: no event
            ctx.wait(ns(1)).await;
            sig.write(3);
        });
    }
    {
        let (sig, seen) = (sig.clone(), seen.clone());
        sim.spawn("watcher", move |ctx| async move {
            loop {
                sig.value_changed_event().wait().await;
                seen.borrow_mut().push(("changed", sig.read()));
                if ctx.now() == ns(1) {
                    break;
                }
            }
        });
    }
    sim.run().unwrap();
    assert_eq!(
        *seen.borrow(),
        vec![
            ("writer same delta", 0),
            // Both wake in the next delta cycle, in the reverse of notification
            // order (SystemC's delta list is processed from its back): the writer's
            // delta wait was issued in evaluate, the change event in update.
            ("changed", 2),
            ("writer next delta", 2),
            ("changed", 3)
        ]
    );
}

#[test]
fn fifo_blocks_the_writer_when_full_and_the_reader_when_empty() {
    let mut sim = Simulation::new();
    let fifo: Fifo<u32> = Fifo::new(sim.ctx(), "fifo", 2);
    let log = Rc::new(RefCell::new(Vec::new()));
    {
        let (fifo, log) = (fifo.clone(), log.clone());
        sim.spawn("producer", move |ctx| async move {
            for i in 0..4 {
                fifo.write(i).await;
                log.borrow_mut().push(format!("{} wrote {i}", ctx.now()));
            }
        });
    }
    {
        let (fifo, log) = (fifo.clone(), log.clone());
        sim.spawn("consumer", move |ctx| async move {
            ctx.wait(ns(10)).await;
            for _ in 0..4 {
                let v = fifo.read().await;
                log.borrow_mut().push(format!("{} read {v}", ctx.now()));
                ctx.wait(ns(5)).await;
            }
            // Empty now: a read blocks until the next write.
            assert_eq!(fifo.try_read(), None);
        });
    }
    sim.run().unwrap();
    assert_eq!(
        *log.borrow(),
        vec![
            "0 s wrote 0",
            "0 s wrote 1",
            "10 ns read 0",
            "10 ns wrote 2", // the slot freed at 10 ns is writable one delta later
            "15 ns read 1",
            "15 ns wrote 3",
            "20 ns read 2",
            "25 ns read 3",
        ]
    );
}

#[test]
fn fifo_item_written_in_a_delta_is_readable_only_in_the_next() {
    let mut sim = Simulation::new();
    let fifo: Fifo<u8> = Fifo::new(sim.ctx(), "fifo", 4);
    let ctx = sim.ctx().clone();
    let f = fifo.clone();
    sim.spawn("p", move |c| async move {
        assert!(f.try_write(7).is_ok());
        assert_eq!(f.num_available(), 0);
        assert_eq!(f.num_free(), 3);
        assert_eq!(f.occupancy(), 1);
        assert_eq!(f.try_read(), None);
        c.wait_delta().await;
        assert_eq!(f.num_available(), 1);
        assert_eq!(f.try_read(), Some(7));
    });
    sim.run().unwrap();
    assert_eq!(ctx.now(), SimTime::ZERO);
    assert_eq!(fifo.capacity(), 4);
}

#[test]
fn mutex_serializes_and_only_the_owner_unlocks() {
    let mut sim = Simulation::new();
    let mutex = Mutex::new(sim.ctx(), "bus");
    let log = Rc::new(RefCell::new(Vec::new()));
    for (name, hold) in [("a", 5u64), ("b", 3)] {
        let (mutex, log) = (mutex.clone(), log.clone());
        sim.spawn(name, move |ctx| async move {
            let guard = mutex.lock().await;
            log.borrow_mut()
                .push(format!("{} {name} locked", ctx.now()));
            ctx.wait(ns(hold)).await;
            mutex.unlock(guard).unwrap();
        });
    }
    sim.run().unwrap();
    assert_eq!(*log.borrow(), vec!["0 s a locked", "5 ns b locked"]);
    let other = Mutex::new(sim.ctx(), "other");
    let guard = other.try_lock().unwrap();
    assert!(mutex.try_lock().is_some());
    let stray = mutex.try_lock();
    assert!(stray.is_none(), "already locked");
    assert!(other.unlock(guard).is_ok());
}

#[test]
fn semaphore_admits_value_processes_at_once() {
    let mut sim = Simulation::new();
    let sem = Semaphore::new(sim.ctx(), "ports", 2);
    let starts = Rc::new(RefCell::new(Vec::new()));
    for i in 0..5 {
        let (sem, starts) = (sem.clone(), starts.clone());
        sim.spawn(&format!("user{i}"), move |ctx| async move {
            sem.wait().await;
            starts.borrow_mut().push(ctx.now());
            ctx.wait(ns(10)).await;
            sem.post();
        });
    }
    sim.run().unwrap();
    assert_eq!(*starts.borrow(), vec![ns(0), ns(0), ns(10), ns(10), ns(20)]);
    assert_eq!(sem.value(), 2);
}
