/* Session 16 (update): a weight gradient's group epilogue (the optimizer
 * update) runs on each GEMM tile once its sums are final (emit_gemm.c:
 * store_tile_group, emit_group.c: cg_tile_group_epilogue) instead of in a
 * loop over the whole product after it. Every element gets the same nodes
 * in the same order on the same values, so the variables, slots and every
 * value read outside the group must be the same bits as with
 * NNC_UPDATE_ON_TILE=0 (the loop after the product: the independent truth).
 *
 * Rig: one graph of weight gradients dW = x^T @ dy, each followed in its
 * group by an RMSprop-like update (square, scalar and per-column operands,
 * sqrt, divide, two assigns), run twice on real threads (pthread barrier):
 * N = 16, 17, 40, 64, 257 columns (masked last strips at every width, a
 * one-strip matmul of whole vectors, the flat loop where N = 17 is one
 * strip at width 16; N = 64: whole strips, all packed first, row block by
 * row block), 29 rows (12-, 4- and 1-row tiles) and
 * 7 (one short tile), K = 1, 7, 128 and 600 (two blocks of 512: the
 * last-block path), one gradient also read outside its group (stored as
 * well), at vector widths 16 and 8, on 1, 2 and 3 threads. A whole
 * model: a fit with AdamW (weight decay) on two threads at vector width 4
 * (Input 19, Dense(40): 5 strips of 8 columns; 13 rows in batches of 4, the
 * last of 1) gives the same
 * weights and history either way (one compile pair: the test's time
 * budget; with the switch forced on, test_optimizers, test_gemm14 and
 * test_threads9 pass too). A count of GEMM strip functions shows the fusion
 * applied (the weight gradient's strips are emitted in its group, not as
 * shared strip functions) and that unset leaves a 40-column product's
 * update after it (unset: on from 256 columns, session 19); with
 * clipnorm (the update needs the whole gradient's norm first) the update
 * is not in the product's group at all. Planted bug: the epilogue reading
 * the scratch tile without the row offset fails both widths here. */
#include <check.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compiler/codegen/codegen.h"
#include "compiler/compile.h"
#include "compiler/driver/timing.h"
#include "compiler/graph/graph.h"
#include "compiler/passes/passes.h"
#include "compiler/spec/spec.h"
#include "nnc.h"
#include "oracle_case.h"
#include "testutil.h"

enum { COUNT = 5, IN_A = 29, IN_B = 7, MAX_K = 600 };
static const int64_t columns[COUNT] = {257, 17, 16, 40, 64};
/* which x each gradient contracts with: 0 = [K, 29], 1 = [K, 7] */
static const int which_x[COUNT] = {0, 0, 0, 1, 0};

typedef struct rig {
  nnc_graph g;
  nnc_program prog;
  nnc_jit *jit;
  nnc_step_fn fn;
  nnc_timing timing;
  int64_t w_at[COUNT], v_at[COUNT], s_at[COUNT]; /* offsets in the params region */
} rig;

static int64_t rows_of(int i) {
  return which_x[i] ? IN_B : IN_A;
}

static int param(rig *r, int64_t d0, int64_t d1, const char *name, nnc_status *st) {
  int i = r->prog.n_params++;
  nnc_param_info *info = &r->prog.params[i];
  int64_t d[2] = {d0, d1};
  snprintf(info->name, sizeof info->name, "%s", name);
  info->shape = d1 ? shape_make(0, 2, d) : shape_make(0, 1, d);
  info->count = d0 * (d1 ? d1 : 1), info->offset = r->prog.params_floats;
  r->prog.params_floats += info->count;
  return graph_source(&r->g, NNC_OP_PARAM, i, info->shape, info->name, st);
}

static int bin(rig *r, nnc_binary_fn fn, int a, int b, nnc_status *st) {
  return graph_binary(&r->g, fn, a, b, st);
}

