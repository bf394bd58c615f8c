/* Adafactor on a variable of rank 3, which no layer of nnc has yet (the
 * convolution kernels will): a train graph built by hand with one parameter
 * p [2, 2, 3] and the loss sum(p * G) for a fixed input G, so the gradient
 * is G exactly on every step. The optimizer update (compiler/optimizers/
 * adafactor.c) is appended as the pipeline does, JIT-compiled and run twice;
 * p must follow Keras's update (keras/src/optimizers/adafactor.py: the last
 * two axes factored) as tests/unit/optimizer_reference.py adafactor_rank3
 * computes it in float32 arithmetic. The moments' state-file shapes are
 * Keras's: r [2, 2], c [2, 3]. */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "compiler/autodiff/autodiff.h"
#include "compiler/codegen/codegen.h"
#include "compiler/graph/graph.h"
#include "compiler/passes/passes.h"
#include "compiler/spec/spec.h"
#include "nnc.h"
#include "testutil.h"

enum { A = 2, R = 2, C = 3, N = A * R * C };

static const float P0[N] = {0.5f,  -1.5f,  0.25f, 0.75f, -0.25f, 1.0f,
                            -0.5f, 0.125f, 2.0f,  1.5f,  -1.0f,  0.375f};
static const float G[N] = {0.3f, -0.6f, 0.9f,  0.2f,  0.5f, -0.4f,
                           1.2f, -0.1f, 0.05f, -0.7f, 0.8f, 0.25f};
/* optimizer_reference.py: adafactor_rank3 (p after each step, row-major) */
static const double WANT[2][N] = {
    {0.405887187, -1.41310692, 0.146639228, 0.645012736, -0.371166676, 1.07686913, -0.613173246,
     0.141251162, 1.97430468, 1.57286, -1.143484, 0.233207464},
    {0.311052203, -1.32554698, 0.0424853042, 0.539219856, -0.493263125, 1.15432823, -0.727214932,
     0.157627031, 1.94841218, 1.6462791, -1.28806901, 0.0903268903}};

static void no_barrier(void *ctx) {
  (void)ctx;
}

static void check_slot_shape(const nnc_program *prog, const char *name, int rank, int64_t d0,
                             int64_t d1) {
  for (int i = 0; i < prog->n_slots; i++)
    if (!strcmp(prog->slots[i].name, name)) {
      const nnc_shape *s = &prog->slots[i].shape;
      ck_assert_msg(s->rank == rank && s->dims[0] == d0 && s->dims[1] == d1,
                    "%s: state-file shape rank %d [%lld, %lld]", name, s->rank,
                    (long long)s->dims[0], (long long)s->dims[1]);
      return;
    }
  ck_abort_msg("no slot %s", name);
}

START_TEST(two_steps_match_keras) {
  nnc_status st = {0};
  nnc_spec spec;
  ck_assert_msg(nnc_spec_parse_string(
                    testutil_json("{'class_name': 'Sequential', 'config': {'name': 'm', 'layers': "
                                  "[{'class_name': 'Dense', 'config': {'units': 1}}]}, "
                                  "'compile_config': {'optimizer': {'class_name': "
                                  "'Adafactor', 'config': {'learning_rate': 0.1}}, 'loss': "
                                  "'mse'}}"),
                    "adafactor.json", &spec, &st) == NNC_OK,
                "%s", st.message);
  nnc_graph g;
  nnc_program prog;
  memset(&prog, 0, sizeof prog);
  ck_assert(graph_init(&g, "train", &st) == NNC_OK);
  int64_t dims[3] = {A, R, C}, flat_d[2] = {-1, N};
  prog.n_params = 1;
  prog.params = calloc(1, sizeof *prog.params);
  nnc_param_info *info = &prog.params[0];
  snprintf(info->name, sizeof info->name, "k/kernel");
  snprintf(info->weight, sizeof info->weight, "kernel");
  info->shape = shape_make(0, 3, dims);
  info->count = N;
  info->trainable = 1;
  prog.params_floats = N;
  int p = graph_source(&g, NNC_OP_PARAM, 0, info->shape, "k/kernel", &st);
  int x = graph_input(&g, 0, shape_make(1, 2, flat_d), "g", &st);
  int64_t n_flat = N;
  int pf = graph_reshape(&g, p, shape_make(0, 1, &n_flat), &st);
  int loss = graph_reduce(&g, NNC_RED_ALL, graph_binary(&g, NNC_BIN_MUL, x, pf, &st), &st);
  prog.n_stats = 1;
  ck_assert_msg(graph_stat(&g, loss, 0, &st) >= 0, "%s", st.message);
  g.loss = loss;
  int grads[1];
  ck_assert_msg(autodiff_backward(&g, &prog, grads, &st) == NNC_OK, "%s", st.message);
  ck_assert_msg(autodiff_optimizer(&g, &prog, &spec.compile.optimizer, grads, &st) == NNC_OK, "%s",
                st.message);
  check_slot_shape(&prog, "k/kernel/r", 2, A, R);
  check_slot_shape(&prog, "k/kernel/c", 2, A, C);
  ck_assert(pass_fuse(&g, &st) == NNC_OK);
  ck_assert_msg(pass_plan_memory_for(&g, &prog, &st) == NNC_OK, "%s", st.message);
  const nnc_graph *list[1] = {&g};
  nnc_codegen_options opts = {0};
  nnc_jit *jit = NULL;
  nnc_step_fn fn = NULL;
  ck_assert_msg(codegen_compile(list, 1, &prog, &opts, &jit, &fn, &st) == NNC_OK, "%s", st.message);
  float params[N], gx[N], stats[1];
  memcpy(params, P0, sizeof params);
  memcpy(gx, G, sizeof gx);
  float *slots = calloc((size_t)prog.slots_floats + 1, sizeof(float));
  float *fixed = calloc((size_t)g.fixed_floats + 1, sizeof(float));
  float *batch = calloc((size_t)g.batch_floats_per_row + 1, sizeof(float));
  float *regions[NNC_REGION_IO + 1] = {0};
  regions[NNC_REGION_PARAMS] = params;
  regions[NNC_REGION_SLOTS] = slots;
  regions[NNC_REGION_STATS] = stats;
  regions[NNC_REGION_FIXED] = fixed;
  regions[NNC_REGION_BATCH] = batch;
  regions[NNC_REGION_IO] = gx;
  for (int s = 0; s < 2; s++) {
    float scalars[NNC_SCALAR_COUNT] = {0};
    scalars[NNC_SCALAR_BATCH] = 1;
    scalars[NNC_SCALAR_LR] = 0.1f;
    scalars[NNC_SCALAR_T] = (float)(s + 1); /* Keras's local_step */
    fn(regions, scalars, 1, 0, 0, 1, no_barrier, NULL);
    for (int i = 0; i < N; i++)
      ck_assert_msg(fabs(params[i] - WANT[s][i]) <= 2e-6 * fabs(WANT[s][i]),
                    "step %d element %d: got %.9g, want %.9g", s + 1, i, params[i], WANT[s][i]);
  }
  free(slots);
  free(fixed);
  free(batch);
  codegen_release(jit);
  graph_free(&g);
  program_free(&prog);
  nnc_spec_free(&spec);
}
END_TEST

int main(void) {
  Suite *s = suite_create("adafactor_rank3");
  TCase *tc = tcase_create("rank3");
  tcase_set_timeout(tc, 60);
  tcase_add_test(tc, two_steps_match_keras);
  suite_add_tcase(s, tc);
  return testutil_run(s);
}
