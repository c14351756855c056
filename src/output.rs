//! Standard output for the binaries. `medmtl compare A B | head` closes the pipe early;
//! `print!` would panic there, so output goes through [`print`], which reports the closed
//! pipe as an error the binaries treat as success (as ripgrep does).

use std::io::Write;

/// Writes `text` to standard output and flushes it.
pub fn print(text: &str) -> std::io::Result<()> {
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())?;
    out.flush()
}

/// Whether an error (or one of its causes) is a write to a closed pipe: the reader has what
/// it wanted, which is not a failure.
pub fn is_broken_pipe(error: &(dyn std::error::Error + 'static)) -> bool {
    let mut current = Some(error);
    while let Some(e) = current {
        if e.downcast_ref::<std::io::Error>().is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe) {
            return true;
        }
        current = e.source();
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_broken_pipe_is_found_through_causes() {
        let pipe = std::io::Error::new(std::io::ErrorKind::BrokenPipe, "closed");
        assert!(is_broken_pipe(&pipe));
        let wrapped = crate::Error::io("stdout", pipe);
        assert!(is_broken_pipe(&wrapped));
        assert!(!is_broken_pipe(&std::io::Error::other("disk full")));
    }
}
