/* Session 17 (gemm): the weight gradient x^T @ dy (transpose_a) against the
 * chain it must compute. Session 17 copied A into a panel per thread and K
 * block for it; session 19 removed the panel (it never ran under strip
 * claims, the default since session 18, and without them the step was 2-5 %
 * faster with A read in place: docs/performance.md "Session 18: strip
 * claims, decided"), and A is read in place, down x's columns. Either way every output element is
 * one chain: from +0, one fused multiply-add per p in order (a partial sum
 * between K blocks is a float stored and reloaded: exact).
 *
 * Truth: that chain written in C with fmaf, compared bit for bit, for
 * M = 7 (the one small tile), 29 (every tile size) and 520 rows, N = 60 and
 * 257 (a narrower last strip), batches across the K blocks' edges (1, 256,
 * 257, 512, 513, 600), vector widths 16/8/4, one to three threads each
 * computing its share (3 threads split 29 x 257 by rows), with the static
 * split (NNC_STRIP_STEAL=0, where the panel was) and with claims. */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

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
static void graph_build(rig *r, const int64_t *ms, const int64_t *ns, int count) {
  nnc_status st = {0};
  memset(r, 0, sizeof *r);
  ck_assert(graph_init(&r->g, "predict", &st) == NNC_OK);
  r->prog.n_inputs = 2 * count;
  for (int i = 0; i < count; i++) {
    int64_t xd[2] = {-1, ms[i]}, yd[2] = {-1, ns[i]};
    int in[2] = {graph_input(&r->g, 2 * i, shape_make(1, 2, xd), "x", &st),
                 graph_input(&r->g, 2 * i + 1, shape_make(1, 2, yd), "dy", &st)};
    int y = graph_add_attr(&r->g, NNC_OP_MATMUL, 0, in, 2, 1, &st);
    ck_assert_msg(y >= 0 && graph_output(&r->g, y, i, &st) >= 0, "%s", st.message);
  }
  ck_assert(pass_fuse(&r->g, &st) == NNC_OK);
  ck_assert_msg(pass_plan_memory_for(&r->g, &r->prog, &st) == NNC_OK, "%s", st.message);
}

static void rig_free(rig *r) {
  if (r->jit) codegen_release(r->jit);
  graph_free(&r->g);
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

static const char *const steal[2] = {"0", "1"};

START_TEST(transpose_a_matches_the_chain) {
  rig r;
  data d;
  data_make(&d);
  for (int w = 0; w < 3; w++) {
    graph_build(&r, rows_of, cols_of, COUNT);
    setenv("NNC_VECTOR_WIDTH", widths[w], 1);
    setenv("NNC_STRIP_STEAL", steal[_i], 1);
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

static Suite *suite(void) {
  Suite *s = suite_create("gemm17");
  TCase *tc = tcase_create("transpose_a");
  tcase_set_timeout(tc, 60);
  tcase_add_loop_test(tc, transpose_a_matches_the_chain, 0, 2);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) {
  return testutil_run(suite());
}
