//! The generic payload (TLM-2.0's `tlm_generic_payload`).

use std::any::{Any, TypeId};
use std::cell::RefCell;
use std::rc::Rc;

/// What a transaction does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Command {
    /// Copy from the target into the payload.
    Read,
    /// Copy from the payload into the target.
    Write,
    /// Neither (used to carry extensions only).
    Ignore,
}

/// The target's verdict on a transaction (TLM-2.0's `tlm_response_status`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ResponseStatus {
    /// Not yet answered; the initiator sets this before sending.
    Incomplete,
    /// Done.
    Ok,
    /// Failed for a reason no other status names.
    GenericError,
    /// The address is outside the target.
    AddressError,
    /// The target does not support the command.
    CommandError,
    /// The data length or streaming width is not supported.
    BurstError,
    /// The byte enables are not supported.
    ByteEnableError,
}

impl ResponseStatus {
    /// True for `Ok`.
    #[inline]
    pub fn is_ok(self) -> bool {
        self == ResponseStatus::Ok
    }
    /// True for every error status (not `Ok`, not `Incomplete`).
    #[inline]
    pub fn is_error(self) -> bool {
        !matches!(self, ResponseStatus::Ok | ResponseStatus::Incomplete)
    }
}

/// A transaction. Initiators keep and reuse one payload across transactions (as with
/// TLM's memory managers), so its buffers are allocated once.
///
/// The data buffer is optional: a *timing-only* payload carries a length but no bytes,
/// so timing runs move no data. A target receiving a timing-only payload does the
/// timing and skips the copy.
#[derive(Debug)]
pub struct Payload {
    /// Read, write or ignore.
    pub command: Command,
    /// Byte address at the target.
    pub address: u64,
    data: Option<Vec<u8>>,
    data_length: usize,
    /// Byte-enable mask, repeated over the data (0xff = enabled); `None` = all bytes.
    pub byte_enables: Option<Vec<u8>>,
    /// Bytes after which the address wraps back (a FIFO register); 0 = the data length.
    pub streaming_width: usize,
    /// Set by the target.
    pub response: ResponseStatus,
    /// Set by the target when it would grant DMI for this address (a hint).
    pub dmi_allowed: bool,
    extensions: Vec<(TypeId, Box<dyn Any>)>,
}

/// A payload shared between an initiator and a target across the phases of a
/// non-blocking transaction (TLM's payload pointer plus memory-manager reference count).
pub type PayloadRef = Rc<RefCell<Payload>>;

impl Payload {
    /// A timing-only payload of `length` bytes (no data buffer).
    pub fn new(command: Command, address: u64, length: usize) -> Payload {
        Payload {
            command,
            address,
            data: None,
            data_length: length,
            byte_enables: None,
            streaming_width: 0,
            response: ResponseStatus::Incomplete,
            dmi_allowed: false,
            extensions: Vec::new(),
        }
    }

    /// A payload carrying `data` (its length is the data length).
    pub fn with_data(command: Command, address: u64, data: Vec<u8>) -> Payload {
        let mut p = Payload::new(command, address, data.len());
        p.data = Some(data);
        p
    }

    /// Prepares the payload for another transaction, keeping its buffers: sets the
    /// command and address and marks the response incomplete.
    #[inline]
    pub fn reset(&mut self, command: Command, address: u64) {
        self.command = command;
        self.address = address;
        self.response = ResponseStatus::Incomplete;
        self.dmi_allowed = false;
    }

    /// Bytes transferred.
    #[inline]
    pub fn data_length(&self) -> usize {
        self.data_length
    }

    /// The data, or `None` for a timing-only payload.
    #[inline]
    pub fn data(&self) -> Option<&[u8]> {
        self.data.as_deref()
    }

    /// The data, mutable, or `None` for a timing-only payload.
    #[inline]
    pub fn data_mut(&mut self) -> Option<&mut [u8]> {
        self.data.as_deref_mut()
    }

