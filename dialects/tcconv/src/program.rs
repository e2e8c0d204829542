//! An MLIR-free model of a tcconv function: buffers in kernel layouts, pre-packed weights and
//! one op per kernel. `lower` builds it from a qnn graph; `interp` runs it on the CPU; the MLIR
//! form (`tcconv.*` ops on memrefs) is printed from it and parsed back into it.

use crate::buffer::ActBuffer;
use crate::select::Family;
use crate::target::{MmaShape, Target};
use nibble_qnn::graph::{ChannelScales, Epilogue, RequantizeStep};
use nibble_qnn::semantics::{
    AvgPoolF32, ElemType, FloatStep, KernelLayout, QuantizeMode, Rounding,
};
use serde::{Deserialize, Serialize};

pub type BufId = usize;
pub type WeightId = usize;

/// How a qnn weight is pre-packed for the kernel that reads it.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Packing {
    /// im2col conv operand B: `[O][KH][KW][Cs]`, channels padded and stored per buffer rules.
    ConvOhwi,
    /// direct HWNC conv operand B: `[KH][KW][O][Cs]`.
    ConvHwoi,
    /// dense operand B: `[O][Ks]`.
    DenseOk,
    /// i32 per output channel.
    Bias,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PackedWeight {
    /// Name in the artifact's weights file (`<source>.<packing>`, `<source>.<packing>_s2d<b>`
    /// for a space-to-depth weight).
    pub name: String,
    /// The qnn weight it is packed from.
    pub source: String,
    pub packing: Packing,
    pub elem: ElemType,
    /// Logical (o, i, kh, kw) (dense: (o, k, 1, 1); bias: (o, 1, 1, 1)).
    pub dims: [i64; 4],
    /// The qnn weight's layout (conv), to read the source.
    pub source_layout: KernelLayout,
    /// A stride-`block` conv's weight rearranged for the stride-1 conv over its input's
    /// space-to-depth map ([`SpaceToDepth`]); `dims` are the rearranged weight's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub space_to_depth: Option<SpaceToDepth>,
    /// A 4-bit conv weight stored pre-widened: one byte a value, each 32-channel group of a
    /// row in the order the wgmma kernel widens a 4-bit operand's K into
    /// ([`crate::pack::widened_position`]), so its kernel copies the weight tiles as they are.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub widened: bool,
    /// A widened weight laid out as the wgmma kernel's weight tiles `[BN rows][K bytes a
    /// stage]` ([`crate::pack::slot`]): each stage's tile of each N tile contiguous, in the
    /// kernel's shared-memory order, so one bulk copy a stage moves it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tiles: Option<[i64; 2]>,
}

/// Space-to-depth by `block` (b): a map `X` of `C` channels (`cs` as stored) becomes the map `S`
/// of `b * b * cs` channels with `S[n][(dh * b + dw) * cs + c][i][j] = P[n][c][b i + dh][b j + dw]`
/// (`P`: `X` padded; channels `c >= C` hold 0). A stride-b conv of `X` with a KH x KW kernel is
/// the stride-1 conv of `S` with a `ceil(KH / b) x ceil(KW / b)` kernel whose weight at
/// `(o, (dh * b + dw) * cs + c, y, x)` is the source's at `(o, c, b y + dh, b x + dw)` (0 where that
/// is past the kernel or `c >= C`): the same products, each tap of the stride-1 conv a whole
/// 16-byte row where the source's taps were a few bytes. `source_dims`: the source weight's
/// logical (o, i, kh, kw).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct SpaceToDepth {
    pub block: i64,
    pub source_dims: [i64; 4],
}

/// The largest space-to-depth block (a stem's stride: 2 in ResNet, 4 in patchifying stems).
pub const MAX_SPACE_TO_DEPTH: i64 = 16;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Strategy {
    /// Per output pixel a GEMM over (batch x out channels x in channels): HWNC, tensor-core
    /// constraints on batch and channel counts.
    Direct,
    /// Implicit GEMM over (output pixels x out channels x taps*in channels): NHWC, any shape.
    Im2col,
}

impl Strategy {
    pub fn name(self) -> &'static str {
        match self {
            Strategy::Direct => "direct",
            Strategy::Im2col => "im2col",
        }
    }
}

