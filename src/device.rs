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
