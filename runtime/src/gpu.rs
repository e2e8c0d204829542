//! The CUDA side: one context and stream, the PTX module, the weights uploaded once, one arena,
//! and the plan's launches captured once into a CUDA graph that every run replays.
//!
//! Every CUDA call is checked and its error names the call (and the kernel, for launches).
//! Without a CUDA driver, [`Runtime::new`] returns [`Error::NoDriver`] (cudarc would panic on
//! first use: the driver library is probed first).
//!
//! `NIBBLE_NO_CUDA_GRAPH=1` skips the capture (direct launches), to tell a graph problem from a
//! kernel problem.
//!
//! Programmatic dependent launch: when every kernel of the PTX waits for its predecessor
//! (`griddepcontrol.wait`, what nibble emits for sm_90 / sm_90a) before it touches memory
//! another kernel writes (copies of weights may come first), a
//! launch may carry the programmatic stream serialization attribute (`cuLaunchKernelEx`), in the
//! CUDA graph too, so its blocks start while its predecessor finishes (with the L2 window
//! below, which such a launch names itself). By default a launch does where the network is in
//! its latency regime (every grid fits the GPU at once, as at batch 1: short kernels whose
//! launches dominate) and neither it nor its predecessor runs
//! thread-block clusters ([`programmatic_launches`]); `NIBBLE_PDL=1` makes every launch
//! programmatic, `=0` none. Measured on an H100 (bench/RESULTS.md): every launch programmatic
//! made ResNet-50 / -18 W4A4 at batch 1 4-6% faster and a small HAWQ network 10-12%, the
//! batch-8 ResNets 2-7% slower, ResNet-50 W8A8 at batch 1 (then with five cluster kernels) 4%
//! slower (1.9% with the default rule). A PTX without the waits is never launched that way.
//!
//! Weights in L2: the weights are a persisting access-policy window of the stream (persisting
//! L2 set aside for them, up to the device's limits), which the launches captured into the graph
//! carry, so replays find them in L2 however much activation traffic passes between two uses.
//! On where the arena is no larger than the weights (batch 1: ResNet-50 W8A8 0.2615 -> 0.2516
//! ms on an H200, W4A4 0.2381 -> 0.2374), off above (batch 8 to 256: 0.3-0.8% slower with it);
//! `NIBBLE_L2_WEIGHTS=1` / `=0` forces it.

use crate::artifact::{weight_offsets, Artifact};
use crate::host;
use crate::plan::{Arg, Plan};
use crate::Error;
use cudarc::driver::sys::{
    CUevent_flags, CUfunction_attribute, CUgraphInstantiate_flags, CUstreamCaptureMode,
};
use cudarc::driver::{
    CudaContext, CudaFunction, CudaGraph, CudaModule, CudaSlice, CudaStream, DevicePtr,
    LaunchConfig, PushKernelArg,
};
use cudarc::nvrtc::Ptx;
use nibble_qnn::tensor::Tensor;
use std::collections::HashMap;
use std::sync::Arc;

/// Is a CUDA driver library loadable on this machine? (Never panics.)
pub fn driver_present() -> bool {
    unsafe { cudarc::driver::sys::is_culib_present() }
}

/// A kernel parameter value ready to pass by reference.
#[derive(Clone, Copy, Debug)]
enum Param {
    Ptr(u64),
    I32(i32),
    I64(i64),
    F32(f32),
}

struct Prepared {
    kernel: String,
    func: usize,
    cfg: LaunchConfig,
    params: Vec<Param>,
}

pub struct Runtime {
    pub plan: Plan,
    /// `NAME (sm_XY)`.
    pub device: String,
    /// Whether runs replay a CUDA graph (false: direct launches, after a printed warning).
    pub uses_graph: bool,
    ctx: Arc<CudaContext>,
    stream: Arc<CudaStream>,
    _module: Arc<CudaModule>,
    funcs: Vec<CudaFunction>,
    _weights: CudaSlice<u8>,
    arena: CudaSlice<u8>,
    arena_ptr: u64,
    launches: Vec<Prepared>,
    graph: Option<CudaGraph>,
    /// The weights' persisting L2 access-policy window (see the module doc): base address,
    /// bytes, hit ratio.
    l2_policy: Option<(u64, usize, f32)>,
    /// Which launches carry programmatic stream serialization (see the module doc).
    pub programmatic: Vec<bool>,
}

