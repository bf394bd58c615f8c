/* What the first touch of memory costs on this machine, per 4 KiB page:
 * small pages (one page fault each), small pages populated beforehand with
 * MADV_POPULATE_WRITE (no guest page fault at the touch), and a 2 MiB
 * transparent huge page (MADV_HUGEPAGE). On the project's VMs the first is
 * 13-30 us, the second still 6-12 us (the hypervisor's own page tables are
 * filled at the first access, not by the guest's fault), the third ~0.3 us
 * (docs/performance.md, "Session 20: the heap on huge pages").
 *   cc -O2 bench/page_touch.c -o /tmp/page_touch && /tmp/page_touch */
#define _DEFAULT_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <sys/mman.h>
#include <time.h>

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

#define SIZE ((size_t)32 << 20)
#define PAGES (SIZE / 4096)
#define HUGE ((uintptr_t)2 << 20)

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

/* us per 4 KiB page to write one byte of each page of a fresh mapping */
static double touch(int how) {
  char *map = mmap(NULL, SIZE + HUGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (map == MAP_FAILED) return -1;
  char *p = (char *)(((uintptr_t)map + HUGE - 1) & ~(HUGE - 1));
  if (how == 1 && madvise(p, SIZE, MADV_POPULATE_WRITE)) return -1;
  if (how == 2 && madvise(p, SIZE, MADV_HUGEPAGE)) return -1;
  double t0 = now();
  for (size_t i = 0; i < SIZE; i += 4096) p[i] = 1;
  double us = (now() - t0) / (double)PAGES * 1e6;
  munmap(map, SIZE + HUGE);
  return us;
}

int main(void) {
  const char *name[] = {"small pages", "small pages, populated first", "huge pages"};
  for (int how = 0; how < 3; how++) {
    double best = 1e9;
    for (int r = 0; r < 5; r++) {
      double us = touch(how);
      if (us >= 0 && us < best) best = us;
    }
    printf("%-30s %8.3f us per 4 KiB page (best of 5, %zu MiB)\n", name[how], best, SIZE >> 20);
  }
  return 0;
}
