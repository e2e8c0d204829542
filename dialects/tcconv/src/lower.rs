//! qnn graph -> tcconv program: buffer layouts, the weight packing plan, and for every conv the
//! strategy, tile and kernel family of `crate::select`.
//!
//! Strategy rule (per conv, per target): `direct` (HWNC) when the tensor-core shape constraints
//! hold exactly — batch % mma.m == 0, in channels % mma.k == 0, out channels % mma.n == 0 —
//! otherwise `im2col` (NHWC): the 3-channel first layer, odd batches and channel counts that are
//! not multiples (e.g. 40 or 60 on sm_80) take `im2col`. Channels are not padded up to mma.k for
//! `direct` (buffers pad to 8 / 4 channels only), so im2col, which handles any K tail, decides.

use crate::buffer::{padded_channels, padded_dims, ActBuffer};
use crate::program::*;
use crate::select::{
    choose, fuses_input_quantize, k_cluster, simple_writes_second, staged_plan, Choice, ConvSpec,
    Family, Kernel, ShortcutSpec,
};
use crate::target::Target;
use nibble_qnn::graph::{Epilogue, EpilogueKind, Graph, Op, RequantizeStep, ValueId};
use nibble_qnn::semantics::{ElemType, KernelLayout, Layout, Rounding};
use std::collections::{HashMap, HashSet};

/// `convert-qnn-to-tcconv{streams=...}` / `{maps=...}`: how the residual streams between convs
/// (i32) / the i16 maps between convs, max pools and requantizes are stored.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum StreamChoice {
    /// `narrow16` on targets with halfword SIMD (sm_90a) at batch [`NARROW_STREAMS_MIN_BATCH`]
    /// and above, and for the streams of [`NARROW_STREAMS_MIN_ELEMENTS`] elements and more at
    /// any batch; else `i32`.
    #[default]
    Auto,
    I32,
    Narrow16,
}

/// The batch from which `streams=auto` stores every residual stream in 16 bits, and below it
/// the size from which it stores a stream so: where the stream convs move enough bytes for the
/// halved traffic to pay for the packing and the escape tests. On an H100 (`bench/RESULTS.md`),
/// ResNet-50 W4A4: all streams narrow at batch 16 1.5% faster than only those of 4 M elements
/// and more; at batch 8 the stage-1 stream alone (6.4 M elements) 1.2% faster than i32 streams
/// (its readers 8-14%), every stream narrow no faster (the smaller ones cost their convs
/// 2-11%).
pub const NARROW_STREAMS_MIN_BATCH: i64 = 16;
pub const NARROW_STREAMS_MIN_ELEMENTS: i64 = 1 << 22;

/// Options of `convert-qnn-to-tcconv`.
#[derive(Clone, Debug, Default)]
pub struct LowerOptions {
    /// `--tcconv-tile=BMxBNxBK` (for experiments): overrides the tile model for every conv.
    pub tile: Option<[i64; 3]>,
    /// Force a strategy for every conv where it is legal (for experiments and tests).
    pub strategy: Option<Strategy>,
    /// Which kernel families the selection may choose (`kernel=auto|mma|simple`).
    pub kernel: Choice,
    /// `shortcuts=separate`: every 1x1 shortcut conv its own kernel (for A/B runs); by default
    /// a conv runs the shortcut its residual is as a second GEMM where its kernel takes it.
    pub separate_shortcuts: bool,
    /// `quantize=fused`: a quantize whose only reader is a 3-channel stem conv runs in that
    /// conv's loader where its kernel computes it ([`fuses_input_quantize`]); by default every
    /// quantize is a kernel of its own (the register-only loader quantizes each value once per
    /// tap and channel tile, which costs the stem more than the launch it saves: H200, batch 1,
    /// ResNet-50 W4A4 0.2109 -> 0.2255 ms, ResNet-18 0.1037 -> 0.1181 ms).
    pub fuse_quantize: bool,
    /// `streams=auto|i32|narrow16`: where the residual streams are stored in
    /// [`Storage::Narrow16`](crate::buffer::Storage::Narrow16) instead of 32-bit words (see
    /// [`narrow_streams`]).
    pub streams: StreamChoice,
    /// `maps=auto|i32|narrow16`: where the i16 maps between a conv and a max pool, a max pool
    /// and a requantize or a conv's residual (ResNet-18's stem output and pooled map) are stored
    /// in [`Storage::Narrow16`](crate::buffer::Storage::Narrow16) instead of 32-bit words
    /// ([`narrow_maps`]; `auto`: as `streams=auto`, at batch [`NARROW_STREAMS_MIN_BATCH`] and
    /// above on sm_90a).
    pub maps: StreamChoice,
    /// `pads=separate`: a pad is a kernel of its own (for A/B runs); by default a `tcconv.pad`
    /// of a quantize's only result folds into the quantize ([`fold_pads_into_quantize`]: one
    /// launch and one pass over the image fewer; H200, MobileNetV2 int8 at batch 64 1.229 ->
    /// 1.180 ms).
    pub separate_pads: bool,
    /// `pools=dense`: a global max / average pool read only by a dense layer runs in that
    /// layer's kernel at batch sizes up to [`POOL_DENSE_MAX_BATCH`] ([`fold_pools_into_dense`]:
    /// one launch fewer). By default the pool is a kernel of its own: the fused kernel is
    /// bit-exact but slower than the two it replaces (H100, ResNet-50 W4A4 sm_90a: 15.6 us
    /// against 4.0 + 4.3 us at batch 1, the network 0.2137 -> 0.2217 ms; its blocks' partial
    /// sums go through L2 atomics and its per-thread loops are serial round trips).
    pub fuse_pools: bool,
    /// `maxpool=stem`: a max pool whose input only it reads runs in the kernel of the conv that
    /// writes that input, where the register-MMA kernel takes the pair (the 3-channel stem,
    /// [`fold_max_pools_into_stems`]), at batch sizes up to [`POOL_STEM_MAX_BATCH`]. Not by
    /// default: one launch fewer, but no faster (H100, ResNet-50 W4A4 b1 0.2126 -> 0.2128 ms,
    /// b8 0.4683 -> 0.4724 ms: the halo's rows cost what the pool kernel did).
    pub fuse_max_pool: bool,
    /// `chains=pairs|cluster`: the most convs a chain holds (2, or [`CHAIN_MAX_LEN`]; 0: no
    /// chains): a conv and the 1x1 convs after it, each of the output of the one before, at
    /// batch sizes up to [`CHAIN_MAX_BATCH`], run in one kernel over thread-block clusters
    /// ([`chain_convs`]). Not by default: not yet measured on a GPU.
    pub chain: usize,
    /// `chains=wide`: as `cluster`, but each conv of a chain on its widest tile that the staged
    /// kernel takes (the fewest N tiles, so the smallest cluster: fewer, larger blocks, whose
    /// narrow convs leave warps idle) instead of its narrowest (the most tiles up to 8 a
    /// cluster: more blocks, whose narrow convs leave blocks idle).
    pub chain_wide: bool,
    /// The most N tiles a chained conv may have, so the most blocks of a chain's cluster:
    /// [`crate::select::CHAIN_CLUSTER_MAX`] (8, the portable size; 0 means that too), or
    /// 16 with `chains=cluster16` (a non-portable size: ResNet-50's stage 4 chains too).
    pub chain_tiles: i64,
    /// `stem=auto|s2d|plain`: where a strided conv of a quantized image reads the space-to-depth
    /// map of its input ([`space_to_depth_stems`]).
    pub stem: StemChoice,
    /// `pdl-trigger=mainloop|start|auto`: where the tensor-core conv kernels let their
    /// successor launch ([`Program::pdl_trigger`]).
    pub pdl_trigger: PdlTrigger,
    /// `split-k=cluster`: a staged conv of a long K loop and few tiles splits K across the
    /// blocks of a thread-block cluster too ([`crate::select::k_cluster`]); by default across
    /// the warps of a block only.
    pub k_cluster: bool,
    /// `tiles-per-block=N`: each block of the wgmma kernel over 4-bit operands computes N
    /// output tiles, loading the next one's first stages during the epilogue of the one before
    /// ([`crate::select::WgmmaPlan::block_tiles`]); None: one tile a block.
    pub tiles_per_block: Option<i64>,
    /// `blocks-per-sm=N`: the staged and wgmma convs' kernels built for N blocks an SM
    /// ([`set_blocks_per_sm`]); None: each family's rule.
    pub blocks_per_sm: Option<i64>,
    /// `weights=packed|widened|tiles`: the 4-bit weights of the wgmma convs over 4-bit inputs
    /// stored in their own width, pre-widened, or (the default) pre-widened in the kernel's stage
    /// tiles ([`widen_wgmma_weights`]).
    pub widened_weights: WeightStorage,
    /// `staged-weights=packed|widened`: the 4-bit weights of the staged convs that widen 4-bit
    /// operands (sm_90, sm_90a) stored in their own width or pre-widened
    /// ([`widen_staged_weights`]).
    pub staged_widened: bool,
    /// `shortcut-sums=wide|bounded|auto`: whether a conv with a shortcut GEMM on the staged or
    /// wgmma kernel adds its residual sum in 32 bits where a bound holds (`Tiling::bounded_sum`).
    pub shortcut_sums: ShortcutSums,
    /// `pool-requantize=separate|second|auto`: where a requantize of a pool's map that other
    /// ops read too runs in the pool's kernel as its second output
    /// ([`fold_requantizes_into_pools`]: one launch fewer, the map not read back).
    pub pool_requantize: PoolRequantize,
}

/// `convert-qnn-to-tcconv{pool-requantize=...}`: where a requantize of a pool's map becomes
/// the pool's second output.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum PoolRequantize {
    /// Every requantize a kernel of its own.
    Separate,
    /// At every batch.
    Second,
    /// From batch [`POOL_SECOND_MIN_BATCH`].
    #[default]
    Auto,
}

/// The batch from which `pool-requantize=auto` folds a pool map's requantize into the pool.
/// The fused kernel's threads each pool one packed word of the 4-bit output (8 channels), so
/// it runs an eighth of the threads the separate pool does: on an H100 (`bench/RESULTS.md`),
/// ResNet-18 W4A4 sm_90a batch 1 / 8 3.9% / 4.2% slower with it, batch 256 5.1% faster
/// (W8A8: 2.7% slower at batch 1, 7.5% faster at 256).
pub const POOL_SECOND_MIN_BATCH: i64 = 16;

/// `convert-qnn-to-tcconv{shortcut-sums=...}`: how a conv with a shortcut GEMM adds its two
/// requantized terms.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ShortcutSums {
    /// In 64 bits, saturated to i32.
    Wide,
    /// In 32 bits where the bias bound holds, on every staged and wgmma conv.
    Bounded,
    /// Bounded where the kernel keeps its register budget with the bias branch: the wgmma kernel
    /// over 4-bit operands, and the staged kernels whose registers [`Kernel::registers`] sets
    /// with the branch (64 x 64 tiles over 4-bit operands without sliced K or a cluster): 168
    /// where the grid gives an SM several blocks; on a smaller grid ptxas takes what it needs
    /// (185 for ResNet-18 W4A4's stage-2 first unit at batch 8, still one wave). Elsewhere ptxas
    /// takes more with the branch: ResNet-18 W4A4's 32 x 32 tiles with K sliced across warps
    /// spill 124-136 bytes (4-24 without), its 32 x 64 tile at batch 8 188 registers (153),
    /// ResNet-50 W8A8's 8-bit first units 220 (166). The default: on an H100, ResNet-50 W4A4
    /// sm_90a batch 8 / 256 0.4% / 0.75% faster than `Wide`, bit-exact (`bench/RESULTS.md`).
    #[default]
    Auto,
}

impl ShortcutSums {
    /// Whether a conv with a shortcut GEMM (`spec`) on `kernel` takes the bounded sum: only on
    /// the staged and wgmma kernels, and under `auto` where the branch keeps the kernel's
    /// register budget: over 4-bit operands on the wgmma kernel, and on a staged kernel whose
    /// registers [`Kernel::registers`] sets with the branch.
    pub fn bounded_on(self, kernel: &Kernel, spec: &ConvSpec, target: Target) -> bool {
        if !matches!(kernel.family(), Family::Staged | Family::Wgmma) {
            return false;
        }
        match (self, kernel) {
            (ShortcutSums::Wide, _) => false,
            (ShortcutSums::Bounded, _) => true,
            (ShortcutSums::Auto, Kernel::Wgmma(p)) => p.widen,
            (ShortcutSums::Auto, _) => {
                let bounded = ConvSpec {
                    shortcut: spec.shortcut.map(|sc| ShortcutSpec {
                        bounded_sum: true,
                        ..sc
                    }),
                    ..*spec
                };
                kernel.registers(&bounded, target).is_some()
            }
        }
    }
}

