//! Command descriptors: 64-byte records that firmware writes into a queue's ring.
//!
//! Every descriptor is eight little-endian 64-bit words. Word 0 is the header:
//! byte 0 the opcode, byte 1 flags, bytes 2–3 reserved (written as 0, ignored),
//! bytes 4–7 an `id` that firmware chooses (traces and error reports name it).
//! SRAM addresses are byte offsets in the device's SRAM; DRAM addresses are device
//! physical addresses.
//!
//! | opcode | command | words 1–7 |
//! |---|---|---|
//! | 0x00 | `NOP` | — |
//! | 0x01 / 0x02 | `DMA_LOAD` (DRAM→SRAM) / `DMA_STORE` (SRAM→DRAM) | w1 DRAM address; w2 SRAM address \| rows; w3 row bytes \| SRAM row stride; w4 DRAM row stride; w5 planes \| SRAM plane stride; w6 DRAM plane stride; w7 source format \| destination format. Flag 0: transpose. Strides of 0 mean packed. |
//! | 0x03 | `DMA_COPY` (SRAM→SRAM) | as `DMA_LOAD`, with w1, w4 and w6 addressing the source in SRAM instead of DRAM (re-layouts, transposes and format conversions between buffers without a DRAM round trip) |
//! | 0x10 | `GEMM` C = op(A)·op(B) (+ C) | w1 m \| k; w2 n \| A address; w3 B address \| C address; w4 lda \| ldb; w5 ldc \| formats of A, B, C. Flags: 0 transpose A, 1 transpose B, 2 accumulate. Leading dimensions are in elements, 0 = packed. |
//! | 0x20–0x27 | `SOFTMAX_FWD/BWD`, `LAYERNORM_FWD/BWD`, `GELU_FWD/BWD`, `VECTOR`, `SOFTMAX_CAUSAL_FWD` | w1 rows \| cols; w2 source \| destination; w3 aux0 \| aux1; w4 aux2 \| vector op \| format; w5 scalar 0 (f32 bits) \| aux3; w6 scalars 1 \| 2; w7 scalar 3. Flag 2: accumulate (reductions add to what their destination holds). Operands per op: [`SfuOp`], [`VectorOp`]. |
//! | 0x30 | `SEM_SIGNAL` | w1 semaphore (0–15) |
//! | 0x31 | `SEM_WAIT` | w1 semaphore \| count: wait until it holds `count`, then take them |
//! | 0x32 | `FENCE` | — : wait until this queue's earlier commands completed |
//! | 0x33 | `IRQ` | w1 code: raise the completion interrupt with `IRQ_CODE` = code |

use crate::field::{self, Field};
use crate::format::NumberFormat;
use std::fmt;

/// Bytes per descriptor.
pub const DESC_BYTES: usize = 64;

/// Number of semaphores.
pub const SEMAPHORES: u8 = 16;

/// The semaphore the driver reserves to join its queues at the end of each
/// batch of a program (the last one): a lowering that used it too would let
/// the join count its signals and raise the completion interrupt early.
pub const DRIVER_JOIN_SEM: u8 = SEMAPHORES - 1;

/// A descriptor: what to do, and a firmware-chosen id for traces and errors.
#[derive(Clone, Debug, PartialEq)]
pub struct Descriptor {
    /// Firmware's tag for this command.
    pub id: u32,
    /// The command.
    pub command: Command,
}

/// The commands of the device.
#[derive(Clone, Debug, PartialEq)]
pub enum Command {
    /// Does nothing (padding, tests).
    Nop,
    /// DRAM → SRAM transfer.
    DmaLoad(DmaDesc),
    /// SRAM → DRAM transfer.
    DmaStore(DmaDesc),
    /// SRAM → SRAM transfer: the `dram_*` fields address the source in SRAM.
    DmaCopy(DmaDesc),
    /// Matrix multiplication in the GEMM core.
    Gemm(GemmDesc),
    /// An operation of the special-function unit.
    Sfu(SfuDesc),
    /// Adds one to semaphore `sem`.
    SemSignal {
        /// Semaphore index (< 16).
        sem: u8,
    },
    /// Waits until semaphore `sem` holds `count`, then subtracts it.
    SemWait {
        /// Semaphore index (< 16).
        sem: u8,
        /// Units to take.
        count: u32,
    },
    /// Waits until every earlier command of this queue has completed.
    Fence,
    /// Raises the completion interrupt.
    Irq {
        /// Value for `IRQ_CODE`.
        code: u32,
    },
}

