/* The pipeline: spec -> lower -> per phase: specialize, logits rewrite,
 * decompose, simplify, (autodiff, optimizer), simplify, fuse, plan -> codegen. */
#include "compiler/compile.h"

#include <stdlib.h>
#include <string.h>

#include "compiler/env_check.h"
#include "compiler/lower/lower.h"
#include "compiler/lower/none_axes.h"
#include "compiler/passes/passes.h"
#include "compiler/passes/pipeline.h"
#include "base/base.h"

static const char *const graph_names[NNC_GRAPH_COUNT] = {"train", "test", "predict"};
_Static_assert(PASS_TRAIN == 1u << NNC_GRAPH_TRAIN && PASS_TEST == 1u << NNC_GRAPH_TEST &&
                   PASS_PREDICT == 1u << NNC_GRAPH_PREDICT,
               "pass table graph bits");

typedef struct stage_ctx {
  const nnc_compile_options *opts;
  int which;
} stage_ctx;

static int wants_dump(const stage_ctx *s, const char *pass) {
  const nnc_compile_options *o = s->opts;
  if (!o || !o->dump || !o->dump_after) return 0;
  if (o->dump_graphs && !(o->dump_graphs & (1u << s->which))) return 0;
  /* a comma-separated list; "all" anywhere in it names every pass */
  for (const char *p = o->dump_after; *p;) {
    size_t len = strcspn(p, ",");
    if ((len == 3 && !strncmp(p, "all", 3)) || (len == strlen(pass) && !strncmp(p, pass, len)))
      return 1;
    p += len + (p[len] == ',');
  }
  return 0;
}

static int after(const stage_ctx *s, nnc_graph *g, const char *pass, int rc) {
  if (rc == NNC_OK && wants_dump(s, pass)) {
    fprintf(s->opts->dump, "; after %s\n", pass);
    if (s->opts->dump_dot)
      graph_dump_dot(g, s->opts->dump);
    else
      graph_dump_text(g, s->opts->dump);
  }
  return rc;
}

/* One graph from the forward graph: train, test or predict, through the
 * rows of the pass table (passes/pipeline.c) that run on it. */
static int build_graph(const nnc_lowered *l, const nnc_spec *spec, int which,
                       const nnc_compile_options *opts, nnc_compiled *out, nnc_status *st) {
  stage_ctx s = {opts, which};
  nnc_graph *g = &out->graphs[which];
  if (graph_copy(g, &l->forward, graph_names[which], st)) return st->code;
  out->has_graph[which] = 1;
  if (which == NNC_GRAPH_PREDICT) {
    for (int i = 0; i < g->n; i++)
      if (g->nodes[i].op == NNC_OP_STAT) g->nodes[i].dead = 1;
    g->loss = -1;
  }
  if (which == NNC_GRAPH_PREDICT || (opts && opts->outputs_in_train)) {
    /* OUTPUT node k writes model output k (regions[NNC_REGION_IO + ...]) */
    for (int k = 0; k < out->prog.n_outputs; k++)
      if (graph_add_attr(g, NNC_OP_OUTPUT, 0, &l->output_nodes[k], 1, k, st) < 0) return st->code;
  }
  /* check-numerics mode: the train graph keeps every node's output in a
   * buffer of its own, for the runtime to scan after each step */
  pass_ctx c = {g,
                &out->prog,
                which == NNC_GRAPH_TRAIN ? NNC_PHASE_TRAIN : NNC_PHASE_INFER,
                &spec->compile.optimizer,
                NULL,
                which == NNC_GRAPH_TRAIN && opts && opts->check_numerics,
                which != NNC_GRAPH_TRAIN && out->has_graph[NNC_GRAPH_TRAIN]
                    ? &out->graphs[NNC_GRAPH_TRAIN]
                    : NULL,
                st,
                opts && opts->accumulate_f64};
  if (which == NNC_GRAPH_TRAIN) {
    c.grads = nnc_calloc((size_t)out->prog.n_params + 1, sizeof *c.grads, st);
    if (!c.grads) return st->code;
  }
  int rc = NNC_OK;
  for (int i = 0; i < pass_table_len && rc == NNC_OK; i++) {
    const pass_row *p = &pass_table[i];
    if (!(p->graphs & (1u << which))) continue;
    nnc_time t0 = timing_now();
    rc = p->run ? p->run(&c) : NNC_OK;
    if (opts && opts->timing && i < NNC_TIMING_PASSES) timing_add(&opts->timing->pass[i], t0);
    rc = after(&s, g, p->name, rc);
  }
  free(c.grads);
  return rc ? st->code : NNC_OK;
}