/// `convert-qnn-to-tcconv{weights=...}`: how the wgmma convs' 4-bit weights are stored.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum WeightStorage {
    /// In their own width.
    Packed,
    /// Widened ([`PackedWeight::widened`]): the kernel copies each stage's tile with cp.async.
    Widened,
    /// Widened and in the kernel's stage tiles ([`PackedWeight::tiles`]): one bulk copy a
    /// stage, where the kernel computes one tile a block. The default: on an H100, ResNet-50
    /// W4A4 sm_90a b256 6.679 -> 6.384 ms, b64 1.745 -> 1.738 against `packed`, bit-exact
    /// (bench/RESULTS.md).
    #[default]
    Tiles,
}

/// Where [`space_to_depth_stems`] applies.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum StemChoice {
    /// At batch [`SPACE_TO_DEPTH_MIN_BATCH`] and above.
    #[default]
    Auto,
    /// At every batch.
    SpaceToDepth,
    /// Never: the conv reads the quantize's map as it is.
    Plain,
}

/// The smallest batch whose stem reads the space-to-depth map by default. On an H100 the
/// staged kernel's stem over it made ResNet-50 W4A4 0.5-0.6% faster at batch 64 and 256 (sm_90
/// and sm_90a), where its grid fills the GPU, and ResNet-18 2.2% slower at batch 8, where the
/// register-MMA stem (taps along K) on a small grid is the faster kernel (bench/RESULTS.md).
pub const SPACE_TO_DEPTH_MIN_BATCH: i64 = 16;

/// The largest batch whose stem computes its max pool ([`fold_max_pools_into_stems`]): each
/// block recomputes the conv over its pooled tile's halo (about 1.4x the conv's rows for
/// ResNet's 3 x 3 / 2 pool), which a launch fewer pays for only while the stem is short.
pub const POOL_STEM_MAX_BATCH: i64 = 8;

/// The largest batch whose convs [`chain_convs`] pairs in one kernel: beyond it the grids of
/// the convs fill the GPU on their own, and a launch costs little next to a conv.
pub const CHAIN_MAX_BATCH: i64 = 8;

/// The most convs in a chain (`chains=cluster`); ResNet-50's are three.
pub const CHAIN_MAX_LEN: usize = 8;

/// The largest batch whose global pool [`fold_pools_into_dense`] moves into the dense kernel:
/// each of its blocks adds a partial sum per output and image into the accumulator, so the
/// atomic adds grow with the batch while the launch they save does not.
pub const POOL_DENSE_MAX_BATCH: i64 = 8;

/// Blocks of a dense kernel with a fused pool: about this many, each pooling
/// `ceil(C / POOL_DENSE_BLOCKS)` channels.
pub const POOL_DENSE_BLOCKS: i64 = 32;

pub use crate::select::{choose_strategy, choose_tiling, mma_for, parse_tile};

type ConvParts<'a> = (
    &'a [i64; 2],
    &'a [i64; 4],
    &'a Layout,
    &'a KernelLayout,
    Option<&'a Epilogue>,
    i64,
    i64,
);

/// The conv attributes of a `qnn.conv2d` or `qnn.conv2d_fused` (with its epilogue).
fn conv_parts(op: &Op) -> Option<ConvParts<'_>> {
    match op {
        Op::Conv2d {
            strides,
            padding,
            layout,
            kernel_layout,
            padding_value,
            groups,
        } => Some((
            strides,
            padding,
            layout,
            kernel_layout,
            None,
            *padding_value,
            *groups,
        )),
        Op::Conv2dFused {
            strides,
            padding,
            layout,
            kernel_layout,
            epilogue,
            padding_value,
            groups,
        } => Some((
            strides,
            padding,
            layout,
            kernel_layout,
            Some(epilogue),
            *padding_value,
            *groups,
        )),
        _ => None,
    }
}

struct Lowering<'g> {
    g: &'g Graph,
    target: Target,
    opts: LowerOptions,
    p: Program,
    /// Buffer holding each qnn value, per physical layout.
    bufs: HashMap<(ValueId, Layout), BufId>,
    weights: HashMap<(String, Packing), WeightId>,
    /// Which layout each value is produced in.
    layout: HashMap<ValueId, Layout>,
    /// The second-result projection of each two-result conv (`Graph::second_results`).
    seconds: HashMap<ValueId, ValueId>,
    /// Quantize nodes waiting for the conv that reads them (value, or a layout transform of
    /// it -> node), which fuses them into its loader where its kernel can
    /// ([`Self::quantize_reader`]).
    deferred_quantize: HashMap<ValueId, usize>,
}

fn logical(g: &Graph, v: ValueId, l: Layout) -> [i64; 4] {
    let t = g.value_type(v);
    if t.shape.len() == 2 {
        [t.shape[0], t.shape[1], 1, 1]
    } else {
        l.nchw(&t.shape)
    }
}

/// The layout the indices of qnn value `v` follow (how its buffer's logical dims are read):
/// `NC` for 2-D values, the producing op's layout, for arguments their first consumer's.
pub fn qnn_layout(g: &Graph, v: ValueId) -> Layout {
    let t = g.value_type(v);
    if t.shape.len() == 2 {
        return Layout::NC;
    }
    let Some(n) = g.node_of(v) else {
        // A function argument: the layout named by its first consumer that names one (as any
        // operand: a residual argument is read in the conv's layout).
        return g
            .nodes
            .iter()
            .filter(|n| n.operands.contains(&v))
            .find_map(|n| n.op.layout())
            .unwrap_or(Layout::NCHW);
    };
    match &n.op {
        Op::Quantize { layout, .. }
        | Op::Conv2d { layout, .. }
        | Op::Conv2dFused { layout, .. }
        | Op::Requantize { layout, .. }
        | Op::Add { layout, .. }
        | Op::Relu { layout }
        | Op::Clamp { layout, .. }
        | Op::MaxPool2d { layout, .. }
        | Op::AvgPool2d { layout, .. }
        | Op::AvgPool2dF32 { layout, .. }
        | Op::GatherChannels { layout, .. }
        | Op::Mul { layout }
        | Op::Lookup { layout, .. }
        | Op::Concat { layout } => *layout,
        Op::LayoutTransform { dst, .. } => *dst,
        Op::SecondResult => qnn_layout(g, n.operands[0]),
        _ => Layout::NCHW,
    }
}

impl<'g> Lowering<'g> {
    /// The physical layout a consumer op wants for its activation operand.
    fn wanted(&self, node: usize) -> Option<Layout> {
        let n = &self.g.nodes[node];
        match &n.op {
            Op::Conv2d { .. } | Op::Conv2dFused { .. } => {
                let x = self.g.value_type(n.operands[0]);
                let w = self.g.value_type(n.operands[1]);
                let (_, _, layout, kernel_layout, _, _, _) = conv_parts(&n.op)?;
                let [b, c, ..] = layout.nchw(&x.shape);
                let [o, ..] = kernel_layout.oihw(&w.shape);
                Some(match self.strategy(b, c, o, x.elem, w.elem) {
                    Strategy::Direct => Layout::HWNC,
                    Strategy::Im2col => Layout::NHWC,
                })
            }
            Op::Dense | Op::Flatten { .. } | Op::Dequantize { .. } | Op::Softmax { .. }
                if self.g.value_type(n.operands[0]).shape.len() == 2 =>
            {
                Some(Layout::NC)
            }
            _ => None,
        }
    }

    fn strategy(&self, b: i64, c: i64, o: i64, a: ElemType, w: ElemType) -> Strategy {
        let s = choose_strategy(self.target, b, c, o, a, w);
        match self.opts.strategy {
            Some(Strategy::Im2col) => Strategy::Im2col,
            _ => s,
        }
    }

    /// Decide, back to front, the layout each value is produced in: the layout its first
    /// layout-sensitive consumer wants, else that of its first consumer's output. Values that
    /// nothing downstream constrains (a network's tail: conv -> average pool -> requantize ->
    /// flatten -> dense) then take, front to back, the layout their producer works in: a
    /// conv's input layout, the operand's for pools and elementwise ops. So the last conv
    /// writes the layout its residual stream already has instead of relayouting that stream.
    fn plan_layouts(&mut self) {
        let nargs = self.g.args.len();
        let total = nargs + self.g.nodes.len();
        let mut users: Vec<Vec<usize>> = vec![vec![]; total];
        for (i, n) in self.g.nodes.iter().enumerate() {
            for &v in &n.operands {
                users[v].push(i);
            }
        }
        // values whose layout nothing downstream asks for
        let mut free = std::collections::HashSet::new();
        for v in (0..total).rev() {
            let t = self.g.value_type(v);
            if t.shape.len() == 2 {
                self.layout.insert(v, Layout::NC);
                continue;
            }
            // a two-result conv writes both results in one layout: the one its 4-bit second
            // result's consumers want (conv inputs), planned already (it comes later)
            if let Some(&p) = self.seconds.get(&v) {
                let l = self.layout[&p];
                self.layout.insert(v, l);
                continue;
            }
            let mut l = None;
            for &u in &users[v] {
                if let Some(w) = self.wanted(u) {
                    l = Some(w);
                    break;
                }
            }
            if l.is_none() {
                let first = users[v].first().map(|&u| nargs + u);
                l = first
                    .and_then(|u| self.layout.get(&u).copied())
                    // A 4-D value never takes the 2-D layout of a flatten/dense downstream.
                    .filter(|&l| l != Layout::NC);
                if l.is_none() || first.is_some_and(|u| free.contains(&u)) {
                    free.insert(v);
                }
            }
            let default = if t.elem == ElemType::F32 {
                Layout::NCHW
            } else {
                Layout::NHWC
            };
            self.layout.insert(v, l.unwrap_or(default));
        }
        // a free value may change its layout when every reader follows it (pools and
        // elementwise ops whose results may change too) or reads any layout alike (the flatten
        // of an N x C x 1 x 1 value), and it is no function result (whose layout is the
        // caller's)
        let follows = |op: &Op| {
            matches!(
                op,
                Op::AvgPool2d { .. }
                    | Op::AvgPool2dF32 { .. }
                    | Op::GatherChannels { .. }
                    | Op::MaxPool2d { .. }
                    | Op::Requantize { .. }
                    | Op::Relu { .. }
                    | Op::Lookup { .. }
                    | Op::Clamp { .. }
            )
        };
        let seconds: std::collections::HashSet<ValueId> = self.seconds.values().copied().collect();
        let mut movable = std::collections::HashSet::new();
        for v in (nargs..total).rev() {
            let t = self.g.value_type(v);
            let ok = free.contains(&v)
                && !self.g.results.contains(&v)
                && !seconds.contains(&v)
                && !users[v].is_empty()
                && users[v].iter().all(|&u| {
                    let op = &self.g.nodes[u].op;
                    (follows(op) && movable.contains(&(nargs + u)))
                        || (matches!(op, Op::Flatten { .. })
                            && t.shape.len() == 4
                            && logical(self.g, v, qnn_layout(self.g, v))[2..] == [1, 1])
                });
            if ok {
                movable.insert(v);
            }
        }
        for v in nargs..total {
            if !movable.contains(&v) {
                continue;
            }
            let n = &self.g.nodes[v - nargs];
            let l = match &n.op {
                Op::Conv2d { .. } | Op::Conv2dFused { .. } => self.wanted(v - nargs),
                op if follows(op) => n
                    .operands
                    .first()
                    .and_then(|x| self.layout.get(x).copied())
                    .filter(|&l| l != Layout::NC),
                _ => None,
            };
            if let Some(l) = l {
                self.layout.insert(v, l);
            }
        }
    }

    /// The buffer of value `v` in layout `l`, relayouting from its produced buffer if needed.
    fn buffer(&mut self, v: ValueId, l: Layout) -> BufId {
        if let Some(&b) = self.bufs.get(&(v, l)) {
            return b;
        }
        let produced = self.layout[&v];
        let src = self.bufs[&(v, produced)];
        let dst = self.new_buffer(v, l);
        self.p.ops.push(TcOp::Relayout {
            input: src,
            output: dst,
        });
        dst
    }

