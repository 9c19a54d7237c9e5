//! [`Sram`]: the on-chip SRAM behind a TLM target socket: banks, ports, conflicts.
//!
//! Addresses interleave over `banks` banks every `width` bytes. An access of `n`
//! bytes at `addr` needs one beat (one cycle of one port) per `width`-byte chunk in
//! each bank it touches; banks work in parallel, so the access takes as many cycles
//! as its busiest bank, plus the access latency. Each bank has `ports` ports and
//! remembers until when each is busy: two accesses that need the same bank at the same
//! time serialize, accesses to different banks overlap. Capacity is enforced: an
//! access beyond it answers `AddressError`, which the engines report to firmware as
//! `SRAM_OVERFLOW`. Counters per bank (beats read and written) feed reports and the
//! energy model.

use std::cell::RefCell;
use std::rc::{Rc, Weak};
use treta_kernel::tlm::{
    Command, FwTransport, Payload, ResponseStatus, TargetSocket, TransportFuture,
};
use treta_kernel::{Clock, Ctx, SimTime};

/// SRAM organisation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SramGeometry {
    /// Capacity [bytes].
    pub bytes: u64,
    /// Banks.
    pub banks: u32,
    /// Bytes per bank per beat (and interleaving granule).
    pub width: u32,
    /// Ports per bank (accesses a bank serves at once).
    pub ports: u32,
    /// Cycles from the last beat to the data [cycles].
    pub latency: u32,
}

/// Per-bank access counters.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BankCounters {
    /// Beats read.
    pub read_beats: u64,
    /// Beats written.
    pub write_beats: u64,
}

struct State {
    /// The bytes (functional runs; stays zero in timing runs).
    data: Vec<u8>,
    /// Per bank, the cycle until which each port is busy.
    ports: Vec<Vec<u64>>,
    counters: Vec<BankCounters>,
    read_bytes: u64,
    write_bytes: u64,
    /// Accesses that waited for a busy bank.
    conflicts: u64,
}

/// The SRAM.
pub struct Sram {
    /// Target socket: accesses at byte offsets from 0.
    pub socket: TargetSocket,
    ctx: Ctx,
    clock: Clock,
    geometry: SramGeometry,
    state: RefCell<State>,
}

impl Sram {
    /// An SRAM of `geometry` clocked by `clock`.
    pub fn new(ctx: &Ctx, name: &str, clock: Clock, geometry: SramGeometry) -> Rc<Sram> {
        let g = SramGeometry {
            banks: geometry.banks.max(1),
            width: geometry.width.max(1),
            ports: geometry.ports.max(1),
            ..geometry
        };
        Rc::new_cyclic(|me: &Weak<Sram>| Sram {
            socket: TargetSocket::new(&format!("{name}.socket"), me.clone()),
            ctx: ctx.clone(),
            clock,
            geometry: g,
            state: RefCell::new(State {
                data: vec![0; usize::try_from(g.bytes).unwrap_or(0)],
                ports: vec![vec![0; g.ports as usize]; g.banks as usize],
                counters: vec![BankCounters::default(); g.banks as usize],
                read_bytes: 0,
                write_bytes: 0,
                conflicts: 0,
            }),
        })
    }

    /// Capacity [bytes].
    pub fn capacity(&self) -> u64 {
        self.geometry.bytes
    }

    /// Bytes read so far.
    pub fn read_bytes(&self) -> u64 {
        self.state.borrow().read_bytes
    }

    /// Bytes written so far.
    pub fn write_bytes(&self) -> u64 {
        self.state.borrow().write_bytes
    }

    /// Accesses that had to wait for a busy bank.
    pub fn conflicts(&self) -> u64 {
        self.state.borrow().conflicts
    }

    /// Beats per bank.
    pub fn bank_counters(&self) -> Vec<BankCounters> {
        self.state.borrow().counters.clone()
    }

    /// Books the banks for an access arriving at cycle `arrival`; returns the cycle
    /// its data is done.
    fn book(&self, addr: u64, len: u64, write: bool, arrival: u64) -> u64 {
        let g = self.geometry;
        let (banks, width) = (u64::from(g.banks), u64::from(g.width));
        let first = addr / width;
        let last = (addr + len.max(1) - 1) / width;
        let chunks = last - first + 1;
        let mut st = self.state.borrow_mut();
        let mut end = arrival;
        let mut waited = false;
        // Chunk c goes to bank (first + c) % banks; a bank touched k times needs k beats.
        for b in 0..banks.min(chunks) {
            let bank = ((first + b) % banks) as usize;
            let beats = (chunks - b).div_ceil(banks);
            let ports = &mut st.ports[bank];
            let (port, free) = ports
                .iter()
                .copied()
                .enumerate()
                .min_by_key(|&(_, t)| t)
                .unwrap_or((0, 0));
            let start = arrival.max(free);
            waited |= start > arrival;
            ports[port] = start + beats;
            end = end.max(start + beats);
            let c = &mut st.counters[bank];
            if write {
                c.write_beats += beats;
            } else {
                c.read_beats += beats;
            }
        }
        if waited {
            st.conflicts += 1;
        }
        if write {
            st.write_bytes += len;
        } else {
            st.read_bytes += len;
        }
        end + u64::from(g.latency)
    }
}