/// A 1D/2D/3D strided transfer between DRAM and SRAM.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DmaDesc {
    /// DRAM address of the first byte.
    pub dram_addr: u64,
    /// SRAM address of the first byte.
    pub sram_addr: u32,
    /// Rows per plane.
    pub rows: u32,
    /// Bytes per row (of the source).
    pub row_bytes: u32,
    /// Bytes between rows in SRAM (0 = packed).
    pub sram_stride: u32,
    /// Bytes between rows in DRAM (0 = packed).
    pub dram_stride: u64,
    /// Planes (1 for a 2D transfer).
    pub planes: u32,
    /// Bytes between planes in SRAM (0 = packed).
    pub sram_plane_stride: u32,
    /// Bytes between planes in DRAM (0 = packed).
    pub dram_plane_stride: u64,
    /// Transpose each plane on the fly (elements of the source format).
    pub transpose: bool,
    /// Format of the source elements.
    pub src_format: NumberFormat,
    /// Format of the destination elements (conversion on the fly if different).
    pub dst_format: NumberFormat,
}

/// C = op(A)·op(B) (+ C), fp32 accumulation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GemmDesc {
    /// Rows of op(A) and C.
    pub m: u32,
    /// Columns of op(A), rows of op(B).
    pub k: u32,
    /// Columns of op(B) and C.
    pub n: u32,
    /// SRAM address of A.
    pub a_addr: u32,
    /// SRAM address of B.
    pub b_addr: u32,
    /// SRAM address of C.
    pub c_addr: u32,
    /// Leading dimension of A as stored [elements] (0 = packed).
    pub lda: u32,
    /// Leading dimension of B as stored [elements] (0 = packed).
    pub ldb: u32,
    /// Leading dimension of C [elements] (0 = packed).
    pub ldc: u32,
    /// A is stored transposed (K×M): the backward GEMMs read it so.
    pub transpose_a: bool,
    /// B is stored transposed (N×K).
    pub transpose_b: bool,
    /// C += op(A)·op(B) instead of C = op(A)·op(B).
    pub accumulate: bool,
    /// Format of A.
    pub a_format: NumberFormat,
    /// Format of B.
    pub b_format: NumberFormat,
    /// Format of C.
    pub c_format: NumberFormat,
}

impl GemmDesc {
    /// `C[m×n] = A[m×k]·B[k×n]` at SRAM addresses `a`, `b`, `c`, all packed, not
    /// transposed, not accumulating; A and B in `operands`, C in fp32 — the
    /// common case, to adjust with struct-update syntax.
    pub fn packed(m: u32, k: u32, n: u32, [a, b, c]: [u32; 3], operands: NumberFormat) -> GemmDesc {
        GemmDesc {
            m,
            k,
            n,
            a_addr: a,
            b_addr: b,
            c_addr: c,
            lda: 0,
            ldb: 0,
            ldc: 0,
            transpose_a: false,
            transpose_b: false,
            accumulate: false,
            a_format: operands,
            b_format: operands,
            c_format: NumberFormat::Fp32,
        }
    }
}

