//! What the engine tests share: standing in for the command processor, and the
//! host's debug access to SRAM.

use std::cell::RefCell;
use std::rc::Rc;
use treta_abi::{Command, Descriptor, DeviceError};
use treta_kernel::tlm::{Command as Tlm, InitiatorSocket, Payload};
use treta_kernel::Simulation;
use treta_models::{execute, EnginePort, Fault, Job};

/// fp32 values as stored (little-endian).
pub fn fp32_bytes(values: &[f32]) -> Vec<u8> {
    values.iter().flat_map(|v| v.to_le_bytes()).collect()
}

/// Writes `bytes` at `addr` through `host`'s debug transport.
pub fn poke(host: &InitiatorSocket, addr: u64, bytes: Vec<u8>) {
    let len = bytes.len();
    let mut p = Payload::with_data(Tlm::Write, addr, bytes);
    assert_eq!(
        host.transport_dbg(&mut p),
        len,
        "write of {len} bytes at {addr:#x}"
    );
}

/// Reads `count` fp32 values at `addr` through `host`'s debug transport.
pub fn peek_f32(host: &InitiatorSocket, addr: u64, count: usize) -> Vec<f32> {
    let mut p = Payload::with_data(Tlm::Read, addr, vec![0; count * 4]);
    assert_eq!(host.transport_dbg(&mut p), count * 4, "read at {addr:#x}");
    p.set_timing_only(0)
        .unwrap_or_default()
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect()
}

/// A fault as the tests compare it: its error and the name of its field.
pub fn named(f: Fault) -> (DeviceError, Option<&'static str>) {
    (f.error, f.field.map(|field| field.name))
}

/// Every outcome of `results` as [`named`]; each must be a fault.
pub fn faults(results: &[Result<(), Fault>]) -> Vec<(DeviceError, Option<&'static str>)> {
    results
        .iter()
        .map(|r| named(r.expect_err("a fault")))
        .collect()
}

/// Hands `commands` one after the other to the engine behind `port`, as the
/// command processor would, runs `sim` to its end, and returns each outcome.
pub fn issue(
    sim: &mut Simulation,
    port: EnginePort,
    commands: Vec<Command>,
) -> Vec<Result<(), Fault>> {
    let results = Rc::new(RefCell::new(Vec::new()));
    {
        let results = results.clone();
        sim.spawn("cp", move |ctx| async move {
            for (i, command) in commands.into_iter().enumerate() {
                let desc = Descriptor {
                    id: i as u32,
                    command,
                };
                let r = execute(&port, Job::new(&ctx, desc, 0, i as u32, i as u64)).await;
                results.borrow_mut().push(r);
            }
        });
    }
    sim.run().unwrap();
    let out = results.borrow().clone();
    out
}
