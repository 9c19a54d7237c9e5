//! `treta-vp serve` and the Rust client (#17, docs/remote.md): the same firmware
//! through the socket gives the built-in run's report and trace byte for byte;
//! every malformed request gets its error answer and the server stays usable; a
//! client that leaves, idles or stalls ends the run with what was simulated.

mod common;

use common::{out_dir, repo_root};
use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::thread::JoinHandle;
use std::time::Duration;
use treta_remote::{
    block_on, Client, ClientError, Endpoint, Frame, Op, RemoteHal, Request, Response, Status,
};
use treta_vp::run::{self, RunSettings};
use treta_vp::scenario::load;
use treta_vp::serve::{serve, ServeEnd, ServeSettings};

const PATIENCE: Duration = Duration::from_secs(20);

/// A server on a Unix socket in `dir`, in a thread; its end once the session is over.
fn start(
    scenario: &str,
    dir: &Path,
    idle: Option<Duration>,
) -> (Endpoint, JoinHandle<Result<ServeEnd, String>>) {
    let socket = dir.join("vp.sock");
    let endpoint = Endpoint::Unix(socket);
    let (path, at, dir) = (
        repo_root().join(scenario),
        endpoint.clone(),
        dir.to_path_buf(),
    );
    let handle = std::thread::spawn(move || {
        let loaded = load(&path, &[]).map_err(|e| e.to_string())?;
        let (report, trace) = (dir.join("report.json"), dir.join("trace.json"));
        let settings = ServeSettings {
            listen: at,
            trace: Some(&trace),
            report: Some(&report),
            idle_timeout: idle,
            on_listening: &|_| {},
        };
        serve(&loaded, &settings).map_err(|e| e.to_string())
    });
    (endpoint, handle)
}

/// The built-in firmware's job for `scenario`, run through `serve` and the client.
fn run_remote(scenario: &str, dir: &Path) -> (u64, String) {
    let (endpoint, server) = start(scenario, dir, None);
    let loaded = load(&repo_root().join(scenario), &[]).expect("scenario loads");
    let program = run::program_of(&loaded).expect("program builds");
    let job = run::FirmwareJob::new(&loaded, &program, false).expect("job");
    let hal = RemoteHal::new(Client::connect_patiently(&endpoint, PATIENCE).expect("connects"));
    block_on(run::firmware(hal.clone(), job)).expect("firmware runs");
    assert!(hal.take_error().is_none());
    let summary = hal.finish().expect("FINISH answered");
    match server.join().expect("server thread") {
        Ok(ServeEnd::Finished(_)) => {}
        other => panic!("server ended {other:?}"),
    }
    summary
}

fn built_in(scenario: &str, dir: &Path) -> (PathBuf, PathBuf) {
    let loaded = load(&repo_root().join(scenario), &[]).expect("scenario loads");
    let trace = dir.join("trace.json");
    let report = run::run(
        &loaded,
        RunSettings {
            trace: Some(&trace),
            ..RunSettings::default()
        },
    )
    .expect("built-in run");
    let path = dir.join("report.json");
    report.write_json(&path).expect("report written");
    (path, trace)
}

fn assert_same_run(scenario: &str, name: &str) {
    let (a, b) = (
        out_dir(&format!("{name}-builtin")),
        out_dir(&format!("{name}-remote")),
    );
    let (report, trace) = built_in(scenario, &a);
    let (time_ps, summary) = run_remote(scenario, &b);
    let built = std::fs::read_to_string(&report).expect("report");
    assert_eq!(
        std::fs::read_to_string(b.join("report.json")).expect("remote report"),
        built,
        "{scenario}: reports differ"
    );
    assert_eq!(summary, built, "FINISH's summary is the report");
    let sim_time: serde_json::Value = serde_json::from_str(&built).expect("json");
    assert_eq!(sim_time["sim_time_ps"].as_u64(), Some(time_ps));
    assert!(
        std::fs::read(b.join("trace.json")).expect("remote trace")
            == std::fs::read(&trace).expect("trace"),
        "{scenario}: traces differ"
    );
}

#[test]
fn a_command_program_through_the_socket_equals_the_built_in_run() {
    // Two queues, a semaphore, a program IRQ (the report lists it both ways).
    assert_same_run("scenarios/command_program.yaml", "remote-commands");
}

#[test]
fn a_gemm_through_the_socket_equals_the_built_in_run() {
    assert_same_run("scenarios/gemm_single.yaml", "remote-gemm");
}

/// A raw connection, for frames the client library would never send.
struct Raw(UnixStream);

