//! `treta-vp serve`: the scenario's platform as a device that firmware in another
//! process drives over a socket (docs/remote.md). The simulation runs on the
//! calling thread with a session process in place of the built-in firmware
//! ([`session`]); tokio runs the socket on a thread of its own ([`edge`]); requests
//! and answers cross two channels. The scenario's workload still labels the report
//! (its GEMMs, its phases): the client is expected to run that program, as
//! `examples/remote_firmware.rs` does.

mod edge;
mod session;

use crate::program;
use crate::report::Report;
use crate::run::{Assembled, RunError};
use crate::scenario::LoadedScenario;
use crate::soc::map;
use session::{Answer, SessionEnd, ToSim};
use std::cell::RefCell;
use std::fmt;
use std::path::Path;
use std::rc::Rc;
use std::time::Duration;
use treta_remote::{DeviceMap, Endpoint, Response, Status};

/// How to serve, besides the scenario.
pub struct ServeSettings<'a> {
    /// Where to listen.
    pub listen: Endpoint,
    /// Write a Chrome trace here.
    pub trace: Option<&'a Path>,
    /// Write the JSON report here.
    pub report: Option<&'a Path>,
    /// Close a client that sends nothing for this long (`None`: never).
    pub idle_timeout: Option<Duration>,
    /// Called once the socket listens, with its address (a TCP port 0 resolved).
    pub on_listening: &'a dyn Fn(&Endpoint),
}

/// How a served run ended. Each carries the report of the run as far as it went
/// (already written where the settings asked).
#[derive(Debug)]
pub enum ServeEnd {
    /// The client sent `FINISH`.
    Finished(Box<Report>),
    /// The client went away before `FINISH` (why, the report so far).
    Gone(String, Box<Report>),
    /// The client waited for an interrupt that nothing left to simulate could
    /// raise; it was answered `STALLED`.
    Stalled(String, Box<Report>),
}

/// Why serving failed before or outside a session.
#[derive(Debug)]
pub enum ServeError {
    /// The platform or its program could not be built, or the run failed.
    Run(RunError),
    /// The socket could not be set up.
    Listen(String),
    /// The report could not be written.
    Report(String),
}

impl fmt::Display for ServeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ServeError::Run(e) => write!(f, "{e}"),
            ServeError::Listen(m) | ServeError::Report(m) => f.write_str(m),
        }
    }
}

impl std::error::Error for ServeError {}

impl From<RunError> for ServeError {
    fn from(e: RunError) -> ServeError {
        ServeError::Run(e)
    }
}

/// Serves `loaded`'s platform to one client until it finishes or goes away.
pub fn serve(
    loaded: &LoadedScenario,
    settings: &ServeSettings<'_>,
) -> Result<ServeEnd, ServeError> {
    let program = program::build(loaded).map_err(RunError::Program)?;
    let mut bench = Assembled::new(loaded, &program, settings.trace)?;
    let hal = bench.hal()?;
    let device = DeviceMap {
        regs_base: map::MMIO_BASE,
        regs_size: treta_abi::regs::BLOCK_BYTES,
        dram_base: map::DRAM_BASE,
        dram_size: loaded.platform.dram.bytes,
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| ServeError::Listen(format!("cannot start the socket runtime: {e}")))?;
    let (listener, bound) = runtime
        .block_on(edge::Listener::bind(&settings.listen))
        .map_err(|e| ServeError::Listen(format!("{}: cannot listen: {e}", settings.listen)))?;
    let (to_sim, requests) = std::sync::mpsc::channel::<ToSim>();
    let (answers, from_sim) = tokio::sync::mpsc::unbounded_channel::<Answer>();
    let edge_settings = edge::EdgeSettings {
        map: device,
        idle: settings.idle_timeout,
    };
    let socket = std::thread::Builder::new()
        .name("treta-vp serve: socket".into())
        .spawn(move || runtime.block_on(edge::run(listener, edge_settings, to_sim, from_sim)))
        .map_err(|e| ServeError::Listen(format!("cannot start the socket thread: {e}")))?;
    (settings.on_listening)(&bound);

    let ended: Rc<RefCell<Option<SessionEnd>>> = Rc::default();
    let pending: Rc<session::Pending> = Rc::default();
    {
        let (ended, pending, answers) = (ended.clone(), pending.clone(), answers.clone());
        bench.sim.ctx().spawn("firmware", move |ctx| async move {
            // The same span as the built-in firmware's, so that the traces agree.
            let track = ctx.timeline().track("firmware");
            ctx.timeline().begin(track, "run", &[]);
            let end =
                session::serve_requests(&ctx, &hal, device, &requests, &answers, &pending).await;
            ctx.timeline().end(track);
            if matches!(end, SessionEnd::Gone(_)) {
                // Nothing more is simulated for a client that left.
                ctx.stop();
            }
            *ended.borrow_mut() = Some(end);
        });
    }
    let outcome = bench.sim.run();
    let closed = bench.close_trace();
    let report = bench.report(loaded, &program);
    let written = match settings.report {
        Some(path) => report.write_json(path).map_err(ServeError::Report),
        None => Ok(()),
    };
    let time_ps = bench.sim.now().as_ps();
    let end = ended.borrow_mut().take();
    let result = match (outcome, end) {
        (Err(e), _) => Err(ServeError::Run(RunError::Simulation(e))),
        (Ok(_), Some(SessionEnd::Finished(id))) => {
            let response = match report.to_json() {
                Ok(report_json) => Response::Summary {
                    time_ps,
                    report_json,
                },
                Err(e) => Response::Error {
                    status: Status::BusError,
                    message: format!("the report cannot be serialised: {e}"),
                },
            };
            let _ = answers.send(Answer {
                id,
                op: treta_remote::Op::Finish,
                response,
            });
            Ok(ServeEnd::Finished(Box::new(report)))
        }
        (Ok(_), Some(SessionEnd::Gone(why))) => Ok(ServeEnd::Gone(why, Box::new(report))),
        (Ok(_), None) => {
            let why = format!(
                "the device is idle at {} and nothing left to simulate can raise the interrupt",
                bench.sim.now()
            );
            if let Some((id, op)) = pending.get() {
                let _ = answers.send(Answer {
                    id,
                    op,
                    response: Response::Error {
                        status: Status::Stalled,
                        message: format!("{}: {why}; the run ends here", op.name()),
                    },
                });
            }
            Ok(ServeEnd::Stalled(why, Box::new(report)))
        }
    };
    // Dropping the simulation drops the session process and its sender, so the
    // socket's side sees the end even where no answer was owed.
    drop(answers);
    drop(bench);
    let _ = socket.join();
    closed?;
    written?;
    result
}

/// How long either side of the server polls for the other's message before it
/// sleeps. Requests and answers cross between the socket's thread and the
/// simulation's; a sleeping thread takes tens of microseconds to wake on a
/// virtual machine (twice per request), polling a few tens costs one core for as
/// long. Simulated results do not depend on it: only wall time does.
const SPIN: Duration = Duration::from_micros(50);

/// Calls `try_once` until it returns something or [`SPIN`] has passed (`None`).
fn spin<T>(mut try_once: impl FnMut() -> Option<T>) -> Option<T> {
    let start = std::time::Instant::now();
    loop {
        for _ in 0..32 {
            if let Some(v) = try_once() {
                return Some(v);
            }
            std::hint::spin_loop();
        }
        if start.elapsed() >= SPIN {
            return None;
        }
    }
}