    /// Replaces the data buffer (the data length follows it).
    pub fn set_data(&mut self, data: Vec<u8>) {
        self.data_length = data.len();
        self.data = Some(data);
    }

    /// Makes the payload timing-only with `length` bytes, returning the old buffer.
    pub fn set_timing_only(&mut self, length: usize) -> Option<Vec<u8>> {
        self.data_length = length;
        self.data.take()
    }

    /// True when the payload carries no data buffer.
    #[inline]
    pub fn is_timing_only(&self) -> bool {
        self.data.is_none()
    }

    /// The effective streaming width (the data length when 0).
    #[inline]
    pub fn effective_streaming_width(&self) -> usize {
        if self.streaming_width == 0 {
            self.data_length
        } else {
            self.streaming_width
        }
    }

    /// Whether byte `i` of the data is enabled by the byte-enable mask.
    pub fn byte_enabled(&self, i: usize) -> bool {
        match &self.byte_enables {
            None => true,
            Some(be) if be.is_empty() => true,
            Some(be) => be[i % be.len()] != 0,
        }
    }

    /// Attaches extension `ext`, replacing one of the same type.
    pub fn set_extension<T: Any>(&mut self, ext: T) {
        let id = TypeId::of::<T>();
        match self.extensions.iter_mut().find(|(t, _)| *t == id) {
            Some((_, slot)) => *slot = Box::new(ext),
            None => self.extensions.push((id, Box::new(ext))),
        }
    }

    /// The extension of type `T`, if attached.
    pub fn extension<T: Any>(&self) -> Option<&T> {
        let id = TypeId::of::<T>();
        self.extensions
            .iter()
            .find(|(t, _)| *t == id)
            .and_then(|(_, e)| e.downcast_ref())
    }

    /// The extension of type `T`, mutable, if attached.
    pub fn extension_mut<T: Any>(&mut self) -> Option<&mut T> {
        let id = TypeId::of::<T>();
        self.extensions
            .iter_mut()
            .find(|(t, _)| *t == id)
            .and_then(|(_, e)| e.downcast_mut())
    }

    /// Detaches and returns the extension of type `T`.
    pub fn take_extension<T: Any>(&mut self) -> Option<T> {
        let id = TypeId::of::<T>();
        let i = self.extensions.iter().position(|(t, _)| *t == id)?;
        let (_, ext) = self.extensions.swap_remove(i);
        ext.downcast().ok().map(|b| *b)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extensions_are_typed() {
        #[derive(Debug, PartialEq)]
        struct Tag(u32);
        let mut p = Payload::new(Command::Read, 0, 4);
        assert!(p.extension::<Tag>().is_none());
        p.set_extension(Tag(1));
        p.set_extension(Tag(2));
        assert_eq!(p.extension::<Tag>(), Some(&Tag(2)));
        p.extension_mut::<Tag>().unwrap().0 = 3;
        assert_eq!(p.take_extension::<Tag>(), Some(Tag(3)));
        assert!(p.extension::<Tag>().is_none());
    }

    #[test]
    fn timing_only_payload_has_length_but_no_data() {
        let mut p = Payload::new(Command::Write, 0x40, 64);
        assert!(p.is_timing_only());
        assert_eq!(p.data_length(), 64);
        p.set_data(vec![1; 8]);
        assert_eq!(p.data_length(), 8);
        assert_eq!(p.set_timing_only(32), Some(vec![1; 8]));
        assert_eq!(p.effective_streaming_width(), 32);
    }

    #[test]
    fn byte_enables_repeat_over_the_data() {
        let mut p = Payload::with_data(Command::Write, 0, vec![0; 8]);
        p.byte_enables = Some(vec![0xff, 0]);
        assert!(p.byte_enabled(0));
        assert!(!p.byte_enabled(1));
        assert!(p.byte_enabled(6));
    }
}
