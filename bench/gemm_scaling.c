/* gemm_scaling.c: why each core is slower when both run W4-wide's GEMMs (issue 9).
 *
 * Every case runs one thread alone on CPU A (the other CPU held by a `pause` spinner, so
 * "alone" means an idle neighbour even on a busy machine under chrt), alone on CPU B, then
 * two threads pinned to A and B released together by a spinning barrier (the first
 * repetition of each a warm-up; the median repetition is reported):
 *   fma     a register-only FMA loop (AVX-512: 16 chains of zmm; AVX2: 12 of ymm): if it
 *           drops per core with both busy, the clock or a shared physical core is why
 *   stream  a read-only sum and a read-modify-write (x = x * s + y) of a buffer per thread:
 *           1 MiB (fits L2), 2.6 MB (a core's share of W4-wide's weights and slots), 64 MiB
 *   nnc     nnc's own GEMM: a graph of that one matmul JIT-compiled as a model's step is
 *           (codegen_compile) and called as the runtime calls it, fn(..., tid, nthreads) on
 *           each thread: each thread runs its share (matmul_share's column strips)
 *   blas    OpenBLAS sgemm (when built with it), one thread per call: alone, and two calls at
 *           once on the two halves of the columns (nnc's split); blas2 adds OpenBLAS's own
 *           two threads
 * on W4-wide's products (784-512-512-10, batch 128): d0 forward 128x784x512, d1 forward
 * 128x512x512, d0's weight gradient x^T dy (784x512, K = 128; and the same with x given
 * transposed), d1's input gradient dy W^T (128x784, K = 512), and the square n = 1024.
 * Operands: warm (left in L2 by the last repetition), --cold (each thread reads 8 MiB first:
 * they come from L3, as in a whole step), --handoff (each thread first rewrites the part of
 * each operand its own groups write in a step: the other part sits modified in the other
 * core's L2).
 * Printed per product: GFLOP/s on 1 and 2 threads, their ratio, "work" (the two threads'
 * times over one thread's), each CPU's time alone, each thread's time on two, and
 * "2t/alone": a thread's time on its half over half its CPU's time alone (1.00: the other
 * busy core costs it nothing).
 *   gemm_scaling [--rounds R] [--ms M] [--cpus A,B] [--cold] [--handoff]
 *                [fma] [stream] [nnc] [blas] [blas2]                      (default: all but blas2)
 * Run it with `chrt -f 10` (~5 s a round) when no other SCHED_FIFO process runs; unset
 * OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE for OpenBLAS's own choice (the kernel is printed).
 * A measurement, not a test: nothing asserts a speed; nnc's 2-thread product must equal
 * its 1-thread product bit for bit (else exit 1). */
#define _GNU_SOURCE
#include <immintrin.h>
#include <math.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "compiler/codegen/codegen.h"
#include "compiler/graph/graph.h"
#include "compiler/passes/passes.h"
#include "nnc.h"

#ifdef NNC_BENCH_OPENBLAS
#include <cblas.h>
#endif

enum { MAX_THREADS = 2, MAX_REPS = 4096 };

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

static double median(const double *v, int n) {
  double s[MAX_REPS];
  memcpy(s, v, sizeof(double) * (size_t)n);
  qsort(s, (size_t)n, sizeof(double), cmp_double);
  return s[n / 2];
}

/* ---- a team of 1 or 2 pinned threads released together ---- */

typedef void (*work_fn)(int tid, int nthreads, void *ctx);

static volatile float sink;            /* keeps the loops' results */
static int cpus[MAX_THREADS] = {0, 1}; /* thread i runs on CPU cpus[i] (--cpus) */

typedef struct spin_barrier {
  atomic_int arrived, sense;
  int threads;
} spin_barrier;

static void barrier_wait(spin_barrier *b, int *local_sense) {
  int s = !*local_sense;
  *local_sense = s;
  if (atomic_fetch_add(&b->arrived, 1) == b->threads - 1) {
    atomic_store(&b->arrived, 0);
    atomic_store(&b->sense, s);
  } else
    while (atomic_load(&b->sense) != s) _mm_pause();
}