fn cuda<T>(
    what: impl std::fmt::Display,
    r: Result<T, cudarc::driver::DriverError>,
) -> Result<T, Error> {
    r.map_err(|e| Error::Cuda(format!("CUDA error in {what}: {e}")))
}

impl Runtime {
    /// Create the context, load the PTX, upload the weights, allocate the arena, and capture
    /// the launches into a CUDA graph.
    pub fn new(a: &Artifact) -> Result<Runtime, Error> {
        if !driver_present() {
            return Err(Error::NoDriver(
                "no CUDA driver found (libcuda.so could not be loaded): this machine cannot run kernels".into(),
            ));
        }
        let ctx = CudaContext::new(0).map_err(|e| {
            Error::NoDriver(format!(
                "no usable CUDA device (cuInit / device 0 / primary context): {e}"
            ))
        })?;
        // One stream does everything; cudarc's cross-stream events would only get in the way
        // of stream capture.
        unsafe { ctx.disable_event_tracking() };
        let name = cuda("cuDeviceGetName", ctx.name())?;
        let (major, minor) = cuda(
            "cuDeviceGetAttribute(compute capability)",
            ctx.compute_capability(),
        )?;
        let device = format!("{name} (sm_{major}{minor})");
        let plan = a.plan.clone();
        // A stream of our own: the legacy default stream cannot be captured.
        let stream = cuda("cuStreamCreate", ctx.new_stream())?;

        let module = cuda(
            format!(
                "cuModuleLoadData({}, JIT of the PTX for {})",
                plan.ptx, device
            ),
            ctx.load_module(Ptx::from_src(a.ptx.clone())),
        )?;
        let mut funcs = vec![];
        let mut by_name: HashMap<String, usize> = HashMap::new();
        let mut max_smem: HashMap<String, u32> = HashMap::new();
        for l in &plan.launches {
            let e = max_smem.entry(l.kernel.clone()).or_default();
            *e = (*e).max(l.shared_bytes);
            if !by_name.contains_key(&l.kernel) {
                let f = cuda(
                    format!("cuModuleGetFunction({})", l.kernel),
                    module.load_function(&l.kernel),
                )?;
                by_name.insert(l.kernel.clone(), funcs.len());
                funcs.push(f);
            }
        }
        // a cluster of more than 8 blocks (a chain of convs with `chains=cluster16`) launches
        // only where the kernel allows a non-portable cluster size (H100 / H200: up to 16)
        for (k, &i) in &by_name {
            let width = funcs[i]
                .get_attribute(CUfunction_attribute::CU_FUNC_ATTRIBUTE_REQUIRED_CLUSTER_WIDTH)
                .unwrap_or(0);
            if width > 8 {
                cuda(
                    format!("cuFuncSetAttribute({k}, NON_PORTABLE_CLUSTER_SIZE_ALLOWED = 1)"),
                    funcs[i].set_attribute(
                        CUfunction_attribute::CU_FUNC_ATTRIBUTE_NON_PORTABLE_CLUSTER_SIZE_ALLOWED,
                        1,
                    ),
                )?;
            }
        }
        for (k, &smem) in &max_smem {
            if smem > 48 * 1024 {
                cuda(
                    format!("cuFuncSetAttribute({k}, MAX_DYNAMIC_SHARED_SIZE_BYTES = {smem})"),
                    funcs[by_name[k]].set_attribute(
                        CUfunction_attribute::CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES,
                        smem as i32,
                    ),
                )?;
            }
        }

        // Weights: one allocation, each at its aligned offset.
        let (woffs, wbytes) = weight_offsets(&plan);
        let mut blob = vec![0u8; wbytes as usize];
        for (i, w) in a.weights.iter().enumerate() {
            blob[woffs[i] as usize..woffs[i] as usize + w.len()].copy_from_slice(w);
        }
        let weights = cuda(
            format!("upload of {} weight bytes", blob.len()),
            stream.clone_htod(&blob),
        )?;
        let arena = cuda(
            format!("allocation of the {}-byte arena", plan.arena_bytes),
            stream.alloc_zeros::<u8>(plan.arena_bytes.max(1) as usize),
        )?;
        let (wptr, arena_ptr) = {
            let (w, _g1) = weights.device_ptr(&stream);
            let (p, _g2) = arena.device_ptr(&stream);
            (w, p)
        };
        cuda("cuStreamSynchronize (after uploads)", stream.synchronize())?;
        let l2 = wants_l2_window(
            std::env::var("NIBBLE_L2_WEIGHTS").ok().as_deref(),
            plan.arena_bytes,
            wbytes,
        );
        let l2_policy = if l2 {
            cuda(
                "access policy window for the weights",
                persist_in_l2(&ctx, &stream, wptr, wbytes as usize),
            )?
        } else {
            None
        };

        let launches: Vec<Prepared> = plan
            .launches
            .iter()
            .map(|l| Prepared {
                kernel: l.kernel.clone(),
                func: by_name[&l.kernel],
                cfg: LaunchConfig {
                    grid_dim: (l.grid[0], l.grid[1], l.grid[2]),
                    block_dim: (l.block[0], l.block[1], l.block[2]),
                    shared_mem_bytes: l.shared_bytes,
                },
                params: l
                    .args
                    .iter()
                    .map(|a| match a {
                        Arg::Buffer(b) => Param::Ptr(arena_ptr + plan.buffers[*b].offset),
                        Arg::Weight(w) => Param::Ptr(wptr + woffs[*w]),
                        Arg::I32(x) => Param::I32(*x),
                        Arg::I64(x) => Param::I64(*x),
                        Arg::F32(x) => Param::F32(*x),
                    })
                    .collect(),
            })
            .collect();
        let device_attr = |a| {
            cuda(format!("cuDeviceGetAttribute({a:?})"), ctx.attribute(a)).map(|v| v.max(1) as u64)
        };
        use cudarc::driver::sys::CUdevice_attribute as D;
        let wave = device_attr(D::CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT)?
            * device_attr(D::CU_DEVICE_ATTRIBUTE_MAX_THREADS_PER_MULTIPROCESSOR)?;
        let grids: Vec<(u64, bool)> = launches
            .iter()
            .map(|l| {
                let (g, b) = (l.cfg.grid_dim, l.cfg.block_dim);
                let cluster = funcs[l.func]
                    .get_attribute(CUfunction_attribute::CU_FUNC_ATTRIBUTE_REQUIRED_CLUSTER_WIDTH)
                    .unwrap_or(0)
                    > 0;
                let threads = [g.0, g.1, g.2, b.0, b.1, b.2]
                    .iter()
                    .map(|&d| d as u64)
                    .product();
                (threads, cluster)
            })
            .collect();
        let programmatic = programmatic_launches(
            std::env::var("NIBBLE_PDL").ok().as_deref(),
            crate::artifact::ptx_waits_for_predecessors(&a.ptx, &|k, i| {
                a.plan.read_only_param(k, i)
            }),
            wave,
            &grids,
        );
        let mut rt = Runtime {
            l2_policy,
            programmatic,
            plan,
            device,
            uses_graph: false,
            ctx,
            stream,
            _module: module,
            funcs,
            _weights: weights,
            arena,
            arena_ptr,
            launches,
            graph: None,
        };
        // One direct pass first: a faulting kernel is reported by name, not as a failed graph.
        rt.launch_direct(true)?;
        if std::env::var_os("NIBBLE_NO_CUDA_GRAPH").is_some() {
            eprintln!(
                "nibble-runtime: NIBBLE_NO_CUDA_GRAPH is set: direct launches, no CUDA graph"
            );
            return Ok(rt);
        }
        match rt.capture() {
            Ok(g) => {
                rt.graph = Some(g);
                rt.uses_graph = true;
            }
            Err(e) => eprintln!("nibble-runtime: warning: CUDA graph capture failed ({e}); falling back to direct launches"),
        }
        Ok(rt)
    }

