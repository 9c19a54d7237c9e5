//! The Chrome trace writer: a kernel [`Recorder`] that streams the timeline to a
//! JSON file in the Trace Event Format (Perfetto and chrome://tracing open it).
//!
//! One process (the SoC), one thread per track (engines, queues, DRAM), `X` complete
//! events for spans, `B`/`E` for open spans, `i` instants, `C` counters, `s`/`f` flow
//! arrows. `ts`/`dur` are simulated time in microseconds, printed exactly from
//! picoseconds. Records are written as they come through a buffered writer, so memory
//! stays bounded however long the run. Tracks whose names start with a prefix in
//! `hidden` (fine-grained tracks below the chosen detail level) are left out.

use std::cell::RefCell;
use std::fmt::Write as _;
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::Path;
use std::rc::Rc;
use treta_kernel::timeline::{ArgValue, Args, Record, Recorder};
use treta_kernel::SimTime;

/// Streams a Chrome trace to a file.
pub struct ChromeTrace {
    out: BufWriter<File>,
    error: TraceStatus,
    hidden_prefixes: Vec<String>,
    hidden_tracks: Vec<bool>,
    /// Track names by id: a counter event is named after its track, since Chrome
    /// and Perfetto key counters by (process, name) and ignore the thread.
    track_names: Vec<String>,
    line: String,
}

/// Whether a trace was written completely; shared with the writer, which the
/// simulation owns while it runs.
#[derive(Clone, Default)]
pub struct TraceStatus(Rc<RefCell<Option<String>>>);

impl TraceStatus {
    /// The first write error, if any (the trace file is then incomplete).
    pub fn error(&self) -> Option<String> {
        self.0.borrow().clone()
    }

    fn fail(&self, e: io::Error) {
        self.0.borrow_mut().get_or_insert_with(|| e.to_string());
    }

    fn failed(&self) -> bool {
        self.0.borrow().is_some()
    }
}

/// `ps` as microseconds with all six fractional digits (exact).
fn us(t: SimTime) -> String {
    let ps = t.as_ps();
    format!("{}.{:06}", ps / 1_000_000, ps % 1_000_000)
}

/// `s` as a JSON string literal.
fn json_str(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| "\"?\"".into())
}

fn args_json(args: Args<'_>) -> String {
    let mut out = String::from("{");
    for (i, (k, v)) in args.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(&json_str(k));
        out.push(':');
        match v {
            ArgValue::U64(x) => out.push_str(&x.to_string()),
            ArgValue::I64(x) => out.push_str(&x.to_string()),
            ArgValue::F64(x) if x.is_finite() => out.push_str(&x.to_string()),
            ArgValue::F64(_) => out.push_str("null"),
            ArgValue::Str(s) => out.push_str(&json_str(s)),
            ArgValue::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        }
    }
    out.push('}');
    out
}

impl ChromeTrace {
    /// Creates `path` and writes the trace header naming the process `title`.
    pub fn create(
        path: &Path,
        title: &str,
        hidden_prefixes: &[&str],
    ) -> io::Result<(ChromeTrace, TraceStatus)> {
        let mut out = BufWriter::new(File::create(path)?);
        writeln!(out, "{{\"displayTimeUnit\":\"ns\",\"traceEvents\":[")?;
        write!(
            out,
            "{{\"ph\":\"M\",\"pid\":1,\"tid\":0,\"name\":\"process_name\",\"args\":{{\"name\":{}}}}}",
            json_str(title)
        )?;
        let status = TraceStatus::default();
        Ok((
            ChromeTrace {
                out,
                error: status.clone(),
                hidden_prefixes: hidden_prefixes.iter().map(|s| s.to_string()).collect(),
                hidden_tracks: Vec::new(),
                track_names: Vec::new(),
                line: String::new(),
            },
            status,
        ))
    }

    fn hidden(&self, track: u32) -> bool {
        self.hidden_tracks
            .get(track as usize)
            .copied()
            .unwrap_or(false)
    }

    fn emit(&mut self) {
        if !self.error.failed() {
            if let Err(e) = self
                .out
                .write_all(b",\n")
                .and_then(|_| self.out.write_all(self.line.as_bytes()))
            {
                self.error.fail(e);
            }
        }
    }
}