int nnc_compile_spec(const nnc_spec *spec, const nnc_data_shapes *data,
                     const nnc_compile_options *opts, nnc_compiled *out, nnc_status *st) {
  memset(out, 0, sizeof *out);
  if (env_check(st)) return st->code;
  const nnc_spec_shape *x_inner = data && data->n_inputs > 0 ? &data->inputs[0] : NULL;
  const nnc_spec_shape *y_inner =
      data && data->n_targets > 0 && data->targets[0].rank >= 0 ? &data->targets[0] : NULL;
  /* per-sample shapes: the batch axis takes one of the NNC_MAX_RANK places */
  if ((x_inner && (x_inner->rank < 0 || x_inner->rank > NNC_MAX_RANK - 1)) ||
      (y_inner && (y_inner->rank < 0 || y_inner->rank > NNC_MAX_RANK - 1)))
    return nnc_fail(st, NNC_ERR_DATA, "%s: per-sample data of rank %d: at most %d is supported",
                    spec->source,
                    x_inner && x_inner->rank > NNC_MAX_RANK - 1 ? x_inner->rank : y_inner->rank,
                    NNC_MAX_RANK - 1);
  nnc_lowered l;
  nnc_time t0 = timing_now();
  if (lower_model(spec, data, &l, st)) return st->code;
  if (none_axes_check(spec, data, &l.prog, st)) {
    lowered_free(&l);
    return st->code;
  }
  if (opts && opts->timing) timing_add(&opts->timing->stage[NNC_STAGE_LOWER], t0);
  out->prog = l.prog; /* the graphs below extend its tables (slots) */
  memset(&l.prog, 0, sizeof l.prog);
  int rc = NNC_OK;
  if (spec->compile.present) {
    rc = build_graph(&l, spec, NNC_GRAPH_TRAIN, opts, out, st);
    if (!rc) rc = build_graph(&l, spec, NNC_GRAPH_TEST, opts, out, st);
  }
  if (!rc) rc = build_graph(&l, spec, NNC_GRAPH_PREDICT, opts, out, st);
  lowered_free(&l);
  if (rc || (opts && opts->no_jit)) {
    if (rc) nnc_compiled_free(out);
    return rc;
  }
  const nnc_graph *list[NNC_GRAPH_COUNT];
  int index[NNC_GRAPH_COUNT], n = 0;
  for (int i = 0; i < NNC_GRAPH_COUNT; i++)
    if (out->has_graph[i]) {
      index[n] = i;
      list[n++] = &out->graphs[i];
    }
  nnc_codegen_options cg_opts = {opts ? opts->dump_ir_pre : NULL, opts ? opts->dump_ir_post : NULL,
                                 opts ? opts->accumulate_f64 : 0, opts ? opts->emit_only : 0,
                                 opts ? opts->timing : NULL,      opts ? opts->no_cache : 0,
                                 opts ? opts->memo : NULL};
  nnc_step_fn fns[NNC_GRAPH_COUNT];
  rc = codegen_compile(list, n, &out->prog, &cg_opts, &out->jit, fns, st);
  if (rc) {
    nnc_compiled_free(out);
    return rc;
  }
  for (int i = 0; i < n; i++) {
    out->step[index[i]] = fns[i];
    out->scratch_floats[index[i]] = codegen_scratch_floats(out->jit, i);
  }
  return NNC_OK;
}

void nnc_compiled_free(nnc_compiled *c) {
  codegen_release(c->jit);
  for (int i = 0; i < NNC_GRAPH_COUNT; i++)
    if (c->has_graph[i]) graph_free(&c->graphs[i]);
  program_free(&c->prog);
  memset(c, 0, sizeof *c);
}
