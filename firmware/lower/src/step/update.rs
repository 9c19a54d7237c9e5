//! The weight update of a step, in place: SGD W = W − f32(lr·dW), momentum or
//! Adam, as SFU vector operations over each parameter (those whose update is
//! fused into their dW GEMM excepted), refreshing the weights' 8-bit copies.

use super::builder::Builder;
use super::config::Optimizer;
use super::ops::Ops;
use super::rows::{rows_in, rows_inout, rows_out_copy, NONE};
use super::tensors::{tensor_name, LayerT, ParamT, PARAMS};
use crate::LowerError;
use treta_abi::VectorOp;

impl Ops {
    /// Appends the update of every parameter of `layers` after step `step`
    /// (from 0; Adam's bias correction depends on it).
    pub(super) fn update(
        &self,
        b: &mut Builder,
        layers: &[LayerT],
        step: u64,
    ) -> Result<(), LowerError> {
        let layers_n = layers.len() as u64;
        for (l, layer) in layers.iter().enumerate() {
            for (name, shape) in PARAMS {
                if self.fused && shape.is_matrix() {
                    continue;
                }
                let op = format!("sgd.{}", tensor_name(name, l as u64, layers_n));
                self.update_param(b, &op, &layer.w, name, shape.dims(&self.dims), step)?;
            }
        }
        Ok(())
    }

    /// Appends the update of parameter `name` (rows × cols) of `params` as
    /// operation `op`.
    pub(super) fn update_param(
        &self,
        b: &mut Builder,
        op: &str,
        params: &ParamT,
        name: &str,
        (r, c): (u64, u64),
        step: u64,
    ) -> Result<(), LowerError> {
        let (w, grad) = (params.p[name], params.g[name]);
        let (vector, state, scalars) = match self.config.optimizer {
            Optimizer::Sgd => (
                VectorOp::SgdUpdate,
                [NONE, NONE],
                [self.config.lr, 0.0, 0.0, 0.0],
            ),
            Optimizer::Momentum { mu } => (
                VectorOp::SgdMomentum,
                [rows_inout(params.m1[name], c), NONE],
                [self.config.lr, mu, 0.0, 0.0],
            ),
            Optimizer::Adam { beta1, beta2, eps } => {
                // Kingma & Ba's step lr·m̂/(√v̂ + ε) with m̂ = m/(1 − β₁ᵗ),
                // v̂ = v/(1 − β₂ᵗ): both corrections folded into the scalars —
                // lr·√(1 − β₂ᵗ)/(1 − β₁ᵗ) and ε·√(1 − β₂ᵗ) — equal in exact
                // arithmetic, ε staying outside the root as in the paper.
                let t = (step + 1) as i32;
                let root = (1.0 - beta2.powi(t)).sqrt();
                let lr_t = self.config.lr * root / (1.0 - beta1.powi(t));
                (
                    VectorOp::Adam,
                    [
                        rows_inout(params.m1[name], c),
                        rows_inout(params.m2[name], c),
                    ],
                    [lr_t, beta1, beta2, eps * root],
                )
            }
        };
        b.vector(
            op,
            vector,
            (r, c),
            [
                rows_in(w, c),
                rows_out_copy(w, c, params.w8.get(name).copied()),
                rows_in(grad, c),
                state[0],
                state[1],
                NONE,
            ],
            scalars,
        )
    }
}
