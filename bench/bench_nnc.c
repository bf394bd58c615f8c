/* nnc on the peer workloads of ../shared/bench (W1-W5): the same data (the
 * counter-based generator of datagen.py, re-implemented here bit for bit),
 * the same models, optimizers, batch sizes and epochs. Prints one line per
 * workload with the median wall time over --reps repetitions after one
 * warm-up, in the units RESULTS.md uses. W6 (a Fashion-MNIST convnet) and W7
 * (an LSTM classifier) are nnc's own additions; bench_torch_w67.py is their
 * PyTorch side. Compile time is excluded (the model
 * is built before the timed repetitions), as torch's warm-up excludes its own.
 *
 * Each JSON record also has load_s (the C API's load+build of the workload's model)
 * and maxrss_kib (the process's peak resident memory when the workload ended);
 * NNC_BENCH_MEM=1 prints the resident memory at the points between (mem_point).
 * NNC_BENCH_WAITS=1 prints, after each workload, where the timed repetitions' threads
 * worked and waited (the pool's trace, print_waits; with --threads 1, one thread's work
 * between the same barriers) and their minor page faults and context switches; with
 * --ab, each side's own (a side on one thread traced on a pool of one); other values
 * than 0 and 1 are refused.
 *
 * --ab A/B (in-process A/B, docs/performance.md "Session 18: strip claims, decided"):
 * each workload is compiled twice, once with the environment settings A and once
 * with B (e.g. NNC_STRIP_STEAL=0/NNC_STRIP_STEAL=1, each a comma-separated list of
 * VAR=VALUE, or threads=N for that side's thread count; the compile cache is off),
 * and --rounds rounds each time one repetition
 * of A and one of B back to back (ABBA order), so the host's drift cancels within a
 * round. --ab-samples N: each repetition of a fit is one epoch over the next N
 * samples (a window moving over the data) instead of all of them. Prints the median
 * of A, of B and of the per-round ratio B/A, and whether A's and B's weights are the
 * same bytes afterwards.
 *
 *   bench_nnc [--threads N] [--reps R] [--workloads W1,W2,...] [--json FILE]
 *             [--w3-samples N] [--w6-samples N] [--w7-samples N]
 *             [--ab A/B [--rounds R] [--ab-samples N]] */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <zlib.h>

#include "nnc.h"
#include "runtime/io/io.h"
#include "runtime/model.h"
#include "runtime/pool.h"

/* ---- datagen.py, in C ---- */
static uint32_t lowbias32(uint32_t x) {
  x ^= x >> 16;
  x *= 0x7feb352dU;
  x ^= x >> 15;
  x *= 0x846ca68bU;
  x ^= x >> 16;
  return x;
}
static uint32_t u32(uint32_t seed, uint64_t i) {
  uint32_t key = lowbias32(seed + 0x9E3779B9U);
  return lowbias32((uint32_t)(i * 0x9E3779B9ULL) + key);
}
static float *uniform(uint32_t seed, int64_t n) {
  float *v = malloc((size_t)n * sizeof *v);
  for (int64_t i = 0; i < n; i++) v[i] = (float)((double)(u32(seed, (uint64_t)i) >> 8) * 0x1p-24);
  return v;
}
static float *normal(uint32_t seed, int64_t n) {
  float *v = malloc((size_t)n * sizeof *v);
  for (int64_t i = 0; i < n; i++) {
    double u1 = ((double)(u32(seed, 2 * (uint64_t)i) >> 8) + 1.0) * 0x1p-24;
    double u2 = (double)(u32(seed, 2 * (uint64_t)i + 1) >> 8) * 0x1p-24;
    v[i] = (float)(sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2));
  }
  return v;
}

static nnc_array arr(float *data, int rank, int64_t d0, int64_t d1, int64_t d2) {
  nnc_array a = {NNC_F32, rank, {d0, d1, d2}, data, NULL};
  return a;
}

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int threads = 1, reps = 5;

/* --ab: the two settings, the rounds, the window of a fit (0: all samples) */
static char ab_set[2][256];
static int ab = 0, ab_rounds = 20, ab_samples = 0;
static char ab_spec[16384]; /* the spec of the model being measured: B compiles it again */

/* Apply setting `which` (0: A, 1: B) of --ab to the environment: VAR=VALUE,...
 * (checked by main: ab_side_ok); returns its thread count (threads=N in the
 * list; else --threads) */
static int ab_env(int which) {
  int n = threads;
  char copy[256];
  snprintf(copy, sizeof copy, "%s", ab_set[which]);
  for (char *save = NULL, *kv = strtok_r(copy, ",", &save); kv; kv = strtok_r(NULL, ",", &save)) {
    char *eq = strchr(kv, '=');
    *eq = 0;
    if (!strcmp(kv, "threads"))
      n = atoi(eq + 1);
    else
      setenv(kv, eq + 1, 1);
  }
  return n;
}

/* NNC_BENCH_MEM=1: the resident memory (VmRSS) and its peak so far (VmHWM) at a named
 * point, on stderr: where a workload's peak RSS comes from. */
