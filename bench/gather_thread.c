/* Whether a second thread gathering the next batch while the first
 * computes would spare the first thread its gather (docs/performance.md,
 * "Session 31: a gather thread"). Thread 0 runs rounds: it computes ~100 us
 * (a dependent chain: no memory traffic), then consumes the batch (reads
 * every float of it, as a forward product's first pass would). The batch
 * comes one of these ways:
 *
 *   self:       thread 0 copies the rows itself after the computation, the
 *               next batch's rows prefetched sparsely before it (nnc today:
 *               two lines at the start of each row and of each page)
 *   helper:     thread 1 copied them during thread 0's computation (memcpy:
 *               the lines are in the other core's caches, modified)
 *   helper-nt:  the same with non-temporal stores (the lines go to memory)
 *
 * Printed per way: thread 0's time per round beyond the computation (its
 * copy, if any, and the read of the batch).
 *
 * Usage: gather_thread [ROW_BYTES BATCH]   (default 3136 64: W4's batch) */
#define _GNU_SOURCE
#include <immintrin.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum { DATA_ROWS = 60000, ROUNDS = 2000, WAYS = 3 };

static double now_us(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec * 1e6 + (double)t.tv_nsec * 1e-3;
}

static volatile float sink;
static const char *data;
static size_t row_bytes;
static int batch;
static int64_t *order; /* ROUNDS + 1 batches of rows */
static char *buf[2];
static atomic_int posted, taken; /* rounds the helper gathered / thread 0 started */
static int way;

static void copy_plain(char *to, int64_t round) {
  for (int r = 0; r < batch; r++)
    memcpy(to + (size_t)r * row_bytes, data + (size_t)order[round * batch + r] * row_bytes,
           row_bytes);
}

/* row_bytes a multiple of 64 here (W4's 3136 is 49 lines) */
static void copy_stream(char *to, int64_t round) {
  for (int r = 0; r < batch; r++) {
    const char *from = data + (size_t)order[round * batch + r] * row_bytes;
    char *dst = to + (size_t)r * row_bytes;
    for (size_t b = 0; b < row_bytes; b += 64)
      _mm512_stream_ps((float *)(dst + b), _mm512_loadu_ps((const float *)(from + b)));
  }
  _mm_sfence();
}

static void prefetch_sparse(int64_t round) {
  for (int r = 0; r < batch; r++) {
    const char *at = data + (size_t)order[round * batch + r] * row_bytes, *end = at + row_bytes;
    for (const char *p = at; p < end;
         p = (const char *)(((uintptr_t)p + 4096) & ~(uintptr_t)4095)) {
      __builtin_prefetch(p, 0, 2);
      if (p + 64 < end) __builtin_prefetch(p + 64, 0, 2);
    }
  }
}

static void *helper(void *arg) {
  (void)arg;
  for (int64_t k = 1; k <= ROUNDS; k++) {
    while (atomic_load(&taken) < k) _mm_pause(); /* thread 0 started round k - 1 */
    if (way == 1) copy_plain(buf[k & 1], k);
    if (way == 2) copy_stream(buf[k & 1], k);
    atomic_store(&posted, (int)k);
  }
  return NULL;
}

static double compute(void) {
  double x = 1.0;
  for (int i = 0; i < 100000; i++) x = x * 1.0000001 + 1e-9;
  return x;
}

static float consume(const char *b) {
  const float *f = (const float *)b;
  __m512 acc = _mm512_setzero_ps();
  size_t n = (size_t)batch * row_bytes / 4;
  for (size_t i = 0; i + 16 <= n; i += 16) acc = _mm512_add_ps(acc, _mm512_loadu_ps(f + i));
  return _mm512_reduce_add_ps(acc);
}

int main(int argc, char **argv) {
  row_bytes = argc > 1 ? (size_t)atol(argv[1]) : 3136;
  batch = argc > 2 ? atoi(argv[2]) : 64;
  if (row_bytes % 64) {
    fprintf(stderr, "gather_thread: ROW_BYTES must be a multiple of 64\n");
    return 1;
  }
  char *d = aligned_alloc(64, DATA_ROWS * row_bytes);
  order = malloc(sizeof *order * (size_t)batch * (ROUNDS + 1));
  buf[0] = aligned_alloc(64, (size_t)batch * row_bytes);
  buf[1] = aligned_alloc(64, (size_t)batch * row_bytes);
  if (!d || !order || !buf[0] || !buf[1]) return 1;
  for (size_t i = 0; i < DATA_ROWS * row_bytes; i++) d[i] = (char)(i * 7);
  data = d;
  srand(7);
  for (int64_t i = 0; i < (int64_t)batch * (ROUNDS + 1); i++) order[i] = rand() % DATA_ROWS;
  static const char *const names[WAYS] = {"self", "helper", "helper-nt"};
  for (way = 0; way < WAYS; way++) {
    atomic_store(&posted, 0);
    atomic_store(&taken, 0);
    pthread_t t;
    if (way > 0) {
      copy_plain(buf[0], 0);
      pthread_create(&t, NULL, helper, NULL);
    }
    double extra = 0;
    for (int64_t k = 0; k < ROUNDS; k++) {
      atomic_store(&taken, (int)k + 1);
      if (way == 0) prefetch_sparse(k + 1);
      sink += (float)compute();
      double t0 = now_us();
      if (way == 0) {
        copy_plain(buf[(k + 1) & 1], k + 1);
      } else {
        while (atomic_load(&posted) < k + 1) _mm_pause();
      }
      sink += consume(buf[(k + 1) & 1]);
      extra += now_us() - t0;
    }
    if (way > 0) pthread_join(t, NULL);
    printf("%-10s thread 0 beyond the computation: %.1f us a round\n", names[way], extra / ROUNDS);
  }
  return 0;
}
