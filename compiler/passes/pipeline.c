/* The pass table (pipeline.h): the one list of passes, in pipeline order. */
#include "compiler/passes/pipeline.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "compiler/autodiff/autodiff.h"
#include "compiler/autodiff/constraints.h"
#include "compiler/driver/timing.h"
#include "compiler/passes/passes.h"

static int run_specialize(pass_ctx *c) {
  return pass_specialize(c->g, c->phase, c->st);
}
static int run_logits(pass_ctx *c) {
  return pass_logits_rewrite(c->g, c->prog, c->st);
}
static int run_decompose(pass_ctx *c) {
  return pass_decompose(c->g, c->st);
}
static int run_fold(pass_ctx *c) {
  return pass_fold(c->g, c->st);
}
static int run_cse(pass_ctx *c) {
  return pass_cse(c->g, c->st);
}
static int run_dce(pass_ctx *c) {
  return pass_dce(c->g, c->st);
}
static int run_autodiff(pass_ctx *c) {
  if (autodiff_scale_loss(c->g, c->optimizer, c->st)) return c->st->code;
  return autodiff_backward(c->g, c->prog, c->grads, c->st);
}
static int run_optimizer(pass_ctx *c) {
  return autodiff_optimizer(c->g, c->prog, c->optimizer, c->grads, c->st);
}
static int run_constraints(pass_ctx *c) {
  return autodiff_constraints(c->g, c->prog, c->st);
}
/* float64 accumulation rounds each product once: two parts would round twice */
static int run_ksplit(pass_ctx *c) {
  return c->accumulate_f64 ? NNC_OK : pass_ksplit(c->g, c->st);
}
/* NNC_CONV_EPILOGUE=0 leaves the chains as separate passes (tests compare
 * the two; bench/conv_kernels.c measures them); check-numerics mode keeps
 * every value */
static int run_conv_epilogue(pass_ctx *c) {
  const char *env = getenv("NNC_CONV_EPILOGUE");
  if (c->keep_all || (env && !strcmp(env, "0"))) return NNC_OK;
  return pass_conv_epilogue(c->g, c->st);
}
/* NNC_DENSE_EPILOGUE=0: a matmul's chain stays in the group's flat
 * epilogue loop (test_gemm14 compares the two); NNC_EPILOGUE_FOLLOW=0: the
 * inference graphs choose their chains alone (epilogue_follow.c) */
static int run_dense_epilogue(pass_ctx *c) {
  const char *env = getenv("NNC_DENSE_EPILOGUE");
  if (c->keep_all || (env && !strcmp(env, "0"))) return NNC_OK;
  const char *follow = getenv("NNC_EPILOGUE_FOLLOW");
  return pass_dense_epilogue(c->g, follow && !strcmp(follow, "0") ? NULL : c->train, c->st);
}
/* check-numerics mode keeps every value in a group of its own: order is moot */
static int run_schedule(pass_ctx *c) {
  return c->keep_all ? NNC_OK : pass_schedule(c->g, c->st);
}
static int run_fuse(pass_ctx *c) {
  return c->keep_all ? pass_fuse_none(c->g, c->st) : pass_fuse(c->g, c->st);
}
static int run_plan(pass_ctx *c) {
  return c->keep_all ? pass_plan_memory_all(c->g, c->prog, c->st)
                     : pass_plan_memory_for(c->g, c->prog, c->st);
}

const pass_row pass_table[] = {
    {"lower", PASS_EVERY, NULL},
    {"specialize", PASS_EVERY, run_specialize},
    {"logits", PASS_EVERY, run_logits},
    {"decompose", PASS_EVERY, run_decompose},
    {"fold", PASS_EVERY, run_fold},
    {"cse", PASS_EVERY, run_cse},
    {"dce", PASS_EVERY, run_dce},
    {"autodiff", PASS_TRAIN, run_autodiff},
    {"optimizer", PASS_TRAIN, run_optimizer},
    {"constraints", PASS_TRAIN, run_constraints},
    /* the gradient and the update repeat work of the forward part */
    {"fold", PASS_TRAIN, run_fold},
    {"cse", PASS_TRAIN, run_cse},
    {"dce", PASS_TRAIN, run_dce},
    {"ksplit", PASS_EVERY, run_ksplit},
    {"conv_epilogue", PASS_EVERY, run_conv_epilogue},
    {"dense_epilogue", PASS_EVERY, run_dense_epilogue},
    {"schedule", PASS_TRAIN, run_schedule},
    {"fuse", PASS_EVERY, run_fuse},
    {"plan", PASS_EVERY, run_plan},
};
const int pass_table_len = (int)(sizeof pass_table / sizeof pass_table[0]);
_Static_assert(sizeof pass_table / sizeof pass_table[0] <= NNC_TIMING_PASSES,
               "--time-passes keeps one entry per row of the pass table");

int pass_known(const char *name, size_t len) {
  for (int i = 0; i < pass_table_len; i++)
    if (strlen(pass_table[i].name) == len && !strncmp(pass_table[i].name, name, len)) return 1;
  return 0;
}

void pass_names_text(char *buf, size_t size) {
  size_t used = 0;
  if (size) buf[0] = '\0';
  for (int i = 0; i < pass_table_len; i++) {
    int seen = 0;
    for (int j = 0; j < i; j++) seen |= !strcmp(pass_table[j].name, pass_table[i].name);
    if (seen || used >= size) continue;
    used += (size_t)snprintf(buf + used, size - used, "%s%s", used ? ", " : "", pass_table[i].name);
  }
}
