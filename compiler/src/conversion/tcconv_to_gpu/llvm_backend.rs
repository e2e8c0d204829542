//! The last step of [`super::gpu_to_ptx`]: kernels lowered to the LLVM dialect -> PTX through
//! LLVM's C API, in place of upstream's `gpu-module-to-binary{format=isa}`, which always runs
//! LLVM's whole `default<O2>` pipeline.
//!
//! Each `gpu.module` is translated to an LLVM module in a context of its own (on the calling
//! thread: translation reads the MLIR context), then optimized with a new-pass-manager pipeline
//! and compiled by the NVPTX backend on a pool of threads, one module at a time per thread,
//! while the calling thread translates the next ones.
//! With the defaults, [`PASSES`] = `default<O2>` and codegen level 2, the PTX is byte for byte
//! what `gpu-module-to-binary` gives.
//!
//! `NIBBLE_LLVM_PASSES` (a pipeline, e.g. [`SHORT_PASSES`]) and `NIBBLE_LLVM_CODEGEN` (`O0` ...
//! `O3`) trade kernel speed for compile time; they are part of each kernel's cache key.
//! Measured (bench/RESULTS.md, "Build machine"): [`SHORT_PASSES`] makes a cold ResNet-50
//! compile 25% faster and its kernels 8-13% slower; codegen O0 on top, slower still.

use mlir_sys::{
    mlirTranslateModuleToLLVMIR, LLVMContextCreate, LLVMContextDispose, LLVMContextRef,
    LLVMDisposeMemoryBuffer, LLVMDisposeMessage, LLVMDisposeModule, LLVMGetBufferSize,
    LLVMGetBufferStart, LLVMMemoryBufferRef, LLVMModuleRef, LLVMSetTarget, MlirOperation,
};
use std::ffi::{c_char, c_void, CStr, CString};
use std::sync::Mutex;

/// The LLVM pipeline for a kernel: LLVM's own -O2.
pub const PASSES: &str = "default<O2>";

/// One round of the function simplifications that matter most (instcombine, eight times in
/// `default<O2>`, is 60% of its time on nibble's kernels): for quick compiles.
pub const SHORT_PASSES: &str =
    "function(sroa,early-cse<memssa>,instcombine<no-verify-fixpoint>,gvn,simplifycfg)";

/// The NVPTX backend's optimization level (`LLVMCodeGenOptLevel`: 0 none ... 3 aggressive).
pub const CODEGEN_LEVEL: u32 = 2;

type TargetRef = *mut c_void;
type TargetMachineRef = *mut c_void;
type TargetDataRef = *mut c_void;
type PassBuilderOptionsRef = *mut c_void;
type ErrorRef = *mut c_void;

unsafe extern "C" {
    fn LLVMInitializeNVPTXTargetInfo();
    fn LLVMInitializeNVPTXTarget();
    fn LLVMInitializeNVPTXTargetMC();
    fn LLVMInitializeNVPTXAsmPrinter();
    fn LLVMGetTargetFromTriple(
        triple: *const c_char,
        target: *mut TargetRef,
        error: *mut *mut c_char,
    ) -> i32;
    fn LLVMCreateTargetMachine(
        target: TargetRef,
        triple: *const c_char,
        cpu: *const c_char,
        features: *const c_char,
        level: u32,
        reloc: u32,
        code_model: u32,
    ) -> TargetMachineRef;
    fn LLVMDisposeTargetMachine(tm: TargetMachineRef);
    fn LLVMCreateTargetDataLayout(tm: TargetMachineRef) -> TargetDataRef;
    fn LLVMSetModuleDataLayout(m: LLVMModuleRef, dl: TargetDataRef);
    fn LLVMDisposeTargetData(dl: TargetDataRef);
    fn LLVMTargetMachineEmitToMemoryBuffer(
        tm: TargetMachineRef,
        m: LLVMModuleRef,
        file_type: u32,
        error: *mut *mut c_char,
        out: *mut LLVMMemoryBufferRef,
    ) -> i32;
    fn LLVMCreatePassBuilderOptions() -> PassBuilderOptionsRef;
    fn LLVMDisposePassBuilderOptions(o: PassBuilderOptionsRef);
    fn LLVMRunPasses(
        m: LLVMModuleRef,
        passes: *const c_char,
        tm: TargetMachineRef,
        options: PassBuilderOptionsRef,
    ) -> ErrorRef;
    fn LLVMGetErrorMessage(e: ErrorRef) -> *mut c_char;
    fn LLVMDisposeErrorMessage(m: *mut c_char);
}

