//! The loss: ½·mean((y − target)²) of the top layer's output, and its gradient.

use super::builder::{Builder, View};
use super::ops::Ops;
use super::rows::{rows_in, rows_out, sum_out, NONE};
use super::tensors::LayerT;
use crate::LowerError;
use treta_abi::VectorOp;

impl Ops {
    /// Appends the MSE loss of `top`'s output against `target` — its gradient
    /// into `top.dy`, the loss into element `step` of `loss`.
    pub(super) fn mse_loss(
        &self,
        b: &mut Builder,
        top: &LayerT,
        target: View,
        loss: View,
        step: u64,
    ) -> Result<(), LowerError> {
        let (t, d) = (self.t, self.d);
        b.vector(
            "loss.mse",
            VectorOp::MseLoss,
            self.td(),
            [
                rows_in(top.y, d),
                rows_out(top.dy, d),
                rows_in(target, d),
                sum_out(loss.fp32_at(step * 4, 1), 1),
                NONE,
                NONE,
            ],
            [1.0 / (t * d) as f32, 0.0, 0.0, 0.0],
        )
    }
}