    fn new_buffer(&mut self, v: ValueId, l: Layout) -> BufId {
        let t = self.g.value_type(v);
        let dims = logical(self.g, v, qnn_layout(self.g, v));
        self.p.buffers.push(ActBuffer::new(l, t.elem, dims));
        let id = self.p.buffers.len() - 1;
        self.bufs.insert((v, l), id);
        id
    }

    fn output(&mut self, v: ValueId) -> BufId {
        let l = self.layout[&v];
        self.new_buffer(v, l)
    }

    /// The buffers of a one-input op whose input is read in the layout of its result `v`:
    /// (input `x`'s buffer, `v`'s).
    fn unary_io(&mut self, v: ValueId, x: ValueId) -> (BufId, BufId) {
        let l = self.layout[&v];
        let input = self.buffer(x, l);
        (input, self.output(v))
    }

    /// What the lowering needs beyond qnn's verifier, checked before anything is planned:
    /// conv / dense weights and biases are qnn.weight constants (packed at compile time), and
    /// the function's arguments are activations (N x C x H x W or N x C).
    fn preconditions(&self) -> Result<(), String> {
        let g = self.g;
        for (i, a) in g.args.iter().enumerate() {
            if a.shape.len() != 2 && a.shape.len() != 4 {
                return Err(format!(
                    "argument {i} is {}: nibble compiles functions of N x C x H x W or N x C activations",
                    a.mlir()
                ));
            }
        }
        for n in &g.nodes {
            if !matches!(n.op, Op::Conv2d { .. } | Op::Conv2dFused { .. } | Op::Dense) {
                continue;
            }
            // weight and bias: a fused conv's residual, when it has one, is its last operand
            let residual = matches!(
                &n.op,
                Op::Conv2dFused { epilogue, .. } if matches!(epilogue.kind, EpilogueKind::Residual { .. })
            );
            let constants =
                n.operands.len().min(3) - usize::from(residual && n.operands.len() == 3);
            for (k, &v) in n.operands.iter().enumerate().take(constants).skip(1) {
                if !matches!(g.node_of(v).map(|d| &d.op), Some(Op::Weight { .. })) {
                    let at = if n.loc.is_empty() {
                        String::new()
                    } else {
                        format!("{}: ", n.loc)
                    };
                    return Err(format!(
                        "{at}'qnn.{}' operand {k} ({}) is not a qnn.weight: nibble packs conv and dense weights and biases at compile time",
                        n.op.mnemonic(),
                        if k == 1 { "weight" } else { "bias" }
                    ));
                }
            }
        }
        Ok(())
    }

    fn weight(
        &mut self,
        v: ValueId,
        packing: Packing,
        dims: [i64; 4],
        source_layout: KernelLayout,
    ) -> Result<WeightId, String> {
        let Some(Op::Weight { name }) = self.g.node_of(v).map(|n| &n.op) else {
            return Err("conv/dense weights and biases must be qnn.weight constants".into());
        };
        let key = (name.clone(), packing.clone());
        if let Some(&w) = self.weights.get(&key) {
            return Ok(w);
        }
        let suffix = match packing {
            Packing::ConvOhwi => "ohwi",
            Packing::ConvHwoi => "hwoi",
            Packing::DenseOk => "ok",
            Packing::Bias => "bias",
        };
        self.p.weights.push(PackedWeight {
            name: format!("{name}.{suffix}"),
            source: name.clone(),
            packing,
            elem: self.g.value_type(v).elem,
            dims,
            source_layout,
            space_to_depth: None,
            widened: false,
            tiles: None,
        });
        let id = self.p.weights.len() - 1;
        self.weights.insert(key, id);
        Ok(id)
    }

    /// The node (index, node) that is the only reader of `v`, reading nothing else, when `v` is
    /// not also a function result: what a kernel can compute in the epilogue of `v`'s.
    fn sole_reader(&self, v: ValueId) -> Option<(usize, &'g nibble_qnn::graph::Node)> {
        if self.g.results.contains(&v) {
            return None;
        }
        let mut readers = self
            .g
            .nodes
            .iter()
            .enumerate()
            .filter(|(_, n)| n.operands.contains(&v));
        let (u, n) = readers.next()?;
        if readers.next().is_some() || n.operands.len() != 1 {
            return None;
        }
        Some((u, n))
    }

    /// Whether quantize result `v` may be computed inside the conv that reads it: its only reader
    /// is a plain (one group, no residual) conv reading it as the input and padding with 0,
    /// and it is an 8-bit tensor of at most 4 channels (one 32-bit word a pixel: the
    /// register-MMA kernel's taps-along-K mode, the 3-channel stem, quantizes a word where it
    /// loads it). `v` is no function result.
    fn quantize_reader(&self, v: ValueId) -> bool {
        let t = self.g.value_type(v);
        if self.g.results.contains(&v) || t.elem.bits() != 8 || t.shape.len() != 4 {
            return false;
        }
        // the loader quantizes; a float preprocessing stays in the quantize kernel
        let pre = self.g.node_of(v).map(|n| &n.op);
        if matches!(pre, Some(Op::Quantize { pre, .. }) if !pre.is_empty()) {
            return false;
        }
        let nargs = self.g.args.len();
        let mut v = v;
        let n = loop {
            let mut readers = self
                .g
                .nodes
                .iter()
                .enumerate()
                .filter(|(_, n)| n.operands.contains(&v));
            let (Some((u, n)), None) = (readers.next(), readers.next()) else {
                return false;
            };
            // layout transforms are views: follow them to the conv
            match n.op {
                Op::LayoutTransform { .. } if !self.g.results.contains(&(nargs + u)) => {
                    v = nargs + u
                }
                _ => break n,
            }
        };
        let Some((_, _, layout, _, fused, padding_value, groups)) = conv_parts(&n.op) else {
            return false;
        };
        let residual = matches!(fused.map(|e| &e.kind), Some(EpilogueKind::Residual { .. }));
        n.operands[0] == v
            && n.operands.iter().filter(|&&o| o == v).count() == 1
            && groups == 1
            && !residual
            && padding_value == 0
            && layout.nchw(&self.g.value_type(v).shape)[1] <= 4
    }

    /// The `qnn.dequantize` node (index, scales) that is the only reader of dense result `v`,
    /// when `v` is not also a function result: the dense kernel then writes the f32 values.
    fn fused_dequantize(&self, v: ValueId) -> Option<(usize, Vec<f32>)> {
        let (u, n) = self.sole_reader(v)?;
        match &n.op {
            Op::Dequantize { scales, .. } => Some((u, scales.clone())),
            _ => None,
        }
    }

    /// The requantize that is the only reader of pool result `v` (not a function result), in
    /// `v`'s layout: its node index and step.
    fn fused_requantize(&self, v: ValueId) -> Option<(usize, RequantizeStep)> {
        // an i32 pool result holds every pooled value (narrower ones are checked by the store)
        if self.g.value_type(v).elem != ElemType::I32 {
            return None;
        }
        let (u, n) = self.sole_reader(v)?;
        let nargs = self.g.args.len();
        if self.layout.get(&(nargs + u)) != self.layout.get(&v) {
            return None;
        }
        match &n.op {
            // the pool kernel's requantize has no f32_fma offset
            Op::Requantize {
                scales,
                rounding,
                zero_point,
                clamp,
                offset,
                ..
            } if offset.is_empty() && *rounding != Rounding::F32Fma => Some((
                u,
                RequantizeStep {
                    scales: scales.clone(),
                    rounding: *rounding,
                    zero_point: *zero_point,
                    clamp: *clamp,
                },
            )),
            _ => None,
        }
    }

    /// The kernel `crate::select` chooses for `conv`.
    fn kernel(&self, conv: &Conv) -> Kernel {
        let spec = ConvSpec::conv(conv, &self.p.buffers, &self.p.weights);
        choose(
            &spec,
            &conv.tiling,
            self.target,
            self.opts.kernel,
            self.opts.tile,
        )
    }

    /// The conv node that is value `v`'s only reader and adds it as its residual, when `v` is
    /// a 1x1 `qnn.conv2d` without padding (one group) that is not a function result: a
    /// shortcut that conv can compute as a second GEMM on its output tile (ResNet's
    /// downsampling identity conv).
    fn shortcut_reader(&self, v: ValueId) -> Option<usize> {
        let nargs = self.g.args.len();
        let n = self.g.nodes.get(v.checked_sub(nargs)?)?;
        let Op::Conv2d {
            padding,
            groups: 1,
            kernel_layout,
            ..
        } = &n.op
        else {
            return None;
        };
        let wt = self.g.value_type(*n.operands.get(1)?);
        let [_, _, kh, kw] = kernel_layout.oihw(&wt.shape);
        if *padding != [0; 4] || [kh, kw] != [1, 1] || self.g.results.contains(&v) {
            return None;
        }
        let mut readers = self
            .g
            .nodes
            .iter()
            .enumerate()
            .filter(|(_, r)| r.operands.contains(&v));
        let (u, r) = readers.next()?;
        if readers.next().is_some() || r.operands.iter().filter(|&&o| o == v).count() != 1 {
            return None;
        }
        match &r.op {
            Op::Conv2dFused { epilogue, .. }
                if matches!(epilogue.kind, EpilogueKind::Residual { .. })
                    && r.operands.last() == Some(&v) =>
            {
                Some(u)
            }
            _ => None,
        }
    }

    /// The operands of shortcut conv node `j` for a conv reading `in_layout` inputs and
    /// `packing` weights: None unless `j` would run with that strategy on an input already in
    /// that layout (then its weights are packed once, for either kernel).
    fn shortcut_operands(
        &mut self,
        j: usize,
        in_layout: Layout,
        packing: &Packing,
    ) -> Result<Option<Shortcut>, String> {
        let g = self.g;
        let n = &g.nodes[j];
        let Op::Conv2d {
            strides,
            kernel_layout,
            layout,
            ..
        } = &n.op
        else {
            return Ok(None);
        };
        let x = g.value_type(n.operands[0]);
        let wt = g.value_type(n.operands[1]);
        let [b, c, ..] = layout.nchw(&x.shape);
        let [o, cx, _, _] = kernel_layout.oihw(&wt.shape);
        let own = match self.strategy(b, c, o, x.elem, wt.elem) {
            Strategy::Direct => Layout::HWNC,
            Strategy::Im2col => Layout::NHWC,
        };
        let Some(&input) = self.bufs.get(&(n.operands[0], in_layout)) else {
            return Ok(None);
        };
        if own != in_layout {
            return Ok(None);
        }
        let weight = self.weight(
            n.operands[1],
            packing.clone(),
            [o, cx, 1, 1],
            *kernel_layout,
        )?;
        let bias = match n.operands.get(2) {
            Some(&bv) => Some(self.weight(bv, Packing::Bias, [o, 1, 1, 1], KernelLayout::OIHW)?),
            None => None,
        };
        Ok(Some(Shortcut {
            input,
            weight,
            bias,
            strides: *strides,
        }))
    }

    /// Lower quantize node `i` into a `tcconv.quantize` writing a buffer of its own.
    fn quantize(&mut self, i: usize) {
        let n = &self.g.nodes[i];
        let Op::Quantize {
            scale,
            zero_point,
            mode,
            pre,
            ..
        } = &n.op
        else {
            unreachable!("a quantize node");
        };
        let input = self.buffer(n.operands[0], self.layout[&n.operands[0]]);
        let output = self.output(self.g.args.len() + i);
        self.p.ops.push(TcOp::Quantize {
            input,
            output,
            scale: *scale,
            zero_point: *zero_point,
            mode: *mode,
            padding: [0; 4],
            padding_value: 0,
            space_to_depth: 0,
            pre: pre.clone(),
        });
    }

