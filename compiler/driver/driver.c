/* The builder that connects the compiler to a runtime model: a parsed spec
 * described, compiled for data shapes into a program table
 * (include/nnc_program.h), recompiled for a new compile config. The public
 * loaders nnc_model_load_file / _string live here: they are the only calls
 * of the C API that need the compiler. */
#include <stdlib.h>
#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif

#include "base/base.h"
#include "compiler/compile.h"
#include "compiler/driver/saved_model.h"
#include "compiler/driver/table.h"
#include "compiler/spec/spec.h"
#include "nnc.h"
#include "nnc_program.h"
#include "runtime/model.h"
#include "runtime/io/model_file.h"
#include "runtime/io/tfjs.h"

/* st may be NULL: then a local one (as runtime/api_check.h's API_STATUS) */
#define STATUS_OR_LOCAL(st)                                                                        \
  nnc_status local_status_;                                                                        \
  if (!(st)) (st) = &local_status_;                                                                \
  nnc_status_ok(st)

typedef struct spec_driver {
  nnc_spec spec;
  const char **input_names, **output_names; /* heap, n_inputs / n_outputs */
  codegen_memo memo;             /* the last build's machine code: an identical rebuild reuses it */
  nnc_tensor_set file_weights;   /* a saved model's weights, set at the first build */
  nnc_tensor_set file_optimizer; /* its optimizer variables "#I" (a .keras), likewise */
  char *file_path;               /* the saved model's path, for messages */
  char *config_text;             /* the config as read (JSON), for nnc_model_save_keras */
} spec_driver;

static int has_declared_input(const nnc_spec *s) {
  for (int i = 0; i < s->n_layers; i++)
    if (s->layers[i].has_input_shape) return 1;
  return 0;
}

/* The names lowering gives the input and the output (compiler/lower). */
static int describe(void *ctx, nnc_model_description *out, nnc_status *st) {
  spec_driver *d = ctx;
  const nnc_spec *s = &d->spec;
  memset(out, 0, sizeof *out);
  free(d->input_names);
  free(d->output_names);
  d->input_names = nnc_calloc((size_t)s->n_inputs + 1, sizeof *d->input_names, st);
  d->output_names = nnc_calloc((size_t)s->n_outputs + 1, sizeof *d->output_names, st);
  if (!d->input_names || !d->output_names) return NNC_ERR_NOMEM;
  for (int k = 0; k < s->n_inputs; k++) d->input_names[k] = spec_input_name(s, k);
  for (int k = 0; k < s->n_outputs; k++) d->output_names[k] = spec_output_name(s, k);
  out->source = s->source;
  out->name = s->name;
  out->n_inputs = s->n_inputs;
  out->n_outputs = s->n_outputs;
  out->input_names = d->input_names;
  out->output_names = d->output_names;
  /* a None axis (a sequence length) waits for the data, as no shape does */
  out->declares_inputs = has_declared_input(s) && !spec_has_none_axes(s);
  out->has_compile = s->compile.present;
  out->learning_rate = s->compile.optimizer.learning_rate;
  out->callbacks_json = s->callbacks_json;
  out->callbacks_path = "$.callbacks";
  out->schedule = s->compile.optimizer.schedule;
  return NNC_OK;
}

static void spec_shapes(int n, const nnc_sample_shape *in, nnc_spec_shape *out) {
  for (int i = 0; i < n; i++) {
    memset(&out[i], 0, sizeof out[i]);
    out[i].rank = in[i].rank;
    for (int k = 0; k < in[i].rank && k < NNC_MAX_RANK; k++) out[i].dims[k] = in[i].dims[k];
  }
}