typedef struct team {
  int threads, reps;
  work_fn fn;
  void *ctx;
  spin_barrier bar;
  double wall[MAX_REPS], own[MAX_THREADS][MAX_REPS];
} team;

typedef struct member {
  team *t;
  int tid;
} member;

/* --cold: before each repetition every thread reads its own 8 MiB (4x its L2), so
 * that the operands come from L3 as in a whole step, not from the L2 the last
 * repetition left them in */
enum { EVICT_FLOATS = 2 << 20 };
static int cold;
static float *evict_buf[MAX_THREADS];

static void evict(int tid) {
  const float *x = evict_buf[tid];
  float s = 0;
  for (size_t i = 0; i < EVICT_FLOATS; i += 16) s += x[i];
  sink = s;
}

/* --handoff: before each repetition every thread writes the operand parts its own
 * groups write in a whole step (handoff_touch, with the products below), so that
 * the rest sit modified in the other core's L2 */
static void (*handoff)(int tid, int nthreads);

static void *member_run(void *p) {
  member *m = p;
  team *t = m->t;
  int sense = 0;
  for (int r = 0; r < t->reps; r++) {
    if (cold) evict(m->tid);
    if (handoff) handoff(m->tid, t->threads);
    barrier_wait(&t->bar, &sense);
    double t0 = now();
    t->fn(m->tid, t->threads, t->ctx);
    t->own[m->tid][r] = now() - t0;
    barrier_wait(&t->bar, &sense);
    if (m->tid == 0) t->wall[r] = now() - t0;
  }
  return NULL;
}

/* the median repetition after the warm-up: wall seconds, and each thread's own */
typedef struct timing {
  double wall, own[MAX_THREADS];
} timing;

static timing team_run(int threads, int reps, work_fn fn, void *ctx) {
  static team t; /* large arrays: one measurement at a time */
  memset(&t, 0, sizeof t);
  t.threads = threads, t.reps = reps < 2 ? 2 : reps > MAX_REPS ? MAX_REPS : reps;
  t.fn = fn, t.ctx = ctx, t.bar.threads = threads;
  member m[MAX_THREADS];
  pthread_t th[MAX_THREADS];
  for (int i = 0; i < threads; i++) {
    m[i] = (member){&t, i};
    if (!i) continue;
    /* pinned from its creation: under SCHED_FIFO a thread created on the caller's
     * CPU would never run while the caller spins there */
    pthread_attr_t attr;
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpus[i], &set);
    pthread_attr_init(&attr);
    pthread_attr_setaffinity_np(&attr, sizeof set, &set);
    if (pthread_create(&th[i], &attr, member_run, &m[i])) {
      fprintf(stderr, "gemm_scaling: cannot start a thread on CPU %d\n", cpus[i]);
      exit(1);
    }
    pthread_attr_destroy(&attr);
  }
  member_run(&m[0]);
  for (int i = 1; i < threads; i++) pthread_join(th[i], NULL);
  timing out = {median(t.wall + 1, t.reps - 1), {0}};
  for (int i = 0; i < threads; i++) out.own[i] = median(t.own[i] + 1, t.reps - 1);
  return out;
}

static double run_ms = 150; /* per measurement */
static int blas_own2;       /* also OpenBLAS's own two threads (blas2) */

static int reps_for(double seconds_guess) {
  int reps = (int)(run_ms * 1e-3 / (seconds_guess > 1e-7 ? seconds_guess : 1e-7));
  return reps < 5 ? 5 : reps > MAX_REPS ? MAX_REPS : reps;
}

static void run_on(int cpu) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  sched_setaffinity(0, sizeof set, &set);
}

/* One case: one thread alone on each CPU, then both threads. "alone" says how fast each
 * vCPU is by itself at that moment; "2t/alone" is each thread's time on its half over
 * half its CPU's time alone (1.00: the other busy core costs it nothing). */
typedef struct trio {
  timing one, other, two;
} trio;

/* While one thread runs alone, the other CPU spins on `pause` (no loads, no FMAs): under
 * chrt -f it keeps the other processes of a busy machine off that core, so "alone" means
 * the neighbour core idle, not running someone's compiler. */
