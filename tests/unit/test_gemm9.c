/* The blocked GEMM (codegen/emit_gemm.c) alone, JIT-compiled over a sweep of
 * shapes: column counts that leave masked tail strips (N = 1 .. 255), row
 * counts that leave 4-, 2- and 1-row tiles (M = 0 .. 13), contraction
 * lengths that cross a K block (600), for the plain product x @ W, the
 * weight gradient x^T @ dy (transpose_a, contracting over the runtime rows)
 * and the input gradient dy @ W^T (transpose_b, W read in place).
 *
 * Truth: a float64 reference by definition, within K * eps of the sum of
 * |terms|; and, since every output element is one chain of fused
 * multiply-adds over p in order, bit-equality across vector widths 4/8/16
 * and thread counts 1/2/3. Then Dense's gradient through the transpose_b
 * path against a float64 reference, and the new parameter through the IR
 * dump and graph_parse. */
#include <check.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compiler/autodiff/autodiff.h"
#include "compiler/codegen/codegen.h"
#include "compiler/graph/graph.h"
#include "compiler/passes/passes.h"
#include "nnc.h"
#include "testutil.h"

enum { PLAIN, TRANS_A, TRANS_B };
#define MAX_M 13
#define MAX_PRODUCTS 12
#define N_REGIONS (NNC_REGION_IO + 1 + 2 * MAX_PRODUCTS)

static nnc_shape batched(int64_t d1) {
  int64_t d[2] = {-1, d1};
  return shape_make(1, 2, d);
}

/* One compiled graph of `count` products of the same kind and K, one per
 * column count n[i], all reading input a (one compile for many shapes). */
typedef struct rig {
  nnc_graph g;
  nnc_program prog;
  nnc_jit *jit;
  nnc_step_fn fn;
  int kind, count;
  int64_t k, n[MAX_PRODUCTS];
} rig;

/* PLAIN: a[M,K] @ W[K,N]; TRANS_B: a[M,K] @ W[N,K]^T; TRANS_A: a[M,K]^T @ b[M,N]. */
static void rig_build(rig *r, int kind, int64_t k, const int64_t *n, int count, const char *width) {
  nnc_status st = {0};
  memset(r, 0, sizeof *r);
  r->kind = kind, r->k = k, r->count = count;
  memcpy(r->n, n, sizeof(int64_t) * (size_t)count);
  setenv("NNC_VECTOR_WIDTH", width, 1);
  ck_assert(graph_init(&r->g, "predict", &st) == NNC_OK);
  nnc_graph *g = &r->g;
  int a = graph_input(g, 0, batched(k), "a", &st), y[MAX_PRODUCTS];
  r->prog.n_inputs = kind == TRANS_A ? 1 + count : 1;
  if (kind != TRANS_A) {
    r->prog.n_params = count;
    r->prog.params = calloc((size_t)count, sizeof *r->prog.params);
  }
  for (int i = 0; i < count; i++) {
    if (kind == TRANS_A) {
      int in[2] = {a, graph_input(g, 1 + i, batched(n[i]), "b", &st)};
      y[i] = graph_add_attr(g, NNC_OP_MATMUL, 0, in, 2, 1, &st);
      continue;
    }
    int64_t wd[2] = {kind == TRANS_B ? n[i] : k, kind == TRANS_B ? k : n[i]};
    nnc_param_info *info = &r->prog.params[i];
    snprintf(info->name, sizeof info->name, "w%d", i);
    info->shape = shape_make(0, 2, wd);
    info->count = wd[0] * wd[1];
    info->offset = r->prog.params_floats;
    r->prog.params_floats += info->count;
    nnc_params p;
    memset(&p, 0, sizeof p);
    p.bmm.transpose_b = kind == TRANS_B;
    int in[2] = {a, graph_source(g, NNC_OP_PARAM, i, info->shape, info->name, &st)};
    y[i] = graph_add_params(g, NNC_OP_MATMUL, 0, in, 2, &p, &st);
  }
  for (int i = 0; i < count; i++) {
    ck_assert_msg(y[i] >= 0, "%s", st.message);
    ck_assert_msg(graph_output(g, y[i], i, &st) >= 0, "%s", st.message);
  }
  ck_assert(pass_fuse(g, &st) == NNC_OK);
  ck_assert_msg(pass_plan_memory_for(g, &r->prog, &st) == NNC_OK, "%s", st.message);
  const nnc_graph *list[1] = {g};
  nnc_codegen_options opts = {0};
  ck_assert_msg(codegen_compile(list, 1, &r->prog, &opts, &r->jit, &r->fn, &st) == NNC_OK, "%s",
                st.message);
  unsetenv("NNC_VECTOR_WIDTH");
}

