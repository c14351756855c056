//! Training several runs of a suite at the same time, each on its own share of the cores.
//!
//! The suites' networks are small (U-Nets of width 8 on 64 x 64 images, a small CNN on
//! 28 x 28): one run keeps two cores only partly busy, because much of a step is
//! memory-bound (im2col, BatchNorm, elementwise ops) or single-threaded. Two runs with one
//! thread each keep both busy: measured on BUS-BRA (HPS, U-Net width 8, 64 px; 2-core Intel
//! Xeon with AVX-512) one run on 2 threads trains 115 images/s, one run on 1 thread 85, so
//! two jobs can reach up to about 170 images/s together; two short BUS-BRA runs took 48 s one
//! after the other on 2 threads and 26 s as two jobs (with other work on the machine). Each
//! job has its own rayon pool, so medmtl's kernels, `gemm` and candle's parallel loops all
//! stay inside the job's share. Results do not depend on the thread count (the kernels
//! reduce over fixed partitions), so a run gives the same numbers whatever `--jobs` is.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use crate::{Error, Result};

/// Threads each of `jobs` concurrent runs gets: an equal share of the global pool, at
/// least one.
pub fn threads_per_job(jobs: usize) -> usize {
    (rayon::current_num_threads() / jobs.max(1)).max(1)
}

fn pool(threads: usize) -> Result<rayon::ThreadPool> {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .map_err(|e| Error::Invalid(format!("cannot start a pool of {threads} thread(s): {e}")))
}

/// Runs `f` on the threads one of `jobs` concurrent runs would get.
pub fn on_job_threads<R: Send>(jobs: usize, f: impl FnOnce() -> R + Send) -> Result<R> {
    if jobs <= 1 {
        return Ok(f());
    }
    Ok(pool(threads_per_job(jobs))?.install(f))
}

/// Calls `work` on every item, up to `jobs` at a time (at most one job per item), each job
/// on its own pool of [`threads_per_job`] threads, taking the next item as it finishes one.
/// After the first error no new item is started; the running ones finish, and that error
/// is returned.
pub fn run_concurrently<T: Sync>(jobs: usize, items: &[T], work: impl Fn(&T) -> Result<()> + Sync) -> Result<()> {
    let jobs = jobs.clamp(1, items.len().max(1));
    if jobs == 1 {
        return items.iter().try_for_each(work);
    }
    let threads = threads_per_job(jobs);
    let next = AtomicUsize::new(0);
    let failed = AtomicBool::new(false);
    let job = || -> Result<()> {
        pool(threads)?.install(|| loop {
            if failed.load(Ordering::SeqCst) {
                return Ok(());
            }
            let Some(item) = items.get(next.fetch_add(1, Ordering::SeqCst)) else { return Ok(()) };
            if let Err(e) = work(item) {
                failed.store(true, Ordering::SeqCst);
                return Err(e);
            }
        })
    };
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..jobs).map(|_| scope.spawn(job)).collect();
        let mut first = Ok(());
        for handle in handles {
            let done = handle.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic));
            if first.is_ok() {
                first = done;
            }
        }
        first
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    #[test]
    fn every_item_runs_once_on_its_jobs_share_of_threads() {
        let pool = rayon::ThreadPoolBuilder::new().num_threads(4).build().unwrap();
        pool.install(|| {
            assert_eq!(threads_per_job(2), 2);
            assert_eq!(threads_per_job(8), 1);
            let items: Vec<usize> = (0..9).collect();
            let seen = Mutex::new(Vec::new());
            run_concurrently(2, &items, |&i| {
                seen.lock().unwrap().push((i, rayon::current_num_threads()));
                Ok(())
            })
            .unwrap();
            let mut seen = seen.into_inner().unwrap();
            seen.sort();
            assert_eq!(seen, (0..9).map(|i| (i, 2)).collect::<Vec<_>>());
            assert_eq!(on_job_threads(4, rayon::current_num_threads).unwrap(), 1);
            assert_eq!(on_job_threads(1, rayon::current_num_threads).unwrap(), 4);
        });
    }

    #[test]
    fn an_error_stops_new_items_and_is_returned() {
        let items: Vec<usize> = (0..50).collect();
        let started = AtomicUsize::new(0);
        let result = run_concurrently(2, &items, |&i| {
            started.fetch_add(1, Ordering::SeqCst);
            if i == 3 {
                return Err(Error::Invalid("item 3 failed".into()));
            }
            std::thread::sleep(std::time::Duration::from_millis(2));
            Ok(())
        });
        assert!(matches!(result, Err(Error::Invalid(m)) if m == "item 3 failed"));
        assert!(started.load(Ordering::SeqCst) < 50, "items kept starting after the error");
    }
}
