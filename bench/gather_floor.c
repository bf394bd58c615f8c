/* What one core's gather of a shuffled batch costs, and what prefetching
 * the rows while the step before computes buys (docs/performance.md,
 * "Session 30: the gather's floor"). A data set larger than the caches,
 * random rows of ROW_BYTES; each round draws a batch, prepares it one way,
 * computes ~100 us (a dependent chain: no memory traffic), then copies the
 * rows into a batch buffer as the fit loop does (memcpy per row):
 *
 *   cold:            nothing before the copy
 *   sparse:          fit_prefetch_rows' scheme: two lines at the start of
 *                    each row and of each 4 KiB page it crosses
 *   every line t1:   a prefetch of every line of every row (prefetcht1)
 *   every line t0:   the same, prefetcht0
 *   loads:           every line read (demand loads) before the delay
 *   hot:             the same batch again (the copy from the caches)
 *
 * Printed per way: the time to issue the preparation and the copy's time.
 *
 * Usage: gather_floor [ROW_BYTES BATCH]   (default 3136 64: W4's batch) */
#define _POSIX_C_SOURCE 199309L
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum { DATA_ROWS = 60000, ROUNDS = 3000, WAYS = 6 };

static double now_us(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec * 1e6 + (double)t.tv_nsec * 1e-3;
}

static volatile long sink;

static void prepare(int way, const char *data, const int64_t *rows, int batch, size_t row_bytes) {
  for (int r = 0; r < batch; r++) {
    const char *at = data + (size_t)rows[r] * row_bytes, *end = at + row_bytes;
    switch (way) {
    case 1:
      for (const char *p = at; p < end;
           p = (const char *)(((uintptr_t)p + 4096) & ~(uintptr_t)4095)) {
        __builtin_prefetch(p, 0, 2);
        if (p + 64 < end) __builtin_prefetch(p + 64, 0, 2);
      }
      break;
    case 2:
      for (const char *p = at; p < end; p += 64) __builtin_prefetch(p, 0, 2);
      break;
    case 3:
      for (const char *p = at; p < end; p += 64) __builtin_prefetch(p, 0, 3);
      break;
    case 4:
    case 5:
      for (const char *p = at; p < end; p += 64) sink += *p;
      break;
    default:
      break;
    }
  }
}

static void compute(void) {
  double x = 0;
  for (int k = 0; k < 100000; k++) x = x * 1.0000001 + 1;
  sink += (long)x;
}

int main(int argc, char **argv) {
  size_t row_bytes = argc > 2 ? (size_t)strtoul(argv[1], NULL, 10) : 3136;
  int batch = argc > 2 ? atoi(argv[2]) : 64;
  if (row_bytes < 64 || row_bytes > (1u << 20) || batch < 1 || batch > 4096) {
    fprintf(stderr, "usage: gather_floor [ROW_BYTES BATCH] (64..1 MiB, 1..4096)\n");
    return 2;
  }
  char *data = malloc((size_t)DATA_ROWS * row_bytes), *dst = malloc((size_t)batch * row_bytes);
  int64_t *rows = malloc((size_t)batch * sizeof *rows);
  if (!data || !dst || !rows) {
    fprintf(stderr, "gather_floor: out of memory\n");
    return 1;
  }
  memset(data, 1, (size_t)DATA_ROWS * row_bytes);
  memset(dst, 0, (size_t)batch * row_bytes);
  static const char *const names[WAYS] = {"cold",          "sparse (nnc's)", "every line t1",
                                          "every line t0", "loads",          "hot"};
  double issue[WAYS] = {0}, copy[WAYS] = {0};
  uint64_t s = 1;
  for (int round = 0; round < ROUNDS; round++) {
    int way = round % WAYS;
    if (way != 5)
      for (int r = 0; r < batch; r++) {
        s = s * 6364136223846793005u + 1442695040888963407u;
        rows[r] = (int64_t)((s >> 33) % DATA_ROWS);
      }
    double t0 = now_us();
    prepare(way, data, rows, batch, row_bytes);
    double t1 = now_us();
    compute();
    double t2 = now_us();
    for (int r = 0; r < batch; r++)
      memcpy(dst + (size_t)r * row_bytes, data + (size_t)rows[r] * row_bytes, row_bytes);
    copy[way] += now_us() - t2;
    issue[way] += t1 - t0;
    sink += dst[round % row_bytes];
  }
  printf("gather of %d rows of %zu bytes from %d rows (%.0f MiB)\n", batch, row_bytes, DATA_ROWS,
         (double)DATA_ROWS * (double)row_bytes / (1 << 20));
  for (int w = 0; w < WAYS; w++)
    printf("  %-16s prepare %6.2f us, copy %6.2f us\n", names[w], issue[w] / (ROUNDS / WAYS),
           copy[w] / (ROUNDS / WAYS));
  free(data);
  free(dst);
  free(rows);
  return 0;
}
