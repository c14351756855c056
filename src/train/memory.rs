//! Peak resident memory of this process (Linux `/proc/self/status` VmHWM), resettable per
//! run through `/proc/self/clear_refs`. Elsewhere both are no-ops and the peak is unknown.

/// Resets the kernel's peak-RSS mark so the next reading covers only what follows.
pub fn reset_peak_rss() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

/// Peak resident set size in bytes since start or the last reset, if the OS reports it.
pub fn peak_rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}