static void mem_point(const char *what) {
  if (!getenv("NNC_BENCH_MEM")) return;
  FILE *f = fopen("/proc/self/status", "r");
  char line[256], rss[64] = "?", hwm[64] = "?", anon[64] = "?", file[64] = "?";
  while (f && fgets(line, sizeof line, f)) {
    if (!strncmp(line, "VmRSS:", 6)) sscanf(line + 6, "%63s", rss);
    if (!strncmp(line, "VmHWM:", 6)) sscanf(line + 6, "%63s", hwm);
    if (!strncmp(line, "RssAnon:", 8)) sscanf(line + 8, "%63s", anon);
    if (!strncmp(line, "RssFile:", 8)) sscanf(line + 8, "%63s", file);
  }
  if (f) fclose(f);
  fprintf(stderr, "mem %-20s rss %8s KiB  peak %8s KiB  (anonymous %s KiB, files %s KiB)\n", what,
          rss, hwm, anon, file);
}
/* seconds spent in nnc_model_load_string (parse, lower, optimize, JIT-compile) for the
 * workload being measured: its first model's compile time through the C API */
static double load_s = -1;

static nnc_model *load(const char *spec) {
  nnc_status st;
  nnc_model *m;
  double t0 = now();
  mem_point("before compile");
  int n = threads;
  if (ab) snprintf(ab_spec, sizeof ab_spec, "%s", spec), n = ab_env(0);
  int rc = nnc_model_load_string(spec, "bench", &m, &st);
  if (load_s < 0) load_s = now() - t0;
  mem_point("after compile");
  if (rc || nnc_model_set_threads(m, n, &st)) {
    fprintf(stderr, "bench: %s\n", st.message);
    exit(1);
  }
  return m;
}

static void must(int rc, const nnc_status *st) {
  if (rc) {
    fprintf(stderr, "bench: %s\n", st->message);
    exit(1);
  }
}

