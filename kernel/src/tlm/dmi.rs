//! Direct memory interface: grants of direct access to a target's storage.

use crate::time::SimTime;
use std::cell::RefCell;
use std::fmt;
use std::rc::Rc;

/// A target's storage, shared with the initiators it grants DMI to.
pub type DmiMemory = Rc<RefCell<Box<[u8]>>>;

/// What a DMI grant allows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DmiAccess {
    /// Reads only.
    Read,
    /// Writes only.
    Write,
    /// Both.
    ReadWrite,
}

impl DmiAccess {
    fn allows_read(self) -> bool {
        matches!(self, DmiAccess::Read | DmiAccess::ReadWrite)
    }
    fn allows_write(self) -> bool {
        matches!(self, DmiAccess::Write | DmiAccess::ReadWrite)
    }
}

/// A DMI grant (TLM-2.0's `tlm_dmi`): addresses `[start, end]` (inclusive) map to
/// `memory[offset ..]`, with the latency the initiator must account per access.
#[derive(Clone)]
pub struct Dmi {
    /// The target's storage.
    pub memory: DmiMemory,
    /// Index in `memory` of the byte at `start`.
    pub offset: usize,
    /// First address covered.
    pub start: u64,
    /// Last address covered (inclusive).
    pub end: u64,
    /// What the grant allows.
    pub access: DmiAccess,
    /// Latency of one read through the grant [ps].
    pub read_latency: SimTime,
    /// Latency of one write through the grant [ps].
    pub write_latency: SimTime,
}

/// Why a DMI access was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DmiError {
    /// The range is not inside the grant.
    OutOfRange {
        /// First address of the access.
        address: u64,
        /// Its length [bytes].
        len: usize,
    },
    /// The grant does not allow this direction.
    AccessDenied,
}

impl fmt::Display for DmiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DmiError::OutOfRange { address, len } => {
                write!(
                    f,
                    "DMI access of {len} bytes at {address:#x} is outside the grant"
                )
            }
            DmiError::AccessDenied => write!(f, "DMI grant does not allow this access"),
        }
    }
}

impl std::error::Error for DmiError {}

impl Dmi {
    /// Whether `[address, address + len)` lies inside the grant.
    pub fn covers(&self, address: u64, len: usize) -> bool {
        let Some(last) = address.checked_add(len.max(1) as u64 - 1) else {
            return false;
        };
        address >= self.start && last <= self.end
    }

    fn index(&self, address: u64, len: usize) -> Result<usize, DmiError> {
        if !self.covers(address, len) {
            return Err(DmiError::OutOfRange { address, len });
        }
        Ok(self.offset + (address - self.start) as usize)
    }

    /// Copies `buf.len()` bytes at `address` into `buf`.
    pub fn read(&self, address: u64, buf: &mut [u8]) -> Result<(), DmiError> {
        if !self.access.allows_read() {
            return Err(DmiError::AccessDenied);
        }
        let i = self.index(address, buf.len())?;
        buf.copy_from_slice(&self.memory.borrow()[i..i + buf.len()]);
        Ok(())
    }

    /// Copies `data` to `address`.
    pub fn write(&self, address: u64, data: &[u8]) -> Result<(), DmiError> {
        if !self.access.allows_write() {
            return Err(DmiError::AccessDenied);
        }
        let i = self.index(address, data.len())?;
        self.memory.borrow_mut()[i..i + data.len()].copy_from_slice(data);
        Ok(())
    }
}

/// The DMI grants an initiator holds; drop overlapping ones on invalidation.
#[derive(Default)]
pub struct DmiCache {
    grants: RefCell<Vec<Dmi>>,
}

impl DmiCache {
    /// An empty cache.
    pub fn new() -> DmiCache {
        DmiCache::default()
    }

    /// Keeps `grant`.
    pub fn insert(&self, grant: Dmi) {
        self.grants.borrow_mut().push(grant);
    }

    /// A grant covering `[address, address + len)`, if one is held.
    pub fn find(&self, address: u64, len: usize) -> Option<Dmi> {
        self.grants
            .borrow()
            .iter()
            .find(|g| g.covers(address, len))
            .cloned()
    }

    /// Drops every grant overlapping `[start, end]` (inclusive); returns how many.
    pub fn invalidate(&self, start: u64, end: u64) -> usize {
        let mut grants = self.grants.borrow_mut();
        let before = grants.len();
        grants.retain(|g| g.end < start || g.start > end);
        before - grants.len()
    }

    /// Number of grants held.
    pub fn len(&self) -> usize {
        self.grants.borrow().len()
    }

    /// True when no grant is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}