/// Kernel configuration chosen by the target model.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tiling {
    pub mma: MmaShape,
    /// Operand types fed to the MMA (after widening on sm_90).
    pub a_type: ElemType,
    pub b_type: ElemType,
    /// 4-bit storage widened to 8-bit in registers before the MMA (sm_90).
    pub widen: bool,
    pub block_tile: [i64; 3],
    pub warp_tile: [i64; 3],
    pub stages: i64,
    /// The staged kernel's K split across the blocks of a thread-block cluster (sm_90+: 1, 2, 4
    /// or 8 blocks a tile; IR attribute `k_cluster`, absent for 1):
    /// `convert-qnn-to-tcconv{split-k=cluster}`.
    #[serde(default = "one")]
    pub k_cluster: i64,
    /// The output tiles a block of the wgmma kernel computes one after another (4-bit
    /// operands: the next tile's first stages are loaded while the tile before runs its
    /// epilogue; IR attribute `tiles_per_block`, absent for 1):
    /// `convert-qnn-to-tcconv{tiles-per-block=N}`.
    #[serde(default = "one")]
    pub tiles_per_block: i64,
    /// Blocks an SM the conv's kernel is built for (`.minnctapersm`: ptxas keeps its registers
    /// within an SM's share of that many blocks; the staged and wgmma kernels; IR attribute
    /// `blocks_per_sm`, absent: the family's rule, `select::Kernel::blocks_per_sm`):
    /// `convert-qnn-to-tcconv{blocks-per-sm=N}`.
    #[serde(default)]
    pub blocks_per_sm: Option<i64>,
    /// A conv with a shortcut GEMM adds its residual sum in 32 bits where the epilogue's
    /// scales, the GEMMs' accumulator ranges and a bias limit bound it, branching an n-tile on
    /// the biases (the staged and wgmma kernels; IR attribute `bounded_sum`, absent for
    /// false): `convert-qnn-to-tcconv{shortcut-sums=bounded}`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub bounded_sum: bool,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Conv {
    pub input: BufId,
    pub weight: WeightId,
    pub bias: Option<WeightId>,
    pub residual: Option<BufId>,
    pub output: BufId,
    /// The second output of an epilogue with a [`RequantizeStep`](nibble_qnn::graph::RequantizeStep):
    /// the requantize of `output`, same dims and layout, written by the same kernel.
    #[serde(default)]
    pub second: Option<BufId>,
    pub strides: [i64; 2],
    pub padding: [i64; 4],
    pub kernel: [i64; 2],
    pub strategy: Strategy,
    pub tiling: Tiling,
    pub epilogue: Epilogue,
    /// The kernel family that runs it (chosen by `select::choose`; one op, one launch).
    #[serde(default)]
    pub family: Family,
    /// Channel groups (`qnn.conv2d`'s `groups`); the weight holds C / groups input channels.
    #[serde(default = "one")]
    pub groups: i64,
    /// A second GEMM on the same output tile whose i32 result is the residual epilogue's
    /// residual (in place of a residual buffer): ResNet's downsampling identity conv.
    #[serde(default)]
    pub shortcut: Option<Shortcut>,
    /// The input quantize fused into the conv's loader: `input` is then the f32 tensor, and the
    /// conv reads `quantize(input)` as if it were the buffer `quantized` (never stored).
    #[serde(default)]
    pub quantize: Option<InputQuantize>,
    /// A max pool in the conv's kernel (`pool_*` attributes): `output` is then the pooled map,
    /// and the conv's own map ([`ConvPool::map`]) is never stored (a ResNet's stem and max
    /// pool: `lower::fold_max_pools_into_stems`).
    #[serde(default)]
    pub pool: Option<ConvPool>,
    /// The chain whose kernel runs it (`chain = N` in the IR): the consecutive convs of a chain
    /// are one launch over thread-block clusters, each after the first a 1 x 1 conv of the
    /// output of the one before (`lower::chain_convs`, `verify`'s chain rules). None: a kernel
    /// of its own.
    #[serde(default)]
    pub chain: Option<i64>,
}

/// A max pool in a conv's kernel ([`Conv::pool`]): `output` = the max over the in-bounds taps of
/// each window of the conv's map, as `tcconv.pool2d` computes it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ConvPool {
    pub kernel: [i64; 2],
    pub strides: [i64; 2],
    pub padding: [i64; 4],
    /// The conv's map as the kernel computes it: the output's layout and type, the conv
    /// window's dims.
    pub map: ActBuffer,
}