static void rig_free(rig *r) {
  codegen_release(r->jit);
  graph_free(&r->g);
  free(r->prog.params);
}

static void no_barrier(void *ctx) {
  (void)ctx;
}

/* The operands of one run: distinct, mixed-sign values. b holds every
 * product's W (PLAIN, TRANS_B: the params region) or second input (TRANS_A). */
typedef struct operands {
  float *a, *b;
  int64_t m, b_at[MAX_PRODUCTS + 1], out_at[MAX_PRODUCTS + 1];
} operands;

static void operands_make(operands *o, const rig *r, int64_t m) {
  o->m = m, o->b_at[0] = o->out_at[0] = 0;
  for (int i = 0; i < r->count; i++) {
    o->b_at[i + 1] = o->b_at[i] + (r->kind == TRANS_A ? m : r->k) * r->n[i];
    o->out_at[i + 1] = o->out_at[i] + (r->kind == TRANS_A ? r->k : m) * r->n[i];
  }
  o->a = malloc(sizeof(float) * (size_t)(m * r->k + 1));
  o->b = malloc(sizeof(float) * (size_t)(o->b_at[r->count] + 1));
  for (int64_t i = 0; i < m * r->k; i++) o->a[i] = (float)sin(0.37 * (double)i + 0.1);
  for (int64_t i = 0; i < o->b_at[r->count]; i++) o->b[i] = (float)cos(0.61 * (double)i + 0.3);
}

static void operands_free(operands *o) {
  free(o->a);
  free(o->b);
}

/* every product into out (poisoned first), from `threads` threads */
static void run(const rig *r, const operands *o, int threads, float *out) {
  int64_t m = o->m;
  for (int64_t i = 0; i < o->out_at[r->count]; i++) out[i] = NAN;
  float *fixed = calloc((size_t)r->g.fixed_floats + 1, sizeof(float));
  float *batch = calloc((size_t)(r->g.batch_floats_per_row * (m + 1)) + 1, sizeof(float));
  float *regions[N_REGIONS] = {0};
  regions[NNC_REGION_IO] = o->a;
  regions[NNC_REGION_PARAMS] = o->b;
  for (int i = 0; i < r->count; i++) {
    if (r->kind == TRANS_A) regions[NNC_REGION_IO + 1 + i] = o->b + o->b_at[i];
    regions[NNC_REGION_IO + r->prog.n_inputs + i] = out + o->out_at[i];
  }
  regions[NNC_REGION_FIXED] = fixed;
  regions[NNC_REGION_BATCH] = batch;
  float *scratch = testutil_scratch(r->jit, 0, threads);
  regions[NNC_REGION_SCRATCH] = scratch;
  float scalars[NNC_SCALAR_COUNT] = {0};
  testutil_step_threads(r->fn, regions, scalars, m, threads);
  free(fixed);
  free(batch);
  free(scratch);
}

