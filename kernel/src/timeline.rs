//! The timeline hook: how models record what they did, in simulated time, for trace
//! viewers (Perfetto, chrome://tracing) and tests.
//!
//! Models call [`TimelineRef`] methods (through [`Ctx::timeline`](crate::Ctx::timeline));
//! a [`Recorder`] attached to the simulation receives [`Record`]s. With no recorder
//! attached each call is one `Cell<bool>` check and returns — models need not guard
//! their calls. Tracks are interned once by name so records carry a small
//! [`TrackId`], not a string. The kernel writes no file format: the Chrome trace
//! writer is a `Recorder` in the platform.

use crate::sched::Kernel;
use crate::time::SimTime;
use rustc_hash::FxHashMap;
use std::cell::{Cell, RefCell};
use std::fmt::Write as _;
use std::rc::Rc;

/// A track (a row in the viewer: an engine, a queue, a DRAM channel).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TrackId(pub u32);

/// A value attached to a record (shown as an argument in the viewer).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum ArgValue<'a> {
    /// An unsigned integer.
    U64(u64),
    /// A signed integer.
    I64(i64),
    /// A float.
    F64(f64),
    /// A string.
    Str(&'a str),
    /// A boolean.
    Bool(bool),
}

/// Named arguments of a record.
pub type Args<'a> = &'a [(&'a str, ArgValue<'a>)];

/// One thing that happened on the timeline. Times are simulated time.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Record<'a> {
    /// A track was declared; sent once per track, before any record that uses it.
    Track {
        /// The new track.
        track: TrackId,
        /// Its full name, e.g. `dram.ch0`.
        name: &'a str,
    },
    /// A span opens on `track` (spans on one track nest).
    Begin {
        /// Where.
        track: TrackId,
        /// When it opens.
        time: SimTime,
        /// What it is.
        name: &'a str,
        /// Details.
        args: Args<'a>,
    },
    /// The innermost open span on `track` closes.
    End {
        /// Where.
        track: TrackId,
        /// When it closes.
        time: SimTime,
    },
    /// A span whose start and end are both known.
    Complete {
        /// Where.
        track: TrackId,
        /// When it starts.
        start: SimTime,
        /// How long it lasts.
        duration: SimTime,
        /// What it is.
        name: &'a str,
        /// Details.
        args: Args<'a>,
    },
    /// Something that happened at one instant.
    Instant {
        /// Where.
        track: TrackId,
        /// When.
        time: SimTime,
        /// What.
        name: &'a str,
        /// Details.
        args: Args<'a>,
    },
    /// A sampled value (bandwidth, occupancy); holds until the next sample.
    Counter {
        /// The counter's track.
        track: TrackId,
        /// When the value was sampled.
        time: SimTime,
        /// Series name within the track.
        name: &'a str,
        /// The value.
        value: f64,
    },
    /// A flow arrow starts (e.g. where a command is issued).
    FlowStart {
        /// Where.
        track: TrackId,
        /// When.
        time: SimTime,
        /// Flow id, unique per arrow.
        id: u64,
    },
    /// A flow arrow ends (e.g. where the command executes).
    FlowEnd {
        /// Where.
        track: TrackId,
        /// When.
        time: SimTime,
        /// The id given to the matching `FlowStart`.
        id: u64,
    },
}

/// Receives timeline records (a trace writer, a test's in-memory log).
pub trait Recorder {
    /// Called for every record, in the order the simulation makes them.
    fn record(&mut self, record: &Record<'_>);
    /// Called when the recorder is detached or the simulation is dropped; flush here.
    fn finish(&mut self) {}
}

/// The timeline of one simulation: the attached recorder and the interned tracks.
#[derive(Default)]
pub(crate) struct Timeline {
    enabled: Cell<bool>,
    recorder: RefCell<Option<Box<dyn Recorder>>>,
    tracks: RefCell<Vec<Rc<str>>>,
    by_name: RefCell<FxHashMap<Rc<str>, TrackId>>,
}

impl Timeline {
    /// Attaches `recorder`, first telling it every track declared so far.
    pub(crate) fn attach(&self, mut recorder: Box<dyn Recorder>) {
        self.detach();
        for (i, name) in self.tracks.borrow().iter().enumerate() {
            recorder.record(&Record::Track {
                track: TrackId(i as u32),
                name,
            });
        }
        *self.recorder.borrow_mut() = Some(recorder);
        self.enabled.set(true);
    }

    /// Detaches the recorder (calling its `finish`) and returns it.
    pub(crate) fn detach(&self) -> Option<Box<dyn Recorder>> {
        self.enabled.set(false);
        let mut recorder = self.recorder.borrow_mut().take()?;
        recorder.finish();
        Some(recorder)
    }

    fn emit(&self, record: &Record<'_>) {
        if let Some(r) = self.recorder.borrow_mut().as_mut() {
            r.record(record);
        }
    }