    /// Lower conv node `i`; `shortcut`: the deferred 1x1 conv node its residual is
    /// ([`Self::shortcut_reader`]), run as the conv's shortcut GEMM where the kernel chosen for
    /// the conv takes it in the same family as without it, else lowered on its own first.
    fn conv(&mut self, i: usize, shortcut: Option<usize>) -> Result<(), String> {
        let g = self.g;
        let nargs = g.args.len();
        let n = &g.nodes[i];
        let v = nargs + i;
        let here = |e: String| e;
        let (strides, padding, layout, kernel_layout, fused, padding_value, groups) =
            conv_parts(&n.op).expect("a conv");
        let has_residual = matches!(fused.map(|e| &e.kind), Some(EpilogueKind::Residual { .. }));
        let x = g.value_type(n.operands[0]);
        let wt = g.value_type(n.operands[1]);
        let [b, c, ..] = layout.nchw(&x.shape);
        let [o, cg, kh, kw] = kernel_layout.oihw(&wt.shape);
        // a grouped conv takes the strategy (and so the layout) a plain one would:
        // the simple family that runs it reads either, no relayout around it
        let strategy = self.strategy(b, c, o, x.elem, wt.elem);
        let in_layout = if strategy == Strategy::Direct {
            Layout::HWNC
        } else {
            Layout::NHWC
        };
        // a deferred quantize (`quantize_reader`): read its f32 input, as the quantized tensor
        // it stands for, where the kernel chosen below can
        let quantize_node = self.deferred_quantize.remove(&n.operands[0]);
        let mut input = match quantize_node {
            Some(qi) => {
                let src = g.nodes[qi].operands[0];
                self.buffer(src, self.layout[&src])
            }
            None => self.buffer(n.operands[0], in_layout),
        };
        let quantize = quantize_node.map(|qi| {
            let Op::Quantize {
                scale,
                zero_point,
                mode,
                ..
            } = &g.nodes[qi].op
            else {
                unreachable!("a quantize node");
            };
            let xv = n.operands[0];
            InputQuantize {
                scale: *scale,
                zero_point: *zero_point,
                mode: *mode,
                quantized: ActBuffer::new(in_layout, x.elem, logical(g, xv, qnn_layout(g, xv))),
            }
        });
        // padded taps reading a value other than 0: an explicit pad, then the
        // conv without padding (every kernel family zero-fills its padding)
        let mut padding = *padding;
        if padding_value != 0 && padding.iter().any(|&p| p > 0) {
            let src = self.p.buffers[input].clone();
            let dims = padded_dims(src.dims, padding).ok_or("a negative conv padding")?;
            self.p
                .buffers
                .push(ActBuffer::new(src.layout, src.elem, dims));
            let padded = self.p.buffers.len() - 1;
            self.p.ops.push(TcOp::Pad {
                input,
                output: padded,
                padding,
                value: padding_value,
            });
            input = padded;
            padding = [0; 4];
        }
        let padding = &padding;
        let packing = if strategy == Strategy::Direct {
            Packing::ConvHwoi
        } else {
            Packing::ConvOhwi
        };
        let weight = self
            .weight(
                n.operands[1],
                packing.clone(),
                [o, cg, kh, kw],
                *kernel_layout,
            )
            .map_err(here)?;
        let bias = match n.operands.len() - has_residual as usize {
            3 => Some(
                self.weight(
                    n.operands[2],
                    Packing::Bias,
                    [o, 1, 1, 1],
                    KernelLayout::OIHW,
                )
                .map_err(here)?,
            ),
            _ => None,
        };
        let mut sc = match shortcut {
            Some(j) => self.shortcut_operands(j, in_layout, &packing)?,
            None => None,
        };
        if let (Some(j), None) = (shortcut, &sc) {
            self.conv(j, None)?;
        }
        let residual = if has_residual && sc.is_none() {
            let l = self.layout[&v];
            Some(self.buffer(n.operands[n.operands.len() - 1], l))
        } else {
            None
        };
        let out = logical(g, v, *layout);
        let kdim = kh * kw * padded_channels(x.elem, c);
        let gemm = match strategy {
            Strategy::Direct => [b * out[2] * out[3], o, kdim],
            Strategy::Im2col => [b * out[2] * out[3], o, kdim],
        };
        let tiling = choose_tiling(self.target, gemm, x.elem, wt.elem, self.opts.tile);
        let output = self.output(v);
        let second = self.seconds.get(&v).copied().map(|p| self.output(p));
        let mut conv = Conv {
            input,
            weight,
            bias,
            residual,
            output,
            second,
            strides: *strides,
            padding: *padding,
            kernel: [kh, kw],
            strategy,
            tiling,
            epilogue: fused.cloned().unwrap_or(Epilogue::none()),
            family: Family::Simple,
            groups,
            shortcut: sc.take(),
            quantize,
            pool: None,
            chain: None,
        };
        // the fused quantize stays where the conv's kernel computes it (`fuses_input_quantize`);
        // elsewhere it is an op of its own
        if let Some(qi) = quantize_node {
            if !fuses_input_quantize(&self.kernel(&conv), self.target) {
                self.quantize(qi);
                // the conv's operand: the quantize's value or a view of it (layout transforms)
                let (qv, xv) = (nargs + qi, n.operands[0]);
                let l = self.layout[&qv];
                let b = self.bufs[&(qv, l)];
                self.layout.insert(xv, l);
                self.bufs.insert((xv, l), b);
                conv.quantize = None;
                conv.input = self.buffer(xv, in_layout);
            }
        }
        // the kernel chosen with the shortcut in view (None: the selection's choice for the conv
        // as it ends up)
        let mut kernel = None;
        if let (Some(j), Some(_)) = (shortcut, &conv.shortcut) {
            // the shortcut stays in the conv where the family the conv takes without it runs
            // it too; a conv whose K the staged kernel would split across a cluster then slices
            // it across the block's warps only (the cluster's reduction carries no shortcut; on
            // a late layer at batch 1 the cluster is worth less than the shortcut's own launch)
            let fused = self.kernel(&conv);
            let l = self.layout[&v];
            let wide = ActBuffer::new(l, ElemType::I32, self.p.buffers[output].dims);
            let spec = ConvSpec::conv(&conv, &self.p.buffers, &self.p.weights);
            // the conv alone: the shortcut's map read as its residual
            let alone_spec = ConvSpec {
                shortcut: None,
                residual: Some(&wide),
                ..spec
            };
            let alone = choose(
                &alone_spec,
                &conv.tiling,
                self.target,
                self.opts.kernel,
                self.opts.tile,
            );
            kernel = match (fused.family(), &alone, self.opts.kernel) {
                (f, a, _) if f == a.family() => Some(fused),
                // staged alone, wgmma only with the shortcut's work added (its N = 64 tiles
                // double the grid): the staged kernel runs both GEMMs (measured on an H200 where
                // ResNet-50 W4A4 batch 8's stage-1 downsampling conv was such a pair, before
                // one-warpgroup tiles took both: the network 2.4% faster than with the staged
                // conv and the shortcut apart)
                (Family::Wgmma, Kernel::Staged(_), Choice::Auto) => {
                    staged_plan(&spec, &conv.tiling, self.target).map(Kernel::Staged)
                }
                // wgmma alone, staged with the shortcut's wide K added (`select::wgmma_pays`):
                // the staged kernel runs both, as it does on sm_90
                (Family::Staged, Kernel::Wgmma(_), Choice::Auto) => Some(fused),
                _ => None,
            }
            .filter(|k| matches!(k.family(), Family::Staged | Family::Wgmma));
            if kernel.is_none() {
                conv.shortcut = None;
                self.conv(j, None)?;
                conv.residual = Some(self.buffer(n.operands[n.operands.len() - 1], l));
            }
        }
        let (family, writes_second, wgmma_tile, k_cluster, tiles_per_block, bounded_sum) = {
            let spec = ConvSpec::conv(&conv, &self.p.buffers, &self.p.weights);
            let k = kernel.unwrap_or_else(|| self.kernel(&conv));
            let wgmma_tile = match &k {
                Kernel::Wgmma(p) => Some([p.bm(), p.bn, p.wbk()]),
                _ => None,
            };
            // more tiles a block where asked for and the plan takes them
            let tiles_per_block = match (&k, self.opts.tiles_per_block) {
                (Kernel::Wgmma(p), Some(n)) if p.block_tiles_error(n).is_none() => n,
                _ => 1,
            };
            // the staged kernel's K across a thread-block cluster, where asked for
            let k_cluster = match &k {
                Kernel::Staged(p) if self.opts.k_cluster => k_cluster(p, &spec, self.target),
                _ => 1,
            };
            (
                k.family(),
                simple_writes_second(&spec),
                wgmma_tile,
                k_cluster,
                tiles_per_block,
                conv.shortcut.is_some()
                    && self.opts.shortcut_sums.bounded_on(&k, &spec, self.target),
            )
        };
        conv.family = family;
        conv.tiling.bounded_sum = bounded_sum;
        conv.tiling.k_cluster = k_cluster;
        conv.tiling.tiles_per_block = tiles_per_block;
        // the wgmma kernel's tile is the op's block tile
        if let Some(t) = wgmma_tile {
            conv.tiling.block_tile = t;
        }
        // one op is one launch: a second output the simple kernel cannot write in
        // its own output groups becomes a requantize op of its own
        let split = family == Family::Simple && !writes_second;
        let rq = if split {
            conv.second_requantize()
        } else {
            None
        };
        if rq.is_some() {
            conv.second = None;
            conv.epilogue.second = None;
        }
        self.p.ops.push(TcOp::Conv2d(conv));
        self.p.ops.extend(rq);
        Ok(())
    }