    /// Bytes of the weights in the persisting L2 window (0: none).
    pub fn l2_window(&self) -> usize {
        self.l2_policy.map_or(0, |(_, bytes, _)| bytes)
    }

    /// Launch every kernel on the stream; `check` synchronizes after each one.
    fn launch_direct(&self, check: bool) -> Result<(), Error> {
        for i in 0..self.launches.len() {
            self.launch_one(i, self.programmatic[i])?;
            if check {
                cuda(self.describe(i), self.stream.synchronize())?;
            }
        }
        Ok(())
    }

    fn describe(&self, i: usize) -> String {
        let l = &self.launches[i];
        format!(
            "launch {i} ({}, grid {:?}, block {:?}, {} B shared)",
            l.kernel, l.cfg.grid_dim, l.cfg.block_dim, l.cfg.shared_mem_bytes
        )
    }

    /// Launch kernel `i` on the stream.
    fn launch_one(&self, i: usize, programmatic: bool) -> Result<(), Error> {
        let l = &self.launches[i];
        if programmatic {
            return cuda(self.describe(i), self.launch_programmatic(l));
        }
        let mut b = self.stream.launch_builder(&self.funcs[l.func]);
        for p in &l.params {
            match p {
                Param::Ptr(x) => b.arg(x),
                Param::I32(x) => b.arg(x),
                Param::I64(x) => b.arg(x),
                Param::F32(x) => b.arg(x),
            };
        }
        cuda(self.describe(i), unsafe { b.launch(l.cfg) }).map(|_| ())
    }