/* element e of product i in float64, and the sum of |terms| */
static double reference(const rig *r, const operands *o, int i, int64_t e, double *mag) {
  int64_t n = r->n[i], k = r->k, row = e / n, col = e % n;
  int64_t len = r->kind == TRANS_A ? o->m : k;
  const float *b = o->b + o->b_at[i];
  double s = 0;
  *mag = 0;
  for (int64_t p = 0; p < len; p++) {
    double x, y;
    if (r->kind == TRANS_A)
      x = o->a[p * k + row], y = b[p * n + col];
    else
      x = o->a[row * k + p], y = r->kind == TRANS_B ? b[col * k + p] : b[p * n + col];
    s += x * y;
    *mag += fabs(x * y);
  }
  return s;
}

static void check_reference(const rig *r, const operands *o, const float *out) {
  int64_t len = r->kind == TRANS_A ? o->m : r->k;
  for (int i = 0; i < r->count; i++)
    for (int64_t e = 0; e < o->out_at[i + 1] - o->out_at[i]; e++) {
      double mag, want = reference(r, o, i, e, &mag);
      double tol = (double)(len + 1) * FLT_EPSILON * mag + 1e-30;
      float got = out[o->out_at[i] + e];
      ck_assert_msg(fabs(got - want) <= tol,
                    "kind %d K %lld N %lld M %lld: element %lld is %.9g, expected %.9g", r->kind,
                    (long long)r->k, (long long)r->n[i], (long long)o->m, (long long)e, got, want);
    }
}

static const int64_t columns[] = {1, 2, 3, 7, 8, 9, 15, 16, 17, 31, 33, 255};
static const int64_t few_columns[] = {1, 3, 17, 33};
static const int64_t depths[] = {1, 5, 600};

/* Every N with K = 600 (a K block of 512 and a part), a few N with K = 1 and 5;
 * M = 0 .. 13 at run time; against the reference, and 1 vs 2 vs 3 threads
 * bit for bit. (Each product is a kernel to compile: the sweep is sized to
 * stay near a second.) */
START_TEST(sweep_against_reference) {
  int kind = _i / 3;
  int64_t k = depths[_i % 3];
  const int64_t *n = k == 600 ? columns : few_columns;
  int count = k == 600 ? (int)(sizeof columns / sizeof columns[0]) : 4;
  rig r;
  rig_build(&r, kind, k, n, count, "16");
  for (int64_t m = kind == TRANS_A ? 0 : 1; m <= MAX_M; m++) {
    operands o;
    operands_make(&o, &r, m);
    size_t bytes = sizeof(float) * (size_t)(o.out_at[count] + 1);
    float *out = malloc(bytes), *out3 = malloc(bytes);
    run(&r, &o, 1, out);
    check_reference(&r, &o, out);
    for (int threads = 2; threads <= 3; threads++) {
      run(&r, &o, threads, out3);
      ck_assert_msg(!memcmp(out, out3, bytes - sizeof(float)),
                    "kind %d K %lld M %lld: %d threads differ from 1", kind, (long long)k,
                    (long long)m, threads);
    }
    free(out);
    free(out3);
    operands_free(&o);
  }
  rig_free(&r);
}
END_TEST

/* Widths 4 and 8 give the bits of width 16 (tiles of 6 and 12 rows, masks of
 * every length, blocks across K). */
START_TEST(widths_agree_bit_for_bit) {
  static const int64_t wide_columns[] = {1, 33};
  int kind = _i, count = 2;
  int64_t k = 600, m = 13;
  rig r16, r8, r4;
  rig_build(&r16, kind, k, wide_columns, count, "16");
  rig_build(&r8, kind, k, wide_columns, count, "8");
  rig_build(&r4, kind, k, wide_columns, count, "4");
  operands o;
  operands_make(&o, &r16, m);
  size_t bytes = sizeof(float) * (size_t)(o.out_at[count] + 1);
  float *o16 = malloc(bytes), *o8 = malloc(bytes), *o4 = malloc(bytes);
  run(&r16, &o, 1, o16);
  run(&r8, &o, 2, o8);
  run(&r4, &o, 3, o4);
  check_reference(&r16, &o, o16);
  ck_assert_msg(!memcmp(o16, o8, bytes - sizeof(float)), "kind %d: widths 16, 8 differ", kind);
  ck_assert_msg(!memcmp(o16, o4, bytes - sizeof(float)), "kind %d: widths 16, 4 differ", kind);
  free(o16);
  free(o8);
  free(o4);
  operands_free(&o);
  rig_free(&r16);
  rig_free(&r8);
  rig_free(&r4);
}
END_TEST

