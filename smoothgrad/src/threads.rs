//! Worker threads: the one place a rayon pool of a chosen size is built ([`pool`]) and a
//! computation is run on it ([`run_in_pool`]), with the same checks and messages everywhere.

use crate::error::{ExplainError, Result};

/// The most worker threads a computation may ask for. Far more threads than cores only adds
/// scheduling and memory (each worker has its own tape); starting 100,000 of them takes minutes,
/// so a larger count is refused before any work, as a mistake.
pub const MAX_THREADS: usize = 256;

/// Checks a thread count: `Some(0)` is refused (rayon would read 0 as "one per core"), and so is
/// a count above [`MAX_THREADS`].
///
/// # Errors
/// [`ExplainError::Parameter`] for setting `threads`: `threads must be at least 1, found 0`, or
/// `threads must be at most 256, found N`.
pub fn check(threads: Option<usize>) -> Result<()> {
    match threads {
        Some(0) => Err(ExplainError::parameter(
            "threads",
            "threads must be at least 1, found 0",
        )),
        Some(n) if n > MAX_THREADS => Err(ExplainError::parameter(
            "threads",
            format!("threads must be at most {MAX_THREADS}, found {n}"),
        )),
        _ => Ok(()),
    }
}

/// A rayon pool of `threads` workers, for running many computations on the same threads
/// ([`rayon::ThreadPool::install`]).
///
/// # Errors
/// [`ExplainError::Parameter`] for 0 threads (`threads must be at least 1, found 0`), or
/// [`ExplainError::Threads`] if the operating system cannot start them (`cannot start {threads}
/// threads: ...`, rayon's error as the source).
pub fn pool(threads: usize) -> Result<rayon::ThreadPool> {
    check(Some(threads))?;
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .map_err(|e| ExplainError::Threads {
            threads,
            source: e.into(),
        })
}

/// Runs `f` on a new pool of `threads` workers ([`pool`]), or, for `None`, where it is called
/// (on rayon's global pool, one worker per core, unless already inside a pool), and returns
/// its result. Parallel work inside `f` (such as [`crate::SmoothGrad::explain`] with
/// `threads: None`) uses that pool.
///
/// ```
/// let workers = smoothgrad::threads::run_in_pool(Some(2), rayon::current_num_threads).unwrap();
/// assert_eq!(workers, 2);
/// assert!(smoothgrad::threads::run_in_pool(Some(0), || ()).is_err());
/// ```
///
/// # Errors
/// As [`pool`]; `f` itself is not run then.
pub fn run_in_pool<R: Send>(threads: Option<usize>, f: impl FnOnce() -> R + Send) -> Result<R> {
    match threads {
        None => Ok(f()),
        Some(t) => Ok(pool(t)?.install(f)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_threads_are_refused_before_any_work() {
        let e = run_in_pool(Some(0), || unreachable!("not run")).unwrap_err();
        assert_eq!(e.to_string(), "threads must be at least 1, found 0");
        assert!(pool(0).is_err());
        assert!(check(None).is_ok() && check(Some(3)).is_ok() && check(Some(256)).is_ok());
        let e = run_in_pool(Some(100_000), || unreachable!("not run")).unwrap_err();
        assert_eq!(e.to_string(), "threads must be at most 256, found 100000");
    }

    #[test]
    fn the_work_runs_on_the_requested_workers() {
        assert_eq!(run_in_pool(Some(3), rayon::current_num_threads).unwrap(), 3);
        let global = rayon::current_num_threads();
        assert_eq!(
            run_in_pool(None, rayon::current_num_threads).unwrap(),
            global
        );
    }
}
