/* Heap memory on transparent huge pages, for a process that opts in.
 *
 * On the VMs this project measures on, the first touch of each 4 KiB page
 * costs 6-30 us (the hypervisor fills its own page tables for it), and a
 * compile touches thousands of heap pages: LLVM's objects, the graphs'
 * node arrays as they grow. Within a 2 MiB transparent huge page a 4 KiB
 * page costs ~0.3 us (docs/performance.md, "Session 20: the heap on huge
 * pages"). The nnc command opts in; the libraries never change the
 * process's allocator policy. */
#define _DEFAULT_SOURCE /* sbrk, madvise */
#include <malloc.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>

#include "base/base.h"
#include "base/sanitizer.h"

#define HUGE_PAGE ((uintptr_t)2 << 20)
/* How far the main heap grows at a time: one advice covers it. */
#define HEAP_STEP (64 << 20)
/* glibc's size and alignment of a thread arena's heap on 64-bit targets
 * (HEAP_MAX_SIZE, 2 * 32 MiB, without its hugetlb tunable); with the top
 * pad above, glibc makes all of it writable when it creates the arena. */
#define THREAD_HEAP ((uintptr_t)64 << 20)
#define FIRST_BLOCK ((size_t)16 << 20)

static int enabled;
static uintptr_t advised_arena;
/* Volatile: the compiler may drop a malloc whose block is never used. */
static void *volatile held;

static void advise(uintptr_t start, uintptr_t end) {
  start = (start + HUGE_PAGE - 1) & ~(HUGE_PAGE - 1);
  end &= ~(HUGE_PAGE - 1);
  if (end > start) madvise((void *)start, end - start, MADV_HUGEPAGE);
}

/* The heap below the first advised huge page is mapped page by page (glibc
 * wrote there before the advice): hold the rest of it in a block that is
 * never touched nor freed, so that the allocations after `at` start on a
 * huge page. A few hundred KiB of address space, no memory. */
static void hold_to_huge_page(uintptr_t at, uintptr_t huge_start) {
  if (at + 4096 < huge_start) held = malloc(huge_start - at - 4096);
}

/* glibc's defaults (128 KiB each; the mmap threshold then stays fixed). */
static void restore_defaults(void) {
  mallopt(M_TOP_PAD, 128 << 10);
  mallopt(M_TRIM_THRESHOLD, 128 << 10);
  mallopt(M_MMAP_THRESHOLD, 128 << 10);
}

void nnc_huge_heap_enable(void) {
  if (NNC_ASAN || NNC_TSAN) return; /* their allocators own the heap */
  /* Under a limit on address space or data (ulimit -v, -d), growing by
   * HEAP_STEP fails where a small request would fit (glibc's fallback asks
   * for the same padded size): glibc's defaults there. */
  const int limits[] = {RLIMIT_AS, RLIMIT_DATA};
  for (int i = 0; i < 2; i++) {
    struct rlimit r;
    if (getrlimit(limits[i], &r) || r.rlim_cur != RLIM_INFINITY) return;
  }
  /* Grow the heap HEAP_STEP at a time, keep it (no trimming below twice
   * that), and serve blocks up to 32 MiB from it instead of a mapping of
   * their own: all of them then lie in the advised range. */
  if (!mallopt(M_TOP_PAD, HEAP_STEP) || !mallopt(M_TRIM_THRESHOLD, 2 * HEAP_STEP) ||
      !mallopt(M_MMAP_THRESHOLD, 32 << 20)) {
    restore_defaults();
    return;
  }
  /* A first block (never touched) makes the heap grow now, by HEAP_STEP
   * more than it, whatever glibc allocated before; the advice covers all of
   * it, and the block's space is where the next allocations go. */
  void *first = malloc(FIRST_BLOCK);
  if (!first) {
    restore_defaults();
    return;
  }
  uintptr_t at = (uintptr_t)first;
  advise(at, (uintptr_t)sbrk(0));
  free(first);
  hold_to_huge_page(at, (at + HUGE_PAGE - 1) & ~(HUGE_PAGE - 1));
  enabled = 1;
}

void nnc_huge_heap_thread(void) {
  if (!enabled) return;
  void *p = malloc(1); /* the arena this thread allocates from */
  if (!p) return;
  uintptr_t at = (uintptr_t)p;
  uintptr_t heap = at & ~(THREAD_HEAP - 1);
  /* a thread arena (mapped above the main heap's break) not advised yet: a
   * later thread may reuse the arena of one that ended */
  if (at > (uintptr_t)sbrk(0) && heap != advised_arena) {
    advised_arena = heap;
    advise(heap, heap + THREAD_HEAP);
    hold_to_huge_page(at, heap + HUGE_PAGE);
  }
  free(p);
}