/// A conv's fused input quantize: `tcconv.quantize` of the f32 input (`scale`, `zero_point`,
/// `mode` as that op's) into a buffer shaped `quantized` (its layout, element type and dims:
/// what the conv's kernel reads), computed by the loader where it reads each value.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct InputQuantize {
    pub scale: f32,
    pub zero_point: i64,
    pub mode: QuantizeMode,
    pub quantized: ActBuffer,
}

/// A conv's shortcut: a 1x1 conv without padding (one group) of another input, `strides`
/// apart, onto the conv's output pixels; `shortcut(n, o, y, x) = bias[o] + sum_c
/// input(n, c, y * sh, x * sw) * weight(o, c)`, exact in i32 (the residual the epilogue adds).
/// Its weight is packed as the conv's.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shortcut {
    pub input: BufId,
    pub weight: WeightId,
    pub bias: Option<WeightId>,
    pub strides: [i64; 2],
}

fn one() -> i64 {
    1
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Dense {
    pub input: BufId,
    pub weight: WeightId,
    pub bias: Option<WeightId>,
    pub output: BufId,
    pub tiling: Tiling,
    pub epilogue: Epilogue,
    /// A `qnn.dequantize` of the result fused into the kernel: the epilogue's i32 value `y` of
    /// channel `c` is written as `f32(y) * scales[c]` (one entry: per tensor) to an f32 output.
    #[serde(default)]
    pub dequantize: Option<Vec<f32>>,
    /// A global pool of the input fused into the kernel: `input` is then the N x C x H x W map
    /// the pool reads, and the layer's inputs are the pooled values (never stored).
    #[serde(default)]
    pub pool: Option<DensePool>,
}

/// A dense layer's fused global pool (`tcconv.dense` with `pool_*` attributes): per (n, c) the
/// maximum, or `floor(sum / divisor)`, over the whole H x W map, then `requantize` where one
/// follows, as `TcOp::Pool` with a window of the map computes it, into the type `elem` that the
/// layer reads. The kernel splits the channels across `split` blocks; each pools its channels
/// and adds its partial sums of every output into an i32 accumulator (integer adds: the order
/// does not change the sum), and the last block to finish runs the epilogue.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DensePool {
    pub kind: PoolKind,
    /// Average pool: `floor(sum / divisor)` (None: H * W).
    #[serde(default)]
    pub divisor: Option<i64>,
    #[serde(default)]
    pub requantize: Option<RequantizeStep>,
    /// The pooled values' type (what the separate pool would have stored).
    pub elem: ElemType,
    /// Blocks, each pooling a contiguous share of the channels.
    pub split: i64,
}

impl DensePool {
    /// The channels of each block: `ceil(c / split)` rounded up to a multiple of 8 (whole
    /// packed words of weights); the last blocks may have fewer or none.
    pub fn chunk(&self, c: i64) -> i64 {
        let per = (c + self.split.max(1) - 1) / self.split.max(1);
        (per + 7) / 8 * 8
    }
}

/// The dequantize scale of channel `c` (one entry: the same for every channel).
pub fn channel_scale(scales: &[f32], c: usize) -> f32 {
    if scales.len() == 1 {
        scales[0]
    } else {
        scales[c]
    }
}

/// A pool's second output ([`TcOp::Pool`]'s `second`): `output = requantize(pooled map)`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PoolSecond {
    pub output: BufId,
    pub requantize: RequantizeStep,
}