impl Recorder for ChromeTrace {
    fn record(&mut self, record: &Record<'_>) {
        let track = match *record {
            Record::Track { .. } => None,
            Record::Begin { track, .. }
            | Record::End { track, .. }
            | Record::Complete { track, .. }
            | Record::Instant { track, .. }
            | Record::Counter { track, .. }
            | Record::FlowStart { track, .. }
            | Record::FlowEnd { track, .. } => Some(track),
        };
        if track.is_some_and(|t| self.hidden(t.0)) {
            return;
        }
        self.line.clear();
        let l = &mut self.line;
        // Writing into a String cannot fail.
        let _ = match *record {
            Record::Track { track, name } => {
                let i = track.0 as usize;
                if self.hidden_tracks.len() <= i {
                    self.hidden_tracks.resize(i + 1, false);
                }
                let hidden = self
                    .hidden_prefixes
                    .iter()
                    .any(|p| name.starts_with(p.as_str()));
                self.hidden_tracks[i] = hidden;
                if self.track_names.len() <= i {
                    self.track_names.resize(i + 1, String::new());
                }
                self.track_names[i].clear();
                self.track_names[i].push_str(name);
                if hidden {
                    return;
                }
                write!(
                    l,
                    "{{\"ph\":\"M\",\"pid\":1,\"tid\":{},\"name\":\"thread_name\",\"args\":{{\"name\":{}}}}},\n\
                     {{\"ph\":\"M\",\"pid\":1,\"tid\":{},\"name\":\"thread_sort_index\",\"args\":{{\"sort_index\":{}}}}}",
                    track.0 + 1,
                    json_str(name),
                    track.0 + 1,
                    track.0
                )
            }
            Record::Complete {
                track,
                start,
                duration,
                name,
                args,
            } => {
                write!(
                    l,
                    "{{\"ph\":\"X\",\"pid\":1,\"tid\":{},\"ts\":{},\"dur\":{},\"name\":{},\"args\":{}}}",
                    track.0 + 1,
                    us(start),
                    us(duration),
                    json_str(name),
                    args_json(args)
                )
            }
            Record::Begin {
                track,
                time,
                name,
                args,
            } => {
                write!(
                    l,
                    "{{\"ph\":\"B\",\"pid\":1,\"tid\":{},\"ts\":{},\"name\":{},\"args\":{}}}",
                    track.0 + 1,
                    us(time),
                    json_str(name),
                    args_json(args)
                )
            }
            Record::End { track, time } => {
                write!(
                    l,
                    "{{\"ph\":\"E\",\"pid\":1,\"tid\":{},\"ts\":{}}}",
                    track.0 + 1,
                    us(time)
                )
            }
            Record::Instant {
                track,
                time,
                name,
                args,
            } => {
                write!(
                    l,
                    "{{\"ph\":\"i\",\"s\":\"t\",\"pid\":1,\"tid\":{},\"ts\":{},\"name\":{},\"args\":{}}}",
                    track.0 + 1,
                    us(time),
                    json_str(name),
                    args_json(args)
                )
            }
            Record::Counter {
                track,
                time,
                name,
                value,
            } => {
                if !value.is_finite() {
                    return;
                }
                // The counter is the track (`bandwidth.dram`), the series its
                // quantity (`GB/s`).
                let counter = self
                    .track_names
                    .get(track.0 as usize)
                    .map_or(name, String::as_str);
                write!(
                    l,
                    "{{\"ph\":\"C\",\"pid\":1,\"tid\":{},\"ts\":{},\"name\":{},\"args\":{{{}:{value}}}}}",
                    track.0 + 1,
                    us(time),
                    json_str(counter),
                    json_str(name)
                )
            }
            Record::FlowStart { track, time, id } | Record::FlowEnd { track, time, id } => {
                let ph = if matches!(record, Record::FlowStart { .. }) {
                    "s"
                } else {
                    "f"
                };
                write!(
                    l,
                    "{{\"ph\":\"{ph}\",\"bp\":\"e\",\"pid\":1,\"tid\":{},\"ts\":{},\"id\":{id},\"name\":\"command\",\"cat\":\"flow\"}}",
                    track.0 + 1,
                    us(time)
                )
            }
        };
        self.emit();
    }

    fn finish(&mut self) {
        if !self.error.failed() {
            if let Err(e) = self.out.write_all(b"\n]}\n").and_then(|_| self.out.flush()) {
                self.error.fail(e);
            }
        }
    }
}