/// Special-function unit operations, over `rows` independent rows of `cols`
/// elements.
///
/// Formats: the descriptor's `format` is that of the activation and gradient
/// tensors (rows × cols: src, dst, and the aux operands shaped like them);
/// parameters (γ, β), saved statistics, reductions (dγ, dβ, column sums, the
/// loss) and optimizer state are fp32.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SfuOp {
    /// Row-wise softmax: dst = softmax(src · scalars\[0\]). A fully masked
    /// (all −inf) row gives zeros.
    SoftmaxFwd,
    /// Softmax backward: dst = P ⊙ (dY − rowsum(dY ⊙ P)); src = dY, aux0 = P.
    SoftmaxBwd,
    /// LayerNorm forward: src = X, aux0 = γ, aux1 = β (cols each), dst = Y; aux2
    /// receives (mean, rstd) per row (rows × 2); scalars\[0\] = ε.
    LayerNormFwd,
    /// LayerNorm backward: src = dY, aux0 = γ, aux1 = X (the forward input),
    /// aux2 = the forward's (mean, rstd); dst = dX; aux3 receives dγ then dβ
    /// (2 × cols), summed over the rows (added to aux3 with accumulate).
    LayerNormBwd,
    /// GELU (tanh form) forward: dst = gelu(src).
    GeluFwd,
    /// GELU backward: src = dY, aux0 = X (the pre-activation); dst = dX.
    GeluBwd,
    /// An element-wise vector operation.
    Vector(VectorOp),
    /// Causal softmax forward, for decoder attention: as [`SfuOp::SoftmaxFwd`],
    /// with the keys after each row's query masked out. Row r of the
    /// descriptor is query i = (scalars\[1\] + r) mod cols — scalars\[1\] is the
    /// first row's query index, an integer below 2²⁴, so a tile of rows may start
    /// anywhere in a block of S×S scores — and keys j > i get probability
    /// exactly 0 (as −inf before the softmax would). The max and exp passes read
    /// only the i + 1 unmasked keys; the normalizing pass writes the whole row.
    SoftmaxCausalFwd,
}

impl SfuOp {
    fn opcode(self) -> u8 {
        match self {
            SfuOp::SoftmaxFwd => 0x20,
            SfuOp::SoftmaxBwd => 0x21,
            SfuOp::LayerNormFwd => 0x22,
            SfuOp::LayerNormBwd => 0x23,
            SfuOp::GeluFwd => 0x24,
            SfuOp::GeluBwd => 0x25,
            SfuOp::Vector(_) => 0x26,
            SfuOp::SoftmaxCausalFwd => 0x27,
        }
    }

    /// The descriptor mnemonic, e.g. `SOFTMAX_FWD`.
    pub fn mnemonic(self) -> &'static str {
        match self {
            SfuOp::SoftmaxFwd => "SOFTMAX_FWD",
            SfuOp::SoftmaxBwd => "SOFTMAX_BWD",
            SfuOp::LayerNormFwd => "LAYERNORM_FWD",
            SfuOp::LayerNormBwd => "LAYERNORM_BWD",
            SfuOp::GeluFwd => "GELU_FWD",
            SfuOp::GeluBwd => "GELU_BWD",
            SfuOp::Vector(_) => "VECTOR",
            SfuOp::SoftmaxCausalFwd => "SOFTMAX_CAUSAL_FWD",
        }
    }
}