static int build(void *ctx, const nnc_build_request *req, const nnc_program_table **out,
                 nnc_status *st) {
  spec_driver *d = ctx;
  *out = NULL;
  /* inputs, targets, then (with sample weights) one per output */
  int n_weights = req->sample_weights ? d->spec.n_outputs : 0;
  nnc_spec_shape *shapes =
      nnc_calloc((size_t)(req->n_inputs + req->n_targets + n_weights) + 1, sizeof *shapes, st);
  if (!shapes) return st->code;
  spec_shapes(req->n_inputs, req->inputs, shapes);
  spec_shapes(req->n_targets, req->targets, shapes + req->n_inputs);
  spec_shapes(n_weights, req->sample_weights, shapes + req->n_inputs + req->n_targets);
  /* an input of unknown shape: lowering takes the declared one */
  int known = req->n_inputs > 0 && req->inputs[0].rank >= 0;
  nnc_data_shapes data = {known ? req->n_inputs : 0, shapes, req->n_targets, shapes + req->n_inputs,
                          n_weights ? shapes + req->n_inputs + req->n_targets : NULL};
  nnc_compile_options copts = {0};
  copts.accumulate_f64 = req->accumulate_f64;
  copts.check_numerics = req->check_numerics;
  copts.outputs_in_train = req->outputs_in_train;
  copts.memo = &d->memo;
  nnc_compiled c;
  int rc = nnc_compile_spec(&d->spec, &data, &copts, &c, st);
  free(shapes);
  if (rc) return rc;
  jit_table *t;
  if (jit_table_make(&c, d->spec.name, d->spec.compile.optimizer.learning_rate, req->check_numerics,
                     &t, st))
    return st->code;
  if (jit_table_set_schedule(t, &d->spec.compile.optimizer.schedule, st)) {
    jit_table_free(t);
    return st->code;
  }
  t->t.outputs_in_train = req->outputs_in_train;
  *out = &t->t;
#ifdef __GLIBC__
  /* LLVM's compile-time heap (modules, passes, the context) is freed by now, but glibc keeps
   * the free pages: give them back, so they do not add to the peak memory of the training
   * that follows (docs/performance.md, session 11) */
  malloc_trim(0);
#endif
  return NNC_OK;
}

static void release(void *ctx, const nnc_program_table *table) {
  (void)ctx;
  jit_table_free((jit_table *)table); /* the table is a jit_table's first member */
}

static int set_compile_config(void *ctx, const char *json, nnc_status *st) {
  spec_driver *d = ctx;
  return nnc_spec_parse_compile_string(json, "compile config", &d->spec, st);
}

static void driver_free(void *ctx) {
  spec_driver *d = ctx;
  nnc_spec_free(&d->spec);
  codegen_memo_free(&d->memo);
  free(d->input_names);
  free(d->output_names);
  nnc_tensor_set_free(&d->file_weights);
  nnc_tensor_set_free(&d->file_optimizer);
  free(d->file_path);
  free(d->config_text);
  free(d);
}

/* The saved model's weights, once the model is built (then dropped). */
/* The optimizer variables of a .keras ("#I", Keras's order) set into the
 * built model's optimizer: as Keras's load_own_variables, skipped when their
 * count is not the optimizer's (another optimizer, or none); a count that
 * matches with a shape that does not is an error. */
static int apply_optimizer(nnc_model *m, const char *path, const nnc_tensor_set *file,
                           nnc_status *st) {
  nnc_tensor_set own, named = {0};
  nnc_status probe;
  if (model_optimizer_variables(m, &own, &probe)) return NNC_OK; /* no optimizer */
  int rc = NNC_OK;
  if (own.n == file->n) {
    for (int i = 0; i < file->n && !rc; i++)
      rc = nnc_tensor_set_add(&named, own.items[i].name, &file->items[i].array, st);
    if (!rc && model_set_optimizer_variables(m, path, &named, st))
      rc = nnc_fail_prefix(st, "optimizer/vars");
  }
  nnc_tensor_set_free(&own);
  nnc_tensor_set_free(&named);
  return rc;
}