/* the gradient i and its update: v := 0.9 v + 0.1 g^2; w := w - lr * g * s / sqrt(v + 1e-7) */
static void add_update(rig *r, int x, int lr, int i, nnc_status *st) {
  nnc_graph *g = &r->g;
  int64_t n = columns[i], k = rows_of(i), dd[2] = {-1, n};
  char name[16];
  snprintf(name, sizeof name, "w%d", i);
  r->w_at[i] = r->prog.params_floats;
  int w = param(r, k, n, name, st);
  r->v_at[i] = r->prog.params_floats;
  int v = param(r, k, n, "v", st);
  r->s_at[i] = r->prog.params_floats;
  int s = param(r, n, 0, "s", st); /* per column: a LAST broadcast */
  int dy = graph_input(g, 2 + i, shape_make(1, 2, dd), "dy", st);
  int in[2] = {x, dy};
  int dw = graph_add_attr(g, NNC_OP_MATMUL, 0, in, 2, 1, st);
  int v2 = bin(
      r, NNC_BIN_ADD, bin(r, NNC_BIN_MUL, graph_const(g, 0.9, st), v, st),
      bin(r, NNC_BIN_MUL, graph_const(g, 0.1, st), graph_unary(g, NNC_FN_SQUARE, dw, st), st), st);
  int set_v[2] = {v, v2};
  ck_assert_msg(graph_add(g, NNC_OP_ASSIGN, 0, set_v, 2, st) >= 0, "%s", st->message);
  int q = graph_unary(g, NNC_FN_SQRT, bin(r, NNC_BIN_ADD, v2, graph_const(g, 1e-7, st), st), st);
  int step =
      bin(r, NNC_BIN_DIV, bin(r, NNC_BIN_MUL, bin(r, NNC_BIN_MUL, lr, dw, st), s, st), q, st);
  int set_w[2] = {w, bin(r, NNC_BIN_SUB, w, step, st)};
  ck_assert_msg(graph_add(g, NNC_OP_ASSIGN, 0, set_w, 2, st) >= 0, "%s", st->message);
  if (i == 0) /* read outside the group too: the tile stores the product as well */
    ck_assert_msg(graph_output(g, graph_reduce(g, NNC_RED_ALL, dw, st), 0, st) >= 0, "%s",
                  st->message);
}

static void rig_build(rig *r, const char *width, const char *on_tile) {
  nnc_status st = {0};
  memset(r, 0, sizeof *r);
  setenv("NNC_VECTOR_WIDTH", width, 1);
  setenv("NNC_UPDATE_ON_TILE", on_tile, 1);
  ck_assert(graph_init(&r->g, "train", &st) == NNC_OK);
  r->prog.params = calloc(3 * COUNT, sizeof *r->prog.params);
  int64_t da[2] = {-1, IN_A}, db[2] = {-1, IN_B};
  int x[2] = {graph_input(&r->g, 0, shape_make(1, 2, da), "xa", &st),
              graph_input(&r->g, 1, shape_make(1, 2, db), "xb", &st)};
  int lr = graph_source(&r->g, NNC_OP_SCALAR, NNC_SCALAR_LR, shape_scalar(), "lr", &st);
  for (int i = 0; i < COUNT; i++) add_update(r, x[which_x[i]], lr, i, &st);
  r->prog.n_inputs = 2 + COUNT, r->prog.n_outputs = 1;
  ck_assert(pass_fuse(&r->g, &st) == NNC_OK);
  ck_assert_msg(pass_plan_memory_for(&r->g, &r->prog, &st) == NNC_OK, "%s", st.message);
  const nnc_graph *list[1] = {&r->g};
  nnc_codegen_options opts = {0};
  opts.timing = &r->timing;
  opts.no_cache = 1;
  ck_assert_msg(codegen_compile(list, 1, &r->prog, &opts, &r->jit, &r->fn, &st) == NNC_OK, "%s",
                st.message);
  unsetenv("NNC_VECTOR_WIDTH");
  unsetenv("NNC_UPDATE_ON_TILE");
}

static void rig_free(rig *r) {
  codegen_release(r->jit);
  graph_free(&r->g);
  free(r->prog.params);
}

