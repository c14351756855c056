//! Facts recorded with every result so a reader can reproduce it: code revision, time and
//! hardware.

/// The git revision (`git describe --always --dirty`) this medmtl binary was built from
/// (see build.rs): the code that produced a result, wherever it is run.
pub fn git_revision() -> String {
    env!("MEDMTL_BUILD_REVISION").to_owned()
}

/// The current time in RFC 3339 (UTC, seconds).
pub fn timestamp() -> String {
    humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string()
}

/// The CPU model (Linux `/proc/cpuinfo`; the architecture where it cannot be read) and the
/// instruction set of the matrix-product kernels, e.g. `AMD EPYC (avx2+fma)`.
pub fn cpu_model() -> String {
    let model = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|text| {
            text.lines().find(|l| l.starts_with("model name")).and_then(|l| l.split_once(':')).map(|(_, v)| v.trim().to_owned())
        })
        .unwrap_or_else(|| std::env::consts::ARCH.to_owned());
    // The instruction set the matrix products run on decides speed figures as much as the
    // model name does (the same EPYC name covers AVX2-only and AVX-512 generations).
    format!("{model} ({})", crate::kernels::gemm::isa())
}