static int first_built(void *ctx, nnc_model *m, nnc_status *st) {
  spec_driver *d = ctx;
  int rc = d->file_weights.n ? nnc_model_file_apply_weights(m, d->file_path, &d->file_weights, st)
                             : NNC_OK;
  if (!rc && d->file_optimizer.n) rc = apply_optimizer(m, d->file_path, &d->file_optimizer, st);
  nnc_tensor_set_free(&d->file_weights);
  nnc_tensor_set_free(&d->file_optimizer);
  return rc;
}

static int from_spec(spec_driver *d, nnc_model **out, nnc_status *st) {
  nnc_builder b = {d, describe, build, release, set_compile_config, driver_free, first_built};
  return nnc_model_from_builder(&b, out, st);
}

static int read_saved(const char *path, nnc_spec *spec, nnc_tensor_set *weights,
                      nnc_tensor_set *optimizer, char **text, nnc_status *st);

int nnc_model_load_file(const char *path, nnc_model **out, nnc_status *st) {
  STATUS_OR_LOCAL(st);
  if (!out) return nnc_fail(st, NNC_ERR_ARG, "nnc_model_load_file: out is NULL");
  *out = NULL;
  if (!path) return nnc_fail(st, NNC_ERR_ARG, "nnc_model_load_file: path is NULL");
  spec_driver *d = nnc_calloc(1, sizeof *d, st);
  if (!d) return st->code;
  /* a saved model (.keras, .h5, TF.js) by its first bytes; a spec as before */
  int r = read_saved(path, &d->spec, &d->file_weights, &d->file_optimizer, &d->config_text, st);
  if (r == 1) r = nnc_spec_parse_file(path, &d->spec, st) ? -1 : 0;
  if (!r && !d->config_text) d->config_text = nnc_read_file(path, NULL, st); /* NULL: a pipe */
  if (!r && !(d->file_path = nnc_calloc(strlen(path) + 1, 1, st))) r = -1;
  if (r) {
    driver_free(d);
    return st->code;
  }
  strcpy(d->file_path, path);
  return from_spec(d, out, st);
}

/* A saved model (by its first bytes) whose config is parsed into spec and
 * whose weights go into *weights (NULL: dropped). 1 when path is a spec
 * (nothing read), 0 when read, -1 on error. */
static int read_saved(const char *path, nnc_spec *spec, nnc_tensor_set *weights,
                      nnc_tensor_set *optimizer, char **text, nnc_status *st) {
  nnc_status probe;
  nnc_model_format format = nnc_model_format_sniff(path, &probe);
  if (format == NNC_FORMAT_JSON || format == NNC_FORMAT_UNKNOWN ||
      (format == NNC_FORMAT_TFJS_LAYERS && !nnc_model_file_has_tfjs()))
    return 1;
  nnc_model_file file;
  if (nnc_model_file_read(path, &file, st)) return -1;
  int rc = file.spec_json ? NNC_OK
                          : nnc_fail(st, NNC_ERR_SPEC,
                                     "%s: a weights-only file (no model config): load the model's "
                                     "spec and give this file as its weights",
                                     path);
  if (!rc) rc = nnc_spec_parse_string(file.spec_json, path, spec, st);
  if (!rc && weights) {
    *weights = file.weights; /* the caller owns them now */
    file.weights.n = 0;
    file.weights.items = NULL;
  }
  if (!rc && optimizer) {
    *optimizer = file.optimizer;
    file.optimizer.n = 0;
    file.optimizer.items = NULL;
  }
  if (!rc && text) {
    *text = file.spec_json;
    file.spec_json = NULL;
  }
  nnc_model_file_free(&file);
  return rc ? -1 : 0;
}

int nnc_model_save_keras(const nnc_model *m, const char *path, nnc_status *st) {
  STATUS_OR_LOCAL(st);
  if (!m || !path) return nnc_fail(st, NNC_ERR_ARG, "nnc_model_save_keras: m or path is NULL");
  const spec_driver *d = m->builder.describe == describe ? m->builder.ctx : NULL;
  if (!d || !d->config_text)
    return nnc_fail(st, NNC_ERR_ARG,
                    "%s: the model was not loaded from a file whose config nnc kept: no .keras",
                    path);
  if (!m->built)
    return nnc_fail(st, NNC_ERR_ARG, "%s: the model is not built: nothing to save", path);
  return nnc_keras_zip_write(m, d->config_text, path, st);
}