/// Element-wise operations of `VECTOR` (code in parentheses); `s0`–`s3` are
/// the descriptor's scalars.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum VectorOp {
    /// dst = src + aux0 (0).
    Add = 0,
    /// dst = src − aux0 (1).
    Sub = 1,
    /// dst = src ⊙ aux0 (2).
    Mul = 2,
    /// dst = src · s0 (3).
    Scale = 3,
    /// dst = src + aux0 broadcast over rows (a bias, 1 × cols) (4).
    AddBias = 4,
    /// An SGD step on fp32 master weights: dst = src − f32(s0 · aux0), aux0 the
    /// gradient (5).
    SgdUpdate = 5,
    /// dst = src (6).
    Copy = 6,
    /// dst = column sums of src, 1 × cols fp32 (a bias gradient; added to dst
    /// with accumulate) (7).
    ColumnSum = 7,
    /// MSE: src = Y, aux0 = target; dst = dY = (Y − target)·s0 with s0 = 1/(all
    /// elements of the loss); aux1 receives the loss share 0.5·s0·Σ(Y − target)²
    /// (one fp32, added to with accumulate) (8).
    MseLoss = 8,
    /// SGD with momentum on fp32 master weights: src = W, aux0 = gradient,
    /// aux1 = velocity (read and written): v = s1·v + g; dst = W − s0·v (9).
    SgdMomentum = 9,
    /// Adam on fp32 master weights: src = W, aux0 = gradient, aux1 = m, aux2 = v
    /// (read and written): m = s1·m + (1 − s1)·g, v = s2·v + (1 − s2)·g²,
    /// dst = W − s0·m/(√v + s3), s0 the bias-corrected learning rate (10).
    Adam = 10,
    /// One vocabulary tile of an online (streaming) log-sum-exp, the first pass
    /// of a softmax cross-entropy whose rows need never fit the SRAM: src = the
    /// logits of columns s1 .. s1 + cols of the vocabulary (s1 an integer below
    /// 2²⁴), aux0 = the target index of each row (int32, rows × 1), aux1 = the
    /// running state per row (rows × 3 fp32: max m, Σ exp(x − m), the target's
    /// logit), read (unless s2 ≠ 0: the first tile starts it afresh) and written.
    /// With s3 ≠ 0 (the last tile) aux2 receives the loss share
    /// s0 · Σ_rows (m + ln Σ − x_target) (one fp32, added to with accumulate)
    /// (11).
    LogSumExp = 11,
    /// One vocabulary tile of the cross-entropy gradient, the second pass:
    /// src = logits (columns s1 .. s1 + cols), aux0 = targets (int32 per row),
    /// aux1 = the state [`VectorOp::LogSumExp`] left (rows × 3); dst =
    /// s0 · (exp(x − m) / Σ − [s1 + j = target]) (12).
    CrossEntropyBwd = 12,
}

impl VectorOp {
    /// Every op, in code order.
    pub const ALL: [VectorOp; 13] = [
        VectorOp::Add,
        VectorOp::Sub,
        VectorOp::Mul,
        VectorOp::Scale,
        VectorOp::AddBias,
        VectorOp::SgdUpdate,
        VectorOp::Copy,
        VectorOp::ColumnSum,
        VectorOp::MseLoss,
        VectorOp::SgdMomentum,
        VectorOp::Adam,
        VectorOp::LogSumExp,
        VectorOp::CrossEntropyBwd,
    ];

    /// The name in scenarios and reports, e.g. `mse_loss`.
    pub fn name(self) -> &'static str {
        match self {
            VectorOp::Add => "add",
            VectorOp::Sub => "sub",
            VectorOp::Mul => "mul",
            VectorOp::Scale => "scale",
            VectorOp::AddBias => "add_bias",
            VectorOp::SgdUpdate => "sgd_update",
            VectorOp::Copy => "copy",
            VectorOp::ColumnSum => "column_sum",
            VectorOp::MseLoss => "mse_loss",
            VectorOp::SgdMomentum => "sgd_momentum",
            VectorOp::Adam => "adam",
            VectorOp::LogSumExp => "logsumexp",
            VectorOp::CrossEntropyBwd => "cross_entropy_bwd",
        }
    }

    fn from_code(code: u8) -> Option<VectorOp> {
        VectorOp::ALL.get(code as usize).copied()
    }
}

/// An SFU operation over a rows × cols tensor.
#[derive(Clone, Debug, PartialEq)]
pub struct SfuDesc {
    /// The operation.
    pub op: SfuOp,
    /// Rows (independent vectors).
    pub rows: u32,
    /// Elements per row.
    pub cols: u32,
    /// SRAM address of the input.
    pub src_addr: u32,
    /// SRAM address of the output.
    pub dst_addr: u32,
    /// SRAM address of the first auxiliary operand (per op).
    pub aux0_addr: u32,
    /// SRAM address of the second auxiliary operand.
    pub aux1_addr: u32,
    /// SRAM address of the third auxiliary operand.
    pub aux2_addr: u32,
    /// SRAM address of the fourth auxiliary operand (LayerNorm backward's dγ, dβ).
    pub aux3_addr: u32,
    /// Format of the activation and gradient tensors (see [`SfuOp`]).
    pub format: NumberFormat,
    /// Scalar operands (softmax scale, ε, learning rate, momentum, Adam's β₁, β₂,
    /// ε; per op).
    pub scalars: [f32; 4],
    /// Reductions add to what their destination holds (partial sums over tiles of
    /// rows).
    pub accumulate: bool,
}