    /// Time each launch on its own: one round of the launches, each between two CUDA events,
    /// captured into a CUDA graph (event record nodes), replayed `n` times after three untimed
    /// replays. Per launch, in order: the kernel's name and the median of its times in
    /// milliseconds. From the graph, the GPU never waits for the host to enqueue a kernel (with
    /// plain launches it would at small batches, and the times would be the host's); a kernel
    /// runs with the caches its predecessor left, as in the network's graph, but neither
    /// overlaps its neighbours nor hides its own start-up, so the sum exceeds the graph's time by
    /// what launching in a graph costs.
    pub fn profile(&mut self, n: usize) -> Result<Vec<(String, f64)>, Error> {
        use cudarc::driver::sys::{cuEventRecordWithFlags, CUevent_record_flags_enum};
        let n = n.max(1);
        let new_event = || {
            cuda(
                "cuEventCreate",
                self.ctx.new_event(Some(CUevent_flags::CU_EVENT_DEFAULT)),
            )
        };
        let events = (0..self.launches.len())
            .map(|_| Ok((new_event()?, new_event()?)))
            .collect::<Result<Vec<_>, Error>>()?;
        // an event record node of the graph being captured
        let record = |e: &cudarc::driver::CudaEvent| {
            let flags = CUevent_record_flags_enum::CU_EVENT_RECORD_EXTERNAL as u32;
            // SAFETY: both handles are live: the event is ours, the stream the runtime's
            cuda("cuEventRecordWithFlags", unsafe {
                cuEventRecordWithFlags(e.cu_event(), self.stream.cu_stream(), flags).result()
            })
        };
        let graph = self.capture_with(|| {
            for (i, (start, end)) in events.iter().enumerate() {
                record(start)?;
                self.launch_one(i, false)?;
                record(end)?;
            }
            Ok(())
        })?;
        let mut times = vec![Vec::with_capacity(n); self.launches.len()];
        for round in 0..n + 3 {
            cuda("cuGraphLaunch", graph.launch())?;
            cuda("cuStreamSynchronize (profiling)", self.stream.synchronize())?;
            if round >= 3 {
                for (i, (start, end)) in events.iter().enumerate() {
                    times[i].push(cuda("cuEventElapsedTime", start.elapsed_ms(end))? as f64);
                }
            }
        }
        Ok(times
            .into_iter()
            .zip(&self.launches)
            .map(|(mut t, l)| {
                t.sort_by(|a, b| a.total_cmp(b));
                (l.kernel.clone(), t[t.len() / 2])
            })
            .collect())
    }