const char *nnc_model_config_text(const nnc_model *m) {
  const spec_driver *d = m && m->builder.describe == describe ? m->builder.ctx : NULL;
  return d ? d->config_text : NULL;
}

static int config_or_fail(const nnc_model *m, const char *path, const char **text, nnc_status *st) {
  *text = nnc_model_config_text(m);
  if (*text) return NNC_OK;
  return nnc_fail(st, NNC_ERR_ARG,
                  "%s: the model was not loaded from a file whose config nnc kept (a spec read "
                  "from a pipe?): nothing to take the saved topology from",
                  path);
}

int nnc_model_check_save_keras(const nnc_model *m, const char *path, nnc_status *st) {
  STATUS_OR_LOCAL(st);
  const char *bad = nnc_keras_save_path_problem(path), *text;
  if (bad) return nnc_fail(st, NNC_ERR_ARG, "%s: %s", path, bad);
  if (config_or_fail(m, path, &text, st)) return st->code;
  return nnc_keras_zip_check(m, text, path, st);
}

int nnc_model_check_save_tfjs(const nnc_model *m, const char *dir, nnc_status *st) {
  STATUS_OR_LOCAL(st);
  const char *text;
  struct stat sb;
  if (!dir || !dir[0])
    return nnc_fail(st, NNC_ERR_ARG, "--save-tfjs: expected a folder name, got an empty one");
  if (!stat(dir, &sb) && !S_ISDIR(sb.st_mode))
    return nnc_fail(st, NNC_ERR_WRITE, "%s: cannot write a TF.js model there: not a folder", dir);
  /* the writer makes the folder itself, not its parents: a missing parent
   * fails now rather than after the training it would keep */
  char parent[4096];
  const char *slash = strrchr(dir, '/');
  snprintf(parent, sizeof parent, "%.*s", slash ? (slash == dir ? 1 : (int)(slash - dir)) : 1,
           slash ? dir : ".");
  if (stat(parent, &sb))
    return nnc_fail(st, NNC_ERR_WRITE,
                    "%s: cannot create the folder: %s: %s (only the last folder is created)", dir,
                    parent, strerror(errno));
  if (!S_ISDIR(sb.st_mode))
    return nnc_fail(st, NNC_ERR_WRITE, "%s: cannot create the folder: %s is not a folder", dir,
                    parent);
  if (config_or_fail(m, dir, &text, st)) return st->code;
  cJSON *topo = tfjs_topology_from_spec(text, dir, st);
  if (!topo) return st->code;
  /* a model built from data is checked when written (after training) */
  if (m->built && !tfjs_weight_names_check(m, topo, st) && !tfjs_nested_inputs(m, topo, st))
    tfjs_batchnorm_axes(m, topo, st);
  cJSON_Delete(topo);
  return st->code;
}

int nnc_spec_parse_model_file(const char *path, nnc_spec *out, nnc_status *st) {
  int r = read_saved(path, out, NULL, NULL, NULL, st);
  return r == 1 ? nnc_spec_parse_file(path, out, st) : r ? (int)st->code : NNC_OK;
}

int nnc_model_load_string(const char *json, const char *source_name, nnc_model **out,
                          nnc_status *st) {
  STATUS_OR_LOCAL(st);
  if (!out) return nnc_fail(st, NNC_ERR_ARG, "nnc_model_load_string: out is NULL");
  *out = NULL;
  if (!json) return nnc_fail(st, NNC_ERR_ARG, "nnc_model_load_string: json is NULL");
  spec_driver *d = nnc_calloc(1, sizeof *d, st);
  if (!d) return st->code;
  if (nnc_spec_parse_string(json, source_name ? source_name : "<string>", &d->spec, st)) {
    driver_free(d);
    return st->code;
  }
  return from_spec(d, out, st);
}