static atomic_int spinner_stop;

static void *spinner(void *p) {
  (void)p;
  while (!atomic_load(&spinner_stop)) _mm_pause();
  return NULL;
}

static timing alone_on(int cpu, int idle_cpu, work_fn fn, void *ctx, int reps) {
  pthread_t th;
  pthread_attr_t attr;
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(idle_cpu, &set);
  pthread_attr_init(&attr);
  pthread_attr_setaffinity_np(&attr, sizeof set, &set);
  atomic_store(&spinner_stop, 0);
  int spinning = !pthread_create(&th, &attr, spinner, NULL);
  pthread_attr_destroy(&attr);
  run_on(cpu);
  timing t = team_run(1, reps, fn, ctx);
  atomic_store(&spinner_stop, 1); /* before moving back: the spinner may hold cpus[0] */
  if (spinning) pthread_join(th, NULL);
  run_on(cpus[0]);
  return t;
}

static trio measure(work_fn fn, void *ctx, int reps) {
  trio t;
  t.one = alone_on(cpus[0], cpus[1], fn, ctx, reps);
  t.other = alone_on(cpus[1], cpus[0], fn, ctx, reps);
  t.two = team_run(2, reps, fn, ctx);
  return t;
}

static void report_trio(const char *what, double flops, trio t) {
  double work = (t.two.own[0] + t.two.own[1]) / t.one.own[0];
  printf("%-34s 1t %6.1f  2t %6.1f GFLOP/s  2t/1t %.2f  work %.2f  alone %.3f / %.3f ms  "
         "2t %.3f / %.3f ms  2t/alone %.2f / %.2f\n",
         what, flops / t.one.wall * 1e-9, flops / t.two.wall * 1e-9, t.one.wall / t.two.wall, work,
         t.one.own[0] * 1e3, t.other.own[0] * 1e3, t.two.own[0] * 1e3, t.two.own[1] * 1e3,
         2 * t.two.own[0] / t.one.own[0], 2 * t.two.own[1] / t.other.own[0]);
  fflush(stdout);
}

/* ---- fma: registers only; per thread the same work, so flops count per thread ---- */

enum { FMA_ITERS = 2000000 };

#define CHAINS(X)                                                                                  \
  X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8) X(9) X(10) X(11) X(12) X(13) X(14) X(15)
#define CHAINS12(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8) X(9) X(10) X(11)

__attribute__((target("avx512f"))) static void fma512(int tid, int nthreads, void *ctx) {
  (void)tid, (void)nthreads, (void)ctx;
  const __m512 x = _mm512_set1_ps(0.9999999f), y = _mm512_set1_ps(1e-7f);
#define DECL(i) __m512 a##i = _mm512_set1_ps((float)(i)*1e-3f);
#define STEP(i) a##i = _mm512_fmadd_ps(a##i, x, y);
#define SUM(i) s = _mm512_add_ps(s, a##i);
  CHAINS(DECL)
  for (long i = 0; i < FMA_ITERS; i++) {
    CHAINS(STEP)
  }
  __m512 s = _mm512_setzero_ps();
  CHAINS(SUM)
  sink = _mm512_reduce_add_ps(s);
}

__attribute__((target("avx2,fma"))) static void fma256(int tid, int nthreads, void *ctx) {
  (void)tid, (void)nthreads, (void)ctx;
  const __m256 x = _mm256_set1_ps(0.9999999f), y = _mm256_set1_ps(1e-7f);
#undef DECL
#undef SUM
#define DECL(i) __m256 a##i = _mm256_set1_ps((float)(i)*1e-3f);
#define STEP256(i) a##i = _mm256_fmadd_ps(a##i, x, y);
#define SUM(i) s = _mm256_add_ps(s, a##i);
  CHAINS12(DECL)
  for (long i = 0; i < FMA_ITERS; i++) {
    CHAINS12(STEP256)
  }
  __m256 s = _mm256_setzero_ps();
  CHAINS12(SUM)
  float lanes[8];
  _mm256_storeu_ps(lanes, s);
  sink = lanes[0] + lanes[7];
}