impl Raw {
    fn connect(endpoint: &Endpoint) -> Raw {
        let Endpoint::Unix(path) = endpoint else {
            unreachable!("tests listen on Unix sockets")
        };
        let deadline = std::time::Instant::now() + PATIENCE;
        loop {
            match UnixStream::connect(path) {
                Ok(s) => return Raw(s),
                Err(_) if std::time::Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(20))
                }
                Err(e) => panic!("connect: {e}"),
            }
        }
    }

    fn send_bytes(&mut self, bytes: &[u8]) {
        self.0.write_all(bytes).expect("write");
    }

    fn send(&mut self, r: &Request, id: u32) {
        self.send_bytes(&r.to_frame(id).encode().expect("encodes"));
    }

    fn receive(&mut self) -> Frame {
        let mut len = [0u8; 4];
        self.0.read_exact(&mut len).expect("a response");
        let body = Frame::body_len(&len).expect("a valid length");
        let mut bytes = len.to_vec();
        bytes.resize(4 + body, 0);
        self.0.read_exact(&mut bytes[4..]).expect("the frame");
        Frame::decode(&bytes).expect("a frame").expect("whole").0
    }

    fn call(&mut self, r: &Request, id: u32) -> Response {
        self.send(r, id);
        let f = self.receive();
        assert_eq!((f.id, f.op), (id, r.op() as u8), "answer to request {id}");
        Response::from_frame(&f).expect("a response")
    }

    fn hello(&mut self) {
        let r = self.call(
            &Request::Hello {
                version: 1,
                capabilities: 0,
            },
            1,
        );
        assert!(matches!(r, Response::Hello { version: 1, .. }), "{r:?}");
    }

    /// True once the server has closed the connection.
    fn closed(&mut self) -> bool {
        let mut b = [0u8; 1];
        matches!(self.0.read(&mut b), Ok(0) | Err(_))
    }
}

fn status_of(r: Response) -> (Status, String) {
    match r {
        Response::Error { status, message } => (status, message),
        other => panic!("expected an error, got {other:?}"),
    }
}

fn gone(end: Result<ServeEnd, String>) -> (String, u64) {
    match end {
        Ok(ServeEnd::Gone(why, report)) => (why, report.sim_time_ps),
        other => panic!("expected the client gone, got {other:?}"),
    }
}

#[test]
fn every_bad_request_gets_its_error_and_the_session_goes_on() {
    let dir = out_dir("remote-errors");
    let (endpoint, server) = start("scenarios/gemm_single.yaml", &dir, None);
    let mut c = Raw::connect(&endpoint);
    let regs = 0x4000_0000u64;
    // Before HELLO.
    let (s, m) = status_of(c.call(&Request::Read32 { addr: regs }, 7));
    assert_eq!(s, Status::NotReady);
    assert!(m.contains("READ32 before HELLO"), "{m}");
    // A version this server does not speak.
    let r = c.call(
        &Request::Hello {
            version: 9,
            capabilities: 0,
        },
        8,
    );
    let (s, m) = status_of(r);
    assert_eq!(s, Status::BadVersion);
    assert!(m.contains("version 9") && m.contains("version 1"), "{m}");
    c.hello();
    // An unknown operation: the answer repeats its code and names it.
    c.send_bytes(&Frame::request(0x7e, 9, vec![]).encode().expect("encodes"));
    let f = c.receive();
    assert_eq!((f.op, f.id, f.status), (0x7e, 9, Status::UnknownOp as u16));
    // A payload of the wrong length.
    c.send_bytes(
        &Frame::request(Op::Read32 as u8, 10, vec![1, 2, 3])
            .encode()
            .expect("encodes"),
    );
    let r = Response::from_frame(&c.receive()).expect("response");
    let (s, m) = status_of(r);
    assert_eq!(s, Status::Malformed);
    assert!(m.contains("READ32") && m.contains("3 bytes"), "{m}");
    // A frame of the response kind from a client.
    let mut wrong = Frame::request(Op::Now as u8, 11, vec![])
        .encode()
        .expect("encodes");
    wrong[4] = 1;
    c.send_bytes(&wrong);
    let f = c.receive();
    assert_eq!((f.id, f.status), (11, Status::Malformed as u16));
    // Outside the map, and refused by the device.
    let (s, m) = status_of(c.call(&Request::Read32 { addr: 0x10 }, 12));
    assert_eq!(s, Status::OutOfMap);
    assert!(m.contains("0x10") && m.contains("register window"), "{m}");
    let (s, m) = status_of(c.call(&Request::Read32 { addr: regs + 2 }, 13));
    assert_eq!(s, Status::BusError);
    assert!(m.contains("0x40000002"), "{m}");
    let (s, _) = status_of(c.call(&Request::ReadMem { addr: regs, len: 4 }, 14));
    assert_eq!(s, Status::OutOfMap, "the debug port reaches DRAM only");
    let (s, _) = status_of(c.call(&Request::Advance { ns: u64::MAX }, 15));
    assert_eq!(s, Status::Malformed);
    // Still consistent: the device answers, memory round-trips, time is where it was.
    assert_eq!(
        c.call(&Request::Read32 { addr: regs }, 16),
        Response::Value32(treta_abi::regs::ID_VALUE)
    );
    let dram = 0x8000_0000u64 + 4096;
    let data: Vec<u8> = (0..=255).collect();
    assert_eq!(
        c.call(
            &Request::WriteMem {
                addr: dram,
                data: data.clone()
            },
            17
        ),
        Response::Done
    );
    assert_eq!(
        c.call(
            &Request::ReadMem {
                addr: dram,
                len: 256
            },
            18
        ),
        Response::Bytes(data)
    );
    // A second client meanwhile is refused with BUSY and closed.
    let mut second = Raw::connect(&endpoint);
    let f = second.receive();
    assert_eq!(f.status, Status::Busy as u16);
    assert!(second.closed());
    // An oversized frame cannot be skipped: OVERSIZED, then the server closes and
    // ends the run as a client gone.
    let mut huge = Frame::request(Op::WriteMem as u8, 19, vec![])
        .encode()
        .expect("encodes");
    huge[..4].copy_from_slice(&(8u32 + (16 << 20) + 1).to_le_bytes());
    c.send_bytes(&huge);
    let f = c.receive();
    assert_eq!((f.id, f.status), (19, Status::Oversized as u16));
    assert!(c.closed());
    let (why, _) = gone(server.join().expect("server thread"));
    assert!(
        why.contains("larger") || why.contains("resynchronised"),
        "{why}"
    );
    assert!(dir.join("report.json").exists() && dir.join("trace.json").exists());
}

