//! The GEMM core's arithmetic: `C = op(A)·op(B)` or `C += op(A)·op(B)` with fp32
//! accumulation, on operands that are already in their storage format.
//!
//! Operands are [`MatRef`] views: a transposed operand is the stored matrix read
//! with its strides swapped, as the hardware's address generators read it — never
//! a copy. The products of the 8- and 16-bit formats are exact in fp32, so the
//! only rounding is the fp32 accumulation (and the final rounding into C's
//! format); [`matrixmultiply`] does the accumulation, blocked, which is what the
//! golden data's tolerance rule allows for.

use std::fmt;

/// A matrix read from a slice with arbitrary (non-negative) strides.
#[derive(Clone, Copy, Debug)]
pub struct MatRef<'a> {
    data: &'a [f32],
    rows: usize,
    cols: usize,
    row_stride: usize,
    col_stride: usize,
}

/// Why a GEMM cannot run: the views do not fit their slices or each other.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum GemmError {
    /// A view reaches past the end of its slice.
    OutOfBounds {
        /// `A`, `B` or `C`.
        operand: &'static str,
        /// Elements the view needs.
        needs: usize,
        /// Elements the slice has.
        has: usize,
    },
    /// The inner or outer dimensions disagree.
    Shape(String),
}

impl fmt::Display for GemmError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GemmError::OutOfBounds {
                operand,
                needs,
                has,
            } => write!(f, "{operand} needs {needs} elements, its storage has {has}"),
            GemmError::Shape(m) => f.write_str(m),
        }
    }
}

impl std::error::Error for GemmError {}

