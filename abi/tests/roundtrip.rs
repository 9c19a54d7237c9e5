//! Property tests: every descriptor survives encode → decode, and decoding arbitrary
//! bytes never panics.

use proptest::prelude::*;
use treta_abi::desc::SEMAPHORES;
use treta_abi::{
    Command, Descriptor, DmaDesc, GemmDesc, NumberFormat, SfuDesc, SfuOp, VectorOp, DESC_BYTES,
};

fn format() -> impl Strategy<Value = NumberFormat> {
    prop::sample::select(NumberFormat::ALL.to_vec())
}

fn dma() -> impl Strategy<Value = DmaDesc> {
    (
        any::<u64>(),
        any::<u32>(),
        any::<u32>(),
        any::<u32>(),
        any::<u32>(),
        any::<u64>(),
        (any::<u32>(), any::<u32>(), any::<u64>()),
        any::<bool>(),
        format(),
        format(),
    )
        .prop_map(
            |(
                dram_addr,
                sram_addr,
                rows,
                row_bytes,
                sram_stride,
                dram_stride,
                planes,
                transpose,
                src,
                dst,
            )| DmaDesc {
                dram_addr,
                sram_addr,
                rows,
                row_bytes,
                sram_stride,
                dram_stride,
                planes: planes.0,
                sram_plane_stride: planes.1,
                dram_plane_stride: planes.2,
                transpose,
                src_format: src,
                dst_format: dst,
            },
        )
}

fn gemm() -> impl Strategy<Value = GemmDesc> {
    (
        (any::<u32>(), any::<u32>(), any::<u32>()),
        (any::<u32>(), any::<u32>(), any::<u32>()),
        (any::<u32>(), any::<u32>(), any::<u32>()),
        (any::<bool>(), any::<bool>(), any::<bool>()),
        (format(), format(), format()),
    )
        .prop_map(
            |((m, k, n), (a, b, c), (lda, ldb, ldc), (ta, tb, acc), (fa, fb, fc))| GemmDesc {
                m,
                k,
                n,
                a_addr: a,
                b_addr: b,
                c_addr: c,
                lda,
                ldb,
                ldc,
                transpose_a: ta,
                transpose_b: tb,
                accumulate: acc,
                a_format: fa,
                b_format: fb,
                c_format: fc,
            },
        )
}

fn sfu() -> impl Strategy<Value = SfuDesc> {
    let op = prop_oneof![
        Just(SfuOp::SoftmaxFwd),
        Just(SfuOp::SoftmaxBwd),
        Just(SfuOp::LayerNormFwd),
        Just(SfuOp::LayerNormBwd),
        Just(SfuOp::GeluFwd),
        Just(SfuOp::GeluBwd),
        Just(SfuOp::SoftmaxCausalFwd),
        prop::sample::select(VectorOp::ALL.to_vec()).prop_map(SfuOp::Vector),
    ];
    (
        op,
        (any::<u32>(), any::<u32>()),
        (
            any::<u32>(),
            any::<u32>(),
            any::<u32>(),
            any::<u32>(),
            any::<u32>(),
        ),
        (format(), any::<u32>(), any::<bool>()),
        // Finite scalars: NaN != NaN would fail the equality, not the round trip.
        proptest::array::uniform4(-1.0e30f32..1.0e30f32),
    )
        .prop_map(
            |(op, (rows, cols), (src, dst, a0, a1, a2), (format, a3, accumulate), scalars)| {
                SfuDesc {
                    op,
                    rows,
                    cols,
                    src_addr: src,
                    dst_addr: dst,
                    aux0_addr: a0,
                    aux1_addr: a1,
                    aux2_addr: a2,
                    aux3_addr: a3,
                    format,
                    scalars,
                    accumulate,
                }
            },
        )
}

fn command() -> impl Strategy<Value = Command> {
    prop_oneof![
        Just(Command::Nop),
        dma().prop_map(Command::DmaLoad),
        dma().prop_map(Command::DmaStore),
        dma().prop_map(Command::DmaCopy),
        gemm().prop_map(Command::Gemm),
        sfu().prop_map(Command::Sfu),
        (0..SEMAPHORES).prop_map(|sem| Command::SemSignal { sem }),
        (0..SEMAPHORES, any::<u32>()).prop_map(|(sem, count)| Command::SemWait { sem, count }),
        Just(Command::Fence),
        any::<u32>().prop_map(|code| Command::Irq { code }),
    ]
}

proptest! {
    #[test]
    fn encode_then_decode_is_identity(id in any::<u32>(), command in command()) {
        let d = Descriptor { id, command };
        prop_assert_eq!(Descriptor::decode(&d.encode()), Ok(d));
    }

    #[test]
    fn decoding_arbitrary_bytes_never_panics(bytes in prop::array::uniform32(any::<u8>()), more in prop::array::uniform32(any::<u8>())) {
        let mut all = [0u8; DESC_BYTES];
        all[..32].copy_from_slice(&bytes);
        all[32..].copy_from_slice(&more);
        if let Ok(d) = Descriptor::decode(&all) {
            // Whatever decodes re-encodes to a descriptor that decodes the same.
            prop_assert_eq!(Descriptor::decode(&d.encode()), Ok(d));
        }
    }
}