/* B read in place or packed (emit_gemm.c: gemm_target.in_place): at width
 * 16 up to 1024 columns in place, wider packed; at width 8 up to 64. The
 * choice shows in the scratch floats (a pack is KC x 32 floats at width 16,
 * KC x 16 at 8, KC = 512); either way every element is the same chain, so
 * the products meet the reference and agree across widths bit for bit, for
 * x @ W and for x^T @ dy (its B, dy, read the same way). */
START_TEST(in_place_and_packed_agree) {
  static const int64_t edges[4] = {64, 65, 1024, 1025};
  int kind = _i ? TRANS_A : PLAIN;
  int64_t m = 13, k = kind == TRANS_A ? 5 : 600;
  float *out[2] = {NULL, NULL};
  size_t bytes = 0;
  for (int w = 0; w < 2; w++) {
    const char *width = w ? "8" : "16";
    int64_t pack = 512 * (w ? 16 : 32), in_place = w ? 64 : 1024;
    for (int i = 0; i < 4; i++) { /* one product per rig: its own scratch */
      rig one;
      rig_build(&one, kind, k, &edges[i], 1, width);
      int64_t scratch = codegen_scratch_floats(one.jit, 0);
      if (edges[i] > in_place)
        ck_assert_msg(scratch >= pack, "width %s, %lld columns: %lld scratch floats, no pack",
                      width, (long long)edges[i], (long long)scratch);
      else
        ck_assert_msg(scratch < pack, "width %s, %lld columns: %lld scratch floats (a pack)", width,
                      (long long)edges[i], (long long)scratch);
      rig_free(&one);
    }
    rig r;
    rig_build(&r, kind, k, edges, 4, width);
    operands o;
    operands_make(&o, &r, m);
    bytes = sizeof(float) * (size_t)(o.out_at[4] + 1);
    out[w] = malloc(bytes);
    run(&r, &o, 1 + w, out[w]);
    check_reference(&r, &o, out[w]);
    operands_free(&o);
    rig_free(&r);
  }
  ck_assert_msg(!memcmp(out[0], out[1], bytes - sizeof(float)), "kind %d: widths 16, 8 differ",
                kind);
  free(out[0]);
  free(out[1]);
}
END_TEST

/* ---- Dense's gradients, dX through transpose_b ---- */

enum { GR = 7, GK = 19, GH = 37, GN = 5 }; /* rows, input, hidden, output */

/* L = sum(C * ((x @ P0) @ P1)): autodiff's dP0 = x^T @ ((C @ P1^T)) needs dX of
 * the second product; both gradients against float64 by hand. */