impl<'a> MatRef<'a> {
    /// `rows × cols` stored row by row, `ld` elements apart (0 = packed).
    pub fn row_major(data: &'a [f32], rows: usize, cols: usize, ld: usize) -> MatRef<'a> {
        MatRef {
            data,
            rows,
            cols,
            row_stride: if ld == 0 { cols } else { ld },
            col_stride: 1,
        }
    }

    /// The `rows × cols` matrix whose transpose is stored row-major (`cols` rows
    /// of `rows` elements, `ld` apart; 0 = packed): the stored matrix read down
    /// its columns.
    pub fn transposed(data: &'a [f32], rows: usize, cols: usize, ld: usize) -> MatRef<'a> {
        MatRef {
            data,
            rows,
            cols,
            row_stride: 1,
            col_stride: if ld == 0 { rows } else { ld },
        }
    }

    /// Rows.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Columns.
    pub fn cols(&self) -> usize {
        self.cols
    }

    /// Element (r, c).
    pub fn at(&self, r: usize, c: usize) -> f32 {
        self.data[r * self.row_stride + c * self.col_stride]
    }

    /// Elements of the slice the view reaches (0 for an empty view).
    fn extent(&self) -> usize {
        if self.rows == 0 || self.cols == 0 {
            0
        } else {
            (self.rows - 1) * self.row_stride + (self.cols - 1) * self.col_stride + 1
        }
    }

    fn check(&self, operand: &'static str) -> Result<(), GemmError> {
        let needs = self.extent();
        if needs > self.data.len() {
            return Err(GemmError::OutOfBounds {
                operand,
                needs,
                has: self.data.len(),
            });
        }
        Ok(())
    }
}

/// `C = A·B` (or `C += A·B` with `accumulate`), fp32 accumulation; C is `m × n`
/// row-major with leading dimension `ldc` (0 = packed).
pub fn gemm(
    a: MatRef<'_>,
    b: MatRef<'_>,
    c: &mut [f32],
    ldc: usize,
    accumulate: bool,
) -> Result<(), GemmError> {
    let (m, k, n) = (a.rows, a.cols, b.cols);
    if b.rows != k {
        return Err(GemmError::Shape(format!(
            "A is {m}×{k} but B is {}×{n}",
            b.rows
        )));
    }
    a.check("A")?;
    b.check("B")?;
    let ldc = if ldc == 0 { n } else { ldc };
    if ldc < n {
        return Err(GemmError::Shape(format!(
            "C's leading dimension {ldc} is shorter than its {n} columns"
        )));
    }
    let c_view = MatRef::row_major(c, m, n, ldc);
    c_view.check("C")?;
    if m == 0 || n == 0 {
        return Ok(());
    }
    let beta = if accumulate { 1.0 } else { 0.0 };
    if k == 0 {
        c.chunks_mut(ldc)
            .take(m)
            .for_each(|row| row[..n].iter_mut().for_each(|x| *x *= beta));
        return Ok(());
    }
    // SAFETY: `check` proved that every element each view addresses — the
    // largest index is (rows−1)·row_stride + (cols−1)·col_stride — lies inside its
    // slice; the strides are non-negative and fit `isize` because they index a
    // slice; C is borrowed mutably and does not alias A or B.
    unsafe {
        matrixmultiply::sgemm(
            m,
            k,
            n,
            1.0,
            a.data.as_ptr(),
            a.row_stride as isize,
            a.col_stride as isize,
            b.data.as_ptr(),
            b.row_stride as isize,
            b.col_stride as isize,
            beta,
            c.as_mut_ptr(),
            ldc as isize,
            1,
        );
    }
    Ok(())
}

/// The same product by the textbook triple loop in f64, rounded once to f32: the
/// slow, obviously right reference the tests compare [`gemm`] with.
pub fn gemm_reference(a: MatRef<'_>, b: MatRef<'_>) -> Vec<f32> {
    let (m, k, n) = (a.rows, a.cols, b.cols);
    let mut c = vec![0.0; m * n];
    for i in 0..m {
        for j in 0..n {
            let s: f64 = (0..k)
                .map(|p| f64::from(a.at(i, p)) * f64::from(b.at(p, j)))
                .sum();
            c[i * n + j] = s as f32;
        }
    }
    c
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transposed_views_read_the_stored_matrix_down_its_columns() {
        // Stored 2×3: [[1,2,3],[4,5,6]]; its transpose is 3×2.
        let s = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0];
        let t = MatRef::transposed(&s, 3, 2, 0);
        assert_eq!((t.at(0, 0), t.at(0, 1), t.at(2, 1)), (1.0, 4.0, 6.0));
        let b = MatRef::row_major(&s, 2, 3, 0);
        let mut c = vec![0.0; 9];
        gemm(t, b, &mut c, 0, false).expect("fits");
        // (Sᵀ·S)[0][0] = 1+16, [2][2] = 9+36.
        assert_eq!((c[0], c[8]), (17.0, 45.0));
    }

    #[test]
    fn accumulate_adds_and_padding_is_untouched() {
        let a = [1.0, 2.0];
        let b = [3.0, 4.0];
        // C is 1×1 inside rows of 3 (ldc = 3): the padding stays.
        let mut c = vec![10.0, -1.0, -1.0];
        gemm(
            MatRef::row_major(&a, 1, 2, 0),
            MatRef::transposed(&b, 2, 1, 0),
            &mut c,
            3,
            true,
        )
        .expect("fits");
        assert_eq!(c, vec![21.0, -1.0, -1.0]);
    }

    #[test]
    fn bad_views_are_errors_not_reads_past_the_end() {
        let a = [1.0; 5];
        let r = gemm(
            MatRef::row_major(&a, 2, 3, 0),
            MatRef::row_major(&a, 3, 1, 0),
            &mut [0.0; 2],
            0,
            false,
        );
        assert_eq!(
            r,
            Err(GemmError::OutOfBounds {
                operand: "A",
                needs: 6,
                has: 5
            })
        );
        let r = gemm(
            MatRef::row_major(&a, 1, 2, 0),
            MatRef::row_major(&a, 3, 1, 0),
            &mut [0.0; 1],
            0,
            false,
        );
        assert!(matches!(r, Err(GemmError::Shape(_))));
    }
}
