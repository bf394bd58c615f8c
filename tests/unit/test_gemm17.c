/* Session 17 (gemm): the weight gradient x^T @ dy (transpose_a) copies its
 * rows of A once per thread and K block into a contiguous panel that the
 * strips read as a plain product (emit_gemm.c: panel_block, emit_panel).
 * The panel is a copy, so every output element must still be the chain it
 * had before: from +0, one fused multiply-add per p in order (a partial sum
 * between K blocks is a float stored and reloaded: exact).
 *
 * Truth: that chain written in C with fmaf, compared bit for bit, for
 * M = 7 (the one small tile), 29 (every tile size) and 520 rows (a K block
 * of 256: 520 x 512 floats would not fit the panel), N = 60 (8 strips at
 * width 4, no B pack; 2 and 4 strips at 16 and 8: A in place) and 257 (a
 * narrower last strip), batches across the K blocks' edges (1, 256, 257,
 * 512, 513, 600), vector widths 16/8/4, one to three threads each computing
 * its share (3 threads split 29 x 257 by rows: a panel from row 12 or 24).
 * The IR checks say where the panel must be and where it must not: f64
 * sums, A read along its rows (x @ W), fewer than 8 column strips,
 * NNC_STRIP_STEAL=1. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "compiler/codegen/codegen.h"
#include "compiler/graph/graph.h"
#include "compiler/passes/passes.h"
#include "nnc.h"
#include "testutil.h"

enum { COUNT = 3, MAX_BATCH = 600 };
static const int64_t rows_of[COUNT] = {7, 29, 520}, cols_of[COUNT] = {60, 257, 60};
static const int64_t batches[] = {1, 256, 257, 512, 513, 600};
enum { BATCHES = sizeof batches / sizeof batches[0] };

typedef struct rig {
  nnc_graph g;
  nnc_program prog;
  nnc_jit *jit;
  nnc_step_fn fn;
} rig;

/* x_i[B, M_i]^T @ dy_i[B, N_i] for each i, in one graph */
static void graph_build(rig *r, int transpose_a, const int64_t *ms, const int64_t *ns, int count) {
  nnc_status st = {0};
  memset(r, 0, sizeof *r);
  ck_assert(graph_init(&r->g, "predict", &st) == NNC_OK);
  r->prog.n_inputs = 2 * count;
  for (int i = 0; i < count; i++) {
    int64_t xd[2] = {-1, ms[i]}, yd[2] = {-1, ns[i]}, wd[2] = {ms[i], ns[i]};
    int x = graph_input(&r->g, 2 * i, shape_make(1, 2, xd), "x", &st);
    int y;
    if (transpose_a) {
      int in[2] = {x, graph_input(&r->g, 2 * i + 1, shape_make(1, 2, yd), "dy", &st)};
      y = graph_add_attr(&r->g, NNC_OP_MATMUL, 0, in, 2, 1, &st);
    } else { /* x @ W: A read along its rows */
      (void)graph_input(&r->g, 2 * i + 1, shape_make(1, 2, yd), "unused", &st);
      r->prog.n_params = 1;
      r->prog.params = calloc(1, sizeof *r->prog.params);
      snprintf(r->prog.params[0].name, sizeof r->prog.params[0].name, "w");
      r->prog.params[0].shape = shape_make(0, 2, wd);
      r->prog.params[0].count = wd[0] * wd[1];
      r->prog.params_floats = wd[0] * wd[1];
      y = graph_matmul(
          &r->g, x, graph_source(&r->g, NNC_OP_PARAM, 0, r->prog.params[0].shape, "w", &st), &st);
    }
    ck_assert_msg(y >= 0 && graph_output(&r->g, y, i, &st) >= 0, "%s", st.message);
  }
  ck_assert(pass_fuse(&r->g, &st) == NNC_OK);
  ck_assert_msg(pass_plan_memory_for(&r->g, &r->prog, &st) == NNC_OK, "%s", st.message);
}

static void rig_free(rig *r) {
  if (r->jit) codegen_release(r->jit);
  graph_free(&r->g);
  free(r->prog.params);
}

static void no_barrier(void *ctx) {
  (void)ctx;
}

typedef struct data {
  float *x[COUNT], *dy[COUNT], *want[COUNT][BATCHES];
} data;