/// Why 64 bytes are not a valid descriptor.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DecodeError {
    /// Byte 0 names no command.
    BadOpcode {
        /// The opcode found.
        opcode: u8,
    },
    /// A field holds an impossible value.
    BadField {
        /// Which field.
        field: Field,
        /// Its raw value.
        value: u64,
    },
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DecodeError::BadOpcode { opcode } => write!(f, "unknown opcode {opcode:#04x}"),
            DecodeError::BadField { field, value } => {
                write!(f, "invalid {} ({value:#x})", field.name)
            }
        }
    }
}

impl std::error::Error for DecodeError {}

impl DecodeError {
    /// The field at fault: the opcode, or the field that holds an impossible value.
    pub fn field(self) -> Field {
        match self {
            DecodeError::BadOpcode { .. } => field::OPCODE,
            DecodeError::BadField { field, .. } => field,
        }
    }

    /// The device error code this decode error reports.
    pub fn device_error(self) -> crate::DeviceError {
        match self {
            DecodeError::BadOpcode { .. } => crate::DeviceError::BadOpcode,
            DecodeError::BadField { .. } => crate::DeviceError::BadField,
        }
    }
}

/// Bits of the header's flags byte (byte 1).
pub mod flags {
    /// `DMA_*`: transpose the rows × row-bytes tile on its way.
    pub const TRANSPOSE: u8 = 1 << 0;
    /// `GEMM`: A is stored transposed.
    pub const TRANSPOSE_A: u8 = 1 << 0;
    /// `GEMM`: B is stored transposed.
    pub const TRANSPOSE_B: u8 = 1 << 1;
    /// `GEMM` and the SFU's reductions: add to what the destination holds.
    pub const ACCUMULATE: u8 = 1 << 2;
}
use flags::{
    ACCUMULATE as FLAG_ACCUMULATE, TRANSPOSE as FLAG_TRANSPOSE, TRANSPOSE_A as FLAG_TRANSPOSE_A,
    TRANSPOSE_B as FLAG_TRANSPOSE_B,
};

/// Every opcode the device knows and its mnemonic, in opcode order (the table
/// above; headers are generated from it).
pub const OPCODES: [(u8, &str); 17] = [
    (0x00, "NOP"),
    (0x01, "DMA_LOAD"),
    (0x02, "DMA_STORE"),
    (0x03, "DMA_COPY"),
    (0x10, "GEMM"),
    (0x20, "SOFTMAX_FWD"),
    (0x21, "SOFTMAX_BWD"),
    (0x22, "LAYERNORM_FWD"),
    (0x23, "LAYERNORM_BWD"),
    (0x24, "GELU_FWD"),
    (0x25, "GELU_BWD"),
    (0x26, "VECTOR"),
    (0x27, "SOFTMAX_CAUSAL_FWD"),
    (0x30, "SEM_SIGNAL"),
    (0x31, "SEM_WAIT"),
    (0x32, "FENCE"),
    (0x33, "IRQ"),
];

/// Byte offset of the header's `id` (bytes 4–7).
pub const ID_OFFSET: usize = 4;

fn pack(lo: u32, hi: u32) -> u64 {
    u64::from(lo) | (u64::from(hi) << 32)
}

fn lo(w: u64) -> u32 {
    w as u32
}

fn hi(w: u64) -> u32 {
    (w >> 32) as u32
}