    /// `cuLaunchKernelEx` with `CU_LAUNCH_ATTRIBUTE_PROGRAMMATIC_STREAM_SERIALIZATION`.
    fn launch_programmatic(&self, l: &Prepared) -> Result<(), cudarc::driver::DriverError> {
        use cudarc::driver::sys;
        self.ctx.bind_to_thread()?;
        let mut params: Vec<*mut std::ffi::c_void> = l
            .params
            .iter()
            .map(|p| match p {
                Param::Ptr(x) => x as *const u64 as *mut _,
                Param::I32(x) => x as *const i32 as *mut _,
                Param::I64(x) => x as *const i64 as *mut _,
                Param::F32(x) => x as *const f32 as *mut _,
            })
            .collect();
        // SAFETY: zeroed is a valid bit pattern for the C union; the one field set is the one
        // the attribute id names
        let mut value: sys::CUlaunchAttributeValue = unsafe { std::mem::zeroed() };
        value.programmaticStreamSerializationAllowed = 1;
        let mut attrs = vec![sys::CUlaunchAttribute {
            id: sys::CUlaunchAttributeID::CU_LAUNCH_ATTRIBUTE_PROGRAMMATIC_STREAM_SERIALIZATION,
            pad: [0; 4],
            value,
        }];
        // a launch with attributes of its own names the weights' L2 window too, so that it
        // does not depend on whether the stream's applies to it
        if let Some(w) = self.l2_policy {
            let mut value: sys::CUlaunchAttributeValue = unsafe { std::mem::zeroed() };
            value.accessPolicyWindow = policy_window(w);
            attrs.push(sys::CUlaunchAttribute {
                id: sys::CUlaunchAttributeID::CU_LAUNCH_ATTRIBUTE_ACCESS_POLICY_WINDOW,
                pad: [0; 4],
                value,
            });
        }
        let c = l.cfg;
        let config = sys::CUlaunchConfig {
            gridDimX: c.grid_dim.0,
            gridDimY: c.grid_dim.1,
            gridDimZ: c.grid_dim.2,
            blockDimX: c.block_dim.0,
            blockDimY: c.block_dim.1,
            blockDimZ: c.block_dim.2,
            sharedMemBytes: c.shared_mem_bytes,
            hStream: self.stream.cu_stream(),
            attrs: attrs.as_mut_ptr(),
            numAttrs: attrs.len() as u32,
        };
        // SAFETY: the parameters match the kernel's signature (the plan was validated against
        // the PTX), and `params` and `attr` outlive the call
        unsafe {
            sys::cuLaunchKernelEx(
                &config,
                self.funcs[l.func].cu_function(),
                params.as_mut_ptr(),
                std::ptr::null_mut(),
            )
            .result()
        }
    }

    fn capture(&self) -> Result<CudaGraph, Error> {
        let g = self.capture_with(|| self.launch_direct(false))?;
        cuda("cuGraphUpload", g.upload())?;
        Ok(g)
    }

    /// What `enqueue` puts on the stream, captured into an instantiated CUDA graph.
    fn capture_with(
        &self,
        enqueue: impl FnOnce() -> Result<(), Error>,
    ) -> Result<CudaGraph, Error> {
        cuda(
            "cuStreamBeginCapture",
            self.stream
                .begin_capture(CUstreamCaptureMode::CU_STREAM_CAPTURE_MODE_THREAD_LOCAL),
        )?;
        let enqueued = enqueue();
        let ended = self.stream.end_capture(CUgraphInstantiate_flags(0));
        enqueued?;
        cuda("cuStreamEndCapture / cuGraphInstantiate", ended)?
            .ok_or_else(|| Error::Cuda("stream capture produced no graph".into()))
    }

    /// Replay the launches once (graph, or direct launches after a failed capture).
    fn replay(&self) -> Result<(), Error> {
        match &self.graph {
            Some(g) => cuda("cuGraphLaunch", g.launch()),
            None => self.launch_direct(false),
        }
    }

    /// Copy `inputs` (host tensors as the plan's inputs describe them) into the arena.
    pub fn set_inputs(&mut self, inputs: &[Tensor]) -> Result<(), Error> {
        if inputs.len() != self.plan.inputs.len() {
            return Err(Error::Input(format!(
                "{} inputs given, the network takes {}",
                inputs.len(),
                self.plan.inputs.len()
            )));
        }
        for (k, (io, t)) in self.plan.inputs.iter().zip(inputs).enumerate() {
            let b = &self.plan.buffers[io.buffer];
            let bytes =
                host::to_stored(io, b, t).map_err(|e| Error::Input(format!("input {k}: {e}")))?;
            let off = b.offset as usize;
            let mut view = self.arena.slice_mut(off..off + bytes.len());
            cuda(
                format!("copy of input {k} ({} bytes) to the device", bytes.len()),
                self.stream.memcpy_htod(&bytes, &mut view),
            )?;
        }
        Ok(())
    }

    /// Read every output back as a host tensor.
    pub fn outputs(&self) -> Result<Vec<Tensor>, Error> {
        let mut out = vec![];
        for (k, io) in self.plan.outputs.iter().enumerate() {
            let b = &self.plan.buffers[io.buffer];
            let off = b.offset as usize;
            let mut bytes = vec![0u8; b.bytes as usize];
            let view = self.arena.slice(off..off + bytes.len());
            cuda(
                format!("copy of output {k} to the host"),
                self.stream.memcpy_dtoh(&view, &mut bytes),
            )?;
            cuda("cuStreamSynchronize (outputs)", self.stream.synchronize())?;
            out.push(
                host::from_stored(io, b, &bytes)
                    .map_err(|e| Error::Cuda(format!("output {k}: {e}")))?,
            );
        }
        Ok(out)
    }

