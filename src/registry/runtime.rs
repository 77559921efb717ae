//! The async runtime registry work runs on, built only by commands that need the network.
//!
//! A current-thread runtime is enough: the work is I/O-bound, and requests to different
//! repositories still run concurrently on it.

use std::future::Future;

/// Runs `future` to completion on a fresh current-thread runtime.
///
/// The runtime is shut down without waiting for idle connections to close.
///
/// # Errors
/// The runtime could not be built (no I/O driver available).
pub fn block_on<F: Future>(future: F) -> std::io::Result<F::Output> {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let output = runtime.block_on(future);
    runtime.shutdown_background();
    Ok(output)
}
