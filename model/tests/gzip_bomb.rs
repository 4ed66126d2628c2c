//! A gzip bomb is refused with `TooLarge`, and decoding it never holds more memory than the cap
//! (plus a small constant): measured with a counting allocator, so removing the cap fails here.
//! One test in this binary, so no other test's allocations are counted.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

use atlhyper_model::codec::{self, ContentEncoding, DecodeError, Limits, SizeKind};

struct PeakCounting;

static CURRENT: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

// Counting the peak heap needs a global allocator, which only unsafe code can be; the
// workspace denies unsafe code everywhere else.
#[allow(unsafe_code)]
unsafe impl GlobalAlloc for PeakCounting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let now = CURRENT.fetch_add(layout.size(), Ordering::SeqCst) + layout.size();
        PEAK.fetch_max(now, Ordering::SeqCst);
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        CURRENT.fetch_sub(layout.size(), Ordering::SeqCst);
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if new_size > layout.size() {
            let now = CURRENT.fetch_add(new_size - layout.size(), Ordering::SeqCst) + new_size
                - layout.size();
            PEAK.fetch_max(now, Ordering::SeqCst);
        } else {
            CURRENT.fetch_sub(layout.size() - new_size, Ordering::SeqCst);
        }
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: PeakCounting = PeakCounting;

#[test]
fn ten_megabytes_of_zeros_under_a_one_mebibyte_cap_is_too_large_with_bounded_memory() {
    const CAP: usize = 1 << 20;
    let bomb = codec::gzip(&vec![0u8; 10_000_000], 9);
    assert!(
        bomb.len() < 20_000,
        "the bomb is small: {} bytes",
        bomb.len()
    );
    let limits = Limits {
        max_decompressed_bytes: CAP,
        ..Limits::default()
    };

    let before = CURRENT.load(Ordering::SeqCst);
    PEAK.store(before, Ordering::SeqCst);
    let err = codec::decode_envelopes(&bomb, ContentEncoding::Gzip, &limits, 1_795_608_000_000)
        .unwrap_err();
    let peak_extra = PEAK.load(Ordering::SeqCst) - before;

    assert!(
        matches!(
            err,
            DecodeError::TooLarge {
                kind: SizeKind::Decompressed,
                limit: CAP
            }
        ),
        "{err:?}"
    );
    // The cap, plus the inflater's state (about 64 KiB window and tables) and one read chunk.
    assert!(
        peak_extra <= CAP + (512 << 10),
        "decoding the bomb held {peak_extra} bytes at peak, cap is {CAP}"
    );
}