/* per-core rate: flops per thread over that thread's own time */
static void fma_case(const char *what, work_fn fn, double flops_per_thread) {
  trio t = measure(fn, NULL, 6);
  double f = flops_per_thread * 1e-9;
  printf("%-34s alone %6.1f / %6.1f  both busy %6.1f / %6.1f GFLOP/s per core\n", what,
         f / t.one.own[0], f / t.other.own[0], f / t.two.own[0], f / t.two.own[1]);
  fflush(stdout);
}

static void run_fma(void) {
  if (__builtin_cpu_supports("avx512f"))
    fma_case("fma AVX-512 (16 chains, zmm)", fma512, 2.0 * 16 * 16 * FMA_ITERS);
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
    fma_case("fma AVX2 (12 chains, ymm)", fma256, 2.0 * 12 * 8 * FMA_ITERS);
}

/* ---- stream: each thread its own buffer; bytes count per thread ---- */

typedef struct stream_ctx {
  float *buf[MAX_THREADS];
  size_t floats;
  int passes;
} stream_ctx;

__attribute__((target("avx512f"))) static void stream_read(int tid, int nthreads, void *p) {
  (void)nthreads;
  stream_ctx *c = p;
  const float *x = c->buf[tid];
  __m512 s0 = _mm512_setzero_ps(), s1 = s0, s2 = s0, s3 = s0;
  for (int pass = 0; pass < c->passes; pass++)
    for (size_t i = 0; i + 64 <= c->floats; i += 64) {
      s0 = _mm512_add_ps(s0, _mm512_load_ps(x + i));
      s1 = _mm512_add_ps(s1, _mm512_load_ps(x + i + 16));
      s2 = _mm512_add_ps(s2, _mm512_load_ps(x + i + 32));
      s3 = _mm512_add_ps(s3, _mm512_load_ps(x + i + 48));
    }
  sink = _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(s0, s1), _mm512_add_ps(s2, s3)));
}

/* x = x * s + y over the two halves of the buffer (an optimizer update's pattern) */
__attribute__((target("avx512f"))) static void stream_update(int tid, int nthreads, void *p) {
  (void)nthreads;
  stream_ctx *c = p;
  float *x = c->buf[tid];
  const float *y = x + c->floats / 2;
  const __m512 s = _mm512_set1_ps(0.5f);
  for (int pass = 0; pass < c->passes; pass++)
    for (size_t i = 0; i + 16 <= c->floats / 2; i += 16)
      _mm512_store_ps(x + i, _mm512_fmadd_ps(_mm512_load_ps(x + i), s, _mm512_load_ps(y + i)));
}

static void stream_case(double bytes) {
  stream_ctx c = {{NULL}, (size_t)(bytes / 4) / 64 * 64, 1};
  c.passes = (int)(2e8 / bytes) + 1; /* ~200 MB a repetition */
  for (int t = 0; t < MAX_THREADS; t++) {
    c.buf[t] = aligned_alloc(64, c.floats * sizeof(float));
    for (size_t i = 0; i < c.floats; i++) c.buf[t][i] = (float)(i % 17) * 0.25f;
  }
  double moved = (double)c.floats * 4.0 * c.passes;
  char what[64];
  snprintf(what, sizeof what, "read %.1f MB", bytes / 1e6);
  for (int k = 0; k < 2; k++) {
    if (k) snprintf(what, sizeof what, "update x=x*s+y %.1f MB", bytes / 1e6);
    trio t = measure(k ? stream_update : stream_read, &c, 6);
    double g = moved * (k ? 1.5 : 1.0) * 1e-9; /* update: x read and written, y read */
    printf("%-34s alone %6.1f / %6.1f  both busy %6.1f / %6.1f GB/s per core\n", what,
           g / t.one.own[0], g / t.other.own[0], g / t.two.own[0], g / t.two.own[1]);
  }
  fflush(stdout);
  for (int t = 0; t < MAX_THREADS; t++) free(c.buf[t]);
}

static void run_stream(void) {
  if (!__builtin_cpu_supports("avx512f")) {
    printf("stream: skipped (its loops use AVX-512)\n");
    return;
  }
  stream_case(1 << 20);
  stream_case(2.6e6);
  stream_case(64 << 20);
}