/// The format whose code is `field`'s byte of the descriptor's words `w`.
fn format_at(w: &[u64; 8], field: Field) -> Result<NumberFormat, DecodeError> {
    let code = (w[usize::from(field.offset / 8)] >> (8 * (field.offset % 8))) as u8;
    NumberFormat::from_code(code).ok_or(DecodeError::BadField {
        field,
        value: u64::from(code),
    })
}

impl Command {
    /// The opcode, byte 0 of the descriptor.
    pub fn opcode(&self) -> u8 {
        match self {
            Command::Nop => 0x00,
            Command::DmaLoad(_) => 0x01,
            Command::DmaStore(_) => 0x02,
            Command::DmaCopy(_) => 0x03,
            Command::Gemm(_) => 0x10,
            Command::Sfu(s) => s.op.opcode(),
            Command::SemSignal { .. } => 0x30,
            Command::SemWait { .. } => 0x31,
            Command::Fence => 0x32,
            Command::Irq { .. } => 0x33,
        }
    }

    /// The descriptor mnemonic, e.g. `GEMM` (for traces and reports).
    pub fn mnemonic(&self) -> &'static str {
        match self {
            Command::Nop => "NOP",
            Command::DmaLoad(_) => "DMA_LOAD",
            Command::DmaStore(_) => "DMA_STORE",
            Command::DmaCopy(_) => "DMA_COPY",
            Command::Gemm(_) => "GEMM",
            Command::Sfu(s) => s.op.mnemonic(),
            Command::SemSignal { .. } => "SEM_SIGNAL",
            Command::SemWait { .. } => "SEM_WAIT",
            Command::Fence => "FENCE",
            Command::Irq { .. } => "IRQ",
        }
    }
}

impl Descriptor {
    /// The 64 bytes firmware writes into the ring.
    pub fn encode(&self) -> [u8; DESC_BYTES] {
        let mut w = [0u64; 8];
        let (opcode, flags) = match &self.command {
            Command::Nop => (0x00, 0),
            Command::DmaLoad(d) | Command::DmaStore(d) | Command::DmaCopy(d) => {
                w[1] = d.dram_addr;
                w[2] = pack(d.sram_addr, d.rows);
                w[3] = pack(d.row_bytes, d.sram_stride);
                w[4] = d.dram_stride;
                w[5] = pack(d.planes, d.sram_plane_stride);
                w[6] = d.dram_plane_stride;
                w[7] = u64::from(d.src_format.code()) | (u64::from(d.dst_format.code()) << 8);
                (
                    self.command.opcode(),
                    if d.transpose { FLAG_TRANSPOSE } else { 0 },
                )
            }
            Command::Gemm(g) => {
                w[1] = pack(g.m, g.k);
                w[2] = pack(g.n, g.a_addr);
                w[3] = pack(g.b_addr, g.c_addr);
                w[4] = pack(g.lda, g.ldb);
                w[5] = u64::from(g.ldc)
                    | (u64::from(g.a_format.code()) << 32)
                    | (u64::from(g.b_format.code()) << 40)
                    | (u64::from(g.c_format.code()) << 48);
                let mut flags = 0;
                if g.transpose_a {
                    flags |= FLAG_TRANSPOSE_A;
                }
                if g.transpose_b {
                    flags |= FLAG_TRANSPOSE_B;
                }
                if g.accumulate {
                    flags |= FLAG_ACCUMULATE;
                }
                (self.command.opcode(), flags)
            }
            Command::Sfu(s) => {
                w[1] = pack(s.rows, s.cols);
                w[2] = pack(s.src_addr, s.dst_addr);
                w[3] = pack(s.aux0_addr, s.aux1_addr);
                let vop = match s.op {
                    SfuOp::Vector(v) => v as u8,
                    _ => 0,
                };
                w[4] = u64::from(s.aux2_addr)
                    | (u64::from(vop) << 32)
                    | (u64::from(s.format.code()) << 40);
                let bits = s.scalars.map(f32::to_bits);
                w[5] = pack(bits[0], s.aux3_addr);
                w[6] = pack(bits[1], bits[2]);
                w[7] = u64::from(bits[3]);
                (
                    s.op.opcode(),
                    if s.accumulate { FLAG_ACCUMULATE } else { 0 },
                )
            }
            Command::SemSignal { sem } => {
                w[1] = u64::from(*sem);
                (0x30, 0)
            }
            Command::SemWait { sem, count } => {
                w[1] = pack(u32::from(*sem), *count);
                (0x31, 0)
            }
            Command::Fence => (0x32, 0),
            Command::Irq { code } => {
                w[1] = u64::from(*code);
                (0x33, 0)
            }
        };
        w[0] = u64::from(opcode) | (u64::from(flags) << 8) | (u64::from(self.id) << 32);
        let mut bytes = [0u8; DESC_BYTES];
        for (chunk, word) in bytes.chunks_exact_mut(8).zip(w) {
            chunk.copy_from_slice(&word.to_le_bytes());
        }
        bytes
    }