/* the operands, and each product's fmaf chain over p in order per batch */
static void data_make(data *d) {
  for (int i = 0; i < COUNT; i++) {
    int64_t m = rows_of[i], n = cols_of[i];
    d->x[i] = malloc(sizeof(float) * (size_t)(MAX_BATCH * m));
    d->dy[i] = malloc(sizeof(float) * (size_t)(MAX_BATCH * n));
    for (int64_t e = 0; e < MAX_BATCH * m; e++) d->x[i][e] = (float)sin(0.37 * (double)e + 0.1 * i);
    for (int64_t e = 0; e < MAX_BATCH * n; e++)
      d->dy[i][e] = (float)cos(0.61 * (double)e + 0.3 * i);
    for (int b = 0; b < BATCHES; b++) {
      float *w = d->want[i][b] = malloc(sizeof(float) * (size_t)(m * n));
      for (int64_t r = 0; r < m; r++)
        for (int64_t j = 0; j < n; j++) {
          float s = 0.0f;
          for (int64_t p = 0; p < batches[b]; p++)
            s = fmaf(d->x[i][p * m + r], d->dy[i][p * n + j], s);
          w[r * n + j] = s;
        }
    }
  }
}

static void data_free(data *d) {
  for (int i = 0; i < COUNT; i++) {
    free(d->x[i]), free(d->dy[i]);
    for (int b = 0; b < BATCHES; b++) free(d->want[i][b]);
  }
}

/* every product at every batch on `threads` threads (each its share, one
 * after the other: the products are independent) against the chain */
static void check(const rig *r, const data *d, const char *width, int threads) {
  float *out[COUNT];
  float *fixed = calloc((size_t)r->g.fixed_floats + 1, sizeof(float));
  float *batch = calloc((size_t)(r->g.batch_floats_per_row * (MAX_BATCH + 1)) + 1, sizeof(float));
  float *regions[NNC_REGION_IO + 3 * COUNT] = {0};
  regions[NNC_REGION_FIXED] = fixed, regions[NNC_REGION_BATCH] = batch;
  float *scratch = testutil_scratch(r->jit, 0, threads);
  regions[NNC_REGION_SCRATCH] = scratch;
  for (int i = 0; i < COUNT; i++) {
    out[i] = malloc(sizeof(float) * (size_t)(rows_of[i] * cols_of[i]));
    regions[NNC_REGION_IO + 2 * i] = d->x[i];
    regions[NNC_REGION_IO + 2 * i + 1] = d->dy[i];
    regions[NNC_REGION_IO + 2 * COUNT + i] = out[i];
  }
  float scalars[NNC_SCALAR_COUNT] = {0};
  for (int b = 0; b < BATCHES; b++) {
    for (int i = 0; i < COUNT; i++)
      for (int64_t e = 0; e < rows_of[i] * cols_of[i]; e++) out[i][e] = NAN;
    for (int t = 0; t < threads; t++)
      r->fn(regions, scalars, batches[b], 0, t, threads, no_barrier, NULL);
    for (int i = 0; i < COUNT; i++) { /* one assertion per product: check's are slow */
      int64_t e = 0, size = rows_of[i] * cols_of[i];
      while (e < size && !memcmp(&out[i][e], &d->want[i][b][e], sizeof(float))) e++;
      ck_assert_msg(e == size,
                    "width %s, %d threads, M %lld N %lld batch %lld: [%lld, %lld] is %a, the "
                    "chain gives %a",
                    width, threads, (long long)rows_of[i], (long long)cols_of[i],
                    (long long)batches[b], (long long)(e / cols_of[i]), (long long)(e % cols_of[i]),
                    e < size ? (double)out[i][e] : 0.0, e < size ? (double)d->want[i][b][e] : 0.0);
    }
  }
  for (int i = 0; i < COUNT; i++) free(out[i]);
  free(fixed), free(batch), free(scratch);
}

static const char *const widths[3] = {"16", "8", "4"};

START_TEST(panel_matches_the_chain) {
  rig r;
  data d;
  data_make(&d);
  for (int w = 0; w < 3; w++) {
    graph_build(&r, 1, rows_of, cols_of, COUNT);
    setenv("NNC_VECTOR_WIDTH", widths[w], 1);
    setenv("NNC_STRIP_STEAL", "0", 1); /* claims (the default) take no panel */
    nnc_codegen_options opts = {0};
    opts.no_cache = 1;
    const nnc_graph *list[1] = {&r.g};
    nnc_status st = {0};
    ck_assert_msg(codegen_compile(list, 1, &r.prog, &opts, &r.jit, &r.fn, &st) == NNC_OK, "%s",
                  st.message);
    unsetenv("NNC_VECTOR_WIDTH");
    unsetenv("NNC_STRIP_STEAL");
    for (int t = 1; t <= 3; t++) check(&r, &d, widths[w], t);
    rig_free(&r);
  }
  data_free(&d);
}
END_TEST

