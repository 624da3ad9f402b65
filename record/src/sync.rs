//! The one poison-tolerant lock of every secbench crate (this crate is the one they all
//! depend on). A panic while a lock is held poisons it; the data behind secbench's locks
//! (counters, buffers, sets of environments) stays consistent at every await and statement,
//! so the others go on with it instead of panicking in turn.

use std::sync::{Mutex, MutexGuard};

/// Locks `m`, taking it over if a panicking holder poisoned it.
pub fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}