    /// Decodes 64 bytes; never panics, whatever the bytes.
    pub fn decode(bytes: &[u8; DESC_BYTES]) -> Result<Descriptor, DecodeError> {
        let mut w = [0u64; 8];
        for (word, chunk) in w.iter_mut().zip(bytes.chunks_exact(8)) {
            let mut b = [0u8; 8];
            b.copy_from_slice(chunk);
            *word = u64::from_le_bytes(b);
        }
        let opcode = w[0] as u8;
        let flags = (w[0] >> 8) as u8;
        let id = hi(w[0]);
        let command = match opcode {
            0x00 => Command::Nop,
            0x01..=0x03 => {
                let d = DmaDesc {
                    dram_addr: w[1],
                    sram_addr: lo(w[2]),
                    rows: hi(w[2]),
                    row_bytes: lo(w[3]),
                    sram_stride: hi(w[3]),
                    dram_stride: w[4],
                    planes: lo(w[5]),
                    sram_plane_stride: hi(w[5]),
                    dram_plane_stride: w[6],
                    transpose: flags & FLAG_TRANSPOSE != 0,
                    src_format: format_at(&w, field::dma::SRC_FORMAT)?,
                    dst_format: format_at(&w, field::dma::DST_FORMAT)?,
                };
                match opcode {
                    0x01 => Command::DmaLoad(d),
                    0x02 => Command::DmaStore(d),
                    _ => Command::DmaCopy(d),
                }
            }
            0x10 => Command::Gemm(GemmDesc {
                m: lo(w[1]),
                k: hi(w[1]),
                n: lo(w[2]),
                a_addr: hi(w[2]),
                b_addr: lo(w[3]),
                c_addr: hi(w[3]),
                lda: lo(w[4]),
                ldb: hi(w[4]),
                ldc: lo(w[5]),
                transpose_a: flags & FLAG_TRANSPOSE_A != 0,
                transpose_b: flags & FLAG_TRANSPOSE_B != 0,
                accumulate: flags & FLAG_ACCUMULATE != 0,
                a_format: format_at(&w, field::gemm::A_FORMAT)?,
                b_format: format_at(&w, field::gemm::B_FORMAT)?,
                c_format: format_at(&w, field::gemm::C_FORMAT)?,
            }),
            0x20..=0x27 => {
                let op = match opcode {
                    0x27 => SfuOp::SoftmaxCausalFwd,
                    0x20 => SfuOp::SoftmaxFwd,
                    0x21 => SfuOp::SoftmaxBwd,
                    0x22 => SfuOp::LayerNormFwd,
                    0x23 => SfuOp::LayerNormBwd,
                    0x24 => SfuOp::GeluFwd,
                    0x25 => SfuOp::GeluBwd,
                    _ => {
                        let code = (w[4] >> 32) as u8;
                        SfuOp::Vector(VectorOp::from_code(code).ok_or(DecodeError::BadField {
                            field: field::sfu::VECTOR_OP,
                            value: u64::from(code),
                        })?)
                    }
                };
                Command::Sfu(SfuDesc {
                    op,
                    rows: lo(w[1]),
                    cols: hi(w[1]),
                    src_addr: lo(w[2]),
                    dst_addr: hi(w[2]),
                    aux0_addr: lo(w[3]),
                    aux1_addr: hi(w[3]),
                    aux2_addr: lo(w[4]),
                    aux3_addr: hi(w[5]),
                    format: format_at(&w, field::sfu::FORMAT)?,
                    scalars: [lo(w[5]), lo(w[6]), hi(w[6]), lo(w[7])].map(f32::from_bits),
                    accumulate: flags & FLAG_ACCUMULATE != 0,
                })
            }
            0x30 | 0x31 => {
                let sem = lo(w[1]);
                if sem >= u32::from(SEMAPHORES) {
                    return Err(DecodeError::BadField {
                        field: field::sem::SEM,
                        value: u64::from(sem),
                    });
                }
                let sem = sem as u8;
                if opcode == 0x30 {
                    Command::SemSignal { sem }
                } else {
                    Command::SemWait {
                        sem,
                        count: hi(w[1]),
                    }
                }
            }
            0x32 => Command::Fence,
            0x33 => Command::Irq { code: lo(w[1]) },
            opcode => return Err(DecodeError::BadOpcode { opcode }),
        };
        Ok(Descriptor { id, command })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gemm_round_trips_with_flags() {
        let d = Descriptor {
            id: 42,
            command: Command::Gemm(GemmDesc {
                m: 128,
                k: 768,
                n: 3072,
                a_addr: 0x100,
                b_addr: 0x20000,
                c_addr: 0x80000,
                lda: 0,
                ldb: 3072,
                ldc: 0,
                transpose_a: true,
                transpose_b: false,
                accumulate: true,
                a_format: NumberFormat::Fp8E4M3,
                b_format: NumberFormat::Fp8E5M2,
                c_format: NumberFormat::Fp32,
            }),
        };
        let bytes = d.encode();
        assert_eq!(bytes[0], 0x10);
        assert_eq!(bytes[1], 0b101);
        assert_eq!(&bytes[4..8], &42u32.to_le_bytes());
        assert_eq!(Descriptor::decode(&bytes), Ok(d));
    }

    #[test]
    fn the_opcode_table_is_what_decode_knows() {
        for opcode in 0..=u8::MAX {
            let mut bytes = [0u8; DESC_BYTES];
            bytes[0] = opcode;
            let listed = OPCODES.iter().find(|(op, _)| *op == opcode);
            match (Descriptor::decode(&bytes), listed) {
                (Ok(d), Some((_, name))) => {
                    assert_eq!(d.command.opcode(), opcode);
                    assert_eq!(d.command.mnemonic(), *name);
                }
                (Err(DecodeError::BadOpcode { .. }), None) => {}
                (other, listed) => panic!("{opcode:#x}: {other:?} but listed {listed:?}"),
            }
        }
        assert!(OPCODES.windows(2).all(|w| w[0].0 < w[1].0));
    }

    #[test]
    fn bad_opcode_and_fields_are_errors() {
        let mut bytes = [0u8; DESC_BYTES];
        bytes[0] = 0x7f;
        assert_eq!(
            Descriptor::decode(&bytes),
            Err(DecodeError::BadOpcode { opcode: 0x7f })
        );
        bytes[0] = 0x30;
        bytes[8] = 16;
        assert!(matches!(
            Descriptor::decode(&bytes),
            Err(DecodeError::BadField {
                field: field::sem::SEM,
                ..
            })
        ));
        bytes[0] = 0x10;
        bytes[8 * 5 + 4] = 9; // GEMM A format
        let err = Descriptor::decode(&bytes).unwrap_err();
        assert_eq!(err.to_string(), "invalid a_format (0x9)");
        assert_eq!(err.device_error(), crate::DeviceError::BadField);
    }
}
