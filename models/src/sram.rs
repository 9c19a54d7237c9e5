//! [`Sram`]: the on-chip SRAM behind a TLM target socket: named buffers, banks,
//! ports, conflicts.
//!
//! The SRAM is one or more named buffers (inputs, weights, outputs, …) laid out one
//! after the other in its address space, each with banks of its own — so two
//! engines working in different buffers never meet in a bank. Within a buffer,
//! addresses interleave over its `banks` banks every `width` bytes. An access of `n`
//! bytes at `addr` needs one beat (one cycle of one port) per `width`-byte chunk in
//! each bank it touches; banks work in parallel, so the access takes as many cycles
//! as its busiest bank, plus the access latency. Each bank has `ports` ports and
//! remembers until when each is busy: two accesses that need the same bank at the same
//! time serialize, accesses to different banks overlap. Capacity is enforced: an
//! access beyond it answers `AddressError`, which the engines report to firmware as
//! `SRAM_OVERFLOW`. Counters per bank (beats read and written) feed reports and the
//! energy model.

use crate::bandwidth::BandwidthCounter;
use std::cell::RefCell;
use std::rc::{Rc, Weak};
use treta_kernel::tlm::{
    Command, Dmi, DmiAccess, DmiMemory, FwTransport, Payload, ResponseStatus, TargetSocket,
    TransportFuture,
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

/// Traffic of one named buffer.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BufferStats {
    /// The buffer's name.
    pub name: String,
    /// Its capacity [bytes].
    pub bytes: u64,
    /// Its first address in the SRAM.
    pub base: u64,
    /// Bytes read from it.
    pub read_bytes: u64,
    /// Bytes written to it.
    pub write_bytes: u64,
    /// Accesses to it that waited for a busy bank.
    pub conflicts: u64,
}

/// One buffer: where it sits, its organisation, where its banks start in the
/// SRAM-wide bank arrays.
struct Buffer {
    geometry: SramGeometry,
    first_bank: usize,
}

struct State {
    /// Per bank (all buffers'), the cycle until which each port is busy.
    ports: Vec<Vec<u64>>,
    counters: Vec<BankCounters>,
    buffers: Vec<BufferStats>,
}

/// The SRAM.
pub struct Sram {
    /// Target socket: accesses at byte offsets from 0.
    pub socket: TargetSocket,
    ctx: Ctx,
    clock: Clock,
    buffers: Vec<Buffer>,
    /// Per buffer, its trace counter `bandwidth.<sram>.<buffer>`.
    bandwidth: Vec<BandwidthCounter>,
    capacity: u64,
    /// The bytes (functional runs; stays zero in timing runs), shared with the
    /// initiators granted DMI.
    data: DmiMemory,
    state: RefCell<State>,
}

impl Sram {
    /// An SRAM of one buffer, named as the SRAM, of `geometry`, clocked by `clock`.
    pub fn new(ctx: &Ctx, name: &str, clock: Clock, geometry: SramGeometry) -> Rc<Sram> {
        Sram::with_buffers(ctx, name, clock, &[(name.to_string(), geometry)])
    }

