//! Device error codes, as reported in `ERR_CODE`.

use std::fmt;

/// Why the device stopped a queue (the value of `ERR_CODE`; 0 means no error).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u32)]
pub enum DeviceError {
    /// The descriptor's opcode is unknown.
    BadOpcode = 1,
    /// A field of the descriptor is invalid (a zero size, an unknown format or op).
    BadField = 2,
    /// A DRAM address is outside the DRAM.
    DramOutOfRange = 3,
    /// An SRAM access is outside the SRAM (a firmware tiling error).
    SramOverflow = 4,
    /// An address is not aligned as the operation requires.
    Misaligned = 5,
    /// A queue register was programmed with an impossible value.
    BadQueueConfig = 6,
    /// A semaphore wait can never be satisfied (deadlock detected at the end of a run).
    Deadlock = 7,
}

impl DeviceError {
    /// Every error, in code order.
    pub const ALL: [DeviceError; 7] = [
        DeviceError::BadOpcode,
        DeviceError::BadField,
        DeviceError::DramOutOfRange,
        DeviceError::SramOverflow,
        DeviceError::Misaligned,
        DeviceError::BadQueueConfig,
        DeviceError::Deadlock,
    ];

    /// Its name in C headers (`BAD_OPCODE`).
    pub fn name(self) -> &'static str {
        match self {
            DeviceError::BadOpcode => "BAD_OPCODE",
            DeviceError::BadField => "BAD_FIELD",
            DeviceError::DramOutOfRange => "DRAM_OUT_OF_RANGE",
            DeviceError::SramOverflow => "SRAM_OVERFLOW",
            DeviceError::Misaligned => "MISALIGNED",
            DeviceError::BadQueueConfig => "BAD_QUEUE_CONFIG",
            DeviceError::Deadlock => "DEADLOCK",
        }
    }

    /// The code for `ERR_CODE`.
    pub fn code(self) -> u32 {
        self as u32
    }

    /// The error for an `ERR_CODE` value, or `None` for 0 and unknown codes.
    pub fn from_code(code: u32) -> Option<DeviceError> {
        use DeviceError::*;
        Some(match code {
            1 => BadOpcode,
            2 => BadField,
            3 => DramOutOfRange,
            4 => SramOverflow,
            5 => Misaligned,
            6 => BadQueueConfig,
            7 => Deadlock,
            _ => return None,
        })
    }
}

impl fmt::Display for DeviceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            DeviceError::BadOpcode => "unknown opcode",
            DeviceError::BadField => "invalid descriptor field",
            DeviceError::DramOutOfRange => "DRAM address out of range",
            DeviceError::SramOverflow => "SRAM access out of range (overflow)",
            DeviceError::Misaligned => "misaligned address",
            DeviceError::BadQueueConfig => "bad queue configuration",
            DeviceError::Deadlock => "semaphore deadlock",
        })
    }
}

impl std::error::Error for DeviceError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip() {
        for code in 0..16 {
            if let Some(e) = DeviceError::from_code(code) {
                assert_eq!(e.code(), code);
            }
        }
        assert_eq!(DeviceError::from_code(0), None);
        for (i, e) in DeviceError::ALL.into_iter().enumerate() {
            assert_eq!(DeviceError::from_code(i as u32 + 1), Some(e));
        }
        assert_eq!(DeviceError::SramOverflow.code(), 4);
    }
}