    fn run(mut self) -> Result<Program, String> {
        self.preconditions()?;
        self.plan_layouts();
        let g = self.g;
        let nargs = g.args.len();
        for (i, _) in g.args.iter().enumerate() {
            // f32 inputs keep the caller's layout (an NCHW image: the quantize kernel does the
            // edge layout change); integer inputs are packed by the host straight into the
            // layout their consumers want (channels innermost).
            let l = if g.args[i].shape.len() == 2 {
                Layout::NC
            } else if g.args[i].elem == ElemType::F32 {
                qnn_layout(g, i)
            } else {
                self.layout[&i]
            };
            self.layout.insert(i, l);
            let b = self.new_buffer(i, l);
            self.p.inputs.push(b);
        }
        // dequantize nodes computed in the epilogue of the dense they follow
        let mut fused_into = HashSet::new();
        // shortcut convs waiting for the conv that reads them (value -> node)
        let mut deferred: HashMap<ValueId, usize> = HashMap::new();
        for (i, n) in g.nodes.iter().enumerate() {
            let v = nargs + i;
            let here = |e: String| {
                if n.loc.is_empty() {
                    e
                } else {
                    format!("{}: {e}", n.loc)
                }
            };
            match &n.op {
                // written by the conv it projects
                Op::Weight { .. } | Op::SecondResult => {}
                Op::LayoutTransform { .. } => {
                    // Logical identity: the value aliases its operand's buffers (or, of a
                    // deferred quantize, waits with it).
                    let src = n.operands[0];
                    if let Some(qi) = self.deferred_quantize.remove(&src) {
                        self.deferred_quantize.insert(v, qi);
                        continue;
                    }
                    let l = self.layout[&src];
                    self.layout.insert(v, l);
                    let b = self.bufs[&(src, l)];
                    self.bufs.insert((v, l), b);
                }
                Op::Quantize { .. } => {
                    if !self.opts.fuse_quantize || !self.quantize_reader(v) {
                        self.quantize(i);
                    } else {
                        self.deferred_quantize.insert(v, i);
                    }
                }
                Op::Conv2d { .. } | Op::Conv2dFused { .. } => {
                    // a 1x1 conv whose only reader adds it as its residual: computed there
                    // (its shortcut), unless that kernel cannot
                    if !self.opts.separate_shortcuts && self.shortcut_reader(v).is_some() {
                        deferred.insert(v, i);
                        continue;
                    }
                    let residual = n.operands.last().copied();
                    let shortcut = residual.and_then(|r| deferred.remove(&r));
                    self.conv(i, shortcut).map_err(here)?;
                }
                Op::Dense => {
                    let x = g.value_type(n.operands[0]);
                    let wt = g.value_type(n.operands[1]);
                    let input = self.buffer(n.operands[0], Layout::NC);
                    let weight = self
                        .weight(
                            n.operands[1],
                            Packing::DenseOk,
                            [wt.shape[0], wt.shape[1], 1, 1],
                            KernelLayout::OIHW,
                        )
                        .map_err(here)?;
                    let bias = match n.operands.get(2) {
                        Some(&bv) => Some(
                            self.weight(
                                bv,
                                Packing::Bias,
                                [wt.shape[0], 1, 1, 1],
                                KernelLayout::OIHW,
                            )
                            .map_err(here)?,
                        ),
                        None => None,
                    };
                    let tiling = choose_tiling(
                        self.target,
                        [x.shape[0], wt.shape[0], padded_channels(x.elem, x.shape[1])],
                        x.elem,
                        wt.elem,
                        self.opts.tile,
                    );
                    // a dequantize that is the dense result's only reader runs in its epilogue
                    let fused = self.fused_dequantize(v);
                    let (output, dequantize) = match fused {
                        Some((u, scales)) => {
                            fused_into.insert(u);
                            (self.output(nargs + u), Some(scales))
                        }
                        None => (self.output(v), None),
                    };
                    self.p.ops.push(TcOp::Dense(Dense {
                        input,
                        weight,
                        bias,
                        output,
                        dequantize,
                        pool: None,
                        tiling,
                        epilogue: Epilogue {
                            kind: EpilogueKind::None,
                            rounding: Rounding::HalfToEven,
                            clamp: [i32::MIN as i64, i32::MAX as i64],
                            relu: false,
                            second: None,
                            then: None,
                        },
                    }));
                }
                // computed by the pool kernel it follows
                Op::Requantize { .. } if fused_into.contains(&i) => {}
                Op::Requantize {
                    scales,
                    rounding,
                    zero_point,
                    clamp,
                    offset,
                    ..
                } => {
                    let l = self.layout[&v];
                    let inputs = vec![self.buffer(n.operands[0], l)];
                    let output = self.output(v);
                    let op = Elementwise::Requantize {
                        scales: scales.clone(),
                        rounding: *rounding,
                        zero_point: *zero_point,
                        clamp: *clamp,
                        offset: offset.clone(),
                    };
                    self.p.ops.push(TcOp::Elementwise { op, inputs, output });
                }
                Op::Add {
                    lhs,
                    rhs,
                    rounding,
                    clamp,
                    bias,
                    ..
                } => {
                    let l = self.layout[&v];
                    let inputs = vec![self.buffer(n.operands[0], l), self.buffer(n.operands[1], l)];
                    let output = self.output(v);
                    let op = Elementwise::Add {
                        bias: *bias,
                        lhs: lhs.clone(),
                        rhs: rhs.clone(),
                        rounding: *rounding,
                        clamp: *clamp,
                    };
                    self.p.ops.push(TcOp::Elementwise { op, inputs, output });
                }
                Op::Mul { .. } => {
                    let l = self.layout[&v];
                    let (x, y) = (n.operands[0], n.operands[1]);
                    // an N x C x 1 x 1 rhs is read at (n, c, 0, 0) in whatever layout it has
                    let broadcast = g.value_type(y).shape != g.value_type(x).shape;
                    let ly = if broadcast { self.layout[&y] } else { l };
                    let inputs = vec![self.buffer(x, l), self.buffer(y, ly)];
                    let output = self.output(v);
                    let op = Elementwise::Mul;
                    self.p.ops.push(TcOp::Elementwise { op, inputs, output });
                }
                Op::Lookup { table, .. } => {
                    let (input, output) = self.unary_io(v, n.operands[0]);
                    let inputs = vec![input];
                    let op = Elementwise::Lookup {
                        table: table.clone(),
                    };
                    self.p.ops.push(TcOp::Elementwise { op, inputs, output });
                }
                Op::Relu { .. } | Op::Clamp { .. } => {
                    let (input, output) = self.unary_io(v, n.operands[0]);
                    let inputs = vec![input];
                    let op = match &n.op {
                        Op::Clamp { min, max, .. } => Elementwise::Clamp {
                            min: *min,
                            max: *max,
                        },
                        _ => Elementwise::Relu,
                    };
                    self.p.ops.push(TcOp::Elementwise { op, inputs, output });
                }
                Op::MaxPool2d {
                    kernel,
                    strides,
                    padding,
                    ..
                }
                | Op::AvgPool2d {
                    kernel,
                    strides,
                    padding,
                    ..
                } => {
                    let l = self.layout[&v];
                    let input = self.buffer(n.operands[0], l);
                    // a requantize that is the pool's only reader runs in the pool kernel
                    let (output, requantize) = match self.fused_requantize(v) {
                        Some((u, step)) => {
                            fused_into.insert(u);
                            (self.output(nargs + u), Some(step))
                        }
                        None => (self.output(v), None),
                    };
                    let kind = if matches!(n.op, Op::MaxPool2d { .. }) {
                        PoolKind::Max
                    } else {
                        PoolKind::Avg
                    };
                    let divisor = match n.op {
                        Op::AvgPool2d { divisor, .. } => divisor,
                        _ => None,
                    };
                    self.p.ops.push(TcOp::Pool {
                        kind,
                        input,
                        output,
                        kernel: *kernel,
                        strides: *strides,
                        padding: *padding,
                        divisor,
                        requantize,
                        second: None,
                    });
                }
                Op::AvgPool2dF32 {
                    kernel,
                    strides,
                    padding,
                    ..
                } => {
                    let (input, output) = self.unary_io(v, n.operands[0]);
                    self.p.ops.push(TcOp::Pool {
                        kind: PoolKind::AvgF32(n.op.avg_pool_f32().expect("an avg_pool2d_f32")),
                        input,
                        output,
                        kernel: *kernel,
                        strides: *strides,
                        padding: *padding,
                        divisor: None,
                        requantize: None,
                        second: None,
                    });
                }
                Op::Flatten { .. } => {
                    let src = n.operands[0];
                    let input = self.buffer(src, self.layout[&src]);
                    let internal = src >= self.g.args.len() && !self.g.results.contains(&v);
                    if internal && self.p.buffers[input].stored_as_nc() {
                        // N x C x 1 x 1 is stored as N x C already: the flattened value is the
                        // same buffer (no copy, no launch); inputs and results keep their own
                        self.bufs.insert((v, self.layout[&v]), input);
                    } else {
                        let output = self.output(v);
                        self.p.ops.push(TcOp::Relayout { input, output });
                    }
                }
                Op::Concat { .. } => {
                    // each input as it was produced: the kernel reads any layout and storage
                    let inputs = n
                        .operands
                        .iter()
                        .map(|&x| self.buffer(x, self.layout[&x]))
                        .collect();
                    let output = self.output(v);
                    self.p.ops.push(TcOp::Concat { inputs, output });
                }
                // computed by the dense kernel it follows
                Op::Dequantize { .. } if fused_into.contains(&i) => {}
                Op::Dequantize { scales, .. } => {
                    let (input, output) = self.unary_io(v, n.operands[0]);
                    self.p.ops.push(TcOp::Dequantize {
                        input,
                        output,
                        scales: scales.clone(),
                    });
                }
                Op::GatherChannels { indices, .. } => {
                    let (input, output) = self.unary_io(v, n.operands[0]);
                    self.p.ops.push(TcOp::Gather {
                        input,
                        output,
                        indices: indices.clone(),
                    });
                }
                Op::Softmax {
                    table,
                    scale,
                    zero_point,
                    ..
                } => {
                    let input = self.buffer(n.operands[0], Layout::NC);
                    let output = self.output(v);
                    self.p.ops.push(TcOp::Softmax {
                        input,
                        output,
                        table: table.clone(),
                        scale: *scale,
                        zero_point: *zero_point,
                    });
                }
            }
        }
        // (a deferred shortcut's reader is a later node, which takes it)
        debug_assert!(deferred.is_empty(), "shortcut convs left unlowered");
        for &r in &g.results {
            let l = self.layout[&r];
            let mut b = self.buffer(r, l);
            // a result that is an input's buffer (an argument returned, or a layout transform of
            // one, which aliases it) or another result's gets a buffer of its own, copied: each
            // output is its own memref, which the kernels write
            if self.p.inputs.contains(&b) || self.p.outputs.contains(&b) {
                let src = b;
                self.p.buffers.push(self.p.buffers[src].clone());
                b = self.p.buffers.len() - 1;
                self.p.ops.push(TcOp::Relayout {
                    input: src,
                    output: b,
                });
            }
            self.p.outputs.push(b);
        }
        if self.opts.fuse_pools {
            fold_pools_into_dense(&mut self.p);
        }
        if self.opts.fuse_max_pool {
            fold_max_pools_into_stems(&mut self.p);
        }
        match self.opts.pool_requantize {
            PoolRequantize::Separate => {}
            PoolRequantize::Second => fold_requantizes_into_pools(&mut self.p, 0),
            PoolRequantize::Auto => fold_requantizes_into_pools(&mut self.p, POOL_SECOND_MIN_BATCH),
        }
        if self.opts.chain >= 2 {
            let tiles = match self.opts.chain_tiles {
                0 => crate::select::CHAIN_CLUSTER_MAX,
                t => t.clamp(1, crate::select::CHAIN_CLUSTER_LIMIT),
            };
            chain_convs(&mut self.p, self.opts.chain, self.opts.chain_wide, tiles);
        }
        match self.opts.streams {
            StreamChoice::I32 => {}
            StreamChoice::Narrow16 => narrow_streams(&mut self.p, (0, 0)),
            StreamChoice::Auto if self.target.simd16() => narrow_streams(
                &mut self.p,
                (NARROW_STREAMS_MIN_BATCH, NARROW_STREAMS_MIN_ELEMENTS),
            ),
            StreamChoice::Auto => {} // i32 streams where escape tests cost one a value
        }
        match self.opts.maps {
            StreamChoice::I32 => {}
            StreamChoice::Narrow16 => narrow_maps(&mut self.p, 0),
            StreamChoice::Auto if self.target.simd16() => {
                narrow_maps(&mut self.p, NARROW_STREAMS_MIN_BATCH)
            }
            StreamChoice::Auto => {}
        }
        if !self.opts.separate_pads {
            fold_pads_into_quantize(&mut self.p);
        }
        if self.opts.stem != StemChoice::Plain {
            space_to_depth_stems(&mut self.p, &self.opts);
        }
        if self.opts.widened_weights != WeightStorage::Packed {
            widen_wgmma_weights(
                &mut self.p,
                self.opts.widened_weights == WeightStorage::Tiles,
            );
        }
        if self.opts.staged_widened {
            widen_staged_weights(&mut self.p);
        }
        if let Some(n) = self.opts.blocks_per_sm {
            set_blocks_per_sm(&mut self.p, n);
        }
        Ok(self.p)
    }
}

/// `blocks-per-sm=N`: each conv on the staged or the wgmma kernel is built for N blocks an SM,
/// or for the most its shared memory, threads and registers allow where that is fewer
/// ([`crate::select::Kernel::most_blocks_per_sm`]); the other convs keep their family's rule.
/// Runs last: the kernel's final plan (its weights' storage, stream tile) decides.
pub fn set_blocks_per_sm(p: &mut Program, n: i64) {
    for i in 0..p.ops.len() {
        let TcOp::Conv2d(c) = &p.ops[i] else {
            continue;
        };
        let spec = crate::select::ConvSpec::conv(c, &p.buffers, &p.weights);
        let most = crate::select::realize(c.family, &spec, &c.tiling, p.target)
            .ok()
            .and_then(|k| k.most_blocks_per_sm(p.target));
        if let (Some(most), TcOp::Conv2d(c)) = (most, &mut p.ops[i]) {
            c.tiling.blocks_per_sm = Some(n.min(most));
        }
    }
}

/// A max pool (no requantize) whose input only it reads, written by a conv that the
/// register-MMA kernel runs with the pool ([`crate::select::pool_plan`]: taps along K, a packed
/// 4-bit output of at most 64 channels), at a batch of at most [`POOL_STEM_MAX_BATCH`], runs in
/// that conv's kernel (`Conv::pool`): the conv's map is never stored, and the network has one
/// launch fewer (ResNet's stem and max pool). The map's buffer is left unused.
pub fn fold_max_pools_into_stems(p: &mut Program) {
    fold_ops(p, |p, i| {
        let TcOp::Pool {
            kind: PoolKind::Max,
            input,
            output,
            kernel,
            strides,
            padding,
            divisor: None,
            requantize: None,
            second: None,
        } = p.ops[i]
        else {
            return false;
        };
        let readers = (0..p.ops.len())
            .filter(|&j| p.ops[j].reads().contains(&input))
            .count();
        let writer = (0..i)
            .rev()
            .find(|&j| p.ops[j].writes_all().contains(&input));
        let conv = match writer.map(|j| (j, &p.ops[j])) {
            Some((j, TcOp::Conv2d(c)))
                if c.output == input
                    && c.pool.is_none()
                    && c.second.is_none()
                    && readers == 1
                    && !p.outputs.contains(&input)
                    && p.buffers[input].dims[0] <= POOL_STEM_MAX_BATCH =>
            {
                let mut c = c.clone();
                c.pool = Some(ConvPool {
                    kernel,
                    strides,
                    padding,
                    map: p.buffers[input].clone(),
                });
                c.output = output;
                let spec = ConvSpec::conv(&c, &p.buffers, &p.weights);
                let takes = matches!(
                    crate::select::realize(c.family, &spec, &c.tiling, p.target),
                    Ok(Kernel::Mma(mp)) if crate::select::pool_plan(&spec, &mp).is_some()
                );
                takes.then_some((j, c))
            }
            _ => None,
        };
        match conv {
            Some((j, c)) => {
                p.ops[j] = TcOp::Conv2d(c);
                true
            }
            None => false,
        }
    })
}