    /// An SRAM of the named `buffers`, in this order from address 0, clocked by
    /// `clock`.
    pub fn with_buffers(
        ctx: &Ctx,
        name: &str,
        clock: Clock,
        buffers: &[(String, SramGeometry)],
    ) -> Rc<Sram> {
        let mut layout = Vec::with_capacity(buffers.len());
        let mut stats = Vec::with_capacity(buffers.len());
        let (mut base, mut banks) = (0u64, 0usize);
        let mut ports = Vec::new();
        for (buffer, geometry) in buffers {
            let g = SramGeometry {
                banks: geometry.banks.max(1),
                width: geometry.width.max(1),
                ports: geometry.ports.max(1),
                ..*geometry
            };
            layout.push(Buffer {
                geometry: g,
                first_bank: banks,
            });
            stats.push(BufferStats {
                name: buffer.clone(),
                bytes: g.bytes,
                base,
                ..BufferStats::default()
            });
            ports.extend((0..g.banks).map(|_| vec![0; g.ports as usize]));
            banks += g.banks as usize;
            base += g.bytes;
        }
        let bandwidth = buffers
            .iter()
            .map(|(buffer, _)| BandwidthCounter::new(ctx, &format!("{name}.{buffer}")))
            .collect();
        Rc::new_cyclic(|me: &Weak<Sram>| Sram {
            socket: TargetSocket::new(&format!("{name}.socket"), me.clone()),
            ctx: ctx.clone(),
            clock,
            buffers: layout,
            bandwidth,
            capacity: base,
            data: Rc::new(RefCell::new(
                vec![0; usize::try_from(base).unwrap_or(0)].into_boxed_slice(),
            )),
            state: RefCell::new(State {
                ports,
                counters: vec![BankCounters::default(); banks],
                buffers: stats,
            }),
        })
    }

    /// Capacity [bytes]: all buffers together.
    pub fn capacity(&self) -> u64 {
        self.capacity
    }

    /// Bytes read so far.
    pub fn read_bytes(&self) -> u64 {
        self.state
            .borrow()
            .buffers
            .iter()
            .map(|b| b.read_bytes)
            .sum()
    }

    /// Bytes written so far.
    pub fn write_bytes(&self) -> u64 {
        self.state
            .borrow()
            .buffers
            .iter()
            .map(|b| b.write_bytes)
            .sum()
    }

    /// Accesses that had to wait for a busy bank (an access spanning two buffers
    /// counts once per buffer it waited in).
    pub fn conflicts(&self) -> u64 {
        self.state
            .borrow()
            .buffers
            .iter()
            .map(|b| b.conflicts)
            .sum()
    }

    /// Beats per bank, the buffers' banks one after the other.
    pub fn bank_counters(&self) -> Vec<BankCounters> {
        self.state.borrow().counters.clone()
    }

    /// Traffic per buffer, in address order.
    pub fn buffer_stats(&self) -> Vec<BufferStats> {
        self.state.borrow().buffers.clone()
    }

    /// Books the banks for an access arriving at cycle `arrival`, buffer by buffer
    /// when it spans several; returns the cycle its data is done. The range was
    /// checked by the caller.
    fn book(&self, addr: u64, len: u64, write: bool, arrival: u64) -> u64 {
        let when = self.clock.cycle_start(arrival);
        let mut st = self.state.borrow_mut();
        let mut end = arrival;
        let (mut at, stop) = (addr, addr + len.max(1));
        for (i, buffer) in self.buffers.iter().enumerate() {
            let (base, bytes) = (st.buffers[i].base, buffer.geometry.bytes);
            if at >= stop {
                break;
            }
            if at >= base + bytes {
                continue;
            }
            let part = (stop.min(base + bytes) - at).min(len.max(1));
            end = end.max(Self::book_in(
                &mut st,
                i,
                buffer,
                at - base,
                part,
                write,
                arrival,
            ));
            let counted = part.min(len);
            self.bandwidth[i].add(&self.ctx, when, counted);
            let s = &mut st.buffers[i];
            if write {
                s.write_bytes += counted;
            } else {
                s.read_bytes += counted;
            }
            at += part;
        }
        end
    }

    /// Books `len` bytes at `offset` within buffer `index`.
    fn book_in(
        st: &mut State,
        index: usize,
        buffer: &Buffer,
        offset: u64,
        len: u64,
        write: bool,
        arrival: u64,
    ) -> u64 {
        let g = buffer.geometry;
        let (banks, width) = (u64::from(g.banks), u64::from(g.width));
        let first = offset / width;
        let last = (offset + len - 1) / width;
        let chunks = last - first + 1;
        let mut end = arrival;
        let mut waited = false;
        // Chunk c goes to bank (first + c) % banks; a bank touched k times needs k beats.
        for b in 0..banks.min(chunks) {
            let bank = buffer.first_bank + ((first + b) % banks) as usize;
            let beats = (chunks - b).div_ceil(banks);
            let ports = &mut st.ports[bank];
            let (port, free) = best_port(ports, arrival);
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
            st.buffers[index].conflicts += 1;
        }
        end + u64::from(g.latency)
    }
}

