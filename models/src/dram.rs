//! [`Dram`]: DRAM behind a TLM target socket, first-order timing.
//!
//! A transfer starts when the previous one has left the data bus, occupies it for
//! its bytes at the peak bandwidth, and completes a fixed latency later:
//! `end = max(arrival, bus_free) + bytes / bandwidth; response = end + latency`.
//! Row buffers, banks, refresh and scheduling arrive with the memory issue (#4)
//! behind the same socket. Storage is sparse (4 KiB pages on first write), so an
//! 8 GiB device costs only what is touched; unwritten bytes read as 0.

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::rc::{Rc, Weak};
use treta_kernel::tlm::{
    Command, FwTransport, Payload, ResponseStatus, TargetSocket, TransportFuture,
};
use treta_kernel::{Ctx, SimTime};

const PAGE: u64 = 4096;

/// First-order DRAM timing.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct DramTiming {
    /// Peak bandwidth of all channels together [bytes/s].
    pub bytes_per_s: u64,
    /// Latency from a transfer's end on the bus to its response [ps].
    pub latency: SimTime,
}

/// A DRAM device.
pub struct Dram {
    /// Target socket: reads and writes at offsets from 0.
    pub socket: TargetSocket,
    ctx: Ctx,
    size: u64,
    timing: DramTiming,
    bus_free: Cell<SimTime>,
    pages: RefCell<BTreeMap<u64, Box<[u8]>>>,
    read_bytes: Cell<u64>,
    write_bytes: Cell<u64>,
    track: treta_kernel::timeline::TrackId,
    /// Bandwidth counter: bytes moved in the current window, and where it starts.
    bw_track: treta_kernel::timeline::TrackId,
    window_start: Cell<SimTime>,
    window_bytes: Cell<u64>,
}

/// Width of a bandwidth-counter sample [ps].
const BW_WINDOW: SimTime = SimTime::from_us(1);

impl Dram {
    /// A DRAM of `size` bytes.
    pub fn new(ctx: &Ctx, name: &str, size: u64, timing: DramTiming) -> Rc<Dram> {
        let track = ctx.timeline().track(name);
        let bw_track = ctx.timeline().track(&format!("bandwidth.{name}"));
        Rc::new_cyclic(|me: &Weak<Dram>| Dram {
            socket: TargetSocket::new(&format!("{name}.socket"), me.clone()),
            ctx: ctx.clone(),
            size,
            timing,
            bus_free: Cell::new(SimTime::ZERO),
            pages: RefCell::new(BTreeMap::new()),
            read_bytes: Cell::new(0),
            write_bytes: Cell::new(0),
            track,
            bw_track,
            window_start: Cell::new(SimTime::ZERO),
            window_bytes: Cell::new(0),
        })
    }

    /// Bytes read through the socket (not debug accesses).
    pub fn read_bytes(&self) -> u64 {
        self.read_bytes.get()
    }

    /// Bytes written through the socket (not debug accesses).
    pub fn write_bytes(&self) -> u64 {
        self.write_bytes.get()
    }

    /// Adds `bytes` moved at `at` to the bandwidth counter, sampling [GB/s] once per
    /// window (a window with no traffic reads 0).
    fn count_bandwidth(&self, at: SimTime, bytes: u64) {
        let tl = self.ctx.timeline();
        if !tl.enabled() {
            return;
        }
        let start = self.window_start.get();
        if at >= start + BW_WINDOW {
            let gbps = self.window_bytes.get() as f64 / BW_WINDOW.as_secs_f64() / 1e9;
            tl.counter_at(self.bw_track, "GB/s", start, gbps);
            let next = SimTime::from_ps(at.as_ps() / BW_WINDOW.as_ps() * BW_WINDOW.as_ps());
            if next > start + BW_WINDOW {
                tl.counter_at(self.bw_track, "GB/s", start + BW_WINDOW, 0.0);
            }
            self.window_start.set(next);
            self.window_bytes.set(0);
        }
        self.window_bytes.set(self.window_bytes.get() + bytes);
    }

    /// Capacity [bytes].
    pub fn size(&self) -> u64 {
        self.size
    }

    fn in_range(&self, addr: u64, len: usize) -> bool {
        addr.checked_add(len as u64)
            .is_some_and(|end| end <= self.size)
    }

    fn copy(&self, trans: &mut Payload) {
        let addr = trans.address;
        let command = trans.command;
        let Some(data) = trans.data_mut() else {
            return;
        };
        let mut pages = self.pages.borrow_mut();
        let mut done = 0usize;
        while done < data.len() {
            let a = addr + done as u64;
            let (page, off) = (a / PAGE, (a % PAGE) as usize);
            let n = (PAGE as usize - off).min(data.len() - done);
            match command {
                Command::Write => {
                    let p = pages
                        .entry(page)
                        .or_insert_with(|| vec![0u8; PAGE as usize].into_boxed_slice());
                    p[off..off + n].copy_from_slice(&data[done..done + n]);
                }
                Command::Read => match pages.get(&page) {
                    Some(p) => data[done..done + n].copy_from_slice(&p[off..off + n]),
                    None => data[done..done + n].fill(0),
                },
                Command::Ignore => {}
            }
            done += n;
        }
    }
}

impl FwTransport for Dram {
    fn b_transport<'a>(
        &'a self,
        trans: &'a mut Payload,
        delay: &'a mut SimTime,
    ) -> TransportFuture<'a> {
        let len = trans.data_length();
        if !self.in_range(trans.address, len) {
            trans.response = ResponseStatus::AddressError;
            return TransportFuture::done();
        }
        let now = self.ctx.now();
        let arrival = now + *delay;
        let start = arrival.max(self.bus_free.get());
        let bus_time = SimTime::from_ps(
            (len as u128 * 1_000_000_000_000 / u128::from(self.timing.bytes_per_s.max(1))) as u64,
        );
        let end = start + bus_time;
        self.bus_free.set(end);
        *delay = end + self.timing.latency - now;
        match trans.command {
            Command::Read => self.read_bytes.set(self.read_bytes.get() + len as u64),
            Command::Write => self.write_bytes.set(self.write_bytes.get() + len as u64),
            Command::Ignore => {}
        }
        let name = if trans.command == Command::Write {
            "write"
        } else {
            "read"
        };
        self.ctx.timeline().complete(
            self.track,
            name,
            start,
            end,
            &[("bytes", treta_kernel::timeline::ArgValue::U64(len as u64))],
        );
        self.count_bandwidth(start, len as u64);
        self.copy(trans);
        trans.response = ResponseStatus::Ok;
        TransportFuture::done()
    }

    fn transport_dbg(&self, trans: &mut Payload) -> usize {
        let len = trans.data_length();
        if !self.in_range(trans.address, len) {
            trans.response = ResponseStatus::AddressError;
            return 0;
        }
        self.copy(trans);
        trans.response = ResponseStatus::Ok;
        len
    }
}
