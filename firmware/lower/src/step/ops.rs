//! [`Ops`]: the building blocks every layer's forward and backward is made of —
//! a linear layer and its backward, per-head views of the attention tensors,
//! LayerNorm forward and backward, column sums — with the step's shapes and
//! formats worked out once.

use super::builder::{Builder, View};
use super::config::{EncoderDims, Optimizer, StepConfig};
use super::rows::{rows_in, rows_out, sum_out, vec_in, NONE};
use super::tensors::Weights;
use crate::gemm::UpdateEpilogue;
use crate::LowerError;
use treta_abi::{NumberFormat, SfuOp, VectorOp};

/// A step's shapes, formats and settings, and the operations built on them.
pub(super) struct Ops {
    /// The layer's dimensions.
    pub(super) dims: EncoderDims,
    /// How the step trains.
    pub(super) config: StepConfig,
    /// Tokens (B·S).
    pub(super) t: u64,
    /// Model width.
    pub(super) d: u64,
    /// FFN width.
    pub(super) f: u64,
    /// Sequence length.
    pub(super) s: u64,
    /// Head width D/H.
    pub(super) dh: u64,
    /// Score blocks (B·H).
    pub(super) heads: u64,
    /// 1/√Dh, the scores' scale.
    pub(super) scale: f32,
    /// SGD of each weight matrix in its dW GEMM's epilogue (momentum and Adam
    /// keep their state in separate passes).
    pub(super) fused: bool,
    /// GEMM operand formats of activations × weights (forward projections).
    pub(super) act_w: [NumberFormat; 2],
    /// … of activations × activations (scores, context).
    pub(super) act_act: [NumberFormat; 2],
    /// … of activations × gradients (weight gradients, dV).
    pub(super) act_grad: [NumberFormat; 2],
    /// … of gradients × weights (input gradients).
    pub(super) grad_w: [NumberFormat; 2],
    /// … of gradients × activations (dP, dQ, dK).
    pub(super) grad_act: [NumberFormat; 2],
}

impl Ops {
    /// The operations of a step of `config` on layers of `e`.
    pub(super) fn new(e: &EncoderDims, config: &StepConfig) -> Ops {
        let fm = config.formats;
        let dh = u64::from(e.dh());
        Ops {
            dims: *e,
            config: config.clone(),
            t: e.tokens(),
            d: u64::from(e.d),
            f: u64::from(e.f),
            s: u64::from(e.s),
            dh,
            heads: u64::from(e.b) * u64::from(e.h),
            scale: 1.0 / (dh as f32).sqrt(),
            fused: config.fuse_update && config.optimizer == Optimizer::Sgd,
            act_w: [fm.activations, fm.weights],
            act_act: [fm.activations, fm.activations],
            act_grad: [fm.activations, fm.gradients],
            grad_w: [fm.gradients, fm.weights],
            grad_act: [fm.gradients, fm.activations],
        }
    }

    /// T×D: the shape of a layer's activations.
    pub(super) fn td(&self) -> (u64, u64) {
        (self.t, self.d)
    }

    /// (B·H·S)×S: the shape of the scores and probabilities.
    pub(super) fn sq(&self) -> (u64, u64) {
        (self.heads * self.s, self.s)
    }

    /// Head `hi` of batch `bi` of a T×D tensor: its S rows, Dh columns.
    pub(super) fn head(&self, base: View, bi: u64, hi: u64) -> View {
        base.fp32_at((bi * self.s * self.d + hi * self.dh) * 4, self.d)
    }

    /// Score block `i` (S×S) of a (B·H·S)×S tensor.
    pub(super) fn block(&self, base: View, i: u64) -> View {
        base.fp32_at(i * self.s * self.s * 4, self.s)
    }

    /// Every (batch, head) and its index among the B·H score blocks.
    pub(super) fn all_heads(&self) -> impl Iterator<Item = (u64, u64, u64)> {
        let h = u64::from(self.dims.h);
        (0..u64::from(self.dims.b)).flat_map(move |bi| (0..h).map(move |hi| (bi, hi, bi * h + hi)))
    }

    /// y = x·W + b: the GEMM, then the bias over its rows (in place).
    #[allow(clippy::too_many_arguments)] // a linear layer's operands and shape
    pub(super) fn linear(
        &self,
        b: &mut Builder,
        op: &str,
        x: View,
        w: View,
        bias: View,
        out: View,
        (m, k, n): (u64, u64, u64),
    ) -> Result<(), LowerError> {
        b.gemm(op, (x, false), (w, false), out, (m, k, n), self.act_w)?;
        b.vector(
            &format!("{op}.bias"),
            VectorOp::AddBias,
            (m, n),
            [
                rows_in(out, n),
                rows_out(out, n),
                vec_in(bias, n),
                NONE,
                NONE,
                NONE,
            ],
            [0.0; 4],
        )
    }

    /// out = lhs + rhs over T×D (a residual, or summing a gradient's paths).
    pub(super) fn add(
        &self,
        b: &mut Builder,
        op: &str,
        lhs: View,
        rhs: View,
        out: View,
    ) -> Result<(), LowerError> {
        let d = self.d;
        b.vector(
            op,
            VectorOp::Add,
            self.td(),
            [
                rows_in(lhs, d),
                rows_out(out, d),
                rows_in(rhs, d),
                NONE,
                NONE,
                NONE,
            ],
            [0.0; 4],
        )
    }