START_TEST(dense_gradient_through_transpose_b) {
  nnc_status st = {0};
  nnc_graph g;
  nnc_program prog;
  memset(&prog, 0, sizeof prog);
  ck_assert(graph_init(&g, "train", &st) == NNC_OK);
  int x = graph_input(&g, 0, batched(GK), "x", &st);
  prog.n_inputs = 2, prog.n_params = 2;
  prog.params = calloc(2, sizeof *prog.params);
  int64_t shapes[2][2] = {{GK, GH}, {GH, GN}};
  int p[2];
  for (int i = 0; i < 2; i++) {
    nnc_param_info *info = &prog.params[i];
    snprintf(info->name, sizeof info->name, "p%d", i);
    info->shape = shape_make(0, 2, shapes[i]);
    info->count = shapes[i][0] * shapes[i][1];
    info->offset = prog.params_floats;
    info->trainable = 1;
    prog.params_floats += info->count;
    p[i] = graph_source(&g, NNC_OP_PARAM, i, info->shape, info->name, &st);
  }
  int y = graph_matmul(&g, graph_matmul(&g, x, p[0], &st), p[1], &st);
  int cw = graph_input(&g, 1, batched(GN), "c", &st);
  int loss = graph_reduce(&g, NNC_RED_ALL, graph_binary(&g, NNC_BIN_MUL, y, cw, &st), &st);
  prog.n_stats = 1;
  ck_assert_msg(graph_stat(&g, loss, 0, &st) >= 0, "%s", st.message);
  g.loss = loss;
  int grads[2];
  ck_assert_msg(autodiff_backward(&g, &prog, grads, &st) == NNC_OK, "%s", st.message);
  int transposes = 0, transpose_b = 0;
  for (int i = 0; i < g.n; i++) {
    transposes += g.nodes[i].op == NNC_OP_TRANSPOSE;
    transpose_b += g.nodes[i].op == NNC_OP_MATMUL && g.nodes[i].params.bmm.transpose_b;
  }
  ck_assert_int_eq(transposes, 0); /* W^T is no longer materialized */
  ck_assert_int_eq(transpose_b, 1);
  for (int i = 0; i < 2; i++) {
    int in[2] = {p[i], grads[i]};
    ck_assert_msg(graph_add(&g, NNC_OP_ASSIGN, 0, in, 2, &st) >= 0, "%s", st.message);
  }
  ck_assert(pass_fuse(&g, &st) == NNC_OK);
  ck_assert_msg(pass_plan_memory_for(&g, &prog, &st) == NNC_OK, "%s", st.message);
  const nnc_graph *list[1] = {&g};
  nnc_codegen_options opts = {0};
  nnc_jit *jit = NULL;
  nnc_step_fn fn = NULL;
  ck_assert_msg(codegen_compile(list, 1, &prog, &opts, &jit, &fn, &st) == NNC_OK, "%s", st.message);
  float xs[GR * GK], cs[GR * GN], w[GK * GH + GH * GN];
  for (int i = 0; i < GR * GK; i++) xs[i] = (float)sin(0.3 * i + 0.2);
  for (int i = 0; i < GR * GN; i++) cs[i] = (float)cos(0.7 * i);
  for (int i = 0; i < GK * GH + GH * GN; i++) w[i] = (float)(0.4 * sin(1.1 * i + 0.5));
  float params[GK * GH + GH * GN], stats[1] = {0};
  memcpy(params, w, sizeof w);
  float *fixed = calloc((size_t)g.fixed_floats + 1, sizeof(float));
  float *batch = calloc((size_t)(g.batch_floats_per_row * GR) + 1, sizeof(float));
  float *regions[N_REGIONS] = {0};
  regions[NNC_REGION_IO] = xs, regions[NNC_REGION_IO + 1] = cs;
  regions[NNC_REGION_PARAMS] = params, regions[NNC_REGION_STATS] = stats;
  regions[NNC_REGION_FIXED] = fixed, regions[NNC_REGION_BATCH] = batch;
  float *scratch = testutil_scratch(jit, 0, 1);
  regions[NNC_REGION_SCRATCH] = scratch;
  float scalars[NNC_SCALAR_COUNT] = {0};
  scalars[NNC_SCALAR_BATCH] = GR;
  fn(regions, scalars, GR, 0, 0, 1, no_barrier, NULL); /* params now hold the gradients */
  const float *w0 = w, *w1 = w + GK * GH;
  /* dH = C @ P1^T; dP0 = x^T @ dH; dP1 = H^T @ C with H = x @ P0 */
  double dh[GR][GH], h[GR][GH];
  for (int r = 0; r < GR; r++)
    for (int j = 0; j < GH; j++) {
      dh[r][j] = h[r][j] = 0;
      for (int o = 0; o < GN; o++) dh[r][j] += (double)cs[r * GN + o] * w1[j * GN + o];
      for (int q = 0; q < GK; q++) h[r][j] += (double)xs[r * GK + q] * w0[q * GH + j];
    }
  for (int q = 0; q < GK; q++)
    for (int j = 0; j < GH; j++) {
      double want = 0, mag = 0;
      for (int r = 0; r < GR; r++)
        want += xs[r * GK + q] * dh[r][j], mag += fabs(xs[r * GK + q] * dh[r][j]);
      ck_assert_msg(fabs(params[q * GH + j] - want) <= 64 * FLT_EPSILON * (mag + 1e-6),
                    "dP0[%d,%d] = %.9g, expected %.9g", q, j, params[q * GH + j], want);
    }
  for (int j = 0; j < GH; j++)
    for (int o = 0; o < GN; o++) {
      double want = 0, mag = 0;
      for (int r = 0; r < GR; r++)
        want += h[r][j] * cs[r * GN + o], mag += fabs(h[r][j] * cs[r * GN + o]);
      float got = params[GK * GH + j * GN + o];
      ck_assert_msg(fabs(got - want) <= 64 * FLT_EPSILON * (mag + 1e-6),
                    "dP1[%d,%d] = %.9g, expected %.9g", j, o, got, want);
    }
  free(fixed);
  free(batch);
  free(scratch);
  codegen_release(jit);
  graph_free(&g);
  free(prog.params);
}
END_TEST

