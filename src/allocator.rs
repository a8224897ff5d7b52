//! Allocator settings for numeric work on glibc.
//!
//! Every op of a SmoothGrad run allocates its output, and a run pushes the same shapes through the
//! same model chunk after chunk, so large buffers are allocated and freed over and over. With
//! glibc's defaults each worker thread gets its own heap of at most 64 MiB, which a CNN's
//! activations outgrow, and freed memory goes back to the kernel; every chunk then pays for fresh
//! zeroed pages, which cost more than the arithmetic (on the `vgg64` benchmark: 850,000 page
//! faults and 60% of the time). Three settings, made before any thread starts, keep the memory:
//!
//! - one arena (`M_ARENA_MAX = 1`), which grows without the 64 MiB limit of thread heaps;
//! - buffers up to 32 MiB (glibc's maximum) come from that arena, not from `mmap`;
//! - freed memory is not returned to the kernel (`M_TRIM_THRESHOLD`).
//!
//! Measured with `smoothgrad bench` on 2 cores: cifar 38 -> 45 and vgg64 11 -> 19 explanations/s,
//! the same peak memory. The library crates leave the allocator alone; an application embedding
//! them gets the same effect with these `mallopt` calls or the environment variables
//! `MALLOC_ARENA_MAX=1 MALLOC_MMAP_THRESHOLD_=33554432 MALLOC_TRIM_THRESHOLD_=2147483647`.

/// Applies the settings (glibc on Linux; elsewhere nothing).
pub fn tune() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    glibc::tune();
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
mod glibc {
    use std::os::raw::c_int;

    // From glibc's malloc.h.
    const M_TRIM_THRESHOLD: c_int = -1;
    const M_MMAP_THRESHOLD: c_int = -3;
    const M_ARENA_MAX: c_int = -8;

    extern "C" {
        fn mallopt(param: c_int, value: c_int) -> c_int;
    }

    pub fn tune() {
        // SAFETY: mallopt only changes allocator parameters; it is called at start-up, before
        // any other thread exists, with values glibc documents as valid.
        unsafe {
            mallopt(M_ARENA_MAX, 1);
            mallopt(M_MMAP_THRESHOLD, 32 << 20);
            mallopt(M_TRIM_THRESHOLD, c_int::MAX);
        }
    }
}