const TRIPLE: &CStr = c"nvptx64-nvidia-cuda";
const ASSEMBLY_FILE: u32 = 0;

/// What the backend runs: the pipeline and the codegen level, after the environment's overrides.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Backend {
    pub passes: String,
    pub codegen_level: u32,
}

impl Backend {
    /// [`PASSES`] / [`CODEGEN_LEVEL`] unless `NIBBLE_LLVM_PASSES` / `NIBBLE_LLVM_CODEGEN` say
    /// otherwise.
    pub fn from_env() -> Result<Backend, String> {
        Backend::parse(
            std::env::var("NIBBLE_LLVM_PASSES").ok().as_deref(),
            std::env::var("NIBBLE_LLVM_CODEGEN").ok().as_deref(),
        )
    }

    /// The backend for a pipeline and a codegen level (`O0` ... `O3`); empty or absent ones
    /// are the defaults. A bad level is an error here, a bad pipeline one when it runs.
    pub fn parse(passes: Option<&str>, codegen: Option<&str>) -> Result<Backend, String> {
        let passes = match passes.map(str::trim) {
            Some(p) if !p.is_empty() => p.to_string(),
            _ => PASSES.to_string(),
        };
        let codegen_level = match codegen.map(str::trim) {
            None | Some("") => CODEGEN_LEVEL,
            Some("O0" | "0") => 0,
            Some("O1" | "1") => 1,
            Some("O2" | "2") => 2,
            Some("O3" | "3") => 3,
            Some(other) => {
                return Err(format!(
                    "NVPTX codegen level '{other}': expected O0, O1, O2 or O3"
                ))
            }
        };
        Ok(Backend {
            passes,
            codegen_level,
        })
    }

    /// The text that names this backend in cache keys.
    pub fn describe(&self) -> String {
        format!(
            "llvm-passes={} codegen=O{}",
            self.passes, self.codegen_level
        )
    }
}

/// An LLVM module and its context, owned: moved to one worker thread, disposed there.
struct Job {
    context: LLVMContextRef,
    module: LLVMModuleRef,
}

// SAFETY: an LLVM context and its module are used by one thread at a time (the one that took
// the job), and nothing else refers to them.
unsafe impl Send for Job {}

impl Drop for Job {
    fn drop(&mut self) {
        unsafe {
            if !self.module.is_null() {
                LLVMDisposeModule(self.module);
            }
            LLVMContextDispose(self.context);
        }
    }
}

fn init_nvptx() {
    static INIT: std::sync::Once = std::sync::Once::new();
    INIT.call_once(|| unsafe {
        LLVMInitializeNVPTXTargetInfo();
        LLVMInitializeNVPTXTarget();
        LLVMInitializeNVPTXTargetMC();
        LLVMInitializeNVPTXAsmPrinter();
    });
}

/// PTX of each `gpu.module` in `modules` (already in the LLVM and NVVM dialects), for `chip`
/// (`sm_90a`) with `features` (`+ptx84`), in order.
///
/// The calling thread translates the modules one by one (translation reads the MLIR context)
/// and hands each to the pool of LLVM threads as soon as it is translated, so translation
/// overlaps with LLVM on the modules before it. Modules go in descending order of `cost` (an
/// estimate of their LLVM time), so that the last jobs are short and the threads finish
/// together.
pub fn compile(
    modules: &[MlirOperation],
    cost: &[u32],
    chip: &str,
    features: &str,
    backend: &Backend,
) -> Result<Vec<String>, String> {
    init_nvptx();
    let chip = CString::new(chip).map_err(|e| e.to_string())?;
    let features = CString::new(features).map_err(|e| e.to_string())?;
    let passes = CString::new(backend.passes.as_str()).map_err(|e| e.to_string())?;
    // the target machine's errors (an unknown chip) once, before any thread
    drop(TargetMachine::new(&chip, &features, backend.codegen_level)?);
    let out: Vec<Mutex<Option<Result<String, String>>>> =
        modules.iter().map(|_| Mutex::new(None)).collect();
    let (send, receive) = std::sync::mpsc::channel::<(usize, Job)>();
    let receive = Mutex::new(receive);
    let workers = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .min(modules.len())
        .max(1);
    std::thread::scope(|s| -> Result<(), String> {
        for _ in 0..workers {
            s.spawn(|| {
                // made once above, so it is made here too (a worker without one leaves its
                // jobs to the others)
                let Ok(tm) = TargetMachine::new(&chip, &features, backend.codegen_level) else {
                    return;
                };
                loop {
                    // the lock is held only while waiting for the next job
                    let next = receive.lock().unwrap().recv();
                    let Ok((i, job)) = next else {
                        return;
                    };
                    let r = tm.ptx(&job, &passes);
                    drop(job);
                    *out[i].lock().unwrap() = Some(r);
                }
            });
        }
        let mut order: Vec<usize> = (0..modules.len()).collect();
        order.sort_by_key(|&i| std::cmp::Reverse(cost.get(i).copied().unwrap_or(0)));
        for i in order {
            let op = modules[i];
            let context = unsafe { LLVMContextCreate() };
            let module = unsafe { mlirTranslateModuleToLLVMIR(op, context) };
            let job = Job { context, module };
            if job.module.is_null() {
                drop(send);
                return Err(format!(
                    "translating kernel module {i} to LLVM IR failed (see the diagnostics above)"
                ));
            }
            send.send((i, job))
                .map_err(|_| "the LLVM threads stopped".to_string())?;
        }
        drop(send);
        Ok(())
    })?;
    out.into_iter()
        .map(|m| {
            m.into_inner()
                .unwrap()
                .unwrap_or_else(|| Err("a kernel was not compiled".into()))
        })
        .collect()
}