/* One step's memory and the threads that run it. */
typedef struct step {
  const rig *r;
  float *regions[NNC_REGION_IO + 2 + COUNT + 1];
  float scalars[NNC_SCALAR_COUNT];
  int64_t k, threads, tid;
  pthread_barrier_t barrier;
} step;

static void wait_all(void *ctx) {
  pthread_barrier_wait(&((step *)ctx)->barrier);
}

typedef struct worker {
  step *s;
  int64_t tid;
} worker;

static void *run_worker(void *p) {
  worker *w = p;
  step *s = w->s;
  s->r->fn(s->regions, s->scalars, s->k, 0, w->tid, s->threads, wait_all, s);
  return NULL;
}

/* Two steps of k rows on `threads` threads; params (w, v, s) and the
 * output (the sum of gradient 0) end in *params_out, *out. */
static void run(const rig *r, int64_t k, int64_t threads, float **params_out, float *out) {
  step s;
  memset(&s, 0, sizeof s);
  s.r = r, s.k = k, s.threads = threads;
  float *params = malloc(sizeof(float) * (size_t)r->prog.params_floats);
  for (int64_t i = 0; i < r->prog.params_floats; i++)
    params[i] = (float)(0.5 + 0.4 * sin(0.61 * (double)i + 0.3));
  float *io[2 + COUNT];
  for (int i = 0; i < 2 + COUNT; i++) {
    int64_t width = i < 2 ? (i ? IN_B : IN_A) : columns[i - 2];
    io[i] = malloc(sizeof(float) * (size_t)(k * width));
    for (int64_t e = 0; e < k * width; e++) io[i][e] = (float)sin(0.37 * (double)e + 0.1 * i + 0.1);
    s.regions[NNC_REGION_IO + i] = io[i];
  }
  s.regions[NNC_REGION_IO + 2 + COUNT] = out;
  s.regions[NNC_REGION_PARAMS] = params;
  float *fixed = calloc((size_t)r->g.fixed_floats + 1, sizeof(float));
  float *batch = calloc((size_t)(r->g.batch_floats_per_row * k) + 1, sizeof(float));
  s.regions[NNC_REGION_FIXED] = fixed, s.regions[NNC_REGION_BATCH] = batch;
  float *scratch = testutil_scratch(r->jit, 0, (int)threads);
  s.regions[NNC_REGION_SCRATCH] = scratch;
  s.scalars[NNC_SCALAR_LR] = 0.01f;
  pthread_barrier_init(&s.barrier, NULL, (unsigned)threads);
  for (int rep = 0; rep < 2; rep++) {
    pthread_t t[3];
    worker w[3];
    for (int64_t i = 0; i < threads; i++) {
      w[i] = (worker){&s, i};
      if (i) ck_assert(pthread_create(&t[i], NULL, run_worker, &w[i]) == 0);
    }
    run_worker(&w[0]);
    for (int64_t i = 1; i < threads; i++) pthread_join(t[i], NULL);
  }
  pthread_barrier_destroy(&s.barrier);
  for (int i = 0; i < 2 + COUNT; i++) free(io[i]);
  free(fixed), free(batch), free(scratch);
  *params_out = params;
}

static const char *const widths[2] = {"16", "8"};

