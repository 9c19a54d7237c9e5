//! A reader for NumPy `.npy` files (format versions 1–3, little-endian, C order):
//! the subset the golden data uses.

use crate::GoldenError;
use std::path::Path;

/// A `.npy` file: dtype, shape and the raw little-endian payload.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Npy {
    /// NumPy dtype string (`<f4`, `<u2`, `|u1`, …).
    pub descr: String,
    /// Shape (empty for a scalar).
    pub shape: Vec<usize>,
    /// Elements, little-endian, C order.
    pub data: Vec<u8>,
}

impl Npy {
    /// The elements as f32 (dtype `<f4`).
    pub fn f32s(&self) -> Result<Vec<f32>, String> {
        self.words::<4>(&["<f4"])
            .map(|w| w.into_iter().map(f32::from_le_bytes).collect())
    }

    /// The elements as u32 bit patterns (dtype `<u4` or `<f4`).
    pub fn u32s(&self) -> Result<Vec<u32>, String> {
        self.words::<4>(&["<u4", "<f4"])
            .map(|w| w.into_iter().map(u32::from_le_bytes).collect())
    }

    /// The elements as i32 (dtype `<i4`: token ids).
    pub fn i32s(&self) -> Result<Vec<i32>, String> {
        self.words::<4>(&["<i4"])
            .map(|w| w.into_iter().map(i32::from_le_bytes).collect())
    }

    /// The elements as u16 (dtype `<u2`).
    pub fn u16s(&self) -> Result<Vec<u16>, String> {
        self.words::<2>(&["<u2"])
            .map(|w| w.into_iter().map(u16::from_le_bytes).collect())
    }

    /// The elements as u8 (dtype `|u1`).
    pub fn u8s(&self) -> Result<Vec<u8>, String> {
        self.words::<1>(&["|u1", "<u1"])
            .map(|w| w.into_iter().map(|[b]| b).collect())
    }

    fn words<const N: usize>(&self, dtypes: &[&str]) -> Result<Vec<[u8; N]>, String> {
        if !dtypes.contains(&self.descr.as_str()) {
            return Err(format!("dtype {}, expected one of {dtypes:?}", self.descr));
        }
        let elements: usize = self.shape.iter().product();
        if self.data.len() != elements * N {
            return Err(format!(
                "{} payload bytes for shape {:?} of {N}-byte elements",
                self.data.len(),
                self.shape
            ));
        }
        Ok(self
            .data
            .chunks_exact(N)
            .map(|c| {
                let mut w = [0u8; N];
                w.copy_from_slice(c);
                w
            })
            .collect())
    }
}

/// Reads the `.npy` file at `path`.
pub fn read_npy(path: &Path) -> Result<Npy, GoldenError> {
    let bytes = std::fs::read(path).map_err(|error| GoldenError::Io {
        path: path.to_path_buf(),
        error,
    })?;
    parse(&bytes).map_err(|message| GoldenError::Format {
        path: path.to_path_buf(),
        message,
    })
}

/// Writes `data` (C order) as a little-endian fp32 `.npy` file (format 1.0) of
/// `shape` at `path`.
pub fn write_npy_f32(path: &Path, shape: &[usize], data: &[f32]) -> Result<(), GoldenError> {
    let bytes: Vec<u8> = data.iter().flat_map(|v| v.to_le_bytes()).collect();
    write_npy(path, "<f4", shape, &bytes)
}

/// Writes int32 `data` of `shape` as a `.npy` file (token ids), as
/// [`write_npy_f32`] does floats.
pub fn write_npy_i32(path: &Path, shape: &[usize], data: &[i32]) -> Result<(), GoldenError> {
    let bytes: Vec<u8> = data.iter().flat_map(|v| v.to_le_bytes()).collect();
    write_npy(path, "<i4", shape, &bytes)
}