/* ---- the products ---- */

enum { PLAIN, TRANS_A, TRANS_B };

typedef struct shape {
  const char *name;
  int kind;
  int64_t m, k, n; /* C[m, n] = sum over k; TRANS_A: C[k_out = m, n] over the batch k */
} shape;

/* TRANS_A (x^T dy): m = 784 output rows, k = 128 batch rows contracted */
static const shape shapes[] = {
    {"d0 forward 128x784x512", PLAIN, 128, 784, 512},
    {"d1 forward 128x512x512", PLAIN, 128, 512, 512},
    {"d0 dW x^T dy 784x128x512", TRANS_A, 784, 128, 512},
    /* the same product with x already transposed (what packing x^T's panel would read) */
    {"d0 dW as (x^T)[784,128] dy", PLAIN, 784, 128, 512},
    {"d1 dX dy W^T 128x512x784", TRANS_B, 128, 512, 784},
    {"square 1024", PLAIN, 1024, 1024, 1024},
};
enum { SHAPES = sizeof shapes / sizeof shapes[0] };

static double flops_of(const shape *s) {
  return 2.0 * (double)s->m * (double)s->k * (double)s->n;
}

/* operands: a is A as stored (TRANS_A: x[k, m]), b as stored (PLAIN: W[k, n];
 * TRANS_A: dy[k, n]; TRANS_B: W[n, k]), c[m, n] */
typedef struct operands {
  float *a, *b, *c;
  int64_t a_count, b_count, c_count;
} operands;

static float *random_floats(int64_t count, unsigned seed) {
  float *x = aligned_alloc(64, (size_t)((count + 15) / 16 * 16) * sizeof(float));
  for (int64_t i = 0; i < count; i++) {
    seed = seed * 1664525u + 1013904223u;
    x[i] = (float)(seed >> 8) / 16777216.0f - 0.5f;
  }
  return x;
}

static void operands_make(operands *o, const shape *s) {
  o->a_count = s->m * s->k;
  o->b_count = s->k * s->n;
  o->c_count = s->m * s->n;
  o->a = random_floats(o->a_count, 12345u);
  o->b = random_floats(o->b_count, 777u);
  o->c = random_floats(o->c_count, 1u);
}

static void operands_free(operands *o) {
  free(o->a), free(o->b), free(o->c);
}

/* the product measured, for handoff_touch */
static const shape *touch_shape;
static const operands *touch_ops;

/* rewrite (x += 0: the same floats, the lines now modified in this core) the part
 * [r0, r1) x [c0, c1) of a rows x cols matrix */
static void touch(float *x, int64_t cols, int64_t r0, int64_t r1, int64_t c0, int64_t c1) {
  for (int64_t r = r0; r < r1; r++)
    for (int64_t c = c0; c < c1; c++) x[r * cols + c] += 0.0f;
}

/* Who writes each operand in a W4-wide step, split as the step splits its groups:
 * the activations and output gradients by column strips (the previous product's
 * split), the gathered batch x by rows, the weights by the columns of the weight
 * gradient their update is fused with (units out); thread t writes its half. */
static void handoff_touch(int tid, int nthreads) {
  const shape *s = touch_shape;
  const operands *o = touch_ops;
  int64_t h0 = tid, h1 = tid + 1, t = nthreads;
  if (s->kind == PLAIN) { /* a[m, k] by columns, W[k, n] by columns */
    touch(o->a, s->k, 0, s->m, s->k * h0 / t, s->k * h1 / t);
    touch(o->b, s->n, 0, s->k, s->n * h0 / t, s->n * h1 / t);
  } else if (s->kind == TRANS_A) { /* x[k, m] by rows (the gather), dy[k, n] by columns */
    touch(o->a, s->m, s->k * h0 / t, s->k * h1 / t, 0, s->m);
    touch(o->b, s->n, 0, s->k, s->n * h0 / t, s->n * h1 / t);
  } else { /* dy[m, k] by columns; W[n, k] = (in, out) by its out columns k */
    touch(o->a, s->k, 0, s->m, s->k * h0 / t, s->k * h1 / t);
    touch(o->b, s->k, 0, s->n, s->k * h0 / t, s->k * h1 / t);
  }
}