START_TEST(update_on_tile_same_bits) {
  const char *width = widths[_i];
  rig on, off;
  rig_build(&on, width, "1");
  rig_build(&off, width, "0");
  /* the fused groups' strips are emitted in their groups: fewer shared ones */
  ck_assert_msg(on.timing.gemm_strips < off.timing.gemm_strips,
                "width %s: %ld strip functions fused, %ld not", width, on.timing.gemm_strips,
                off.timing.gemm_strips);
  static const int64_t ks[4] = {1, 7, 128, MAX_K};
  for (int ki = 0; ki < 4; ki++)
    for (int64_t threads = 1; threads <= 3; threads++) {
      int64_t k = ks[ki];
      float *pa, *pb, oa = NAN, ob = NAN;
      run(&on, k, threads, &pa, &oa);
      run(&off, k, threads, &pb, &ob);
      ck_assert_msg(!memcmp(&oa, &ob, sizeof oa), "width %s K %lld threads %lld: sum %a vs %a",
                    width, (long long)k, (long long)threads, (double)oa, (double)ob);
      for (int64_t e = 0; e < on.prog.params_floats; e++)
        ck_assert_msg(!memcmp(&pa[e], &pb[e], sizeof *pa),
                      "width %s K %lld threads %lld: param float %lld is %a on the tile, %a after",
                      width, (long long)k, (long long)threads, (long long)e, (double)pa[e],
                      (double)pb[e]);
      /* and the update did run: w0 moved */
      ck_assert(pa[on.w_at[0]] != (float)(0.5 + 0.4 * sin(0.3)));
      free(pa), free(pb);
    }
  rig_free(&on);
  rig_free(&off);
}
END_TEST

/* Input [None, 19], Dense(40, tanh), Dense(3); softmax cross-entropy. The
 * first layer's weight gradient (19 x 40) is the last product of the
 * backward pass, its update the next nodes: one group. */
static void model_json(char *buf, size_t size, const char *optimizer) {
  snprintf(buf, size,
           "{\"class_name\": \"Sequential\", \"config\": {\"name\": \"u\", \"layers\": ["
           "{\"class_name\": \"InputLayer\", \"config\": {\"batch_shape\": [null, 19], \"name\": "
           "\"i\"}},"
           "{\"class_name\": \"Dense\", \"config\": {\"name\": \"d\", \"units\": 40}}]},"
           "\"compile_config\": {\"optimizer\": %s, \"loss\": \"mse\"}}",
           optimizer);
}

static long strips_of_compile(const char *optimizer, const char *on_tile) {
  char json[2048];
  model_json(json, sizeof json, optimizer);
  if (on_tile)
    setenv("NNC_UPDATE_ON_TILE", on_tile, 1);
  else
    unsetenv("NNC_UPDATE_ON_TILE");
  nnc_timing timing;
  testutil_emit_counts(json, &timing);
  unsetenv("NNC_UPDATE_ON_TILE");
  return timing.gemm_strips;
}

static const char rmsprop[] =
    "{\"class_name\": \"RMSprop\", \"config\": {\"learning_rate\": 0.01}}";

/* Assigns of the train graph in a group led by a matmul (no JIT). */
static int updates_in_matmul_groups(const char *optimizer) {
  char json[2048];
  model_json(json, sizeof json, optimizer);
  nnc_spec spec;
  nnc_status st;
  ck_assert_msg(nnc_spec_parse_string(json, "u.json", &spec, &st) == NNC_OK, "%s", st.message);
  nnc_compile_options opts;
  memset(&opts, 0, sizeof opts);
  opts.no_jit = 1;
  nnc_compiled c;
  ck_assert_msg(nnc_compile_spec(&spec, NULL, &opts, &c, &st) == NNC_OK, "%s", st.message);
  const nnc_graph *g = &c.graphs[NNC_GRAPH_TRAIN];
  int found = 0;
  for (int i = 0; i < g->n; i++) {
    if (g->nodes[i].op != NNC_OP_ASSIGN || g->nodes[i].dead) continue;
    int lead = i;
    for (int j = i - 1; j >= 0; j--)
      if (g->nodes[j].group == g->nodes[i].group) lead = j;
    found += g->nodes[lead].op == NNC_OP_MATMUL;
  }
  nnc_compiled_free(&c);
  nnc_spec_free(&spec);
  return found;
}

