//! Number formats of stored operands.

use std::fmt;
use std::str::FromStr;

/// How a tensor's elements are stored (descriptor code in parentheses).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u8)]
pub enum NumberFormat {
    /// IEEE binary32 (0).
    Fp32 = 0,
    /// bfloat16 (1).
    Bf16 = 1,
    /// IEEE binary16 (2).
    Fp16 = 2,
    /// 8-bit float, 4 exponent and 3 mantissa bits, no infinities (3).
    Fp8E4M3 = 3,
    /// 8-bit float, 5 exponent and 2 mantissa bits (4).
    Fp8E5M2 = 4,
    /// 8-bit integer with a per-tensor scale (5).
    Int8 = 5,
}

impl NumberFormat {
    /// Every format, in code order.
    pub const ALL: [NumberFormat; 6] = [
        NumberFormat::Fp32,
        NumberFormat::Bf16,
        NumberFormat::Fp16,
        NumberFormat::Fp8E4M3,
        NumberFormat::Fp8E5M2,
        NumberFormat::Int8,
    ];

    /// Bytes per element.
    pub fn bytes(self) -> u32 {
        match self {
            NumberFormat::Fp32 => 4,
            NumberFormat::Bf16 | NumberFormat::Fp16 => 2,
            NumberFormat::Fp8E4M3 | NumberFormat::Fp8E5M2 | NumberFormat::Int8 => 1,
        }
    }

    /// The descriptor code.
    pub fn code(self) -> u8 {
        self as u8
    }

    /// The format of a descriptor code, if valid.
    pub fn from_code(code: u8) -> Option<NumberFormat> {
        NumberFormat::ALL.get(code as usize).copied()
    }

    /// The name used in scenarios and reports.
    pub fn name(self) -> &'static str {
        match self {
            NumberFormat::Fp32 => "fp32",
            NumberFormat::Bf16 => "bf16",
            NumberFormat::Fp16 => "fp16",
            NumberFormat::Fp8E4M3 => "fp8_e4m3",
            NumberFormat::Fp8E5M2 => "fp8_e5m2",
            NumberFormat::Int8 => "int8",
        }
    }
}

impl fmt::Display for NumberFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A string that names no format.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnknownFormat(pub String);

impl fmt::Display for UnknownFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = NumberFormat::ALL.iter().map(|f| f.name()).collect();
        write!(
            f,
            "unknown number format {:?} (one of: {})",
            self.0,
            names.join(", ")
        )
    }
}

impl std::error::Error for UnknownFormat {}

impl FromStr for NumberFormat {
    type Err = UnknownFormat;
    fn from_str(s: &str) -> Result<NumberFormat, UnknownFormat> {
        NumberFormat::ALL
            .into_iter()
            .find(|f| f.name() == s)
            .ok_or_else(|| UnknownFormat(s.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_and_names_round_trip() {
        for f in NumberFormat::ALL {
            assert_eq!(NumberFormat::from_code(f.code()), Some(f));
            assert_eq!(f.name().parse(), Ok(f));
        }
        assert_eq!(NumberFormat::from_code(6), None);
        assert!("fp7"
            .parse::<NumberFormat>()
            .unwrap_err()
            .to_string()
            .contains("bf16"));
    }
}
