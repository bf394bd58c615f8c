/* Session 15 (gemm): the input gradient dy @ W^T (transpose_b) packs each
 * strip of W^T with vw x vw register transposes (emit_gemm.c:
 * pack_transposed_block), the last kc % vw rows of a K block one float at a
 * time. The pack is a copy, so the product must be exactly the chain every
 * output element had before: from +0, one fused multiply-add per p in order
 * (a partial sum between K blocks is a float stored and reloaded: exact).
 *
 * Truth: that chain written in C with fmaf, compared bit for bit, for
 * N = 1, 15, 17, 257 (masked strips: rows of W past N must pack as zeros),
 * K = 37 (two whole blocks at widths 16 and 8, nine at 4, and a tail) and K = 600
 * (a block of 512 and one of 88: whole blocks and a tail in each), M = 1 ..
 * 13 and 29 rows (every tile size), at vector widths 16, 8 and 4. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compiler/codegen/codegen.h"
#include "compiler/graph/graph.h"
#include "compiler/passes/passes.h"
#include "nnc.h"
#include "testutil.h"

enum { COUNT = 4, MAX_ROWS = 29 };
static const int64_t columns[COUNT] = {1, 15, 17, 257};

typedef struct rig {
  nnc_graph g;
  nnc_program prog;
  nnc_jit *jit;
  nnc_step_fn fn;
  int64_t k;
} rig;

/* COUNT products a[M, k] @ w_i[N_i, k]^T in one graph (one compile) */
static void rig_build(rig *r, int64_t k, const char *width) {
  nnc_status st = {0};
  memset(r, 0, sizeof *r);
  r->k = k;
  setenv("NNC_VECTOR_WIDTH", width, 1);
  ck_assert(graph_init(&r->g, "predict", &st) == NNC_OK);
  int64_t ad[2] = {-1, k};
  int a = graph_input(&r->g, 0, shape_make(1, 2, ad), "a", &st);
  r->prog.n_inputs = 1, r->prog.n_params = COUNT;
  r->prog.params = calloc(COUNT, sizeof *r->prog.params);
  for (int i = 0; i < COUNT; i++) {
    nnc_param_info *info = &r->prog.params[i];
    int64_t wd[2] = {columns[i], k};
    snprintf(info->name, sizeof info->name, "w%d", i);
    info->shape = shape_make(0, 2, wd);
    info->count = wd[0] * wd[1], info->offset = r->prog.params_floats;
    r->prog.params_floats += info->count;
    nnc_params p;
    memset(&p, 0, sizeof p);
    p.bmm.transpose_b = 1;
    int in[2] = {a, graph_source(&r->g, NNC_OP_PARAM, i, info->shape, info->name, &st)};
    int y = graph_add_params(&r->g, NNC_OP_MATMUL, 0, in, 2, &p, &st);
    ck_assert_msg(y >= 0 && graph_output(&r->g, y, i, &st) >= 0, "%s", st.message);
  }
  ck_assert(pass_fuse(&r->g, &st) == NNC_OK);
  ck_assert_msg(pass_plan_memory_for(&r->g, &r->prog, &st) == NNC_OK, "%s", st.message);
  const nnc_graph *list[1] = {&r->g};
  nnc_codegen_options opts = {0};
  ck_assert_msg(codegen_compile(list, 1, &r->prog, &opts, &r->jit, &r->fn, &st) == NNC_OK, "%s",
                st.message);
  unsetenv("NNC_VECTOR_WIDTH");
}

static void no_barrier(void *ctx) {
  (void)ctx;
}

/* every product of m rows against the fmaf chain, bit for bit */
static void check_rows(const rig *r, int64_t m, const char *width) {
  int64_t k = r->k, outs = 0;
  for (int i = 0; i < COUNT; i++) outs += m * columns[i];
  float *a = malloc(sizeof(float) * (size_t)(m * k));
  float *w = malloc(sizeof(float) * (size_t)r->prog.params_floats);
  float *out = malloc(sizeof(float) * (size_t)outs);
  for (int64_t i = 0; i < m * k; i++) a[i] = (float)sin(0.37 * (double)i + 0.1);
  for (int64_t i = 0; i < r->prog.params_floats; i++) w[i] = (float)cos(0.61 * (double)i + 0.3);
  for (int64_t i = 0; i < outs; i++) out[i] = NAN;
  float *fixed = calloc((size_t)r->g.fixed_floats + 1, sizeof(float));
  float *batch = calloc((size_t)(r->g.batch_floats_per_row * (m + 1)) + 1, sizeof(float));
  float *regions[NNC_REGION_IO + 2 + COUNT] = {0};
  regions[NNC_REGION_IO] = a, regions[NNC_REGION_PARAMS] = w;
  regions[NNC_REGION_FIXED] = fixed, regions[NNC_REGION_BATCH] = batch;
  float *scratch = testutil_scratch(r->jit, 0, 1);
  regions[NNC_REGION_SCRATCH] = scratch;
  for (int i = 0, at = 0; i < COUNT; at += (int)(m * columns[i]), i++)
    regions[NNC_REGION_IO + 1 + i] = out + at;
  float scalars[NNC_SCALAR_COUNT] = {0};
  r->fn(regions, scalars, m, 0, 0, 1, no_barrier, NULL);
  const float *wi = w, *got = out;
  for (int i = 0; i < COUNT; i++) {
    int64_t n = columns[i];
    for (int64_t row = 0; row < m; row++)
      for (int64_t col = 0; col < n; col++) {
        float want = 0.0f;
        for (int64_t p = 0; p < k; p++) want = fmaf(a[row * k + p], wi[col * k + p], want);
        float x = got[row * n + col];
        ck_assert_msg(!memcmp(&x, &want, sizeof x),
                      "width %s K %lld N %lld M %lld: [%lld, %lld] is %a, the chain gives %a",
                      width, (long long)k, (long long)n, (long long)m, (long long)row,
                      (long long)col, (double)x, (double)want);
      }
    wi += n * k, got += m * n;
  }
  free(a), free(w), free(out), free(fixed), free(batch), free(scratch);
}

static void sweep(int64_t k, const char *width) {
  rig r;
  rig_build(&r, k, width);
  for (int64_t m = 1; m <= 13; m++) check_rows(&r, m, width);
  check_rows(&r, MAX_ROWS, width);
  codegen_release(r.jit);
  graph_free(&r.g);
  free(r.prog.params);
}

static const char *const widths[3] = {"16", "8", "4"};

START_TEST(transposed_pack_k37) {
  sweep(37, widths[_i]);
}
END_TEST

START_TEST(transposed_pack_k600) {
  sweep(600, widths[_i]);
}
END_TEST

static Suite *suite(void) {
  Suite *s = suite_create("gemm15");
  TCase *tc = tcase_create("transposed_pack");
  tcase_set_timeout(tc, 60);
  tcase_add_loop_test(tc, transposed_pack_k37, 0, 3);
  tcase_add_loop_test(tc, transposed_pack_k600, 0, 3);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) {
  return testutil_run(suite());
}