/// Writes little-endian elements `data` of numpy type `descr` and `shape`.
fn write_npy(path: &Path, descr: &str, shape: &[usize], data: &[u8]) -> Result<(), GoldenError> {
    let dims: Vec<String> = shape.iter().map(usize::to_string).collect();
    let shape_text = match dims.len() {
        1 => format!("({},)", dims[0]),
        _ => format!("({})", dims.join(", ")),
    };
    let mut header =
        format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape_text}, }}");
    // Magic (6) + version (2) + length (2) + header + newline, padded to 64 bytes.
    while (10 + header.len() + 1) % 64 != 0 {
        header.push(' ');
    }
    header.push('\n');
    let mut bytes = b"\x93NUMPY\x01\x00".to_vec();
    bytes.extend((header.len() as u16).to_le_bytes());
    bytes.extend(header.as_bytes());
    bytes.extend_from_slice(data);
    std::fs::write(path, bytes).map_err(|error| GoldenError::Io {
        path: path.to_path_buf(),
        error,
    })
}

/// Parses the bytes of a `.npy` file.
fn parse(bytes: &[u8]) -> Result<Npy, String> {
    if bytes.len() < 10 || &bytes[..6] != b"\x93NUMPY" {
        return Err("not a .npy file (bad magic)".into());
    }
    let (len, start) = match bytes[6] {
        1 => (usize::from(u16::from_le_bytes([bytes[8], bytes[9]])), 10),
        2 | 3 if bytes.len() >= 12 => (
            u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]) as usize,
            12,
        ),
        v => return Err(format!("unsupported .npy version {v}")),
    };
    let header = bytes
        .get(start..start + len)
        .ok_or("header runs past the end of the file")?;
    let header = String::from_utf8_lossy(header);
    if !header.contains("'fortran_order': False") {
        return Err(format!("only C-order arrays are supported: {header}"));
    }
    let descr = field(&header, "'descr': '", '\'')?.to_string();
    let shape = field(&header, "'shape': (", ')')?
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| s.parse::<usize>().map_err(|e| format!("shape `{s}`: {e}")))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Npy {
        descr,
        shape,
        data: bytes[start + len..].to_vec(),
    })
}

/// The text between `open` and the next `close` in `header`.
fn field<'h>(header: &'h str, open: &str, close: char) -> Result<&'h str, String> {
    header
        .split(open)
        .nth(1)
        .and_then(|s| s.split(close).next())
        .ok_or_else(|| format!("no `{open}` in header {header}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(header: &str, payload: &[u8]) -> Vec<u8> {
        let mut b = b"\x93NUMPY\x01\x00".to_vec();
        b.extend((header.len() as u16).to_le_bytes());
        b.extend(header.as_bytes());
        b.extend(payload);
        b
    }

    #[test]
    fn parses_shapes_and_scalars() {
        let payload: Vec<u8> = [1.5f32, -2.0]
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect();
        let n = parse(&file(
            "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }",
            &payload,
        ))
        .expect("valid");
        assert_eq!(n.shape, vec![2]);
        assert_eq!(n.f32s().expect("f32"), vec![1.5, -2.0]);
        let s = parse(&file(
            "{'descr': '<f4', 'fortran_order': False, 'shape': (), }",
            &payload[..4],
        ))
        .expect("scalar");
        assert!(s.shape.is_empty());
        assert_eq!(s.f32s().expect("f32"), vec![1.5]);
    }

    #[test]
    fn what_it_writes_it_reads_back() {
        let dir = std::env::temp_dir().join(format!("treta-npy-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        for shape in [vec![], vec![3], vec![2, 3]] {
            let n: usize = shape.iter().product();
            let data: Vec<f32> = (0..n).map(|i| i as f32 - 1.5).collect();
            let path = dir.join("t.npy");
            write_npy_f32(&path, &shape, &data).expect("written");
            let back = read_npy(&path).expect("read");
            assert_eq!((back.f32s().expect("f32"), back.shape), (data, shape));
        }
    }

    #[test]
    fn refuses_what_it_cannot_read() {
        assert!(parse(b"hello world").is_err());
        assert!(parse(&file(
            "{'descr': '<f4', 'fortran_order': True, 'shape': (1,), }",
            &[0; 4]
        ))
        .is_err());
        let wrong_len = parse(&file(
            "{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }",
            &[0; 4],
        ))
        .expect("header ok");
        assert!(wrong_len.f32s().is_err());
        assert!(wrong_len.u16s().is_err(), "dtype mismatch");
    }
}