/* transpose_b survives dump -> parse -> dump, and parses into the parameter. */
START_TEST(transpose_b_round_trips) {
  nnc_status st = {0};
  nnc_graph g;
  ck_assert(graph_init(&g, "train", &st) == NNC_OK);
  int a = graph_input(&g, 0, batched(6), "a", &st);
  int64_t wd[2] = {4, 6};
  int w = graph_source(&g, NNC_OP_PARAM, 0, shape_make(0, 2, wd), "w", &st);
  nnc_params p;
  memset(&p, 0, sizeof p);
  p.bmm.transpose_b = 1;
  int in[2] = {a, w};
  int y = graph_add_params(&g, NNC_OP_MATMUL, 0, in, 2, &p, &st);
  ck_assert_msg(y >= 0 && graph_output(&g, y, 0, &st) >= 0, "%s", st.message);
  ck_assert_int_eq(shape_last(&g.nodes[y].shape), 4);
  char *text = NULL, *again = NULL;
  size_t len = 0, again_len = 0;
  FILE *f = open_memstream(&text, &len);
  graph_dump_text(&g, f);
  fclose(f);
  ck_assert_msg(strstr(text, "transpose_b") != NULL, "%s", text);
  nnc_graph back;
  const char *rest;
  int line = 0;
  ck_assert_msg(graph_parse("t", text, &rest, &line, &back, &st) == NNC_OK, "%s", st.message);
  ck_assert_int_eq(back.nodes[y].op, NNC_OP_MATMUL);
  ck_assert_int_eq(back.nodes[y].params.bmm.transpose_b, 1);
  ck_assert_int_eq(back.nodes[y].params.transpose_a, 0);
  f = open_memstream(&again, &again_len);
  graph_dump_text(&back, f);
  fclose(f);
  ck_assert_str_eq(text, again);
  free(text);
  free(again);
  graph_free(&back);
  graph_free(&g);
}
END_TEST

int main(void) {
  /* the thread tests' small models still split wherever a group would
   * (compiler/driver/table.c: pool_rows) */
  setenv("NNC_SPLIT_SMALL_STEPS", "1", 1);
  Suite *s = suite_create("gemm9");
  TCase *tc = tcase_create("gemm");
  tcase_set_timeout(tc, 120);
  tcase_add_loop_test(tc, sweep_against_reference, 0, 9);
  tcase_add_loop_test(tc, widths_agree_bit_for_bit, 0, 3);
  tcase_add_loop_test(tc, in_place_and_packed_agree, 0, 2);
  tcase_add_test(tc, dense_gradient_through_transpose_b);
  tcase_add_test(tc, transpose_b_round_trips);
  suite_add_tcase(s, tc);
  return testutil_run(s);
}