START_TEST(clipnorm_falls_back) {
  /* RMSprop: the kernel's and the slot's assigns follow the weight
   * gradient in its group; with NNC_UPDATE_ON_TILE=1 its strips are
   * emitted in the group (one shared strip function less) */
  ck_assert_int_eq(updates_in_matmul_groups(rmsprop), 2);
  long on = strips_of_compile(rmsprop, "1"), off = strips_of_compile(rmsprop, "0");
  ck_assert_msg(on < off, "RMSprop: %ld strip functions fused, %ld not", on, off);
  /* unset: on from 256 columns (session 19), so not for these 40 */
  ck_assert_int_eq(strips_of_compile(rmsprop, NULL), off);
  /* clipnorm needs the whole gradient's norm (a reduction) before the
   * update: the update cannot join the product's group, on the tile or not */
  const char *clip = "{\"class_name\": \"RMSprop\", \"config\": {\"learning_rate\": 0.01, "
                     "\"clipnorm\": 0.5}}";
  ck_assert_int_eq(updates_in_matmul_groups(clip), 0);
}
END_TEST

enum { ROWS = 13 };

static void fit_with(const char *optimizer, const char *on_tile, int threads, fit_run *out) {
  char json[2048];
  model_json(json, sizeof json, optimizer);
  static float xs[ROWS * 19];
  float ys[ROWS * 40];
  fill_uniform(xs, ROWS * 19, 5);
  fill_uniform(ys, ROWS * 40, 6);
  nnc_array x = testutil_f32(xs, ROWS, 19), y = testutil_f32(ys, ROWS, 40);
  setenv("NNC_UPDATE_ON_TILE", on_tile, 1);
  nnc_model *m = NULL;
  nnc_status st;
  ck_assert_msg(nnc_model_load_string(json, "u.json", &m, &st) == NNC_OK, "%s", st.message);
  ck_assert_msg(nnc_model_set_threads(m, threads, &st) == NNC_OK, "%s", st.message);
  nnc_fit_options o;
  nnc_fit_options_default(&o);
  o.epochs = 2, o.batch_size = 4, o.verbose = 0; /* 4 + 4 + 4 + 1 rows: K = 1 last */
  memset(&out->h, 0, sizeof out->h);
  ck_assert_msg(nnc_model_fit(m, &x, &y, &o, &out->h, &st) == NNC_OK, "%s", st.message);
  weights_get(m, &out->w);
  nnc_model_free(m);
  unsetenv("NNC_UPDATE_ON_TILE");
}

static const char adamw[] =
    "{\"class_name\": \"AdamW\", \"config\": {\"learning_rate\": 0.01, \"weight_decay\": 0.1}}";

START_TEST(fits_same_bits) {
  fit_run a, b;
  memset(&a, 0, sizeof a);
  memset(&b, 0, sizeof b);
  setenv("NNC_CACHE", "0", 1);
  setenv("NNC_SPLIT_SMALL_STEPS", "1", 1);
  setenv("NNC_VECTOR_WIDTH", "4", 1); /* 5 strips of 8 columns */
  fit_with(adamw, "1", 2, &a);
  fit_with(adamw, "0", 2, &b);
  unsetenv("NNC_VECTOR_WIDTH");
  unsetenv("NNC_SPLIT_SMALL_STEPS");
  unsetenv("NNC_CACHE");
  fit_run_same(&a, &b, adamw);
  fit_run_free(&a);
  fit_run_free(&b);
}
END_TEST

static Suite *suite(void) {
  Suite *s = suite_create("update16");
  TCase *rig = tcase_create("rig"), *clip = tcase_create("clip"), *fits = tcase_create("fits");
  tcase_set_timeout(rig, 120);
  tcase_set_timeout(clip, 120);
  tcase_set_timeout(fits, 120);
  tcase_add_loop_test(rig, update_on_tile_same_bits, 0, 2);
  tcase_add_test(clip, clipnorm_falls_back);
  tcase_add_test(fits, fits_same_bits);
  suite_add_tcase(s, rig);
  suite_add_tcase(s, clip);
  suite_add_tcase(s, fits);
  return s;
}

int main(void) {
  /* the strips these checks read are the module's own: the library's (the
   * same emitter, built with nnc) are test_strip_lib28's */
  setenv("NNC_STRIP_LIB", "0", 1);
  return testutil_run(suite());
}
