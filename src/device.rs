//! Choosing the compute device from a command-line string.

use candle_core::Device;

use crate::{Error, Result};

/// Parses `cpu`, `cuda` or `cuda:N`. CUDA needs medmtl built with `--features cuda`.
pub fn parse_device(spec: &str) -> Result<Device> {
    match spec {
        "cpu" => Ok(Device::Cpu),
        s if s == "cuda" || s.starts_with("cuda:") => {
            let ordinal = match s.strip_prefix("cuda:") {
                Some(n) => n
                    .parse::<usize>()
                    .map_err(|_| Error::Invalid(format!("device '{s}': expected cuda:N with N a GPU number")))?,
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
