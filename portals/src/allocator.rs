//! mimalloc's settings (the `mimalloc` feature, the process's allocator in `paymesh`).
//!
//! mimalloc keeps freed memory for reuse and returns it to the system a second later —
//! but only when the process allocates again, which an idle terminal does not: an agent
//! of the default build held 83 MiB idle (54 MiB of it heap) against glibc's 32 (7).
//! Returned at once (purge delay 0), with arenas committed as they are used rather than
//! ahead, it holds about what glibc's does, at no measurable cost per payment
//! (docs/performance.md "The allocator"). mimalloc also reads `MIMALLOC_*` variables at
//! start, but a process cannot set its own environment before it starts.
//!
//! Both must be set before the first allocation: the arena that allocation makes is
//! committed by the setting then in force (set in `main`, the idle agent kept 22 MiB of
//! heap; set before, 8).

use std::ffi::{c_int, c_long};

// Linked for its C library, which the declarations below call into directly.
extern crate mimalloc as _;

// `mi_option_e` of the mimalloc 3 that libmimalloc-sys (pinned in Cargo.lock) builds:
// include/mimalloc.h numbers the options from 0 in declaration order, and the crate does
// not name these two. The test below holds each number to its option's default.
const ARENA_EAGER_COMMIT: c_int = 4;
const PURGE_DELAY: c_int = 15;

unsafe extern "C" {
    fn mi_option_set(option: c_int, value: c_long);
    #[cfg(test)]
    fn mi_option_get(option: c_int) -> c_long;
}

/// Freed memory back to the system at once, arenas committed as used. Call it before the
/// first allocation: an arena made before it stays committed ahead (`paymesh`'s `main.rs`
/// calls it from the binary's initializers).
pub fn give_freed_memory_back() {
    // SAFETY: mi_option_set only stores an option's value; both numbers name options of
    // the linked mimalloc (tested), and 0 is in both options' documented ranges.
    unsafe {
        mi_option_set(ARENA_EAGER_COMMIT, 0);
        mi_option_set(PURGE_DELAY, 0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_option_numbers_name_the_options_meant() {
        // The defaults of mimalloc 3 (src/options.c): eager commit 2 ("on where the OS
        // overcommits"), purge delay 1000 ms. Another numbering would read other options.
        // SAFETY: mi_option_get only reads an option's value.
        let (eager, delay) = unsafe {
            (
                mi_option_get(ARENA_EAGER_COMMIT),
                mi_option_get(PURGE_DELAY),
            )
        };
        assert_eq!((eager, delay), (2, 1000));
    }
}