    /// out = LN(z)·γ + β over T×D, keeping each row's statistics in `st`.
    #[allow(clippy::too_many_arguments)] // LayerNorm's operands
    pub(super) fn layernorm(
        &self,
        b: &mut Builder,
        op: &str,
        z: View,
        gamma: View,
        beta: View,
        out: View,
        st: View,
    ) -> Result<(), LowerError> {
        let d = self.d;
        b.rows_op(
            op,
            SfuOp::LayerNormFwd,
            self.td(),
            [
                rows_in(z, d),
                rows_out(out, d),
                vec_in(gamma, d),
                vec_in(beta, d),
                rows_out(st, 2),
                NONE,
            ],
            [self.config.eps, 0.0, 0.0, 0.0],
        )
    }

    /// LayerNorm backward: dz from dout, and dγ, dβ summed into the pair `dgb`.
    #[allow(clippy::too_many_arguments)] // LayerNorm backward's operands
    pub(super) fn layernorm_bwd(
        &self,
        b: &mut Builder,
        op: &str,
        dout: View,
        z: View,
        gamma: View,
        st: View,
        dz: View,
        dgb: View,
    ) -> Result<(), LowerError> {
        let d = self.d;
        b.rows_op(
            op,
            SfuOp::LayerNormBwd,
            self.td(),
            [
                rows_in(dout, d),
                rows_out(dz, d),
                vec_in(gamma, d),
                rows_in(z, d),
                rows_in(st, 2),
                sum_out(dgb, 2 * d),
            ],
            [0.0; 4],
        )
    }

    /// Copies LayerNorm backward's (dγ, dβ) `pair` into the two gradients, as
    /// operations `{op}.dgamma` and `{op}.dbeta`.
    pub(super) fn split_pair(
        &self,
        b: &mut Builder,
        op: &str,
        pair: View,
        [dgamma, dbeta]: [View; 2],
    ) -> Result<(), LowerError> {
        let d = self.d;
        for (half, (which, to)) in [("gamma", dgamma), ("beta", dbeta)].into_iter().enumerate() {
            b.vector(
                &format!("{op}.d{which}"),
                VectorOp::Copy,
                (1, d),
                [
                    rows_in(pair.fp32_at(half as u64 * d * 4, d), d),
                    rows_out(to, d),
                    NONE,
                    NONE,
                    NONE,
                    NONE,
                ],
                [0.0; 4],
            )?;
        }
        Ok(())
    }

    /// The column sums of `src` (rows × cols) into `to`: a bias gradient.
    pub(super) fn column_sum(
        &self,
        b: &mut Builder,
        op: &str,
        src: View,
        (rows, cols): (u64, u64),
        to: View,
    ) -> Result<(), LowerError> {
        b.vector(
            op,
            VectorOp::ColumnSum,
            (rows, cols),
            [
                rows_in(src, cols),
                sum_out(to, cols),
                NONE,
                NONE,
                NONE,
                NONE,
            ],
            [0.0; 4],
        )
    }

    /// Linear backward of `layer`'s weight `wn` and bias `bn`: dW = xᵀ·dy, db =
    /// column sums of dy, dx = dy·Wᵀ. With the update fused into the dW GEMM,
    /// dx goes first: that GEMM rewrites W (and its 8-bit copy).
    #[allow(clippy::too_many_arguments)] // a linear layer's operands and shape
    pub(super) fn linear_bwd(
        &self,
        b: &mut Builder,
        layer: &impl Weights,
        op: &str,
        xin: View,
        wn: &str,
        dout: View,
        (m, k, n): (u64, u64, u64),
        bn: &str,
        dxin: View,
    ) -> Result<(), LowerError> {
        let dgrad = |b: &mut Builder| {
            b.gemm(
                &format!("{op}.dgrad"),
                (dout, false),
                (layer.gemm_weight(wn), true),
                dxin,
                (m, n, k),
                self.grad_w,
            )
        };
        if self.fused {
            dgrad(b)?;
        }
        self.weight_bwd(b, layer, op, xin, wn, dout, (m, k, n), bn)?;
        if self.fused {
            Ok(())
        } else {
            dgrad(b)
        }
    }

    /// The weight and bias gradients of a linear layer (dW = xᵀ·dy, db = column
    /// sums of dy) without its input gradient — for a layer whose input is data
    /// (ViT's patches). The SGD rides in the dW GEMM when fused.
    #[allow(clippy::too_many_arguments)] // a linear layer's operands and shape
    pub(super) fn weight_bwd(
        &self,
        b: &mut Builder,
        layer: &impl Weights,
        op: &str,
        xin: View,
        wn: &str,
        dout: View,
        (m, k, n): (u64, u64, u64),
        bn: &str,
    ) -> Result<(), LowerError> {
        let w = layer.param(wn);
        let update = self.fused.then(|| UpdateEpilogue {
            w: w.addr,
            ldw: w.ld,
            copy: layer.params().w8.get(wn).map(|c| (c.addr, c.ld, c.fmt)),
            lr: self.config.lr,
            keep_gradient: self.config.keep_gradients,
        });
        b.gemm_update(
            &format!("{op}.wgrad"),
            (xin, true),
            (dout, false),
            layer.grad(wn),
            (k, m, n),
            self.act_grad,
            update,
        )?;
        self.column_sum(b, &format!("{op}.bgrad"), dout, (m, n), layer.grad(bn))?;
        Ok(())
    }
}