/* ---- nnc: a graph of the one matmul, compiled as a model's step ---- */

struct nnc_case;
typedef struct barrier_ctx {
  struct nnc_case *c;
  int tid;
} barrier_ctx;

typedef struct nnc_case {
  nnc_graph g;
  nnc_program prog;
  nnc_jit *jit;
  nnc_step_fn fn;
  float *regions[NNC_REGION_IO + 4];
  float *fixed, *batch, *scratch;
  int64_t rows;
  spin_barrier bar; /* the step's own barriers between its groups */
  int sense[MAX_THREADS];
  barrier_ctx bctx[MAX_THREADS];
} nnc_case;

static int64_t batch_rows(const shape *s) {
  return s->kind == TRANS_A ? s->k : s->m;
}

static int nnc_build(nnc_case *c, const shape *s, const operands *o, nnc_status *st) {
  memset(c, 0, sizeof *c);
  if (graph_init(&c->g, "predict", st)) return -1;
  int64_t ad[2] = {-1, s->kind == TRANS_A ? s->m : s->k};
  int a = graph_input(&c->g, 0, shape_make(1, 2, ad), "a", st), y;
  if (s->kind == TRANS_A) {
    int64_t bd[2] = {-1, s->n};
    int in[2] = {a, graph_input(&c->g, 1, shape_make(1, 2, bd), "dy", st)};
    c->prog.n_inputs = 2;
    y = graph_add_attr(&c->g, NNC_OP_MATMUL, 0, in, 2, 1, st);
  } else {
    c->prog.n_inputs = 1, c->prog.n_params = 1;
    c->prog.params = calloc(1, sizeof *c->prog.params);
    nnc_param_info *info = &c->prog.params[0];
    int64_t wd[2] = {s->kind == TRANS_B ? s->n : s->k, s->kind == TRANS_B ? s->k : s->n};
    snprintf(info->name, sizeof info->name, "w");
    info->shape = shape_make(0, 2, wd);
    info->count = wd[0] * wd[1];
    c->prog.params_floats = info->count;
    nnc_params p;
    memset(&p, 0, sizeof p);
    p.bmm.transpose_b = s->kind == TRANS_B;
    int in[2] = {a, graph_source(&c->g, NNC_OP_PARAM, 0, info->shape, info->name, st)};
    y = graph_add_params(&c->g, NNC_OP_MATMUL, 0, in, 2, &p, st);
  }
  if (y < 0 || graph_output(&c->g, y, 0, st) < 0 || pass_fuse(&c->g, st) ||
      pass_plan_memory_for(&c->g, &c->prog, st))
    return -1;
  const nnc_graph *list[1] = {&c->g};
  nnc_codegen_options opts;
  memset(&opts, 0, sizeof opts);
  if (codegen_compile(list, 1, &c->prog, &opts, &c->jit, &c->fn, st)) return -1;
  c->rows = batch_rows(s);
  c->fixed = calloc((size_t)c->g.fixed_floats + 1, sizeof(float));
  c->batch = calloc((size_t)(c->g.batch_floats_per_row * (c->rows + 1)) + 1, sizeof(float));
  c->regions[NNC_REGION_IO] = o->a;
  if (s->kind == TRANS_A)
    c->regions[NNC_REGION_IO + 1] = o->b;
  else
    c->regions[NNC_REGION_PARAMS] = o->b;
  c->regions[NNC_REGION_IO + c->prog.n_inputs] = o->c;
  c->regions[NNC_REGION_FIXED] = c->fixed;
  c->regions[NNC_REGION_BATCH] = c->batch;
  /* each thread's packed operands (nnc_program.h), 64-byte aligned as the runtime's */
  int64_t scratch = codegen_scratch_floats(c->jit, 0) * MAX_THREADS;
  if (scratch && posix_memalign((void **)&c->scratch, 64, (size_t)scratch * sizeof(float)))
    return -1;
  c->regions[NNC_REGION_SCRATCH] = c->scratch;
  return 0;
}