    fn track(&self, name: &str) -> TrackId {
        if let Some(&id) = self.by_name.borrow().get(name) {
            return id;
        }
        let name: Rc<str> = name.into();
        let id = {
            let mut tracks = self.tracks.borrow_mut();
            tracks.push(name.clone());
            TrackId((tracks.len() - 1) as u32)
        };
        self.by_name.borrow_mut().insert(name.clone(), id);
        if self.enabled.get() {
            self.emit(&Record::Track {
                track: id,
                name: &name,
            });
        }
        id
    }
}

/// The timeline of a simulation, stamped with its current time. Obtained from
/// [`Ctx::timeline`](crate::Ctx::timeline).
#[derive(Clone, Copy)]
pub struct TimelineRef<'a> {
    pub(crate) kernel: &'a Kernel,
}

impl TimelineRef<'_> {
    /// Whether a recorder is attached. Check it before building costly arguments.
    #[inline]
    pub fn enabled(&self) -> bool {
        self.kernel.timeline.enabled.get()
    }

    /// The id of the track named `name`, declaring it on first use. Declare tracks at
    /// elaboration so their order in the viewer is the platform's, not the run's.
    pub fn track(&self, name: &str) -> TrackId {
        self.kernel.timeline.track(name)
    }

    /// The name of a declared track.
    pub fn track_name(&self, track: TrackId) -> Option<Rc<str>> {
        self.kernel
            .timeline
            .tracks
            .borrow()
            .get(track.0 as usize)
            .cloned()
    }

    /// Opens a span named `name` on `track` now.
    #[inline]
    pub fn begin(&self, track: TrackId, name: &str, args: Args<'_>) {
        if self.enabled() {
            let time = self.kernel.now();
            self.kernel.timeline.emit(&Record::Begin {
                track,
                time,
                name,
                args,
            });
        }
    }

    /// Closes the innermost open span on `track` now.
    #[inline]
    pub fn end(&self, track: TrackId) {
        if self.enabled() {
            let time = self.kernel.now();
            self.kernel.timeline.emit(&Record::End { track, time });
        }
    }

    /// Records a span from `start` to `end` (for models that compute a span's end in
    /// advance, loosely-timed style). An `end` before `start` is recorded as empty.
    #[inline]
    pub fn complete(
        &self,
        track: TrackId,
        name: &str,
        start: SimTime,
        end: SimTime,
        args: Args<'_>,
    ) {
        if self.enabled() {
            self.kernel.timeline.emit(&Record::Complete {
                track,
                start,
                duration: end.saturating_sub(start),
                name,
                args,
            });
        }
    }

    /// Records an instant on `track` now.
    #[inline]
    pub fn instant(&self, track: TrackId, name: &str, args: Args<'_>) {
        if self.enabled() {
            let time = self.kernel.now();
            self.kernel.timeline.emit(&Record::Instant {
                track,
                time,
                name,
                args,
            });
        }
    }

    /// Samples the counter series `name` of `track` now.
    #[inline]
    pub fn counter(&self, track: TrackId, name: &str, value: f64) {
        if self.enabled() {
            let time = self.kernel.now();
            self.kernel.timeline.emit(&Record::Counter {
                track,
                time,
                name,
                value,
            });
        }
    }

    /// Samples the counter series `name` of `track` at `time` (for models that
    /// aggregate over windows and report a window once it has passed).
    #[inline]
    pub fn counter_at(&self, track: TrackId, name: &str, time: SimTime, value: f64) {
        if self.enabled() {
            self.kernel.timeline.emit(&Record::Counter {
                track,
                time,
                name,
                value,
            });
        }
    }

    /// Starts flow arrow `id` on `track` now.
    #[inline]
    pub fn flow_start(&self, track: TrackId, id: u64) {
        if self.enabled() {
            let time = self.kernel.now();
            self.kernel
                .timeline
                .emit(&Record::FlowStart { track, time, id });
        }
    }

    /// Ends flow arrow `id` on `track` now.
    #[inline]
    pub fn flow_end(&self, track: TrackId, id: u64) {
        if self.enabled() {
            let time = self.kernel.now();
            self.kernel
                .timeline
                .emit(&Record::FlowEnd { track, time, id });
        }
    }
}

/// A recorder that keeps one line of text per record in memory: for tests, and for
/// comparing two runs for determinism.
#[derive(Clone, Default)]
pub struct MemoryRecorder {
    lines: Rc<RefCell<Vec<String>>>,
}

impl MemoryRecorder {
    /// A new, empty recorder. Clones share the same log, so keep one to read it after
    /// attaching another.
    pub fn new() -> MemoryRecorder {
        MemoryRecorder::default()
    }

    /// The records so far, one `Debug` line each.
    pub fn lines(&self) -> Vec<String> {
        self.lines.borrow().clone()
    }
}

impl Recorder for MemoryRecorder {
    fn record(&mut self, record: &Record<'_>) {
        let mut line = String::new();
        // Writing to a String cannot fail.
        let _ = write!(line, "{record:?}");
        self.lines.borrow_mut().push(line);
    }
}