struct TargetMachine(TargetMachineRef);

impl Drop for TargetMachine {
    fn drop(&mut self) {
        unsafe { LLVMDisposeTargetMachine(self.0) }
    }
}

impl TargetMachine {
    fn new(chip: &CStr, features: &CStr, level: u32) -> Result<TargetMachine, String> {
        let mut target: TargetRef = std::ptr::null_mut();
        let mut err: *mut c_char = std::ptr::null_mut();
        unsafe {
            if LLVMGetTargetFromTriple(TRIPLE.as_ptr(), &mut target, &mut err) != 0 {
                return Err(format!("the NVPTX target: {}", take_message(err)));
            }
            let tm = LLVMCreateTargetMachine(
                target,
                TRIPLE.as_ptr(),
                chip.as_ptr(),
                features.as_ptr(),
                level,
                0,
                0,
            );
            if tm.is_null() {
                return Err(format!(
                    "LLVM made no NVPTX target machine for {}",
                    chip.to_string_lossy()
                ));
            }
            Ok(TargetMachine(tm))
        }
    }

    /// Optimize `job`'s module with `passes`, then emit its PTX.
    fn ptx(&self, job: &Job, passes: &CStr) -> Result<String, String> {
        unsafe {
            LLVMSetTarget(job.module, TRIPLE.as_ptr());
            let dl = LLVMCreateTargetDataLayout(self.0);
            LLVMSetModuleDataLayout(job.module, dl);
            LLVMDisposeTargetData(dl);
            let options = LLVMCreatePassBuilderOptions();
            let e = LLVMRunPasses(job.module, passes.as_ptr(), self.0, options);
            LLVMDisposePassBuilderOptions(options);
            if !e.is_null() {
                let m = LLVMGetErrorMessage(e);
                let text = CStr::from_ptr(m).to_string_lossy().into_owned();
                LLVMDisposeErrorMessage(m);
                return Err(format!(
                    "LLVM pipeline '{}': {text}",
                    passes.to_string_lossy()
                ));
            }
            let mut err: *mut c_char = std::ptr::null_mut();
            let mut buf: LLVMMemoryBufferRef = std::ptr::null_mut();
            if LLVMTargetMachineEmitToMemoryBuffer(
                self.0,
                job.module,
                ASSEMBLY_FILE,
                &mut err,
                &mut buf,
            ) != 0
            {
                return Err(format!("the NVPTX backend: {}", take_message(err)));
            }
            let bytes = std::slice::from_raw_parts(
                LLVMGetBufferStart(buf) as *const u8,
                LLVMGetBufferSize(buf),
            );
            let text = String::from_utf8(bytes.to_vec()).map_err(|e| e.to_string());
            LLVMDisposeMemoryBuffer(buf);
            text
        }
    }
}

unsafe fn take_message(m: *mut c_char) -> String {
    if m.is_null() {
        return "unknown error".into();
    }
    let s = unsafe { CStr::from_ptr(m) }.to_string_lossy().into_owned();
    unsafe { LLVMDisposeMessage(m) };
    s
}