static void nnc_free(nnc_case *c) {
  if (c->jit) codegen_release(c->jit);
  graph_free(&c->g);
  free(c->prog.params), free(c->fixed), free(c->batch), free(c->scratch);
}

static void nnc_barrier(void *p) {
  barrier_ctx *b = p;
  barrier_wait(&b->c->bar, &b->c->sense[b->tid]);
}

static void nnc_work(int tid, int nthreads, void *p) {
  nnc_case *c = p;
  float scalars[NNC_SCALAR_COUNT] = {0};
  c->bar.threads = nthreads;
  c->fn(c->regions, scalars, c->rows, 0, tid, nthreads, nnc_barrier, &c->bctx[tid]);
}

/* ---- OpenBLAS ---- */

#ifdef NNC_BENCH_OPENBLAS
typedef struct blas_case {
  const shape *s;
  const operands *o;
} blas_case;

/* columns [j0, j1) of C */
static void blas_columns(const blas_case *b, int64_t j0, int64_t j1) {
  const shape *s = b->s;
  const operands *o = b->o;
  int n = (int)(j1 - j0), m = (int)s->m, k = (int)s->k, ldc = (int)s->n;
  float *c = o->c + j0;
  if (s->kind == PLAIN)
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, n, k, 1.0f, o->a, k, o->b + j0,
                (int)s->n, 0.0f, c, ldc);
  else if (s->kind == TRANS_A) /* x[k, m]^T dy[k, n] */
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, m, n, k, 1.0f, o->a, m, o->b + j0,
                (int)s->n, 0.0f, c, ldc);
  else /* dy[m, k] W[n, k]^T */
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, m, n, k, 1.0f, o->a, k, o->b + j0 * k, k,
                0.0f, c, ldc);
}

/* each thread of the team its half of the columns (whole 32-column strips, as nnc) */
static void blas_work(int tid, int nthreads, void *p) {
  const blas_case *b = p;
  int64_t n = b->s->n, strips = (n + 31) / 32, per = (strips + nthreads - 1) / nthreads;
  int64_t j0 = tid * per * 32, j1 = (tid + 1) * per * 32;
  blas_columns(b, j0 < n ? j0 : n, j1 < n ? j1 : n);
}

static void run_blas_shape(const shape *s, const operands *o, double guess) {
  blas_case b = {s, o};
  char what[96];
  int reps = reps_for(guess);
  openblas_set_num_threads(1);
  trio t = measure(blas_work, &b, reps);
  snprintf(what, sizeof what, "blas %s", s->name);
  report_trio(what, flops_of(s), t);
  if (!blas_own2) return;
  /* its worker threads are not pinned, and spin a while after each call: this one last */
  openblas_set_num_threads(2);
  timing own2 = team_run(1, reps, blas_work, &b);
  openblas_set_num_threads(1);
  printf("%-34s own 2 threads %7.1f GFLOP/s  2t/1t %.2f\n", "", flops_of(s) / own2.wall * 1e-9,
         t.one.wall / own2.wall);
  fflush(stdout);
}
#endif

static int run_products(int nnc_on, int blas_on, int handoff_on) {
  handoff = handoff_on ? handoff_touch : NULL;
  for (int i = 0; i < SHAPES; i++) {
    const shape *s = &shapes[i];
    operands o;
    operands_make(&o, s);
    double guess = flops_of(s) / 100e9;
    touch_shape = s, touch_ops = &o;
    if (nnc_on) {
      nnc_case *c = calloc(1, sizeof *c);
      nnc_status st;
      memset(&st, 0, sizeof st);
      if (nnc_build(c, s, &o, &st)) {
        fprintf(stderr, "gemm_scaling: %s: %s\n", s->name, st.message);
        nnc_free(c), free(c), operands_free(&o);
        return 1;
      }
      for (int t = 0; t < MAX_THREADS; t++) c->bctx[t].c = c, c->bctx[t].tid = t;
      int reps = reps_for(guess);
      team_run(1, 2, nnc_work, c);
      float *bits1 = malloc(sizeof(float) * (size_t)o.c_count);
      memcpy(bits1, o.c, sizeof(float) * (size_t)o.c_count);
      trio t = measure(nnc_work, c, reps);
      int same = !memcmp(bits1, o.c, sizeof(float) * (size_t)o.c_count);
      char what[96];
      snprintf(what, sizeof what, "nnc %s", s->name);
      report_trio(what, flops_of(s), t);
      free(bits1);
      nnc_free(c), free(c);
      if (!same) {
        fprintf(stderr, "gemm_scaling: %s: 2 threads differ from 1\n", s->name);
        operands_free(&o);
        return 1;
      }
    }
#ifdef NNC_BENCH_OPENBLAS
    if (blas_on) run_blas_shape(s, &o, guess);
#else
    (void)blas_on;
#endif
    operands_free(&o);
  }
  handoff = NULL;
  return 0;
}