typedef struct ir_facts {
  int panel_loops;  /* kernels that copy a panel */
  int panel_strips; /* strip functions with a constant row stride of 256 or 512 */
} ir_facts;

/* switches that change where the panel goes: unset for ir_of (saved) */
static const char *const switches[3] = {"NNC_STRIP_STEAL", "NNC_UPDATE_ON_TILE", "NNC_GEMM_INLINE"};

/* the unoptimised module of such a graph at width 16 with `steal` as
 * NNC_STRIP_STEAL (NULL: unset): where the panel is */
static ir_facts ir_of(int transpose_a, int64_t m, int64_t n, int f64, const char *steal) {
  char saved[3][16] = {{0}};
  for (int k = 0; k < 3; k++) {
    const char *v = getenv(switches[k]);
    if (v) snprintf(saved[k], sizeof saved[k], "%s", v);
    unsetenv(switches[k]);
  }
  if (steal) setenv("NNC_STRIP_STEAL", steal, 1);
  rig r;
  graph_build(&r, transpose_a, &m, &n, 1);
  char dir[] = "/tmp/nnc_gemm17_XXXXXX", path[64];
  ck_assert_ptr_nonnull(mkdtemp(dir));
  snprintf(path, sizeof path, "%s/pre.ll", dir);
  nnc_codegen_options opts = {0};
  opts.no_cache = 1, opts.emit_only = 1, opts.dump_ir_pre = path, opts.accumulate_f64 = f64;
  setenv("NNC_VECTOR_WIDTH", "16", 1);
  const nnc_graph *list[1] = {&r.g};
  nnc_status st = {0};
  ck_assert_msg(codegen_compile(list, 1, &r.prog, &opts, &r.jit, &r.fn, &st) == NNC_OK, "%s",
                st.message);
  unsetenv("NNC_VECTOR_WIDTH");
  unsetenv("NNC_STRIP_STEAL");
  for (int k = 0; k < 3; k++)
    if (saved[k][0]) setenv(switches[k], saved[k], 1);
  FILE *f = fopen(path, "r");
  ck_assert_ptr_nonnull(f);
  static char line[1 << 16];
  ir_facts facts = {0, 0};
  while (fgets(line, sizeof line, f)) {
    if (!strncmp(line, "define ", 7) && strstr(line, "@gemm_strip") &&
        (strstr(line, "_k256_") || strstr(line, "_k512_")))
      facts.panel_strips++;
    if (!strncmp(line, "panel_row", 9) && strstr(line, ":")) facts.panel_loops++;
  }
  fclose(f);
  unlink(path);
  rmdir(dir);
  r.jit = NULL;
  rig_free(&r);
  return facts;
}

START_TEST(panel_only_where_it_applies) {
  /* claims are the default since session 18: the panel needs NNC_STRIP_STEAL=0 */
  ir_facts on = ir_of(1, 29, 257, 0, "0"), wide = ir_of(1, 520, 225, 0, "0");
  ck_assert_int_ge(on.panel_loops, 1);
  ck_assert_int_ge(on.panel_strips, 1);
  ck_assert_int_ge(wide.panel_loops, 1);
  ir_facts f64 = ir_of(1, 29, 257, 1, "0"), plain = ir_of(0, 29, 257, 0, "0");
  ir_facts few = ir_of(1, 29, 224, 0, "0"), steal = ir_of(1, 29, 257, 0, "1");
  ir_facts unset = ir_of(1, 29, 257, 0, NULL);
  ck_assert_int_eq(unset.panel_loops + unset.panel_strips, 0);
  ck_assert_int_eq(f64.panel_loops + f64.panel_strips, 0);
  ck_assert_int_eq(plain.panel_loops + plain.panel_strips, 0);
  ck_assert_int_eq(few.panel_loops + few.panel_strips, 0);
  /* claims run each strip's K blocks on their own: no panel */
  ck_assert_int_eq(steal.panel_loops + steal.panel_strips, 0);
}
END_TEST

static Suite *suite(void) {
  Suite *s = suite_create("gemm17");
  TCase *tc = tcase_create("panel");
  tcase_set_timeout(tc, 60);
  tcase_add_test(tc, panel_matches_the_chain);
  tcase_add_test(tc, panel_only_where_it_applies);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) {
  return testutil_run(suite());
}