    /// One inference: inputs in, launches replayed, outputs back.
    pub fn run(&mut self, inputs: &[Tensor]) -> Result<Vec<Tensor>, Error> {
        self.set_inputs(inputs)?;
        self.replay()?;
        cuda(
            "cuStreamSynchronize (after the launches: a kernel failed)",
            self.stream.synchronize(),
        )?;
        self.outputs()
    }

    /// Time `n` replays of the launches (inputs as last set) with CUDA events, after
    /// `max(3, n / 10)` untimed warm-up replays. Returns (median, p90) in milliseconds.
    pub fn bench(&mut self, n: usize) -> Result<(f64, f64), Error> {
        let n = n.max(1);
        for _ in 0..(n / 10).max(3) {
            self.replay()?;
        }
        cuda("cuStreamSynchronize (warm-up)", self.stream.synchronize())?;
        let mut times = Vec::with_capacity(n);
        for _ in 0..n {
            let start = cuda(
                "cuEventRecord",
                self.stream
                    .record_event(Some(CUevent_flags::CU_EVENT_DEFAULT)),
            )?;
            self.replay()?;
            let end = cuda(
                "cuEventRecord",
                self.stream
                    .record_event(Some(CUevent_flags::CU_EVENT_DEFAULT)),
            )?;
            times.push(cuda("cuEventElapsedTime", start.elapsed_ms(&end))? as f64);
        }
        times.sort_by(|a, b| a.total_cmp(b));
        let pick = |q: f64| times[(((n - 1) as f64) * q).round() as usize];
        Ok((pick(0.5), pick(0.9)))
    }

    /// Device address of the arena (for logs).
    pub fn arena_ptr(&self) -> u64 {
        self.arena_ptr
    }

    /// Any error the context recorded asynchronously (e.g. while dropping resources).
    pub fn check(&self) -> Result<(), Error> {
        cuda("a previous asynchronous CUDA call", self.ctx.check_err())
    }
}

/// Keep the weights in L2 across runs: set aside persisting L2 for them
/// (`CU_LIMIT_PERSISTING_L2_CACHE_SIZE`) and put them in the stream's access-policy window, which
/// the launches captured into the CUDA graph carry. Returns the window's bytes (the weights, up
/// to the device's largest window and persisting size) with its address and hit ratio; None
/// where the device has none.
fn persist_in_l2(
    ctx: &CudaContext,
    stream: &CudaStream,
    ptr: u64,
    bytes: usize,
) -> Result<Option<(u64, usize, f32)>, cudarc::driver::DriverError> {
    use cudarc::driver::sys;
    let attr = |a| ctx.attribute(a).map(|v| v.max(0) as usize);
    let max_persist =
        attr(sys::CUdevice_attribute::CU_DEVICE_ATTRIBUTE_MAX_PERSISTING_L2_CACHE_SIZE)?;
    let max_window =
        attr(sys::CUdevice_attribute::CU_DEVICE_ATTRIBUTE_MAX_ACCESS_POLICY_WINDOW_SIZE)?;
    let window = bytes.min(max_window);
    if window == 0 || max_persist == 0 {
        return Ok(None);
    }
    let set_aside = window.min(max_persist);
    // a window larger than the set-aside persists a proportional share of it
    let hit = (set_aside as f32 / window as f32).min(1.0);
    ctx.bind_to_thread()?;
    // SAFETY: plain driver calls on the bound context; `value` outlives the call and the one
    // union field set is the one the attribute id names
    unsafe {
        sys::cuCtxSetLimit(sys::CUlimit::CU_LIMIT_PERSISTING_L2_CACHE_SIZE, set_aside).result()?;
        let mut value: sys::CUstreamAttrValue = std::mem::zeroed();
        value.accessPolicyWindow = policy_window((ptr, window, hit));
        sys::cuStreamSetAttribute(
            stream.cu_stream(),
            sys::CUstreamAttrID::CU_LAUNCH_ATTRIBUTE_ACCESS_POLICY_WINDOW,
            &value,
        )
        .result()?;
    }
    Ok(Some((ptr, window, hit)))
}

