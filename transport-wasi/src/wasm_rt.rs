//! What a `no_std` component needs from its own crate on wasm32: a global allocator, a panic
//! handler and the canonical ABI's `cabi_realloc` export (which wasi-libc would provide to a
//! `std` component). Without the standard library the plugin imports only the WASI interfaces
//! it calls.

#![allow(unsafe_code)]

use alloc::alloc::{Layout, alloc, realloc};

#[global_allocator]
static ALLOCATOR: dlmalloc::GlobalDlmalloc = dlmalloc::GlobalDlmalloc;

/// A panic is a bug; the host sees a trap. (No printing: that would import `wasi:cli/stderr`.)
#[cfg(not(test))]
#[panic_handler]
fn panic(_info: &core::panic::PanicInfo<'_>) -> ! {
    core::arch::wasm32::unreachable()
}

/// The canonical ABI's allocator: the host calls it to allocate memory for arguments (lists,
/// strings) passed into the component.
///
/// # Safety
/// Called only by the host, with `old_len`/`align` describing an earlier allocation made
/// through this function (or `old_len == 0`), and a power-of-two `align`.
#[unsafe(export_name = "cabi_realloc")]
unsafe extern "C" fn cabi_realloc(
    old_ptr: *mut u8,
    old_len: usize,
    align: usize,
    new_len: usize,
) -> *mut u8 {
    if new_len == 0 {
        // A dangling, well-aligned pointer: a zero-length list owns no memory.
        return align as *mut u8;
    }
    // SAFETY: the canonical ABI guarantees a power-of-two alignment and sizes that came from
    // a valid layout; `new_len` is non-zero.
    let ptr = unsafe {
        if old_len == 0 {
            alloc(Layout::from_size_align_unchecked(new_len, align))
        } else {
            realloc(
                old_ptr,
                Layout::from_size_align_unchecked(old_len, align),
                new_len,
            )
        }
    };
    if ptr.is_null() {
        core::arch::wasm32::unreachable();
    }
    ptr
}

// `core` calls `memcmp` for slice comparisons; on wasm32-wasip2 the standard library would
// bring it from wasi-libc. Link the self-contained wasi-libc archive for it: only the objects
// that resolve a symbol are pulled in, and none of them imports anything.
#[link(name = "c", kind = "static", modifiers = "-bundle")]
unsafe extern "C" {}