impl PoolSecond {
    /// Whether buffer `z` can hold the second output of a pool writing `out`: an integer buffer
    /// of `out`'s dims, layout (channels innermost) and stored channels, so that the kernel's
    /// thread writes a pixel's channels to both at the same slots. The one rule the lowering,
    /// the verifier and the kernel builder share.
    pub fn fits(out: &ActBuffer, z: &ActBuffer) -> bool {
        z.dims == out.dims
            && z.layout == out.layout
            && crate::select::channel_inner(z.layout)
            && z.stored_channels() == out.stored_channels()
            && z.elem.is_int()
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub enum PoolKind {
    Max,
    Avg,
    /// `qnn.avg_pool2d_f32` (ONNX Runtime's QLinearAveragePool): the f32 average of the
    /// dequantized taps inside the input, quantized to the output's type.
    AvgF32(AvgPoolF32),
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Elementwise {
    Requantize {
        scales: ChannelScales,
        rounding: Rounding,
        zero_point: i64,
        clamp: [i64; 2],
        /// Under rounding `f32_fma`: the f32 added by the fused multiply-add, one entry or one
        /// per channel (qnn.requantize's `offset`).
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        offset: Vec<f32>,
    },
    Add {
        lhs: ChannelScales,
        rhs: ChannelScales,
        rounding: Rounding,
        clamp: [i64; 2],
        /// Under rounding `f32_fma`: the f32 added inside the sum (qnn.add's `bias`).
        #[serde(default)]
        bias: f32,
    },
    Relu,
    Clamp {
        min: i64,
        max: i64,
    },
    /// `qnn.mul`: the exact product (i32) of two inputs; the second of the first's dims or
    /// N x C x 1 x 1, read at (n, c, 0, 0).
    Mul,
    /// `qnn.lookup`: `table[x - lo]`, lo the least value of the input's (4- or 8-bit) type.
    Lookup {
        table: Vec<i32>,
    },
}

impl Elementwise {
    /// How many inputs the op reads.
    pub fn arity(&self) -> usize {
        match self {
            Elementwise::Add { .. } | Elementwise::Mul => 2,
            _ => 1,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum TcOp {
    /// f32 input (any layout) -> integer buffer: `qnn.quantize` fused with the edge layout change;
    /// with `padding` ([top, left, bottom, right]) the output is the quantized map inside a
    /// border of `padding_value` (a `tcconv.pad` of its only reader folded in).
    Quantize {
        input: BufId,
        output: BufId,
        scale: f32,
        #[serde(default)]
        zero_point: i64,
        #[serde(default)]
        mode: QuantizeMode,
        #[serde(default)]
        padding: [i64; 4],
        #[serde(default)]
        padding_value: i64,
        /// `b >= 2`: the output is the space-to-depth map (block b, [`SpaceToDepth`]) of the
        /// padded quantized map, `padding` its border (`padding_value` on the image's channels,
        /// 0 on padding channels); 0: none.
        #[serde(default)]
        space_to_depth: i64,
        /// The f32 steps applied to each input value before it is quantized (`qnn.quantize`'s
        /// `pre`: a model's float preprocessing).
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        pre: Vec<FloatStep>,
    },
    Conv2d(Conv),
    Dense(Dense),
    Pool {
        kind: PoolKind,
        input: BufId,
        output: BufId,
        kernel: [i64; 2],
        strides: [i64; 2],
        padding: [i64; 4],
        /// Average pool: `floor(sum / divisor)` (None: kh * kw).
        #[serde(default)]
        divisor: Option<i64>,
        /// A requantize of each pooled value (i32) into the output's type, fused from the
        /// `qnn.requantize` that was the pool's only reader (the pooled i32 map is never stored).
        #[serde(default)]
        requantize: Option<RequantizeStep>,
        /// A second output written by the same kernel: the requantize of `output` (same dims,
        /// layout and stored channels), fused from a `qnn.requantize` of the pooled map that
        /// other ops read too (`convert-qnn-to-tcconv{pool-requantize=second}`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        second: Option<PoolSecond>,
    },
    /// A copy of `input` with `padding` ([top, left, bottom, right]) added around H x W, the
    /// border holding `value`: the explicit form of a conv's `padding_value`.
    Pad {
        input: BufId,
        output: BufId,
        padding: [i64; 4],
        value: i64,
    },
    Elementwise {
        op: Elementwise,
        inputs: Vec<BufId>,
        output: BufId,
    },
    /// Copy between layouts/storages of the same logical tensor (edges, flatten).
    Relayout {
        input: BufId,
        output: BufId,
    },
    /// `qnn.concat`: the inputs' channels one after another into `output` (each input in its
    /// own layout and storage, as a relayout reads it). `tcconv.concat` takes two inputs.
    Concat {
        inputs: Vec<BufId>,
        output: BufId,
    },
    /// integer -> f32: `f32(x) * scales[c]` (one entry: per tensor).
    Dequantize {
        input: BufId,
        output: BufId,
        scales: Vec<f32>,
    },
    /// `qnn.gather_channels`: output channel `j` is input channel `indices[j]`.
    Gather {
        input: BufId,
        output: BufId,
        indices: Vec<i32>,
    },
    /// `qnn.softmax` over each row of an N x C buffer (`semantics::softmax_row`).
    Softmax {
        input: BufId,
        output: BufId,
        table: Vec<f32>,
        scale: f32,
        zero_point: i64,
    },
}

impl Conv {
    /// What the conv writes to `second`, as the elementwise op it stands for (its meaning).
    /// The shortcut as a conv of its own writing `output` (an i32 buffer of this conv's output
    /// dims and layout): what the shortcut GEMM computes.
    pub fn shortcut_conv(&self, output: BufId) -> Option<Conv> {
        let sc = self.shortcut.as_ref()?;
        Some(Conv {
            input: sc.input,
            weight: sc.weight,
            bias: sc.bias,
            residual: None,
            output,
            second: None,
            strides: sc.strides,
            padding: [0; 4],
            kernel: [1, 1],
            strategy: self.strategy,
            tiling: self.tiling.clone(),
            epilogue: Epilogue::none(),
            family: self.family,
            groups: 1,
            shortcut: None,
            quantize: None,
            pool: None,
            chain: None,
        })
    }
    pub fn second_requantize(&self) -> Option<TcOp> {
        let (b, o) = (self.second?, self.epilogue.second.as_ref()?);
        Some(requantize_op(o, self.output, b))
    }
}

/// The elementwise requantize `step` of buffer `input` into `output`: what a second output
/// stands for.
fn requantize_op(step: &RequantizeStep, input: BufId, output: BufId) -> TcOp {
    TcOp::Elementwise {
        op: Elementwise::Requantize {
            scales: step.scales.clone(),
            rounding: step.rounding,
            zero_point: step.zero_point,
            clamp: step.clamp,
            offset: vec![],
        },
        inputs: vec![input],
        output,
    }
}

impl TcOp {
    /// What the op writes to its second output, as the elementwise requantize of its first
    /// output that it stands for (a conv's `second`, a pool's `second`).
    pub fn second_op(&self) -> Option<TcOp> {
        match self {
            TcOp::Conv2d(c) => c.second_requantize(),
            TcOp::Pool {
                output,
                second: Some(s),
                ..
            } => Some(requantize_op(&s.requantize, *output, s.output)),
            _ => None,
        }
    }
    pub fn mnemonic(&self) -> &'static str {
        match self {
            TcOp::Quantize { .. } => "quantize",
            TcOp::Conv2d(_) => "conv2d",
            TcOp::Dense(_) => "dense",
            TcOp::Pool { .. } => "pool2d",
            TcOp::Elementwise { .. } => "elementwise",
            TcOp::Relayout { .. } => "relayout",
            TcOp::Concat { .. } => "concat",
            TcOp::Pad { .. } => "pad",
            TcOp::Dequantize { .. } => "dequantize",
            TcOp::Softmax { .. } => "softmax",
            TcOp::Gather { .. } => "gather_channels",
        }
    }
    /// Buffers read (activations only).
    pub fn reads(&self) -> Vec<BufId> {
        match self {
            TcOp::Quantize { input, .. }
            | TcOp::Pool { input, .. }
            | TcOp::Relayout { input, .. }
            | TcOp::Pad { input, .. }
            | TcOp::Dequantize { input, .. }
            | TcOp::Softmax { input, .. }
            | TcOp::Gather { input, .. } => vec![*input],
            TcOp::Conv2d(c) => std::iter::once(c.input)
                .chain(c.residual)
                .chain(c.shortcut.as_ref().map(|sc| sc.input))
                .collect(),
            TcOp::Dense(d) => vec![d.input],
            TcOp::Elementwise { inputs, .. } | TcOp::Concat { inputs, .. } => inputs.clone(),
        }
    }
    pub fn writes(&self) -> BufId {
        match self {
            TcOp::Quantize { output, .. }
            | TcOp::Pool { output, .. }
            | TcOp::Relayout { output, .. }
            | TcOp::Pad { output, .. }
            | TcOp::Dequantize { output, .. }
            | TcOp::Softmax { output, .. }
            | TcOp::Gather { output, .. }
            | TcOp::Concat { output, .. }
            | TcOp::Elementwise { output, .. } => *output,
            TcOp::Conv2d(c) => c.output,
            TcOp::Dense(d) => d.output,
        }
    }
    /// The buffers the op reads or writes that may not be in
    /// [`Storage::Narrow16`](crate::buffer::Storage::Narrow16): all of them but a conv's residual
    /// and first output (the conv families read and write those through the epilogue, which
    /// handles the escapes; the other kernels address 32-bit words).
    pub fn wide_only(&self) -> Vec<BufId> {
        let narrow_ok = self.narrow_stream_uses();
        let mut all = self.reads();
        all.extend(self.writes_all());
        all.retain(|b| !narrow_ok.contains(b));
        all
    }
    /// The buffers the op may read or write in
    /// [`Storage::Narrow16`](crate::buffer::Storage::Narrow16) as a residual stream: a conv's
    /// residual and first output.
    pub fn narrow_stream_uses(&self) -> Vec<BufId> {
        match self {
            TcOp::Conv2d(c) => c.residual.into_iter().chain([c.output]).collect(),
            _ => vec![],
        }
    }
    /// The buffers besides a conv's residual and first output that the op's kernel reads or
    /// writes through the storage-aware slot and group accessors, so that an i16 map may be
    /// narrow16 there (`maps=narrow16`): a max pool's input and output, a requantize's input.
    pub fn narrow_map_uses(&self) -> Vec<BufId> {
        match self {
            TcOp::Pool {
                kind: PoolKind::Max,
                input,
                output,
                ..
            } => vec![*input, *output],
            TcOp::Elementwise {
                op: Elementwise::Requantize { .. },
                inputs,
                ..
            } => inputs.clone(),
            _ => vec![],
        }
    }
    /// Every buffer written: [`writes`](Self::writes), then a conv's or a pool's second output.
    pub fn writes_all(&self) -> Vec<BufId> {
        let mut v = vec![self.writes()];
        match self {
            TcOp::Conv2d(c) => v.extend(c.second),
            TcOp::Pool {
                second: Some(s), ..
            } => v.push(s.output),
            _ => {}
        }
        v
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Program {
    pub name: String,
    pub target: Target,
    pub buffers: Vec<ActBuffer>,
    pub weights: Vec<PackedWeight>,
    pub inputs: Vec<BufId>,
    pub outputs: Vec<BufId>,
    pub ops: Vec<TcOp>,
    /// With programmatic dependent launch (sm_90 / sm_90a): where the tensor-core conv
    /// kernels let their successor launch (`tcconv.pdl_trigger`; the other kernels do at their
    /// start).
    #[serde(default)]
    pub pdl_trigger: PdlTrigger,
}

/// Where a tensor-core conv kernel lets its successor grid launch (`griddepcontrol.
/// launch_dependents`) when launches are programmatic.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum PdlTrigger {
    /// After its main loop (`"mainloop"`).
    MainLoop,
    /// At its start, once its producer has finished (`"start"`).
    Start,
    /// At its start where its successor's blocks run a short main loop (no conv, or a conv of
    /// a few K stages, such as a 1x1 conv), else after its main loop (`"auto"`, the default).
    #[default]
    Auto,
}

impl PdlTrigger {
    /// The `tcconv.pdl_trigger` spelling.
    pub fn name(self) -> &'static str {
        match self {
            PdlTrigger::MainLoop => "mainloop",
            PdlTrigger::Start => "start",
            PdlTrigger::Auto => "auto",
        }
    }

    pub fn parse(s: &str) -> Option<PdlTrigger> {
        [PdlTrigger::MainLoop, PdlTrigger::Start, PdlTrigger::Auto]
            .into_iter()
            .find(|t| t.name() == s)
    }
}

impl Program {
    /// The program with each conv's fused input quantize (`Conv::quantize`) spelled out as the
    /// `tcconv.quantize` it stands for: the conv reads a new buffer (appended to `buffers`, so
    /// every other id keeps its meaning) that a quantize op just before it writes.
    pub fn with_quantize_ops(&self) -> Program {
        let mut p = self.clone();
        let mut ops = Vec::with_capacity(p.ops.len());
        for op in std::mem::take(&mut p.ops) {
            match op {
                TcOp::Conv2d(mut c) if c.quantize.is_some() => {
                    let q = c.quantize.take().expect("checked");
                    p.buffers.push(q.quantized);
                    let b = p.buffers.len() - 1;
                    ops.push(TcOp::Quantize {
                        input: c.input,
                        output: b,
                        scale: q.scale,
                        zero_point: q.zero_point,
                        mode: q.mode,
                        padding: [0; 4],
                        padding_value: 0,
                        space_to_depth: 0,
                        pre: vec![],
                    });
                    c.input = b;
                    ops.push(TcOp::Conv2d(c));
                }
                op => ops.push(op),
            }
        }
        p.ops = ops;
        p
    }
}
