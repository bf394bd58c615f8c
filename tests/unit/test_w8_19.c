/* Session 19 (w8): a GEMM whose 6-row register tiles (widths 8 and 4) leave
 * 2 rows runs one 6-row tile fewer and two 4-row tiles instead of two 1-row
 * ones (emit_gemm.c: tile_borrow, each_tile; W3's batch of 32 at width 8).
 * A tile is only where a row's sums are computed: every output element must
 * stay the chain it was, from +0, one fused multiply-add per p in order.
 *
 * Truth: that chain written in C with fmaf, compared bit for bit, for the
 * weight gradient x^T @ dy of M = 2, 8, 14, 20, 26, 32 rows (8 to 32: 2 left
 * after the 6-row tiles, 2: no 6-row tile to give up), 13 and 36 (1 and 0
 * left), N = 16 (one strip at width 8) and 40 (a narrower last strip),
 * batches 1 and 37, vector widths 8, 4 and 16, one to three threads each
 * computing its share (32 rows on 3 threads: 12 + 12 + 8, the last share
 * 6 + 2 rows). The IR check says where the borrow is emitted: widths 8 and
 * 4, not 16 (12-row tiles), not with NNC_TILE_BORROW=0. */
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

enum { COUNT = 8, MAX_BATCH = 37 };
static const int64_t rows_of[COUNT] = {2, 8, 14, 20, 26, 32, 13, 36};
static const int64_t cols_of[COUNT] = {16, 40, 16, 40, 16, 40, 16, 40};
static const int64_t batches[] = {1, 37};
enum { BATCHES = sizeof batches / sizeof batches[0] };

typedef struct rig {
  nnc_graph g;
  nnc_program prog;
  nnc_jit *jit;
  nnc_step_fn fn;
} rig;

/* x_i[B, M_i]^T @ dy_i[B, N_i] for each i, in one graph */
static void graph_build(rig *r) {
  nnc_status st = {0};
  memset(r, 0, sizeof *r);
  ck_assert(graph_init(&r->g, "predict", &st) == NNC_OK);
  r->prog.n_inputs = 2 * COUNT;
  for (int i = 0; i < COUNT; i++) {
    int64_t xd[2] = {-1, rows_of[i]}, yd[2] = {-1, cols_of[i]};
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
 * after the other: the products are independent) against the chain; C
 * starts as NaN, so a row no tile computes fails too */
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

static const char *const widths[3] = {"8", "4", "16"};

START_TEST(rows_match_the_chain) {
  rig r;
  data d;
  data_make(&d);
  for (int w = 0; w < 3; w++) {
    graph_build(&r);
    setenv("NNC_VECTOR_WIDTH", widths[w], 1);
    nnc_codegen_options opts = {0};
    opts.no_cache = 1;
    const nnc_graph *list[1] = {&r.g};
    nnc_status st = {0};
    ck_assert_msg(codegen_compile(list, 1, &r.prog, &opts, &r.jit, &r.fn, &st) == NNC_OK, "%s",
                  st.message);
    unsetenv("NNC_VECTOR_WIDTH");
    for (int t = 1; t <= 3; t++) check(&r, &d, widths[w], t);
    rig_free(&r);
  }
  data_free(&d);
}
END_TEST

/* instructions named "borrow" in the unoptimised module at `width`, with
 * NNC_TILE_BORROW set to `on` (NULL: unset) */
static int borrows_in_ir(const char *width, const char *on) {
  char saved[16] = "";
  const char *v = getenv("NNC_TILE_BORROW");
  if (v) snprintf(saved, sizeof saved, "%s", v);
  unsetenv("NNC_TILE_BORROW");
  if (on) setenv("NNC_TILE_BORROW", on, 1);
  rig r;
  graph_build(&r);
  char dir[] = "/tmp/nnc_w8_19_XXXXXX", path[64];
  ck_assert_ptr_nonnull(mkdtemp(dir));
  snprintf(path, sizeof path, "%s/pre.ll", dir);
  nnc_codegen_options opts = {0};
  opts.no_cache = 1, opts.emit_only = 1, opts.dump_ir_pre = path;
  setenv("NNC_VECTOR_WIDTH", width, 1);
  const nnc_graph *list[1] = {&r.g};
  nnc_status st = {0};
  ck_assert_msg(codegen_compile(list, 1, &r.prog, &opts, &r.jit, &r.fn, &st) == NNC_OK, "%s",
                st.message);
  unsetenv("NNC_VECTOR_WIDTH");
  unsetenv("NNC_TILE_BORROW");
  if (saved[0]) setenv("NNC_TILE_BORROW", saved, 1);
  FILE *f = fopen(path, "r");
  ck_assert_ptr_nonnull(f);
  static char line[1 << 16];
  int n = 0;
  while (fgets(line, sizeof line, f))
    if (strstr(line, "%borrow") && strstr(line, " = sub i64")) n++;
  fclose(f);
  unlink(path);
  rmdir(dir);
  r.jit = NULL;
  rig_free(&r);
  return n;
}

START_TEST(borrow_only_where_it_applies) {
  ck_assert_int_ge(borrows_in_ir("8", NULL), 1);
  ck_assert_int_ge(borrows_in_ir("4", "1"), 1);
  ck_assert_int_eq(borrows_in_ir("16", NULL), 0); /* 12-row tiles: 2 + 12 is no 4-row tiles */
  ck_assert_int_eq(borrows_in_ir("8", "0"), 0);
}
END_TEST

static Suite *suite(void) {
  Suite *s = suite_create("w8_19");
  TCase *tc = tcase_create("rows");
  tcase_set_timeout(tc, 60);
  tcase_add_test(tc, rows_match_the_chain);
  tcase_add_test(tc, borrow_only_where_it_applies);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) {
  return testutil_run(suite());
}