/// A requantize of a max or average pool's map (`TcOp::Pool` without a second output) whose
/// result has the map's dims, layout (channels innermost) and stored channels becomes the
/// pool's second output ([`PoolSecond`]): the pool's kernel requantizes each pooled value as
/// it stores it, so the requantize's launch and its pass over the map go. The requantize moves
/// up to the pool; no op in between touches its output (only the requantize writes it, and
/// nothing reads it before it is written). ResNet-18's pooled stem map: the residual of the
/// first unit reads it as it is, the first conv its 4-bit requantize. Only maps of
/// `min_batch` images or more.
pub fn fold_requantizes_into_pools(p: &mut Program, min_batch: i64) {
    fold_ops(p, |p, i| {
        let TcOp::Elementwise {
            op:
                Elementwise::Requantize {
                    scales,
                    rounding,
                    zero_point,
                    clamp,
                    offset,
                },
            inputs,
            output: r,
        } = &p.ops[i]
        else {
            return false;
        };
        let (map, r) = match inputs[..] {
            [m] if offset.is_empty() && *rounding != Rounding::F32Fma => (m, *r),
            _ => return false,
        };
        let step = RequantizeStep {
            scales: scales.clone(),
            rounding: *rounding,
            zero_point: *zero_point,
            clamp: *clamp,
        };
        let Some(j) = (0..i).rev().find(|&j| p.ops[j].writes_all().contains(&map)) else {
            return false;
        };
        let same =
            PoolSecond::fits(&p.buffers[map], &p.buffers[r]) && p.buffers[map].dims[0] >= min_batch;
        let untouched = p.ops[j + 1..i]
            .iter()
            .all(|op| !op.reads().contains(&r) && !op.writes_all().contains(&r));
        match &mut p.ops[j] {
            TcOp::Pool {
                kind: PoolKind::Max | PoolKind::Avg,
                output,
                second: second @ None,
                ..
            } if *output == map && same && untouched && r != map => {
                *second = Some(PoolSecond {
                    output: r,
                    requantize: step,
                });
                true
            }
            _ => false,
        }
    })
}

/// Removes, in order, every op `i` that `fold(p, i)` folds into another op (it returns true
/// once it has changed that op): the scan the folds below share.
fn fold_ops(p: &mut Program, mut fold: impl FnMut(&mut Program, usize) -> bool) {
    let mut i = 0;
    while i < p.ops.len() {
        if fold(p, i) {
            p.ops.remove(i);
        } else {
            i += 1;
        }
    }
}

/// Chains of consecutive convs, at a batch of at most [`CHAIN_MAX_BATCH`], each conv after the
/// first a 1x1 conv (stride 1, no padding) of what the conv before it writes (its output or its
/// second output) that reads nothing else a conv of the chain writes, run in one kernel where
/// [`crate::select::chain_plan`] takes them (at most `max_len` convs a chain): the ops get one
/// `chain` id, block tiles of one height (one of the convs' own), and each a tile width (and K
/// depth) that gives it at most 8 N tiles (16 with `chains=cluster16`), so no block of the
/// cluster loops over tiles (such a loop's hoisted invariants cost ResNet-50's stage-3 residual
/// conv 240 registers against 140; a conv no width gives that, stage 4's 2048-channel residual
/// convs, stays out of chains). ResNet-50's chains are a unit's 3x3 conv, its residual conv and
/// the next unit's reducing conv. The values are the same (each conv still reads what the one
/// before wrote); what changes is the number of launches.
pub fn chain_convs(p: &mut Program, max_len: usize, wide: bool, max_tiles: i64) {
    let mut next = p
        .ops
        .iter()
        .filter_map(|op| match op {
            TcOp::Conv2d(c) => c.chain,
            _ => None,
        })
        .max()
        .map_or(0, |k| k + 1);
    let mut i = 0;
    while i + 1 < p.ops.len() {
        match chain_at(p, i, max_len, wide, max_tiles) {
            Some(convs) => {
                let n = convs.len();
                for (k, mut c) in convs.into_iter().enumerate() {
                    c.chain = Some(next);
                    p.ops[i + k] = TcOp::Conv2d(c);
                }
                next += 1;
                i += n;
            }
            None => i += 1,
        }
    }
}

/// The longest chain (at least two convs, at most `max_len`) that starts at op `i`, its convs
/// retiled ([`chain_convs`]), trying each of the first two convs' block heights, with at most 8
/// N tiles a conv (the portable cluster) and then, where `max_tiles` is more, with that many.
fn chain_at(
    p: &Program,
    i: usize,
    max_len: usize,
    wide: bool,
    max_tiles: i64,
) -> Option<Vec<Conv>> {
    let conv = |j: usize| match p.ops.get(j) {
        Some(TcOp::Conv2d(c)) if c.chain.is_none() => Some(chain_candidate(p, c)),
        _ => None,
    };
    let (a, b) = (conv(i)?, conv(i + 1)?);
    if p.buffers[a.output].dims[0] > CHAIN_MAX_BATCH {
        return None;
    }
    let mut best: Option<Vec<Conv>> = None;
    // portable clusters first: a wider one only where it makes a longer chain
    let mut limits = vec![max_tiles.min(crate::select::CHAIN_CLUSTER_MAX)];
    if max_tiles > limits[0] {
        limits.push(max_tiles);
    }
    let heights = [a.tiling.block_tile[0], b.tiling.block_tile[0]];
    for (tiles, bm) in limits.into_iter().flat_map(|t| heights.map(|bm| (t, bm))) {
        let Some(first) = chain_tiling(p, &a, bm, wide, tiles) else {
            continue;
        };
        let mut chain: Vec<Conv> = vec![first];
        while chain.len() < max_len {
            let Some(c) = conv(i + chain.len()) else {
                break;
            };
            let prev = chain.last().expect("a chain has a conv");
            let writes: Vec<BufId> = chain
                .iter()
                .flat_map(|x| [Some(x.output), x.second])
                .flatten()
                .collect();
            let other_reads = c
                .residual
                .into_iter()
                .chain(c.shortcut.as_ref().map(|sc| sc.input));
            let reads_prev = c.input == prev.output || Some(c.input) == prev.second;
            if !reads_prev || other_reads.into_iter().any(|r| writes.contains(&r)) {
                break;
            }
            let Some(c) = chain_tiling(p, &c, bm, wide, tiles) else {
                break;
            };
            chain.push(c);
            let convs: Vec<&Conv> = chain.iter().collect();
            if crate::select::chain_plan_of(&convs, &p.buffers, &p.weights, p.target).is_err() {
                chain.pop();
                break;
            }
        }
        if chain.len() >= 2 && best.as_ref().map_or(true, |b| chain.len() > b.len()) {
            best = Some(chain);
        }
    }
    best
}

/// Conv `c` as a chain may take it: a conv the selection gave the wgmma kernel (a small grid's
/// one-warpgroup tiles) as the staged conv with the staged kernel's own tiling (a chain runs
/// its convs as staged ones), any other as it is.
fn chain_candidate(p: &Program, c: &Conv) -> Conv {
    let mut c = c.clone();
    if c.family == Family::Wgmma {
        let spec = ConvSpec::conv(&c, &p.buffers, &p.weights);
        let [n, _, _, _] = spec.input.dims;
        let [_, o, oh, ow] = spec.output.dims;
        let kdim = c.kernel[0] * c.kernel[1] * spec.input.stored_channels();
        let (a, b) = (spec.input.elem, spec.weight.elem);
        c.tiling = choose_tiling(p.target, [n * oh * ow, o, kdim], a, b, None);
        c.family = Family::Staged;
    }
    c
}

/// Conv `c` as a chain's conv with block tiles of `bm` rows: the first tile width (32 to 256;
/// `wide`: 256 down to 32) and K depth (its own or twice it) that gives at most `max_tiles` N
/// tiles and that the staged kernel takes without a cluster of its own.
fn chain_tiling(p: &Program, c: &Conv, bm: i64, wide: bool, max_tiles: i64) -> Option<Conv> {
    let o = p.buffers[c.output].dims[1];
    let bk = c.tiling.block_tile[2];
    let mut widths = [32, 64, 128, 256];
    if wide {
        widths.reverse();
    }
    widths
        .into_iter()
        // at most 8 tiles, none wider than the channels need (a tile of more than twice
        // them would compute the padding)
        .filter(|w| (o + w - 1) / w <= max_tiles && w / 2 < o)
        .flat_map(|w| [[w, bk], [w, 2 * bk]])
        .find_map(|[w, k]| {
            let mut c = c.clone();
            c.chain = Some(0);
            c.tiling.block_tile = [bm, w, k];
            c.tiling.warp_tile[2] = k;
            let spec = ConvSpec::conv(&c, &p.buffers, &p.weights);
            match crate::select::realize(c.family, &spec, &c.tiling, p.target) {
                Ok(Kernel::Staged(sp)) if sp.cluster == 1 => Some(c),
                _ => None,
            }
        })
}

/// A max or average pool over the whole map (N x C x H x W -> N x C x 1 x 1, no padding, the
/// integer kinds) whose result only a dense layer reads, at a batch of at most
/// [`POOL_DENSE_MAX_BATCH`], runs in that layer's kernel ([`DensePool`]): the dense layer reads
/// the map, the pooled values are never stored, and the network has one launch fewer (ResNet's
/// global average pool before its classifier). The pooled buffer is left unused.
pub fn fold_pools_into_dense(p: &mut Program) {
    fold_ops(p, |p, i| {
        let TcOp::Pool {
            kind,
            input,
            output,
            kernel,
            padding,
            divisor,
            ref requantize,
            second: None,
            ..
        } = p.ops[i]
        else {
            return false;
        };
        let [n, c, h, w] = p.buffers[input].dims;
        let global = kernel == [h, w]
            && padding == [0; 4]
            && p.buffers[output].dims == [n, c, 1, 1]
            && matches!(kind, PoolKind::Max | PoolKind::Avg);
        let readers: Vec<usize> = (0..p.ops.len())
            .filter(|&j| p.ops[j].reads().contains(&output))
            .collect();
        let dense = match readers[..] {
            [j] if j > i => match &p.ops[j] {
                TcOp::Dense(d) if d.input == output && d.pool.is_none() => Some(j),
                _ => None,
            },
            _ => None,
        };
        match dense {
            Some(j) if global && n <= POOL_DENSE_MAX_BATCH && !p.outputs.contains(&output) => {
                let mut pool = DensePool {
                    kind,
                    divisor,
                    requantize: requantize.clone(),
                    elem: p.buffers[output].elem,
                    split: POOL_DENSE_BLOCKS,
                };
                // no block without channels
                let chunk = pool.chunk(c);
                pool.split = (c + chunk - 1) / chunk;
                if let TcOp::Dense(d) = &mut p.ops[j] {
                    d.input = input;
                    d.pool = Some(pool);
                }
                true
            }
            _ => false,
        }
    })
}

/// A `tcconv.pad` whose input only a `tcconv.quantize` writes and only the pad reads (an ONNX
/// stem's input zero point as the conv's padding value) folds into the quantize, which then
/// writes the padded map itself: one kernel and one pass over the image fewer. The unpadded
/// buffer is left unused.
fn fold_pads_into_quantize(p: &mut Program) {
    fold_ops(p, |p, i| {
        let TcOp::Pad {
            input,
            output,
            padding,
            value,
        } = p.ops[i]
        else {
            return false;
        };
        let readers = p.ops.iter().filter(|o| o.reads().contains(&input)).count();
        let quantize = p.ops[..i].iter().position(
            |o| matches!(o, TcOp::Quantize { output: q, padding: [0, 0, 0, 0], .. } if *q == input),
        );
        match quantize {
            Some(q) if readers == 1 && !p.outputs.contains(&input) => {
                if let TcOp::Quantize {
                    output: o,
                    padding: pd,
                    padding_value: pv,
                    ..
                } = &mut p.ops[q]
                {
                    (*o, *pd, *pv) = (output, padding, value);
                }
                true
            }
            _ => false,
        }
    })
}

