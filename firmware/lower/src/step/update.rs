//! The weight update of a step, in place: SGD W = W − f32(lr·dW), momentum or
//! Adam, as SFU vector operations over each parameter (those whose update is
//! fused into their dW GEMM excepted), refreshing the weights' 8-bit copies.

use super::builder::Builder;
use super::config::Optimizer;
use super::ops::Ops;
use super::rows::{rows_in, rows_inout, rows_out_copy, NONE};
use super::tensors::{tensor_name, LayerT, PARAMS};
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
                let (r, c) = shape.dims(&self.dims);
                let (w, grad) = (layer.p[name], layer.g[name]);
                let op = format!("sgd.{}", tensor_name(name, l as u64, layers_n));
                let (vector, state, scalars) = match self.config.optimizer {
                    Optimizer::Sgd => (
                        VectorOp::SgdUpdate,
                        [NONE, NONE],
                        [self.config.lr, 0.0, 0.0, 0.0],
                    ),
                    Optimizer::Momentum { mu } => (
                        VectorOp::SgdMomentum,
                        [rows_inout(layer.m1[name], c), NONE],
                        [self.config.lr, mu, 0.0, 0.0],
                    ),
                    Optimizer::Adam { beta1, beta2, eps } => {
                        // Bias correction of step t folded into the learning rate.
                        let t = (step + 1) as i32;
                        let lr_t =
                            self.config.lr * (1.0 - beta2.powi(t)).sqrt() / (1.0 - beta1.powi(t));
                        (
                            VectorOp::Adam,
                            [rows_inout(layer.m1[name], c), rows_inout(layer.m2[name], c)],
                            [lr_t, beta1, beta2, eps],
                        )
                    }
                };
                b.vector(
                    &op,
                    vector,
                    (r, c),
                    [
                        rows_in(w, c),
                        rows_out_copy(w, c, layer.w8.get(name).copied()),
                        rows_in(grad, c),
                        state[0],
                        state[1],
                        NONE,
                    ],
                    scalars,
                )?;
            }
        }
        Ok(())
    }
}
