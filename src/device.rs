//! Choosing the compute device from a command-line string.

use candle_core::Device;

use crate::{Error, Result};

/// Parses `cpu`, `cuda` or `cuda:N`. CUDA needs medmtl built with `--features cuda`.
pub fn parse_device(spec: &str) -> Result<Device> {
    match spec {
        "cpu" => Ok(Device::Cpu),
        s if s == "cuda" || s.starts_with("cuda:") => {
            let ordinal = match s.strip_prefix("cuda:") {
                Some(n) => n.parse::<usize>().map_err(|_| Error::Invalid(format!("device '{s}': expected cuda:N with N a GPU number")))?,
                None => 0,
            };
            if !cfg!(feature = "cuda") {
                return Err(Error::Invalid(format!(
                    "device '{s}' needs a medmtl built with CUDA: cargo run --release --features cuda --bin bench-all -- --device {s}"
                )));
            }
            Ok(Device::new_cuda(ordinal)?)
        }
        other => Err(Error::unknown("device", other, &["cpu", "cuda", "cuda:N"])),
    }
}

/// mimalloc's option `purge_delay` (its index in `mi_option_t`; `libmimalloc-sys` names
/// only some options).
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// Tells mimalloc (the binaries' allocator) never to hand freed pages back to the OS.
///
/// A training step frees and reallocates the same large activation buffers every time. By
/// default mimalloc returns freed memory to the kernel after a delay, so the next step
/// page-faults it back and the kernel zeroes every page again: measured on BUS-BRA (U-Net
/// width 8, 64 px, 2 threads, Intel Xeon with AVX-512), `clear_page_erms` took 12 % of a run
/// and keeping the pages raised training from 87 to 106 images/s for 18 % more peak memory.
/// A user's own `MIMALLOC_PURGE_DELAY` wins. Harmless where mimalloc is not the allocator.
pub fn keep_freed_pages() {
    if std::env::var_os("MIMALLOC_PURGE_DELAY").is_none() {
        // SAFETY: sets one integer option; mimalloc reads options atomically.
        unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, -1) };
    }
}

/// Sets up CPU threading; call at start-up, before any tensor work and before any other
/// thread exists.
///
/// `threads` (or all physical cores) go to rayon's global pool, which runs medmtl's fused
/// kernels and candle's matrix products (candle reads `RAYON_NUM_THREADS`). candle's
/// separate spin-waiting "barrier pool" for elementwise ops is reduced to the calling
/// thread (`CANDLE_NUM_THREADS=1`) unless the user set it: its workers spin between ops and
/// steal the cores rayon's kernels need (measured: 246 -> 281-347 images/s for the small-CNN
/// step on a loaded 2-core machine).
pub fn init_cpu_threads(threads: Option<usize>) -> Result<()> {
    if threads == Some(0) {
        return Err(Error::Invalid("--threads must be at least 1".into()));
    }
    if std::env::var_os("CANDLE_NUM_THREADS").is_none() {
        std::env::set_var("CANDLE_NUM_THREADS", "1");
    }
    if let Some(n) = threads {
        std::env::set_var("RAYON_NUM_THREADS", n.to_string());
        rayon::ThreadPoolBuilder::new()
            .num_threads(n)
            .build_global()
            .map_err(|e| Error::Invalid(format!("cannot set the thread count: {e}")))?;
    }
    Ok(())
}