/// A stride-b conv (b >= 2 on both axes, a kernel of at least b x b, one group, im2col) of a
/// quantize's map that only it reads, whose pixels are fewer than 16 bytes (a 3-channel image:
/// 4 bytes) and whose space-to-depth pixels are whole 16-byte rows, reads the space-to-depth map
/// of that quantize's padded map instead ([`SpaceToDepth`]): the quantize writes the map, and
/// the conv becomes a stride-1 conv of a `ceil(KH / b) x ceil(KW / b)` kernel without padding
/// over `b b cs` channels (ResNet's 7 x 7 / 2 stem over 3 channels: 4 x 4 over 16 8-bit
/// channels, 256 bytes of K for 196), whose weight the packer rearranges. The products are the
/// same (the added taps' weights are 0); what changes is that each tap is a 16-byte chunk, so
/// the shared-memory families (staged, wgmma) take the stem. Applied where they do; elsewhere
/// the conv is left as it is.
pub fn space_to_depth_stems(p: &mut Program, opts: &LowerOptions) {
    for i in 0..p.ops.len() {
        let Some(st) = space_to_depth_stem(p, i, opts) else {
            continue;
        };
        // the ids `space_to_depth_stem` gave them
        p.buffers.push(st.map);
        if st.conv.weight == p.weights.len() {
            p.weights.push(st.weight);
        } else {
            p.weights[st.conv.weight] = st.weight;
        }
        if let TcOp::Quantize {
            output,
            padding,
            padding_value,
            space_to_depth,
            ..
        } = &mut p.ops[st.quantize]
        {
            (*output, *padding, *padding_value) = (st.conv.input, st.padding, st.padding_value);
            *space_to_depth = st.block;
        }
        p.ops[i] = TcOp::Conv2d(st.conv);
    }
}

/// What [`space_to_depth_stems`] changes for conv op `i`: the quantize op writing its input,
/// the block, that quantize's new border and map, the rearranged weight and the conv on the map
/// (reading the map as the next buffer id, the weight in place of the source's unless another
/// op reads that, else as the next weight id).
struct SpaceToDepthStem {
    quantize: usize,
    block: i64,
    padding: [i64; 4],
    padding_value: i64,
    map: ActBuffer,
    weight: PackedWeight,
    conv: Conv,
}

/// The ops that read weight `w` (as a conv's, a shortcut's or a dense layer's).
fn weight_readers(p: &Program, w: WeightId) -> usize {
    p.ops
        .iter()
        .filter(|o| match o {
            TcOp::Conv2d(k) => k.weight == w || k.shortcut.as_ref().is_some_and(|s| s.weight == w),
            TcOp::Dense(d) => d.weight == w,
            _ => false,
        })
        .count()
}

/// The space-to-depth stem's block tile where it is not the tile model's `model`: 128 rows
/// where their grid gives every SM four blocks. The stem's K is short (16 taps of one 16-byte
/// chunk), so a block's weight tile, as large as its input tile, costs as much L2 traffic; 128
/// rows halve it per output. Measured on an H100 (ResNet-50 W4A4 batch 256, per launch,
/// 256-thread blocks built for 3 an SM): 443 -> 348 us.
fn tall_stem_tile(target: Target, gemm: [i64; 3], model: [i64; 3]) -> Option<[i64; 3]> {
    let [m, n, _] = gemm;
    let [bm, bn, bk] = model;
    let tall = (m + 127) / 128 * ((n + bn - 1) / bn) >= 4 * target.sm_count();
    (bm == 64 && bn == 64 && tall).then_some([128, bn, bk])
}

fn space_to_depth_stem(p: &Program, i: usize, opts: &LowerOptions) -> Option<SpaceToDepthStem> {
    let TcOp::Conv2d(c) = &p.ops[i] else {
        return None;
    };
    let b = c.strides[0];
    if !(2..=MAX_SPACE_TO_DEPTH).contains(&b)
        || c.strides[1] != b
        || c.kernel.iter().any(|&k| k < b)
        || c.groups != 1
        || c.strategy != Strategy::Im2col
        || c.quantize.is_some()
        || c.pool.is_some()
        || c.chain.is_some()
        || c.shortcut.is_some()
    {
        return None;
    }
    let x = c.input;
    let readers = p.ops.iter().filter(|o| o.reads().contains(&x)).count();
    if readers != 1 || p.outputs.contains(&x) {
        return None;
    }
    let q = (0..i).rev().find(|&j| p.ops[j].writes_all().contains(&x))?;
    let TcOp::Quantize {
        input: image,
        output,
        padding: qpad,
        padding_value,
        space_to_depth: 0,
        ..
    } = &p.ops[q]
    else {
        return None;
    };
    let xb = &p.buffers[x];
    let bits = xb.elem.bits() as i64;
    if *output != x || xb.layout != Layout::NHWC || !matches!(bits, 4 | 8) || !xb.elem.is_int() {
        return None;
    }
    let [n, ch, h, w] = p.buffers[*image].dims;
    if opts.stem == StemChoice::Auto && n < SPACE_TO_DEPTH_MIN_BATCH {
        return None;
    }
    let cs = padded_channels(xb.elem, ch);
    let pixel = cs * bits / 8;
    if pixel >= 16 || (b * b * pixel) % 16 != 0 {
        return None;
    }
    // one border: the quantize's (its padding value) or the conv's (zeros)
    let (pad, value) = match (*qpad == [0; 4], c.padding == [0; 4]) {
        (true, _) => (c.padding, 0),
        (false, true) => (*qpad, *padding_value),
        (false, false) => return None,
    };
    let [_, o, oh, ow] = p.buffers[c.output].dims;
    let (kh, kw) = ((c.kernel[0] + b - 1) / b, (c.kernel[1] + b - 1) / b);
    let (hs, ws) = (oh + kh - 1, ow + kw - 1);
    // rows and columns past the ones the conv reads are left out (never negative padding)
    let (pb, pr) = (b * hs - pad[0] - h, b * ws - pad[1] - w);
    if pb < 0 || pr < 0 {
        return None;
    }
    let map = ActBuffer::new(Layout::NHWC, xb.elem, [n, b * b * cs, hs, ws]);
    let src = &p.weights[c.weight];
    let weight = PackedWeight {
        name: format!("{}.ohwi_s2d{b}", src.source),
        dims: [o, b * b * cs, kh, kw],
        space_to_depth: Some(SpaceToDepth {
            block: b,
            source_dims: src.dims,
        }),
        ..src.clone()
    };
    let gemm = [n * oh * ow, o, kh * kw * b * b * cs];
    // the map is a new buffer; the weight replaces the source's unless another op reads it
    let shared = weight_readers(p, c.weight) > 1;
    let model = choose_tiling(p.target, gemm, xb.elem, src.elem, opts.tile);
    let tile = opts
        .tile
        .is_none()
        .then(|| tall_stem_tile(p.target, gemm, model.block_tile))
        .flatten();
    let mut conv = Conv {
        input: p.buffers.len(),
        weight: if shared { p.weights.len() } else { c.weight },
        strides: [1, 1],
        padding: [0; 4],
        kernel: [kh, kw],
        tiling: match tile {
            Some(t) => choose_tiling(p.target, gemm, xb.elem, src.elem, Some(t)),
            None => model,
        },
        ..c.clone()
    };
    // the kernel the conv on the map gets, with the map and the weight in place
    let mut buffers = p.buffers.clone();
    buffers.push(map.clone());
    let mut weights = p.weights.clone();
    if shared {
        weights.push(weight.clone());
    } else {
        weights[c.weight] = weight.clone();
    }
    let spec = ConvSpec::conv(&conv, &buffers, &weights);
    let k = choose(&spec, &conv.tiling, p.target, opts.kernel, opts.tile);
    conv.family = k.family();
    match &k {
        Kernel::Wgmma(wp) => conv.tiling.block_tile = [wp.bm(), wp.bn, wp.wbk()],
        Kernel::Staged(_) => {}
        _ => return None,
    }
    Some(SpaceToDepthStem {
        quantize: q,
        block: b,
        padding: [pad[0], pad[1], pb, pr],
        padding_value: value,
        map,
        weight,
        conv,
    })
}

/// Store the residual streams in [`Storage::Narrow16`](crate::buffer::Storage::Narrow16): every
/// internal i32 buffer of batch `min_batch` or more, or of `min_elements` elements or more, that
/// only convs touch, as their first output or their residual operand, in a layout that can be
/// narrow (channel-innermost, even channels).
/// The values are the same (exact for every value: the rare ones outside [-32767, 32766] are
/// escapes into a second plane); the kernels that write and read the stream move 2 bytes an
/// element instead of 4, for a saturating pack a pair and an escape test a word (one halfword
/// min / max on sm_90a). The default on sm_90a (`streams=auto`, [`NARROW_STREAMS_MIN_BATCH`]):
/// ResNet-50 at batch 64 / 256 5.3% / 5.7% faster (W4A4) and 7.1% (W8A8, batch 256) on an H100
/// than with i32 streams (`bench/RESULTS.md`).
pub fn narrow_streams(p: &mut Program, (min_batch, min_elements): (i64, i64)) {
    let large =
        |b: &ActBuffer| b.dims[0] >= min_batch || b.dims.iter().product::<i64>() >= min_elements;
    mark_narrow(
        p,
        |b| b.elem == ElemType::I32 && large(b),
        TcOp::narrow_stream_uses,
    );
}

/// Store the i16 maps in [`Storage::Narrow16`](crate::buffer::Storage::Narrow16): every internal
/// i16 buffer that only convs (as their first output or their residual), max pools and
/// requantizes touch ([`TcOp::narrow_map_uses`]), in a layout that can be narrow. An i16 value
/// leaves the narrow plane only at the ends of its range (-32768, 32767: escapes into the wide
/// plane), so the kernels move 2 bytes an element instead of the 4 of a 32-bit word. ResNet-18's
/// stem writes such a map (its clamp is i16's range; the max pool reads it, and the pooled map
/// is the first unit's residual and the input of a requantize): 822 MB in 32-bit words at
/// batch 256. Maps of batch `min_batch` and above. The default on sm_90a from batch 16
/// (`maps=auto`): on an H100, ResNet-18 W4A4 at batch 64 / 256 2.7% / 3.1% faster than with
/// 32-bit words, batch 1 0.9% faster, batch 8 0.7% slower (`bench/RESULTS.md`).
pub fn narrow_maps(p: &mut Program, min_batch: i64) {
    mark_narrow(
        p,
        |b| b.elem == ElemType::I16 && b.dims[0] >= min_batch,
        |op| match op {
            // only a plain conv's epilogue: not one that pools its map, runs in a chain or
            // quantizes its input in its loader
            TcOp::Conv2d(c) if c.pool.is_some() || c.chain.is_some() || c.quantize.is_some() => {
                vec![]
            }
            TcOp::Conv2d(_) => op.narrow_stream_uses(),
            _ => op.narrow_map_uses(),
        },
    );
}

/// Put in [`Storage::Narrow16`](crate::buffer::Storage::Narrow16) every internal buffer that
/// `candidate` takes, that can be narrow, and whose every op keeps it among those it `takes`
/// narrow (the buffers its kernel reads and writes through the escape-aware paths).
fn mark_narrow(
    p: &mut Program,
    candidate: impl Fn(&ActBuffer) -> bool,
    takes: impl Fn(&TcOp) -> Vec<BufId>,
) {
    let mut ok: Vec<bool> = p
        .buffers
        .iter()
        .map(|b| b.can_be_narrow() && candidate(b))
        .collect();
    for &b in p.inputs.iter().chain(&p.outputs) {
        ok[b] = false;
    }
    for op in &p.ops {
        let takes = takes(op);
        let mut touched = op.reads();
        touched.extend(op.writes_all());
        for b in touched {
            if !takes.contains(&b) {
                ok[b] = false;
            }
        }
    }
    for (b, ok) in p.buffers.iter_mut().zip(ok) {
        b.narrow |= ok;
    }
}