int main(int argc, char **argv) {
  int rounds = 1, any = 0, handoff_on = 0, on[5] = {0}; /* fma, stream, nnc, blas, blas2 */
  static const char *const parts[5] = {"fma", "stream", "nnc", "blas", "blas2"};
  for (int i = 1; i < argc; i++) {
    int known = 0;
    for (int k = 0; k < 5; k++)
      if (!strcmp(argv[i], parts[k])) on[k] = known = any = 1;
    if (known) continue;
    if (!strcmp(argv[i], "--rounds") && i + 1 < argc && atoi(argv[i + 1]) > 0)
      rounds = atoi(argv[++i]);
    else if (!strcmp(argv[i], "--ms") && i + 1 < argc && atof(argv[i + 1]) > 0)
      run_ms = atof(argv[++i]);
    else if (!strcmp(argv[i], "--cold"))
      cold = 1;
    else if (!strcmp(argv[i], "--handoff"))
      handoff_on = 1;
    else if (!strcmp(argv[i], "--cpus") && i + 1 < argc &&
             sscanf(argv[i + 1], "%d,%d", &cpus[0], &cpus[1]) == 2 && cpus[0] >= 0 &&
             cpus[1] >= 0 && cpus[0] < CPU_SETSIZE && cpus[1] < CPU_SETSIZE && cpus[0] != cpus[1])
      i++;
    else {
      fprintf(stderr, "usage: gemm_scaling [--rounds R] [--ms M] [--cpus A,B] [--cold] [--handoff] "
                      "[fma] [stream] [nnc] "
                      "[blas] [blas2]\n");
      return 2;
    }
  }
  if (!any) on[0] = on[1] = on[2] = on[3] = 1;
  blas_own2 = on[4];
  on[3] |= on[4];
  /* the caller is thread 0 on CPU 0; a watchdog, since a hang under chrt -f would
   * starve the machine */
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpus[0], &set);
  sched_setaffinity(0, sizeof set, &set);
  alarm((unsigned)(60 * rounds + 60));
  for (int t = 0; t < MAX_THREADS; t++) {
    evict_buf[t] = malloc(sizeof(float) * EVICT_FLOATS);
    if (!evict_buf[t]) return 1;
    for (size_t i = 0; i < EVICT_FLOATS; i++) evict_buf[t][i] = (float)(i & 7);
  }
  const char *vw = getenv("NNC_VECTOR_WIDTH");
  printf("NNC_VECTOR_WIDTH=%s  threads on CPUs %d,%d  operands %s",
         vw && *vw ? vw : "(unset: the CPU's widest)", cpus[0], cpus[1],
         cold ? "cold (L2 evicted before each repetition)" : "warm");
  if (handoff_on) printf(" + handoff (each thread rewrote its step's share first)");
#ifdef NNC_BENCH_OPENBLAS
  openblas_set_num_threads(1);
  printf("  openblas %s", openblas_get_corename());
#else
  on[3] = 0;
  printf("  (built without OpenBLAS)");
#endif
  printf("\n");
  for (int r = 0; r < rounds; r++) {
    printf("-- round %d\n", r + 1);
    if (on[0]) run_fma();
    if (on[1]) run_stream();
    if ((on[2] || on[3]) && run_products(on[2], on[3], handoff_on)) return 1;
  }
  return 0;
}