/// Which launches carry programmatic stream serialization, given `NIBBLE_PDL` (`var`), whether
/// every kernel waits for its predecessor, the threads the GPU holds at once (`wave`: SMs x
/// threads an SM) and each launch's (threads, whether it runs thread-block clusters): never the
/// first launch (a replay starts after the previous one has finished) nor without the waits;
/// `1`: every other launch; `0`: none; otherwise, where every grid of the network fits the GPU
/// at once (its latency regime: ResNet-50 at batch 1, whose largest grid is 53 K threads, not
/// at batch 8, 423 K, on an H100's 270 K), each launch that neither is nor follows a cluster
/// launch (a cluster needs several SMs of a GPC free at once, which early blocks would hold).
fn programmatic_launches(
    var: Option<&str>,
    waits: bool,
    wave: u64,
    grids: &[(u64, bool)],
) -> Vec<bool> {
    let latency = grids.iter().all(|&(threads, _)| threads <= wave);
    (0..grids.len())
        .map(|i| {
            waits
                && i > 0
                && match var {
                    Some("1") => true,
                    Some("0") => false,
                    _ => latency && !grids[i].1 && !grids[i - 1].1,
                }
        })
        .collect()
}

/// The access-policy window (base address, bytes, hit ratio) that persists the hits in L2.
fn policy_window(
    (base, bytes, hit): (u64, usize, f32),
) -> cudarc::driver::sys::CUaccessPolicyWindow {
    use cudarc::driver::sys;
    sys::CUaccessPolicyWindow {
        base_ptr: base as *mut std::ffi::c_void,
        num_bytes: bytes,
        hitRatio: hit,
        hitProp: sys::CUaccessProperty::CU_ACCESS_PROPERTY_PERSISTING,
        missProp: sys::CUaccessProperty::CU_ACCESS_PROPERTY_STREAMING,
    }
}

/// Whether the weights get the persisting L2 window: `NIBBLE_L2_WEIGHTS` = 1 / 0 forces it,
/// otherwise where the weights outweigh the activations (the arena), as at batch 1.
fn wants_l2_window(var: Option<&str>, arena_bytes: u64, weight_bytes: u64) -> bool {
    match var {
        Some("1") => true,
        Some("0") => false,
        _ => arena_bytes <= weight_bytes,
    }
}

#[cfg(test)]
mod tests {
    use super::{programmatic_launches, wants_l2_window};

    #[test]
    fn programmatic_launches_in_the_latency_regime_away_from_clusters_unless_forced() {
        // an H100 holds 132 x 2048 threads; ResNet-50's batch-1 grids (launch 2 runs clusters)
        let wave = 132 * 2048;
        let small = [
            (207 * 256, false),
            (196 * 128, false),
            (56 * 128, true),
            (784 * 256, false),
            (8 * 256, false),
        ];
        assert_eq!(
            programmatic_launches(None, true, wave, &small),
            [false, true, false, false, true]
        );
        // one grid past the wave (batch 8's input quantize): none unless forced
        let large = [(1654 * 256, false), (196 * 128, false), (56 * 128, false)];
        assert_eq!(programmatic_launches(None, true, wave, &large), [false; 3]);
        assert_eq!(
            programmatic_launches(Some("1"), true, wave, &large),
            [false, true, true]
        );
        assert_eq!(
            programmatic_launches(Some("0"), true, wave, &small),
            [false; 5]
        );
        // kernels that do not wait for their predecessor never launch early
        assert_eq!(
            programmatic_launches(Some("1"), false, wave, &small),
            [false; 5]
        );
        assert_eq!(programmatic_launches(None, false, wave, &small), [false; 5]);
        assert!(programmatic_launches(None, true, wave, &[]).is_empty());
    }

    #[test]
    fn l2_window_where_weights_outweigh_the_arena_unless_forced() {
        // ResNet-50 W4A4: batch 1 (10.7 MB arena, 14.1 MB weights) on, batch 8 (60 MB) off
        assert!(wants_l2_window(None, 10_741_760, 14_106_112));
        assert!(!wants_l2_window(None, 60_243_200, 14_106_112));
        assert!(wants_l2_window(Some("1"), 60_243_200, 14_106_112));
        assert!(!wants_l2_window(Some("0"), 10_741_760, 14_106_112));
        // anything else is the rule
        assert!(wants_l2_window(Some("yes"), 1, 2));
    }
}