/// The port of a bank that an access arriving at `arrival` takes, with the
/// cycle it is free from: of the ports already free, the one that became free
/// last (best fit); else the one free first. Engines book ahead of simulated
/// time (a DMA books its rows as one descriptor), so a port remembers only
/// until when it is busy: best fit keeps a run of bookings on one port, where
/// the first-free choice would spread them over every port and make an engine
/// arriving earlier wait for bookings that lie in its future. For accesses in
/// time order the two choices give the same start times.
fn best_port(ports: &[u64], arrival: u64) -> (usize, u64) {
    let free_now = ports
        .iter()
        .copied()
        .enumerate()
        .filter(|&(_, t)| t <= arrival)
        .max_by_key(|&(_, t)| t);
    free_now
        .or_else(|| ports.iter().copied().enumerate().min_by_key(|&(_, t)| t))
        .unwrap_or((0, 0))
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
            .is_none_or(|end| end > self.capacity)
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

    /// The whole SRAM, read and write, for the engines' functional side (their
    /// timing is modelled by `b_transport`, so the grant adds no latency).
    fn get_direct_mem_ptr(&self, _trans: &Payload) -> Option<Dmi> {
        (self.capacity > 0).then(|| Dmi {
            memory: self.data.clone(),
            offset: 0,
            start: 0,
            end: self.capacity - 1,
            access: DmiAccess::ReadWrite,
            read_latency: SimTime::ZERO,
            write_latency: SimTime::ZERO,
        })
    }

    fn transport_dbg(&self, trans: &mut Payload) -> usize {
        let len = trans.data_length() as u64;
        if trans
            .address
            .checked_add(len)
            .is_none_or(|end| end > self.capacity)
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
        let mut memory = self.data.borrow_mut();
        let Some(cells) = memory.get_mut(addr..addr + data.len()) else {
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

    #[test]
    fn buffers_have_banks_of_their_own_and_count_their_traffic() {
        let sim = Simulation::new();
        let g = SramGeometry {
            bytes: 4096,
            banks: 2,
            width: 64,
            ports: 1,
            latency: 1,
        };
        let s = Sram::with_buffers(
            sim.ctx(),
            "sram",
            Clock::from_mhz(1000).unwrap(),
            &[("inputs".into(), g), ("weights".into(), g)],
        );
        assert_eq!(s.capacity(), 8192);
        // Bank 0 of `inputs`, then bank 0 of `weights`: different banks, no wait.
        assert_eq!(access(&s, 0, 64), SimTime::from_ns(2));
        assert_eq!(access(&s, 4096, 64), SimTime::from_ns(2));
        assert_eq!(s.conflicts(), 0);
        // 128 bytes across the boundary: a beat in bank 1 of `inputs` (free) and in
        // bank 0 of `weights` (busy: it waits one beat); both buffers count their half.
        assert_eq!(access(&s, 4096 - 64, 128), SimTime::from_ns(3));
        let stats = s.buffer_stats();
        assert_eq!(
            stats
                .iter()
                .map(|b| (b.name.as_str(), b.base, b.read_bytes, b.conflicts))
                .collect::<Vec<_>>(),
            vec![("inputs", 0, 128, 0), ("weights", 4096, 128, 1)]
        );
        // Bank 1 of `weights` is still free.
        assert_eq!(access(&s, 4096 + 64, 64), SimTime::from_ns(2));
        assert_eq!(s.bank_counters().len(), 4);
    }
}