static int cmp(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

typedef void (*rep_fn)(void *ctx);

typedef struct fit_ctx {
  nnc_model *m;
  nnc_array *x, *y;
  nnc_fit_options o;
  int steps;
} fit_ctx;

/* Per pool job (a step on the threads), in microseconds: each thread's own
 * work (its CPU time outside the waits), the critical path (the slowest
 * thread's work between each pair of barriers, summed: what the step would
 * take with free barriers), the waits at the barriers (and their part after
 * the last thread arrived: the waiter's own lateness), at the job's end and
 * between jobs, a worker's wake-up, and the caller's CPU time between jobs
 * (its serial work). */
static void print_waits(const pool_trace *tr, int nthreads, int runs) {
  int n = nthreads < POOL_TRACE_THREADS ? nthreads : POOL_TRACE_THREADS;
  double jobs = (double)tr->jobs, path = 0, work[POOL_TRACE_THREADS] = {0};
  double waits[POOL_TRACE_THREADS] = {0}, late[POOL_TRACE_THREADS] = {0};
  for (int b = 0; b <= POOL_TRACE_BARRIERS; b++) {
    double most = 0;
    for (int t = 0; t < n; t++) {
      work[t] += tr->work_ns[t][b];
      if (b < POOL_TRACE_BARRIERS)
        waits[t] += tr->barrier_ns[t][b], late[t] += tr->release_ns[t][b];
      if (tr->work_ns[t][b] > most) most = tr->work_ns[t][b];
    }
    path += most;
  }
  double gaps = jobs > runs ? jobs - runs : 1; /* a run's first job follows no job of it */
  printf("  waits: %ld jobs; per job (us): wall %.1f, critical path %.1f; caller between jobs %.1f "
         "wall, %.1f CPU",
         tr->jobs, tr->job_wall_ns / jobs / 1e3, path / jobs / 1e3,
         tr->between_wall_ns / gaps / 1e3, tr->between_ns / gaps / 1e3);
  for (int t = 0; t < n; t++)
    printf(
        "; thread %d work %.1f, barriers %.1f (after the last arrival %.1f), %s %.1f, wake %.1f, "
        "yields %.1f",
        t, work[t] / jobs / 1e3, waits[t] / jobs / 1e3, late[t] / jobs / 1e3, t ? "idle" : "end",
        (t ? tr->idle_ns[t] : tr->end_ns[0]) / jobs / 1e3, tr->wake_ns[t] / jobs / 1e3,
        (double)tr->yields[t] / jobs);
  printf("\n  per segment (us, thread 0%s work):", n > 1 ? "/1" : "");
  for (int b = 0; b <= POOL_TRACE_BARRIERS; b++) {
    if (tr->work_ns[0][b] <= 0 && (n < 2 || tr->work_ns[1][b] <= 0)) continue;
    printf(" [%d] %.1f", b, tr->work_ns[0][b] / jobs / 1e3);
    if (n > 1) printf("/%.1f", tr->work_ns[1][b] / jobs / 1e3);
  }
  printf("\n");
}

/* NNC_BENCH_WAITS=1 also counts, over the timed repetitions, the process's minor page
 * faults (first touches: ~13 us each on the session-19 host) and context switches (a
 * thread that gave its core away, voluntarily or not) */
typedef struct usage {
  long faults, vcsw, ivcsw;
} usage;
static usage usage_now(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return (usage){ru.ru_minflt, ru.ru_nvcsw, ru.ru_nivcsw};
}
static void print_usage(const char *what, usage a, usage b, double runs) {
  printf("  %s per repetition: %.1f minor faults, %.1f voluntary and %.1f involuntary context "
         "switches\n",
         what, (double)(b.faults - a.faults) / runs, (double)(b.vcsw - a.vcsw) / runs,
         (double)(b.ivcsw - a.ivcsw) / runs);
}

/* 1 if a's and b's weights are the same bytes */
static int same_weights(const nnc_model *a, const nnc_model *b) {
  int n = nnc_model_weight_count(a), same = n == nnc_model_weight_count(b);
  for (int i = 0; same && i < n; i++) {
    const char *name = nnc_model_weight_name(a, i);
    nnc_array wa, wb;
    nnc_status st;
    must(nnc_model_get_weight(a, name, &wa, &st), &st);
    must(nnc_model_get_weight(b, name, &wb, &st), &st);
    size_t bytes = nnc_dtype_size(wa.dtype);
    for (int d = 0; d < wa.rank; d++) bytes *= (size_t)wa.shape[d];
    same = wa.dtype == wb.dtype && wa.rank == wb.rank &&
           !memcmp(wa.shape, wb.shape, sizeof wa.shape) && !memcmp(wa.data, wb.data, bytes);
    nnc_array_free(&wa);
    nnc_array_free(&wb);
  }
  return same;
}

/* rows [at, at + n) of a */
static nnc_array rows_of(const nnc_array *a, int64_t at, int64_t n) {
  nnc_array v = *a;
  size_t row = nnc_dtype_size(a->dtype);
  for (int d = 1; d < a->rank; d++) row *= (size_t)a->shape[d];
  v.data = (char *)a->data + (size_t)at * row;
  v.shape[0] = n;
  return v;
}

static void do_fit(void *p);

static void no_job(void *arg, int tid, int nthreads) {
  (void)arg, (void)tid, (void)nthreads;
}

/* --ab: c's model is A (compiled under setting A); B is the same spec compiled
 * under setting B. After a warm-up of each (which also builds it: a build can
 * be lazy, so the setting stays in the environment until then), ab_rounds
 * rounds run one repetition of each back to back, A first in even rounds and B
 * first in odd ones. Returns A's median. */
static double ab_timed(rep_fn fn, fit_ctx *c) {
  enum { MAX = 1000 };
  static double t[2][MAX], ratio[MAX];
  int rounds = ab_rounds < MAX ? ab_rounds : MAX;
  nnc_status st;
  nnc_model *m[2] = {c->m, NULL};
  fn(c);
  int nb = ab_env(1);
  must(nnc_model_load_string(ab_spec, "bench", &m[1], &st), &st);
  must(nnc_model_set_threads(m[1], nb, &st), &st);
  /* one pool for both: an idle pool's worker spins (sched_yield) ~0.1 s
   * before it sleeps, and under chrt -f that held a CPU the other model's
   * step needed (B/A 0.59 on two threads with A = B, 1.00 on one). With
   * threads=N for one side only, the side on one thread has no pool. */
  int shared = m[0]->pool && pool_size(m[0]->pool) == pool_size(m[1]->pool);
  if (shared) {
    pool_destroy(m[1]->pool);
    m[1]->pool = m[0]->pool;
  }
  c->m = m[1];
  fn(c);
  ab_env(0);
  /* NNC_BENCH_WAITS=1: each side's own trace (a side on one thread gets a pool of
   * one, which traces its segments; both sides on one shared pool switch it) */
  const char *waits = getenv("NNC_BENCH_WAITS");
  pool_trace *tr[2] = {NULL, NULL};
  nnc_pool *own[2] = {NULL, NULL};
  usage use[2] = {{0, 0, 0}, {0, 0, 0}};
  for (int w = 0; waits && !strcmp(waits, "1") && w < 2; w++) {
    if (!m[w]->pool) must(pool_create(1, &own[w], &st), &st), m[w]->pool = own[w];
    tr[w] = calloc(1, sizeof *tr[w]);
  }
  nnc_array *x = c->x, *y = c->y, xv, yv;
  int64_t rows = x->shape[0], at = 0;
  int window = fn == do_fit && ab_samples > 0 && ab_samples < rows;
  for (int r = 0; r < rounds; r++) {
    if (window) {
      if (at + ab_samples > rows) at = 0;
      xv = rows_of(x, at, ab_samples), yv = rows_of(y, at, ab_samples);
      c->x = &xv, c->y = &yv, at += ab_samples;
    }
    for (int i = 0; i < 2; i++) {
      int w = r & 1 ? 1 - i : i;
      c->m = m[w];
      /* a worker that slept through the other side's run (threads=1/threads=2)
       * is woken before the clock starts: ~1.3 ms a round otherwise */
      if (m[w]->pool && pool_size(m[w]->pool) > 1) pool_run(m[w]->pool, no_job, NULL);
      if (tr[w]) { /* the time since its last run's last job is the other side's */
        tr[w]->last_end_cpu = tr[w]->last_end_wall = 0;
        pool_set_trace(m[w]->pool, tr[w]);
      }
      usage u0 = usage_now();
      double t0 = now();
      fn(c);
      t[w][r] = now() - t0;
      usage u1 = usage_now();
      use[w].faults += u1.faults - u0.faults, use[w].vcsw += u1.vcsw - u0.vcsw;
      use[w].ivcsw += u1.ivcsw - u0.ivcsw;
      if (tr[w]) pool_set_trace(m[w]->pool, NULL);
    }
    ratio[r] = t[1][r] / t[0][r];
  }
  c->x = x, c->y = y, c->m = m[0];
  for (int w = 0; w < 2; w++) {
    if (!tr[w]) continue;
    printf("  ab: %s (%s), %d rounds:\n", w ? "B" : "A", ab_set[w], rounds);
    if (tr[w]->jobs) print_waits(tr[w], pool_size(m[w]->pool), rounds);
    usage zero = {0, 0, 0};
    print_usage("whole fit", zero, use[w], rounds);
    free(tr[w]);
    if (own[w]) m[w]->pool = NULL, pool_destroy(own[w]);
  }
  int same = same_weights(m[0], m[1]);
  if (shared) m[1]->pool = NULL; /* A's */
  nnc_model_free(m[1]);
  printf("  ab: B/A per round:");
  for (int r = 0; r < rounds; r++) printf(" %.3f", ratio[r]);
  qsort(ratio, (size_t)rounds, sizeof ratio[0], cmp);
  qsort(t[0], (size_t)rounds, sizeof t[0][0], cmp);
  qsort(t[1], (size_t)rounds, sizeof t[1][0], cmp);
  printf("\n  ab: %d rounds%s; A (%s) median %.6fs, B (%s) median %.6fs; B/A median %.4f, "
         "quartiles %.4f %.4f, min %.4f, max %.4f; weights %s\n",
         rounds, window ? " of a window" : "", ab_set[0], t[0][rounds / 2], ab_set[1],
         t[1][rounds / 2], ratio[rounds / 2], ratio[rounds / 4], ratio[3 * rounds / 4], ratio[0],
         ratio[rounds - 1], same ? "bit-identical" : "DIFFER");
  fflush(stdout);
  return t[0][rounds / 2];
}

/* median of reps timed calls after one warm-up; m: the model they run (its pool is traced) */
static double timed(rep_fn fn, void *ctx, nnc_model *m) {
  if (ab) return ab_timed(fn, ctx); /* every ctx here is a fit_ctx */
  double t[64];
  fn(ctx);
  mem_point("after the warm-up");
  const char *waits = getenv("NNC_BENCH_WAITS");
  pool_trace *tr = NULL;
  nnc_status st;
  /* one thread: a pool of one runs the same steps on the caller and traces
   * its segments between the same barriers (the model frees it) */
  if (waits && !strcmp(waits, "1") && !m->pool) must(pool_create(1, &m->pool, &st), &st);
  if (waits && !strcmp(waits, "1") && m->pool && (tr = calloc(1, sizeof *tr)))
    pool_set_trace(m->pool, tr);
  usage u0 = usage_now();
  for (int r = 0; r < reps; r++) {
    double t0 = now();
    fn(ctx);
    t[r] = now() - t0;
  }
  usage u1 = usage_now();
  if (tr) {
    pool_set_trace(m->pool, NULL);
    if (tr->jobs) print_waits(tr, pool_size(m->pool), 1);
    free(tr);
  }
  if (waits && !strcmp(waits, "1")) print_usage("timed", u0, u1, reps);
  qsort(t, (size_t)reps, sizeof t[0], cmp);
  return t[reps / 2];
}

#define DENSE(name, units, act, extra)                                                             \
  "{\"class_name\": \"Dense\", \"config\": {\"name\": \"" name "\", \"units\": " #units            \
  ", \"activation\": \"" act "\"" extra "}}"
#define CONV(name, filters, extra)                                                                 \
  "{\"class_name\": \"Conv2D\", \"config\": {\"name\": \"" name "\", \"filters\": " #filters       \
  ", \"kernel_size\": [3, 3], \"activation\": \"relu\"" extra "}}"
#define POOL(name)                                                                                 \
  "{\"class_name\": \"MaxPooling2D\", \"config\": {\"name\": \"" name "\", \"pool_size\": 2}}"
#define SEQ(layers, compile)                                                                       \
  "{\"class_name\": \"Sequential\", \"config\": {\"name\": \"bench\", \"layers\": [" layers        \
  "]}, \"compile_config\": " compile "}"

static void do_fit(void *p) {
  fit_ctx *c = p;
  nnc_history h;
  nnc_status st;
  must(nnc_model_fit(c->m, c->x, c->y, &c->o, &h, &st), &st);
  nnc_history_free(&h);
}

static void do_steps(void *p) {
  fit_ctx *c = p;
  nnc_logs l = {0};
  nnc_status st;
  for (int i = 0; i < c->steps; i++) must(nnc_model_train_on_batch(c->m, c->x, c->y, &l, &st), &st);
  nnc_logs_free(&l);
}

static FILE *json;

/* median: seconds of one repetition, defined as bench_torch.py defines it. Also the
 * workload's compile time (load_s) and the process's peak resident memory so far (run.sh
 * runs one workload per process, so it is that workload's). */
static void report(const char *id, double median, int units, const char *unit, double samples) {
  mem_point("end");
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  printf("%-8s median %.4fs/rep  per-%s %.1fus  samples/s %.0f  load %.3fs  maxrss %ld KiB\n", id,
         median, unit, median / units * 1e6, samples / median, load_s, ru.ru_maxrss);
  if (json)
    fprintf(json,
            "%s{\"id\": \"%s\", \"median_s\": %.6g, \"units_per_rep\": %d, \"unit\": \"%s\", "
            "\"samples_per_rep\": %.0f, \"load_s\": %.6g, \"maxrss_kib\": %ld}",
            ftell(json) > 2 ? ", " : "", id, median, units, unit, samples, load_s, ru.ru_maxrss);
  load_s = -1;
  fflush(stdout);
}

static void w1(void) {
  int n = 100;
  float *x = normal(101, n), *y = malloc(sizeof(float) * (size_t)n);
  for (int i = 0; i < n; i++) {
    if (i >= n / 2) x[i] += 2.0f;
    y[i] = i >= n / 2;
  }
  nnc_array xa = arr(x, 2, n, 1, 0), ya = arr(y, 2, n, 1, 0);
  const char *spec =
      SEQ(DENSE("dense", 1, "sigmoid", ", \"batch_input_shape\": [null, 1]"),
          "{\"optimizer\": {\"class_name\": \"SGD\", \"config\": {\"learning_rate\": 2}}, "
          "\"loss\": \"binary_crossentropy\", \"metrics\": [\"accuracy\"]}");
  fit_ctx c = {load(spec), &xa, &ya, {0}, 2000};
  report("W1-step", timed(do_steps, &c, c.m), 2000, "step", 2000.0 * n);
  nnc_model_free(c.m);
  c.m = load(spec);
  nnc_fit_options_default(&c.o);
  c.o.epochs = 10, c.o.batch_size = n, c.o.verbose = 0, c.o.x_val = &xa, c.o.y_val = &ya;
  report("W1-fit", timed(do_fit, &c, c.m), 10, "epoch", 10.0 * n);
  nnc_model_free(c.m);
  free(x);
  free(y);
}

static void w2(void) {
  int n = 50;
  float *x = uniform(201, n), *y = malloc(sizeof(float) * (size_t)n);
  for (int i = 0; i < n; i++) y[i] = (float)(0.6 * (double)x[i] + 0.8);
  nnc_array xa = arr(x, 2, n, 1, 0), ya = arr(y, 2, n, 1, 0);
  fit_ctx c = {load(SEQ(DENSE("dense", 1, "linear", ", \"batch_input_shape\": [null, 1]"),
                        "{\"optimizer\": {\"class_name\": \"SGD\", \"config\": {\"learning_rate\": "
                        "0.1}}, \"loss\": \"mse\"}")),
               &xa,
               &ya,
               {0},
               1001};
  report("W2", timed(do_steps, &c, c.m), 1001, "step", 1001.0 * n);
  nnc_model_free(c.m);
  free(x);
  free(y);
}

static const char *rmsprop(const char *lr) {
  static char buf[256];
  snprintf(buf, sizeof buf, "{\"class_name\": \"RMSprop\", \"config\": {\"learning_rate\": %s}}",
           lr);
  return buf;
}

/* Spec text built layer by layer. */
typedef struct spec_buf {
  char text[8192];
  size_t len;
} spec_buf;

static void dense(spec_buf *b, const char *name, int units, const char *act, const char *extra) {
  b->len += (size_t)snprintf(
      b->text + b->len, sizeof b->text - b->len,
      "%s{\"class_name\": \"Dense\", \"config\": {\"name\": \"%s\", \"units\": %d, "
      "\"activation\": \"%s\"%s}}",
      b->len ? ", " : "", name, units, act, extra);
}

static void dropout(spec_buf *b, const char *name) {
  b->len += (size_t)snprintf(
      b->text + b->len, sizeof b->text - b->len,
      "%s{\"class_name\": \"Dropout\", \"config\": {\"name\": \"%s\", \"rate\": 0.05}}",
      b->len ? ", " : "", name);
}

static nnc_model *sequential(const spec_buf *layers, const char *compile) {
  static char text[10000];
  snprintf(text, sizeof text,
           "{\"class_name\": \"Sequential\", \"config\": {\"name\": \"bench\", \"layers\": [%s]}, "
           "\"compile_config\": %s}",
           layers->text, compile);
  return load(text);
}

static void w3(int n) {
  float *x = uniform(301, (int64_t)n * 1001), *y = uniform(302, n);
  nnc_array xa = arr(x, 2, n, 1001, 0), ya = arr(y, 2, n, 1, 0);
  spec_buf layers = {{0}, 0};
  const char *names[4][2] = {{"d0", "p0"}, {"d1", "p1"}, {"d2", "p2"}, {"d3", "p3"}};
  for (int i = 0; i < 4; i++) {
    dense(&layers, names[i][0], 64, "relu", i == 0 ? ", \"batch_input_shape\": [null, 1001]" : "");
    dropout(&layers, names[i][1]);
  }
  dense(&layers, "d4", 1, "linear", "");
  char compile[512];
  snprintf(compile, sizeof compile,
           "{\"optimizer\": %s, \"loss\": \"mse\", \"metrics\": [\"mae\"]}", rmsprop("0.0005"));
  fit_ctx c = {sequential(&layers, compile), &xa, &ya, {0}, 0};
  nnc_fit_options_default(&c.o);
  c.o.epochs = 1, c.o.batch_size = 32, c.o.verbose = 0, c.o.validation_split = 0.1;
  int split = n - (int)(n * 0.1);
  report("W3", timed(do_fit, &c, c.m), 1, "epoch", split);
  nnc_model_free(c.m);
  free(x);
  free(y);
}

/* Fashion-MNIST's training images (an IDX file, gzip) as float32 in [0, 1], shape [N, 28, 28]:
 * read and converted 64 KiB at a time, so the uint8 images never sit whole next to the float32
 * ones (a 47 MB transient that was the W4 processes' peak RSS). Same values as
 * nnc_array_read + nnc_array_to_f32 + "/ 255.0f". */
static void fashion_images(const char *path, nnc_array *xf) {
  gzFile f = gzopen(path, "rb");
  unsigned char h[16];
  if (!f || gzread(f, h, sizeof h) != (int)sizeof h || h[2] != 8 || h[3] != 3) {
    fprintf(stderr, "bench: %s: not an IDX file of uint8 images\n", path);
    exit(1);
  }
  int64_t dims[3];
  for (int d = 0; d < 3; d++)
    dims[d] = (int64_t)h[4 + 4 * d] << 24 | h[5 + 4 * d] << 16 | h[6 + 4 * d] << 8 | h[7 + 4 * d];
  int64_t count = dims[0] * dims[1] * dims[2];
  float *v = malloc((size_t)count * sizeof *v);
  static unsigned char chunk[1 << 16];
  for (int64_t at = 0; v && at < count;) {
    unsigned want =
        (unsigned)(count - at < (int64_t)sizeof chunk ? count - at : (int64_t)sizeof chunk);
    int got = gzread(f, chunk, want);
    if (got <= 0) {
      fprintf(stderr, "bench: %s: truncated\n", path);
      exit(1);
    }
    for (int i = 0; i < got; i++) v[at + i] = (float)chunk[i] / 255.0f;
    at += got;
  }
  gzclose(f);
  if (!v) {
    fprintf(stderr, "bench: out of memory for %s\n", path);
    exit(1);
  }
  *xf = (nnc_array){NNC_F32, 3, {dims[0], dims[1], dims[2]}, v, NULL};
}

/* The images (fashion_images) and their labels (uint8). The caller frees both. */
static void fashion_train(nnc_array *xf, nnc_array *y) {
  nnc_status st;
  mem_point("start");
  fashion_images("/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz", xf);
  must(nnc_array_read("/usr/share/datasets/fashion-mnist/train-labels-idx1-ubyte.gz", y, &st), &st);
  mem_point("data read");
}

static void w4(int wide) {
  nnc_array y, xf;
  fashion_train(&xf, &y);
  int64_t images = xf.shape[0];
  xf.rank = 2, xf.shape[1] = 784;
  int hidden = wide ? 512 : 64;
  spec_buf layers = {{0}, 0};
  dense(&layers, "d0", hidden, "relu", ", \"batch_input_shape\": [null, 784]");
  dense(&layers, "d1", hidden, "relu", "");
  dense(&layers, "d2", 10, "linear", "");
  char compile[512];
  snprintf(compile, sizeof compile,
           "{\"optimizer\": %s, \"loss\": {\"class_name\": \"SparseCategoricalCrossentropy\", "
           "\"config\": {\"from_logits\": true}}, \"metrics\": [\"accuracy\"]}",
           rmsprop("0.001"));
  fit_ctx c = {sequential(&layers, compile), &xf, &y, {0}, 0};
  nnc_fit_options_default(&c.o);
  c.o.epochs = 1, c.o.batch_size = wide ? 128 : 64, c.o.verbose = 0;
  report(wide ? "W4-wide" : "W4", timed(do_fit, &c, c.m), 1, "epoch", (double)images);
  nnc_model_free(c.m);
  nnc_array_free(&xf);
  nnc_array_free(&y);
}

static void w5(void) {
  int n = 1500;
  float *x = normal(501, (int64_t)n * 600), *y = malloc(sizeof(float) * (size_t)n * 60);
  for (int i = 0; i < n * 60; i++) y[i] = x[(int64_t)i * 10] > 0;
  nnc_array xt = arr(x, 3, 1000, 60, 10), yt = arr(y, 3, 1000, 60, 1);
  nnc_array xv = arr(x + 1000 * 600, 3, 500, 60, 10), yv = arr(y + 1000 * 60, 3, 500, 60, 1);
  yt.shape[2] = 1, yv.shape[2] = 1;
  fit_ctx c = {
      load(SEQ(DENSE("d0", 32, "relu",
                     ", \"batch_input_shape\": [null, 60, 10]") "," DENSE("d1", 1, "sigmoid", ""),
               "{\"optimizer\": \"adam\", \"loss\": \"binary_crossentropy\", \"metrics\": "
               "[\"accuracy\"]}")),
      &xt,
      &yt,
      {0},
      0};
  nnc_fit_options_default(&c.o);
  c.o.epochs = 10, c.o.batch_size = 32, c.o.verbose = 0, c.o.x_val = &xv, c.o.y_val = &yv;
  report("W5", timed(do_fit, &c, c.m), 10, "epoch", 10000.0);
  nnc_model_free(c.m);
  free(x);
  free(y);
}

/* clang-format off */
#define W6_LAYERS                                                                                  \
  CONV("c0", 32, ", \"batch_input_shape\": [null, 28, 28, 1]") "," POOL("p0") ","                  \
  CONV("c1", 64, "") "," POOL("p1") ","                                                            \
  "{\"class_name\": \"Flatten\", \"config\": {\"name\": \"f\"}},"                                 \
  DENSE("d0", 128, "relu", "") "," DENSE("d1", 10, "softmax", "")
/* clang-format on */

/* W6: the Fashion-MNIST convnet, Adam, batch 64, one epoch over the first n training
 * images (n < 60000: a prefix, scaled to the full epoch by report.py). */
static void w6(int n) {
  nnc_array y, xf;
  fashion_train(&xf, &y);
  if (n < 1 || n > xf.shape[0]) n = (int)xf.shape[0];
  xf.rank = 4, xf.shape[0] = n, xf.shape[1] = 28, xf.shape[2] = 28, xf.shape[3] = 1;
  y.shape[0] = n;
  const char *spec =
      SEQ(W6_LAYERS, "{\"optimizer\": \"adam\", \"loss\": "
                     "\"sparse_categorical_crossentropy\", \"metrics\": [\"accuracy\"]}");
  fit_ctx c = {load(spec), &xf, &y, {0}, 0};
  nnc_fit_options_default(&c.o);
  c.o.epochs = 1, c.o.batch_size = 64, c.o.verbose = 0;
  report("W6", timed(do_fit, &c, c.m), 1, "epoch", (double)n);
  nnc_model_free(c.m);
  nnc_array_free(&xf);
  nnc_array_free(&y);
}

/* W7: LSTM(64) -> Dense(1, sigmoid) on n synthetic sequences of 100 steps x 16 features
 * (datagen normal seed 701; label: the sum of feature 0 over time is positive), Adam,
 * batch 32, one epoch. A build without the LSTM layer says so instead of a number. */
static void w7(int n) {
  float *x = normal(701, (int64_t)n * 100 * 16), *y = malloc(sizeof(float) * (size_t)n);
  for (int i = 0; i < n; i++) {
    double sum = 0;
    for (int t = 0; t < 100; t++) sum += x[((int64_t)i * 100 + t) * 16];
    y[i] = sum > 0;
  }
  nnc_array xa = arr(x, 3, n, 100, 16), ya = arr(y, 2, n, 1, 0);
  const char *spec =
      SEQ("{\"class_name\": \"LSTM\", \"config\": {\"name\": \"lstm\", \"units\": 64, "
          "\"batch_input_shape\": [null, 100, 16]}}," DENSE("d0", 1, "sigmoid", ""),
          "{\"optimizer\": \"adam\", \"loss\": \"binary_crossentropy\", \"metrics\": "
          "[\"accuracy\"]}");
  nnc_status st;
  fit_ctx c = {NULL, &xa, &ya, {0}, 0};
  double t0 = now();
  int nt = threads;
  if (ab) snprintf(ab_spec, sizeof ab_spec, "%s", spec), nt = ab_env(0);
  int rc = nnc_model_load_string(spec, "bench", &c.m, &st);
  load_s = now() - t0;
  if (rc) {
    if (st.code == NNC_ERR_SPEC && strstr(st.message, "got \"LSTM\"")) {
      printf("W7: LSTM not supported by this build\n");
      if (json)
        fprintf(json, "%s{\"id\": \"W7\", \"error\": \"LSTM not supported by this build\"}",
                ftell(json) > 2 ? ", " : "");
      free(x);
      free(y);
      return;
    }
    must(1, &st);
  }
  must(nnc_model_set_threads(c.m, nt, &st), &st);
  nnc_fit_options_default(&c.o);
  c.o.epochs = 1, c.o.batch_size = 32, c.o.verbose = 0;
  report("W7", timed(do_fit, &c, c.m), 1, "epoch", (double)n);
  nnc_model_free(c.m);
  free(x);
  free(y);
}

static const char USAGE[] =
    "usage: bench_nnc [--workloads W1,W2,W3,W4,W4-wide,W5,W6,W7] [--threads N] [--reps R]\n"
    "       [--w3-samples N] [--w6-samples N] [--w7-samples N] [--json FILE]\n"
    "       [--ab VAR=VALUE[,...]/VAR=VALUE[,...] [--rounds N] [--ab-samples N]]\n";

/* A whole number in [lo, hi] (digits only), or -1 with the message printed. */
static int option_int(const char *name, const char *text, long lo, long hi, int *out) {
  char *end;
  long v = text[0] >= '0' && text[0] <= '9' ? strtol(text, &end, 10) : -1;
  if (v < 0 || *end || v < lo || v > hi) {
    fprintf(stderr, "bench: %s: expected a whole number from %ld to %ld, got '%s'\n", name, lo, hi,
            text);
    return -1;
  }
  *out = (int)v;
  return 0;
}

/* One side of --ab: VAR=VALUE[,VAR=VALUE...], each VAR a name, threads=N a
 * thread count. 0, or -1 with the message printed. */
static int ab_side_ok(const char *side) {
  char copy[256];
  snprintf(copy, sizeof copy, "%s", side);
  int items = 0;
  for (char *save = NULL, *kv = strtok_r(copy, ",", &save); kv; kv = strtok_r(NULL, ",", &save)) {
    char *eq = strchr(kv, '=');
    if (!eq || eq == kv ||
        strspn(kv, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_0123456789") !=
            (size_t)(eq - kv)) {
      fprintf(stderr, "bench: --ab: '%s' is not VAR=VALUE\n", kv);
      return -1;
    }
    int n;
    if (!strncmp(kv, "threads=", 8) && option_int("--ab threads", eq + 1, 1, 256, &n)) return -1;
    items++;
  }
  if (!items) fprintf(stderr, "bench: --ab: a side with no VAR=VALUE\n");
  return items ? 0 : -1;
}

int main(int argc, char **argv) {
  const char *which = "W1,W2,W3,W4,W4-wide,W5,W6,W7", *json_path = NULL;
  int w3_samples = 20000, w6_samples = 60000, w7_samples = 2048;
  struct {
    const char *name;
    int *out;
    long lo, hi;
  } ints[] = {{"--threads", &threads, 1, 256},
              {"--reps", &reps, 1, 63},
              {"--w3-samples", &w3_samples, 64, 100000000}, /* a validation split of 0.1 */
              {"--w6-samples", &w6_samples, 1, 60000},
              {"--w7-samples", &w7_samples, 1, 100000000},
              {"--rounds", &ab_rounds, 1, 1000000},
              {"--ab-samples", &ab_samples, 0, 100000000}};
  enum { N_INTS = sizeof ints / sizeof ints[0] };
  const char *strings[] = {"--workloads", "--json", "--ab"};
  int seen[N_INTS + 3] = {0};
  for (int i = 1; i < argc; i += 2) {
    const char *name = argv[i], *value = i + 1 < argc ? argv[i + 1] : NULL;
    if (!strcmp(name, "--help") || !strcmp(name, "-h")) {
      fputs(USAGE, stdout);
      return 0;
    }
    int k = 0;
    while (k < N_INTS && strcmp(name, ints[k].name)) k++;
    if (k == N_INTS)
      while (k < N_INTS + 3 && strcmp(name, strings[k - N_INTS])) k++;
    if (k == N_INTS + 3) {
      fprintf(stderr, "bench: unknown option '%s'\n%s", name, USAGE);
      return 2;
    }
    if (!value) {
      fprintf(stderr, "bench: %s needs a value\n%s", name, USAGE);
      return 2;
    }
    if (seen[k]++) {
      fprintf(stderr, "bench: %s given twice\n", name);
      return 2;
    }
    if (k < N_INTS) {
      if (option_int(name, value, ints[k].lo, ints[k].hi, ints[k].out)) return 2;
    } else if (!strcmp(name, "--workloads"))
      which = value;
    else if (!strcmp(name, "--json"))
      json_path = value;
    else {
      const char *slash = strchr(value, '/');
      if (!slash || strchr(slash + 1, '/') || strlen(value) >= sizeof ab_set[0]) {
        fprintf(stderr, "bench: --ab wants A/B, each VAR=VALUE[,VAR=VALUE...]\n");
        return 2;
      }
      snprintf(ab_set[0], sizeof ab_set[0], "%.*s", (int)(slash - value), value);
      snprintf(ab_set[1], sizeof ab_set[1], "%s", slash + 1);
      if (ab_side_ok(ab_set[0]) || ab_side_ok(ab_set[1])) return 2;
      ab = 1;
    }
  }
  /* every name of --workloads must be one of the eight, and one at least */
  char names[256];
  if (strlen(which) >= sizeof names) {
    fprintf(stderr, "bench: --workloads: too long\n");
    return 2;
  }
  snprintf(names, sizeof names, "%s", which);
  int n_names = 0;
  for (char *w = strtok(names, ","); w; w = strtok(NULL, ","), n_names++) {
    static const char *const all[] = {"W1", "W2", "W3", "W4", "W4-wide", "W5", "W6", "W7"};
    int found = 0;
    for (size_t k = 0; k < sizeof all / sizeof all[0]; k++) found |= !strcmp(w, all[k]);
    if (!found) {
      fprintf(stderr, "bench: --workloads: no workload '%s' (W1 W2 W3 W4 W4-wide W5 W6 W7)\n", w);
      return 2;
    }
  }
  if (!n_names) {
    fprintf(stderr, "bench: --workloads: no workload named\n");
    return 2;
  }
  if (ab) setenv("NNC_CACHE", "0", 1); /* A and B compiled, not taken from the cache */
  const char *waits = getenv("NNC_BENCH_WAITS");
  /* empty is unset, as for nnc's own variables (docs/cli.md) */
  if (waits && *waits && strcmp(waits, "0") && strcmp(waits, "1")) {
    fprintf(stderr, "bench: NNC_BENCH_WAITS must be 0 or 1, got '%s'\n", waits);
    return 2;
  }
  if (json_path) {
    if (!(json = fopen(json_path, "w"))) {
      fprintf(stderr, "bench: --json %s: cannot write it\n", json_path);
      return 2;
    }
    fprintf(json, "[");
  }
  char list[256];
  snprintf(list, sizeof list, ",%s,", which);
  if (strstr(list, ",W1,")) w1();
  if (strstr(list, ",W2,")) w2();
  if (strstr(list, ",W3,")) w3(w3_samples);
  if (strstr(list, ",W4,")) w4(0);
  if (strstr(list, ",W4-wide,")) w4(1);
  if (strstr(list, ",W5,")) w5();
  if (strstr(list, ",W6,")) w6(w6_samples);
  if (strstr(list, ",W7,")) w7(w7_samples > 0 ? w7_samples : 2048);
  if (json) {
    fprintf(json, "]\n");
    fclose(json);
  }
  return 0;
}