#[test]
fn time_moves_only_in_waits_and_accesses() {
    let dir = out_dir("remote-time");
    let (endpoint, server) = start("scenarios/gemm_single.yaml", &dir, None);
    let mut c = Client::connect_patiently(&endpoint, PATIENCE).expect("connects");
    let t0 = c.now().expect("now");
    assert_eq!(c.now().expect("now"), t0, "no time passes between requests");
    assert_eq!(c.advance(250).expect("advance"), t0 + 250_000);
    let before = c.now().expect("now");
    c.read32(c.map().regs_base).expect("ID");
    let after = c.now().expect("now");
    assert!(after > before, "a register read costs bus time");
    // No work queued: a bounded wait times out at its deadline.
    assert_eq!(
        c.wait_irq_for(1000).expect("wait"),
        (false, after + 1_000_000)
    );
    // An unbounded one can never end: STALLED, and the run ends with its report.
    match c.wait_irq() {
        Err(ClientError::Server {
            status, message, ..
        }) => {
            assert_eq!(status, Status::Stalled);
            assert!(message.contains("nothing left to simulate"), "{message}");
        }
        other => panic!("expected STALLED, got {other:?}"),
    }
    match server.join().expect("server thread") {
        Ok(ServeEnd::Stalled(_, report)) => assert_eq!(report.sim_time_ps, after + 1_000_000),
        other => panic!("expected a stall, got {other:?}"),
    }
}

#[test]
fn a_client_that_disconnects_mid_run_leaves_the_run_so_far() {
    let dir = out_dir("remote-disconnect");
    let (endpoint, server) = start("scenarios/gemm_single.yaml", &dir, None);
    {
        let mut c = Client::connect_patiently(&endpoint, PATIENCE).expect("connects");
        c.advance(5000).expect("advance");
    } // dropped: the socket closes without FINISH
    let (why, time_ps) = gone(server.join().expect("server thread"));
    assert!(why.contains("closed the connection"), "{why}");
    assert_eq!(time_ps, 5_000_000);
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("report.json")).expect("report"))
            .expect("json");
    assert_eq!(report["sim_time_ps"], 5_000_000);
}

#[test]
fn an_idle_client_is_timed_out() {
    let dir = out_dir("remote-idle");
    let (endpoint, server) = start(
        "scenarios/gemm_single.yaml",
        &dir,
        Some(Duration::from_millis(200)),
    );
    let mut c = Raw::connect(&endpoint);
    c.hello();
    let f = c.receive(); // sent unasked once the client has idled too long
    assert_eq!(f.status, Status::Timeout as u16);
    assert!(c.closed());
    let (why, _) = gone(server.join().expect("server thread"));
    assert!(why.contains("idle-timeout"), "{why}");
}