/// The weight of every unchained `wgmma` conv over 4-bit inputs and weights, stored widened
/// ([`PackedWeight::widened`]): one byte a value in the order the kernel widens the input's K
/// into, so the kernel copies the weight's stage tiles with cp.async instead of loading,
/// widening and storing them itself (twice the weight's bytes, read from L2 by most blocks).
/// The conv's shortcut keeps its own weight. A weight another op reads too is copied. With
/// `tiles`, only the weight of a conv whose blocks compute one tile, laid out in the kernel's
/// stage tiles ([`PackedWeight::tiles`]: one bulk copy a stage) where the plan still fits beside
/// the slots' mbarriers; the others keep their 4-bit weights.
pub fn widen_wgmma_weights(p: &mut Program, tiles: bool) {
    for i in 0..p.ops.len() {
        let TcOp::Conv2d(c) = &p.ops[i] else {
            continue;
        };
        let Some(mut widened) = widened_weight(p, c, Family::Wgmma) else {
            continue;
        };
        if tiles {
            // tiled where the plan takes it; elsewhere the weight stays as it was (`widened`
            // copies are for `weights=widened` alone)
            let [_, bn, wbk] = c.tiling.block_tile;
            let tiled = PackedWeight {
                name: format!("{}t", widened.name),
                tiles: Some([bn, wbk]),
                ..widened.clone()
            };
            let spec = crate::select::ConvSpec {
                weight: &tiled,
                ..crate::select::ConvSpec::conv(c, &p.buffers, &p.weights)
            };
            if c.tiling.tiles_per_block != 1
                || crate::select::realize(c.family, &spec, &c.tiling, p.target).is_err()
            {
                continue;
            }
            widened = tiled;
        }
        give_weight(p, i, widened);
    }
}

/// The widened form of conv `c`'s weight where `c` is an unchained conv of `family` over 4-bit
/// inputs and an unwidened 4-bit weight that its loader does not quantize for (no
/// space-to-depth weight).
fn widened_weight(p: &Program, c: &Conv, family: Family) -> Option<PackedWeight> {
    let w = &p.weights[c.weight];
    let x = &p.buffers[c.input];
    let takes = c.family == family
        && c.chain.is_none()
        && c.quantize.is_none()
        && x.elem.bits() == 4
        && w.elem.bits() == 4
        && !w.widened
        && w.space_to_depth.is_none();
    takes.then(|| PackedWeight {
        name: format!("{}_w8", w.name),
        widened: true,
        ..w.clone()
    })
}

/// Conv `i` reads `weight` instead of its own: in its place, or as a copy where another op
/// reads the old one too. Returns the conv.
fn give_weight(p: &mut Program, i: usize, weight: PackedWeight) -> &mut Conv {
    let TcOp::Conv2d(c) = &p.ops[i] else {
        unreachable!("op {i} is a conv");
    };
    let id = if weight_readers(p, c.weight) > 1 {
        p.weights.push(weight);
        p.weights.len() - 1
    } else {
        let id = c.weight;
        p.weights[id] = weight;
        id
    };
    let TcOp::Conv2d(c) = &mut p.ops[i] else {
        unreachable!("op {i} is a conv");
    };
    c.weight = id;
    c
}

/// The weight of every unchained `staged` conv that widens 4-bit inputs and weights for an
/// 8-bit MMA (sm_90, sm_90a), stored widened ([`PackedWeight::widened`], the order the kernel
/// widens the input's K into): a stage's B rows are then copied and read as they are, and the
/// kernel's main loop leaves out the weight's half of the widening (twice the weight's bytes
/// through L2 and shared memory). Only where the plan keeps its blocks an SM, its stream tile
/// and at least 3 stages (or all it had) beside the wider B rows, on fewer stages if need be.
/// The conv's shortcut keeps its own weight; a weight another op reads too is copied. Opt-in
/// (`staged-weights=widened`): bit-exact, but on an H100 no faster (ResNet-50 W4A4 b8 / b64 /
/// b256: -0.1% / -0.2% / +0.5%, `bench/RESULTS.md`).
pub fn widen_staged_weights(p: &mut Program) {
    for i in 0..p.ops.len() {
        let TcOp::Conv2d(c) = &p.ops[i] else {
            continue;
        };
        let Some(widened) = widened_weight(p, c, Family::Staged).filter(|_| c.tiling.widen) else {
            continue;
        };
        let spec = crate::select::ConvSpec::conv(c, &p.buffers, &p.weights);
        let wide_spec = crate::select::ConvSpec {
            weight: &widened,
            ..spec
        };
        // (the plan and the blocks an SM its kernel is built for)
        let plan = |s: &crate::select::ConvSpec, tiling: &Tiling| {
            let k = crate::select::realize(c.family, s, tiling, p.target).ok()?;
            let blocks = k.blocks_per_sm(c.tiling.blocks_per_sm, s, p.target);
            match k {
                crate::select::Kernel::Staged(k) => Some((k, blocks)),
                _ => None,
            }
        };
        let Some((before, blocks)) = plan(&spec, &c.tiling) else {
            continue;
        };
        // the most stages (no more than before, and at least 3 where it had them) that keep the
        // blocks an SM and the stream tile: a 2-stage ring of the wider rows (sliced K's long
        // unrolled loops) is where ptxas spilled (ResNet-50 W4A4 batch 8, stage 4's 3x3 convs)
        let fewest = before.stages.min(3);
        let stages = (fewest..=before.stages).rev().find_map(|st| {
            let tiling = Tiling {
                stages: st,
                ..c.tiling.clone()
            };
            plan(&wide_spec, &tiling)
                .filter(|(k, b)| {
                    *b >= blocks
                        && k.stages >= fewest
                        && k.stream.is_some() == before.stream.is_some()
                })
                .map(|(k, _)| k.stages)
        });
        let Some(stages) = stages else {
            continue;
        };
        let c = give_weight(p, i, widened);
        c.tiling.stages = c.tiling.stages.min(stages);
    }
}

/// Lower a (verified) qnn graph to a tcconv program for `target`.
pub fn lower(g: &Graph, target: Target, opts: &LowerOptions) -> Result<Program, String> {
    let p = Program {
        name: g.name.clone(),
        target,
        buffers: vec![],
        weights: vec![],
        inputs: vec![],
        outputs: vec![],
        ops: vec![],
        pdl_trigger: opts.pdl_trigger,
    };
    Lowering {
        g,
        target,
        opts: opts.clone(),
        p,
        bufs: HashMap::new(),
        weights: HashMap::new(),
        layout: HashMap::new(),
        seconds: g.second_results(),
        deferred_quantize: HashMap::new(),
    }
    .run()
}

#[cfg(test)]
mod tests {
    use super::*;
    use nibble_qnn::graph::TensorType;

    /// x (N x C x 2 x 2 i8) -> avg pool to 1 x 1 -> flatten -> dense, in `layout`; with
    /// `flatten_arg`, the network flattens its argument (N x C x 1 x 1) instead.
    fn pooled_dense(layout: Layout, flatten_arg: bool) -> Graph {
        let (n, c, o) = (2, 12, 5);
        let hw = if flatten_arg { 1 } else { 2 };
        // shapes in the op's layout
        let shape = |h: i64| match layout {
            Layout::NHWC => vec![n, h, h, c],
            _ => vec![n, c, h, h],
        };
        let mut g = Graph::new("head", vec![TensorType::new(shape(hw), ElemType::I8)]);
        let pooled = if flatten_arg {
            0
        } else {
            g.push(
                Op::AvgPool2d {
                    kernel: [2, 2],
                    strides: [2, 2],
                    padding: [0; 4],
                    layout,
                    divisor: None,
                },
                vec![0],
                TensorType::new(shape(1), ElemType::I8),
            )
        };
        let flat = g.push(
            Op::Flatten { layout },
            vec![pooled],
            TensorType::new(vec![n, c], ElemType::I8),
        );
        let w = g.push(
            Op::Weight { name: "w".into() },
            vec![],
            TensorType::new(vec![o, c], ElemType::I8),
        );
        let y = g.push(
            Op::Dense,
            vec![flat, w],
            TensorType::new(vec![n, o], ElemType::I32),
        );
        g.results.push(y);
        g
    }

    #[test]
    fn flatten_of_a_one_by_one_map_is_the_same_buffer() {
        for layout in [Layout::NCHW, Layout::NHWC] {
            let p = lower(
                &pooled_dense(layout, false),
                Target::Sm90,
                &LowerOptions::default(),
            )
            .unwrap();
            assert!(
                !p.ops.iter().any(|op| matches!(op, TcOp::Relayout { .. })),
                "{layout}: {:?}",
                p.ops
            );
            let pool_out = p.ops.iter().find_map(|op| match op {
                TcOp::Pool { output, .. } => Some(*output),
                _ => None,
            });
            let dense_in = p.ops.iter().find_map(|op| match op {
                TcOp::Dense(d) => Some(d.input),
                _ => None,
            });
            assert_eq!(pool_out, dense_in, "{layout}");
            assert!(crate::verify::verify_program(&p).is_ok(), "{layout}");
        }
        // a function argument keeps its own buffer: the flatten copies it
        let p = lower(
            &pooled_dense(Layout::NCHW, true),
            Target::Sm90,
            &LowerOptions::default(),
        )
        .unwrap();
        assert!(p.ops.iter().any(|op| matches!(op, TcOp::Relayout { .. })));
    }

    fn tile(target: Target, m: i64, n: i64, k: i64) -> [i64; 3] {
        choose_tiling(target, [m, n, k], ElemType::U4, ElemType::I4, None).block_tile
    }

    /// The largest-reuse tile whose grid still covers the SMs (132 on sm_90), else 32x32;
    /// shapes of ResNet-50 convs at batch 8 (M = 8 * H * W).
    #[test]
    fn tile_model_takes_the_largest_tile_that_covers_the_sms() {
        // 56x56: 392 x 1 blocks of 64x64
        assert_eq!(tile(Target::Sm90, 25088, 64, 576), [64, 64, 128]);
        // 28x28 -> 128 channels: 64x64 gives 98 x 2 = 196 blocks
        assert_eq!(tile(Target::Sm90, 6272, 128, 1152), [64, 64, 128]);
        // 14x14 -> 256: 64x64 gives 25 x 4 = 100 < 132, 32x64 gives 49 x 4 = 196
        assert_eq!(tile(Target::Sm90, 1568, 256, 2304), [32, 64, 128]);
        // 7x7 -> 512: 32x64 gives 13 x 8 = 104 < 132, 64x32 7 x 16 = 112, so 32x32 (208)
        assert_eq!(tile(Target::Sm90, 392, 512, 4608), [32, 32, 128]);
        // nothing covers the SMs (batch 1, 7x7): the most blocks
        assert_eq!(tile(Target::Sm90, 49, 512, 4608), [32, 32, 128]);
        // fewer SMs, larger tiles: sm_86 (84 SMs) takes 64x64 for 14x14 -> 256 (100 blocks)
        assert_eq!(tile(Target::Sm86, 1568, 256, 2304), [64, 64, 128]);
        // 8-bit operands: 64-element (64-byte) K slices
        let t = choose_tiling(
            Target::Sm90,
            [25088, 64, 576],
            ElemType::U8,
            ElemType::I8,
            None,
        );
        assert_eq!(t.block_tile, [64, 64, 64]);
    }

    #[test]
    fn stages_fit_static_shared_memory_and_k() {
        let stages = |t: Target, gemm: [i64; 3], over: Option<[i64; 3]>| {
            choose_tiling(t, gemm, ElemType::U4, ElemType::I4, over).stages
        };
        // (64 + 64) x 64 bytes a stage: 4 stages = 32 KiB
        assert_eq!(stages(Target::Sm90, [25088, 64, 576], None), 4);
        // K = 64 elements: one K step, one stage
        assert_eq!(stages(Target::Sm90, [25088, 64, 64], None), 1);
        // a forced 128x128x256 tile (32 KiB a stage) gets one stage within 48 KiB
        assert_eq!(
            stages(Target::Sm90, [4096, 256, 4608], Some([128, 128, 256])),
            1
        );
        // sm_86 pipelines at most 3 deep
        assert_eq!(stages(Target::Sm86, [25088, 64, 576], None), 3);
    }
}
