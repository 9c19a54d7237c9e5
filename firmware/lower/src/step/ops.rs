//! [`Ops`]: the building blocks every layer's forward and backward is made of —
//! a linear layer and its backward, per-head views of the attention tensors,
//! LayerNorm forward and backward, column sums — with the step's shapes and
//! formats worked out once.

use super::builder::{Builder, Finish, View};
use super::config::{EncoderDims, Optimizer, StepConfig};
use super::rows::{rows_in, rows_out, rows_out_copy, sum_out, vec_in, NONE};
use super::tensors::Weights;
use crate::gemm::{Epilogue, UpdateEpilogue};
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
        base.elems_at(bi * self.s * self.d + hi * self.dh, self.d)
    }

    /// Score block `i` (S×S) of a (B·H·S)×S tensor.
    pub(super) fn block(&self, base: View, i: u64) -> View {
        base.elems_at(i * self.s * self.s, self.s)
    }

    /// Every (batch, head) and its index among the B·H score blocks.
    pub(super) fn all_heads(&self) -> impl Iterator<Item = (u64, u64, u64)> {
        let h = u64::from(self.dims.h);
        (0..u64::from(self.dims.b)).flat_map(move |bi| (0..h).map(move |hi| (bi, hi, bi * h + hi)))
    }

    /// y = x·W + b: the GEMM, the bias in its epilogue (or a pass of its own
    /// when epilogues are not fused).
    #[allow(clippy::too_many_arguments)] // a linear layer's operands and shape
    pub(super) fn linear(
        &self,
        b: &mut Builder,
        op: &str,
        x: View,
        w: View,
        bias: View,
        out: View,
        dims: (u64, u64, u64),
    ) -> Result<(), LowerError> {
        self.linear_then(b, op, (x, w, bias), out, dims, None)
    }

    /// out = gelu(x·W + b), the pre-activation x·W + b stored to `pre` (the
    /// backward needs it); the GELU is the separate pass `gelu_op` when
    /// epilogues are not fused.
    #[allow(clippy::too_many_arguments)] // a linear layer's operands and shape
    pub(super) fn linear_gelu(
        &self,
        b: &mut Builder,
        (op, gelu_op): (&str, &str),
        x: View,
        w: View,
        bias: View,
        (pre, out): (View, View),
        dims: (u64, u64, u64),
    ) -> Result<(), LowerError> {
        let follow = Follow {
            op: gelu_op,
            then: Then::Gelu,
            out,
            sums: None,
        };
        self.linear_then(b, op, (x, w, bias), pre, dims, Some(follow))
    }

    /// out = res + y, y = x·W + b: a linear layer and the residual around it
    /// (the separate pass `add_op` when epilogues are not fused). Fused, y goes
    /// to DRAM only when the run keeps intermediates.
    #[allow(clippy::too_many_arguments)] // a linear layer's operands and shape
    pub(super) fn linear_residual(
        &self,
        b: &mut Builder,
        (op, add_op): (&str, &str),
        (x, w, bias): (View, View, View),
        (y, res): (View, View),
        out: View,
        dims: (u64, u64, u64),
    ) -> Result<(), LowerError> {
        let follow = Follow {
            op: add_op,
            then: Then::Add { other: res },
            out,
            sums: None,
        };
        self.linear_then(b, op, (x, w, bias), y, dims, Some(follow))
    }

    /// The GEMM x·W into `y` with the bias, then what `follow` says.
    fn linear_then(
        &self,
        b: &mut Builder,
        op: &str,
        (x, w, bias): (View, View, View),
        y: View,
        (m, k, n): (u64, u64, u64),
        follow: Option<Follow>,
    ) -> Result<(), LowerError> {
        let (c, steps) = self.epilogue_for(b, y, follow.as_ref());
        let epilogue = if self.config.fuse_epilogues {
            [Epilogue::Bias(bias.addr)]
                .into_iter()
                .chain(steps)
                .collect()
        } else {
            Vec::new()
        };
        let finish = Finish {
            epilogue,
            update: None,
        };
        b.gemm_then(op, (x, false), (w, false), c, (m, k, n), self.act_w, finish)?;
        if !self.config.fuse_epilogues {
            b.vector(
                &format!("{op}.bias"),
                VectorOp::AddBias,
                (m, n),
                [
                    rows_in(y, n),
                    rows_out(y, n),
                    vec_in(bias, n),
                    NONE,
                    NONE,
                    NONE,
                ],
                [0.0; 4],
            )?;
        }
        self.follow_pass(b, y, (m, n), follow.as_ref())
    }

    /// Where a GEMM whose result is `y` stores C, and its epilogue steps for
    /// `follow`: fused, C goes to `follow.out` (y stored on the way when it is
    /// still needed); else to `y`, with no steps.
    fn epilogue_for(
        &self,
        b: &mut Builder,
        y: View,
        follow: Option<&Follow>,
    ) -> (View, Vec<Epilogue>) {
        match follow {
            Some(f) if self.config.fuse_epilogues => {
                let mut steps = match f.then {
                    // The pre-activation is the GELU backward's input.
                    Then::Gelu => vec![store(y)],
                    _ => self.keep_or_drop(b, y),
                };
                steps.push(match f.then {
                    Then::Gelu => Epilogue::Gelu,
                    Then::GeluBwd { pre } => Epilogue::GeluBwd {
                        addr: pre.addr,
                        ld: pre.ld,
                    },
                    Then::Add { other } => add(other),
                });
                steps.extend(f.sums.map(|s| Epilogue::ColumnSum {
                    addr: s.to.addr,
                    start: true,
                    of_loaded: s.of == SumOf::Other,
                }));
                (f.out, steps)
            }
            _ => (y, Vec::new()),
        }
    }

    /// `follow` as a pass of its own over the GEMM's result `y` (rows × cols),
    /// when epilogues are not fused.
    fn follow_pass(
        &self,
        b: &mut Builder,
        y: View,
        (rows, cols): (u64, u64),
        follow: Option<&Follow>,
    ) -> Result<(), LowerError> {
        let Some(f) = follow.filter(|_| !self.config.fuse_epilogues) else {
            return Ok(());
        };
        let (op, out) = (f.op, f.out);
        let pass = match f.then {
            Then::Gelu => b.rows_op(
                op,
                SfuOp::GeluFwd,
                (rows, cols),
                [
                    rows_in(y, cols),
                    rows_out(out, cols),
                    NONE,
                    NONE,
                    NONE,
                    NONE,
                ],
                [0.0; 4],
            ),
            Then::GeluBwd { pre } => b.rows_op(
                op,
                SfuOp::GeluBwd,
                (rows, cols),
                [
                    rows_in(y, cols),
                    rows_out(out, cols),
                    rows_in(pre, cols),
                    NONE,
                    NONE,
                    NONE,
                ],
                [0.0; 4],
            ),
            Then::Add { other } => b.vector(
                op,
                VectorOp::Add,
                (rows, cols),
                [
                    rows_in(other, cols),
                    rows_out(out, cols),
                    rows_in(y, cols),
                    NONE,
                    NONE,
                    NONE,
                ],
                [0.0; 4],
            ),
        };
        pass?;
        match (f.sums, f.then) {
            (Some(s), Then::Add { other }) if s.of == SumOf::Other => {
                self.column_sum(b, s.op, other, (rows, cols), s.to)
            }
            (Some(s), _) => self.column_sum(b, s.op, out, (rows, cols), s.to),
            (None, _) => Ok(()),
        }
    }

    /// A store of the intermediate `view` when the run keeps intermediates
    /// (see [`super::config::StepConfig::keep_gradients`]); else none, and
    /// `view` is marked never written (a tensor's block marks the tensor
    /// through its first block, which starts where the tensor does).
    pub(super) fn keep_or_drop(&self, b: &mut Builder, view: View) -> Vec<Epilogue> {
        if self.config.keep_gradients {
            vec![store(view)]
        } else {
            b.mark_unstored(view);
            Vec::new()
        }
    }

    /// A per-head GEMM's epilogue when it makes head `hi`'s columns of a Q, K
    /// or V gradient: with epilogues fused, their column sums go into the
    /// head's slice of the projection's bias gradient `bias` (`start`: the
    /// first rows of the tensor, which start the sums; later batches and
    /// bands add to them) — the projection's backward then sums none itself
    /// (see [`Ops::bias_unless_summed`]).
    pub(super) fn head_bias_sums(&self, bias: View, hi: u64, start: bool) -> Finish {
        let epilogue = if self.config.fuse_epilogues {
            vec![Epilogue::ColumnSum {
                addr: bias.addr + hi * self.dh * 4,
                start,
                of_loaded: false,
            }]
        } else {
            Vec::new()
        };
        Finish {
            epilogue,
            update: None,
        }
    }

    /// The bias `name` for a Q, K or V projection's backward to sum, unless
    /// the per-head GEMMs summed it ([`Ops::head_bias_sums`]).
    pub(super) fn bias_unless_summed(&self, name: String) -> Option<String> {
        (!self.config.fuse_epilogues).then_some(name)
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
        self.layernorm_copied(b, op, z, (gamma, beta), (out, out), st)
    }

    /// [`Ops::layernorm`], the output also written to `copy` in its format
    /// when that is another tensor (the copy the next GEMMs read, 8-bit).
    pub(super) fn layernorm_copied(
        &self,
        b: &mut Builder,
        op: &str,
        z: View,
        (gamma, beta): (View, View),
        (out, copy): (View, View),
        st: View,
    ) -> Result<(), LowerError> {
        let d = self.d;
        b.rows_op(
            op,
            SfuOp::LayerNormFwd,
            self.td(),
            [
                rows_in(z, d),
                rows_out_copy(out, d, (copy != out).then_some(copy)),
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
        let dz = Dout { fp32: dz, gemm: dz };
        self.layernorm_bwd_copied(b, op, dout, (z, gamma, st), dz, dgb)
    }

    /// [`Ops::layernorm_bwd`], dz also written to `dz.gemm` in its format
    /// when that is another tensor (the copy the next GEMMs read, 8-bit).
    pub(super) fn layernorm_bwd_copied(
        &self,
        b: &mut Builder,
        op: &str,
        dout: View,
        (z, gamma, st): (View, View, View),
        Dout { fp32: dz, gemm }: Dout,
        dgb: View,
    ) -> Result<(), LowerError> {
        let d = self.d;
        b.rows_op(
            op,
            SfuOp::LayerNormBwd,
            self.td(),
            [
                rows_in(dout, d),
                rows_out_copy(dz, d, (gemm != dz).then_some(gemm)),
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
    /// column sums of dy (none with `bn` None: the epilogue that made dy summed
    /// them, see [`Follow::sums`]), dx = dy·Wᵀ. With the update fused into the
    /// dW GEMM, dx goes first: that GEMM rewrites W (and its 8-bit copy).
    #[allow(clippy::too_many_arguments)] // a linear layer's operands and shape
    pub(super) fn linear_bwd(
        &self,
        b: &mut Builder,
        layer: &impl Weights,
        op: &str,
        xin: View,
        wn: &str,
        dout: impl Into<Dout>,
        dims: (u64, u64, u64),
        bn: Option<&str>,
        dxin: View,
    ) -> Result<(), LowerError> {
        self.linear_bwd_then(b, layer, op, (xin, wn, dout), dims, bn, (dxin, None))
    }

    /// [`Ops::linear_bwd`] with dx = dy·Wᵀ (stored to `dxin` when needed)
    /// followed by `follow`: the backward's next elementwise operation, in the
    /// dx GEMM's epilogue when epilogues are fused.
    #[allow(clippy::too_many_arguments)] // a linear layer's operands and shape
    pub(super) fn linear_bwd_then(
        &self,
        b: &mut Builder,
        layer: &impl Weights,
        op: &str,
        (xin, wn, dout): (View, &str, impl Into<Dout>),
        (m, k, n): (u64, u64, u64),
        bn: Option<&str>,
        (dxin, follow): (View, Option<Follow>),
    ) -> Result<(), LowerError> {
        let dout = dout.into();
        let dgrad = |b: &mut Builder| {
            let (c, epilogue) = self.epilogue_for(b, dxin, follow.as_ref());
            let finish = Finish {
                epilogue,
                update: None,
            };
            b.gemm_then(
                &format!("{op}.dgrad"),
                (dout.gemm, false),
                (layer.gemm_weight(wn), true),
                c,
                (m, n, k),
                self.grad_w,
                finish,
            )?;
            self.follow_pass(b, dxin, (m, k), follow.as_ref())
        };
        if self.fused {
            dgrad(b)?;
            self.weight_bwd(b, layer, op, xin, wn, dout, (m, k, n), bn)
        } else {
            self.weight_bwd(b, layer, op, xin, wn, dout, (m, k, n), bn)?;
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
        dout: impl Into<Dout>,
        (m, k, n): (u64, u64, u64),
        bn: Option<&str>,
    ) -> Result<(), LowerError> {
        let dout = dout.into();
        let w = layer.param(wn);
        let update = self.fused.then(|| UpdateEpilogue {
            w: w.addr,
            ldw: w.ld,
            copy: layer.params().w8.get(wn).map(|c| (c.addr, c.ld, c.fmt)),
            lr: self.config.lr,
            keep_gradient: self.config.keep_gradients,
        });
        b.gemm_then(
            &format!("{op}.wgrad"),
            (xin, true),
            (dout.gemm, false),
            layer.grad(wn),
            (k, m, n),
            self.act_grad,
            Finish {
                epilogue: Vec::new(),
                update,
            },
        )?;
        match bn {
            Some(bn) => {
                let to = layer.grad(bn);
                self.column_sum(b, &format!("{op}.bgrad"), dout.fp32, (m, n), to)
            }
            None => Ok(()),
        }
    }
}

/// A linear layer's output gradient as its backward reads it: in fp32 for the
/// bias gradient's column sums, and as its GEMMs read it — an 8-bit copy
/// beside it, or the same tensor.
#[derive(Clone, Copy, Debug)]
pub(super) struct Dout {
    /// The fp32 tensor.
    pub(super) fp32: View,
    /// The GEMMs' copy (or `fp32` itself).
    pub(super) gemm: View,
}

impl From<View> for Dout {
    /// A gradient the GEMMs read as it is.
    fn from(v: View) -> Dout {
        Dout { fp32: v, gemm: v }
    }
}

/// An elementwise operation that follows a GEMM: folded into its epilogue or
/// a pass of its own over its result (see [`StepConfig::fuse_epilogues`]).
#[derive(Clone, Copy, Debug)]
pub(super) enum Then {
    /// gelu(y).
    Gelu,
    /// gelu'(pre)·y.
    GeluBwd {
        /// The pre-activation.
        pre: View,
    },
    /// other + y.
    Add {
        /// The other summand (the left one).
        other: View,
    },
}

/// What follows a GEMM with result y: the operation, its output and the name
/// of its pass when not fused.
#[derive(Clone, Copy, Debug)]
pub(super) struct Follow<'a> {
    /// Plan name of the separate pass.
    pub(super) op: &'a str,
    /// The operation.
    pub(super) then: Then,
    /// Where its result goes.
    pub(super) out: View,
    /// Also a bias gradient: the column sums of the result or of the other
    /// summand, for the linear layer that reads it as its output gradient
    /// (which then sums none itself).
    pub(super) sums: Option<Sums<'a>>,
}

/// Column sums a [`Follow`] takes on the way: in the GEMM's epilogue when
/// fused, else as a pass of their own after it.
#[derive(Clone, Copy, Debug)]
pub(super) struct Sums<'a> {
    /// Plan name of the separate pass.
    pub(super) op: &'a str,
    /// Where the sums go (fp32, one row).
    pub(super) to: View,
    /// What is summed.
    pub(super) of: SumOf,
}

/// The tensor a [`Sums`] sums.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum SumOf {
    /// The follow's result.
    Result,
    /// The other summand of a [`Then::Add`] (loaded by the epilogue anyway).
    Other,
}

/// An epilogue step storing C, as it stands, to the tensor at `view`.
pub(super) fn store(view: View) -> Epilogue {
    Epilogue::Store {
        addr: view.addr,
        ld: view.ld,
        format: view.fmt,
    }
}

/// An epilogue step adding the fp32 tensor at `view` to C (`view` + C).
fn add(view: View) -> Epilogue {
    Epilogue::Add {
        addr: view.addr,
        ld: view.ld,
    }
}