impl FwTransport for Sram {
    fn b_transport<'a>(
        &'a self,
        trans: &'a mut Payload,
        delay: &'a mut SimTime,
    ) -> TransportFuture<'a> {
        let len = trans.data_length() as u64;
        if trans
            .address
            .checked_add(len)
            .is_none_or(|end| end > self.geometry.bytes)
        {
            trans.response = ResponseStatus::AddressError;
            return TransportFuture::done();
        }
        if trans.command != Command::Ignore && len > 0 {
            let now = self.ctx.now();
            let arrival = self.clock.cycle_at(now + *delay);
            let arrival = if self.clock.cycle_start(arrival) < now + *delay {
                arrival + 1
            } else {
                arrival
            };
            let done = self.book(trans.address, len, trans.command == Command::Write, arrival);
            *delay = self.clock.cycle_start(done).max(now + *delay) - now;
        }
        self.copy(trans);
        trans.response = ResponseStatus::Ok;
        TransportFuture::done()
    }

    fn transport_dbg(&self, trans: &mut Payload) -> usize {
        let len = trans.data_length() as u64;
        if trans
            .address
            .checked_add(len)
            .is_none_or(|end| end > self.geometry.bytes)
        {
            trans.response = ResponseStatus::AddressError;
            return 0;
        }
        self.copy(trans);
        trans.response = ResponseStatus::Ok;
        len as usize
    }
}

impl Sram {
    /// Copies between the payload's data (if any) and the storage; the range was
    /// checked by the caller.
    fn copy(&self, trans: &mut Payload) {
        let (addr, command) = (trans.address as usize, trans.command);
        let Some(data) = trans.data_mut() else {
            return;
        };
        let mut st = self.state.borrow_mut();
        let Some(cells) = st.data.get_mut(addr..addr + data.len()) else {
            return;
        };
        match command {
            Command::Write => cells.copy_from_slice(data),
            Command::Read => data.copy_from_slice(cells),
            Command::Ignore => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use treta_kernel::Simulation;

    fn sram(sim: &Simulation, ports: u32) -> Rc<Sram> {
        Sram::new(
            sim.ctx(),
            "sram",
            Clock::from_mhz(1000).unwrap(),
            SramGeometry {
                bytes: 1 << 16,
                banks: 4,
                width: 64,
                ports,
                latency: 1,
            },
        )
    }

    fn access(s: &Sram, addr: u64, len: usize) -> SimTime {
        let mut p = Payload::new(Command::Read, addr, len);
        let mut d = SimTime::ZERO;
        assert!(matches!(
            s.b_transport(&mut p, &mut d),
            TransportFuture::Done
        ));
        assert!(p.response.is_ok());
        d
    }

    #[test]
    fn two_accesses_to_one_bank_serialize_and_to_two_banks_do_not() {
        let sim = Simulation::new();
        let s = sram(&sim, 1);
        // Bank 0, then bank 0 again: the second waits one beat.
        assert_eq!(access(&s, 0, 64), SimTime::from_ns(2));
        assert_eq!(access(&s, 256, 64), SimTime::from_ns(3));
        assert_eq!(s.conflicts(), 1);
        // Bank 1, then bank 2: no wait.
        let s = sram(&sim, 1);
        assert_eq!(access(&s, 64, 64), SimTime::from_ns(2));
        assert_eq!(access(&s, 128, 64), SimTime::from_ns(2));
        assert_eq!(s.conflicts(), 0);
        // Two ports: the same bank serves both at once.
        let s = sram(&sim, 2);
        assert_eq!(access(&s, 0, 64), SimTime::from_ns(2));
        assert_eq!(access(&s, 256, 64), SimTime::from_ns(2));
    }

    #[test]
    fn a_long_access_spreads_over_the_banks() {
        let sim = Simulation::new();
        let s = sram(&sim, 1);
        // 1 KiB = 16 chunks over 4 banks = 4 beats each, in parallel: 4 cycles + latency.
        assert_eq!(access(&s, 0, 1024), SimTime::from_ns(5));
        let c = s.bank_counters();
        assert!(c.iter().all(|b| b.read_beats == 4), "{c:?}");
        assert_eq!(s.read_bytes(), 1024);
    }

    #[test]
    fn an_access_beyond_the_capacity_is_refused() {
        let sim = Simulation::new();
        let s = sram(&sim, 1);
        let mut p = Payload::new(Command::Write, (1 << 16) - 8, 16);
        let mut d = SimTime::ZERO;
        assert!(matches!(
            s.b_transport(&mut p, &mut d),
            TransportFuture::Done
        ));
        assert_eq!(p.response, ResponseStatus::AddressError);
        assert_eq!(s.write_bytes(), 0);
    }
}
