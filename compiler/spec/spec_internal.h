/* compiler/spec internals: the parse context, JSON-path helpers and the
 * per-file entry points. Not used outside compiler/spec.
 *
 *   spec_json.c        paths, "expected X, got Y" errors, typed getters, shapes
 *   spec_parse.c       public entry points, format detection, model level
 *   spec_functional.c  Functional graph -> layer calls in topological order
 *   spec_layer.c       one layer object -> nnc_spec_layer (the class's own keys:
 *                      compiler/layers/<layer>.c)
 *   spec_activation.c  activation names
 *   spec_init.c        initializers
 *   spec_optimizer.c   optimizer of a compile config
 *   spec_compile.c     loss, loss_weights of a compile config
 *   spec_loss.c        one loss (spec_parse_loss, declared in compiler/losses/losses.h)
 *   spec_metric.c      metrics of a compile config (classes: compiler/metrics)
 *   spec_text.c        scans of the raw text: escaped NULs, nesting depth */
#ifndef NNC_SPEC_INTERNAL_H
#define NNC_SPEC_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "compiler/spec/spec.h"

/* Larger models are surely not hand-made Dense chains; the cap also keeps
 * the quadratic name checks cheap on hostile input. */
#define SPEC_MAX_LAYERS 4096

typedef struct spec_ctx {
  const char *source; /* file name used as the message prefix */
  nnc_status *st;
  nnc_spec_format format; /* tfjs changes the meaning of a few optimizer keys */
} spec_ctx;

/* ---- spec_json.c ---- */

/* dst = parent + ".key" (or ["key"] when key is not an identifier), bounded. */
void spec_path_key(char *dst, const char *parent, const char *key);
/* dst = parent + "[index]", bounded. */
void spec_path_index(char *dst, const char *parent, int index);

/* "<source>: <path>: <message>" as NNC_ERR_SPEC. */
int spec_fail(const spec_ctx *ctx, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* "<source>: <path>: expected <expected>, got <description of found>". */
int spec_fail_expected(const spec_ctx *ctx, const char *path, const cJSON *found,
                       const char *expected_fmt, ...) __attribute__((format(printf, 4, 5)));
/* "<source>: <path>: <what> is not supported yet, got <found>". */
int spec_fail_unsupported(const spec_ctx *ctx, const char *path, const cJSON *found,
                          const char *what);

/* A short description of a JSON value for messages: -3, "abc", null, an object... */
void spec_describe(const cJSON *item, char *buf, size_t size);

/* Lower-case and drop '_' so glorot_uniform, GlorotUniform and glorotUniform
 * compare equal. Returns 0 when the name does not fit in size. */
int spec_normalize(const char *name, char *out, size_t size);

/* 1 when item is missing or JSON null. */
int spec_is_absent(const cJSON *item);

/* Child of an object (NULL when obj is not an object or has no such key). */
const cJSON *spec_child(const cJSON *obj, const char *key);

/* The object at obj.key; path_out gets its path. Missing -> error. */
int spec_require_object(const spec_ctx *ctx, const cJSON *obj, const char *path, const char *key,
                        const cJSON **out, char *path_out);

/* Typed optional fields: a missing key or null gives the default. */
int spec_get_bool(const spec_ctx *ctx, const cJSON *obj, const char *path, const char *key,
                  int dflt, int *out);
int spec_get_number(const spec_ctx *ctx, const cJSON *obj, const char *path, const char *key,
                    double dflt, double *out);
/* Optional integer seed: has_out = 0 when missing or null. */
int spec_get_seed(const spec_ctx *ctx, const cJSON *obj, const char *path, const char *key,
                  int *has_out, int64_t *out);
/* A finite number (not a bool, string...) with its value. */
int spec_number_value(const spec_ctx *ctx, const cJSON *item, const char *path,
                      const char *expected, double *out);
/* A number the kernels use as float32: finite and at most FLT_MAX in magnitude. */
#define SPEC_FLOAT32_RANGE "a number within the float32 range (at most 3.4e38 in magnitude)"
int spec_float32_value(const spec_ctx *ctx, const cJSON *item, const char *path, double *out);
int spec_get_float32(const spec_ctx *ctx, const cJSON *obj, const char *path, const char *key,
                     double dflt, double *out);
/* obj.key must be missing or null: otherwise "<what> is not supported yet". */
int spec_require_null(const spec_ctx *ctx, const cJSON *obj, const char *path, const char *key,
                      const char *what);

/* Copy a name string into an NNC_NAME_MAX buffer: non-empty, bounded,
 * well-formed UTF-8 without control characters. */
int spec_copy_name(const spec_ctx *ctx, const cJSON *item, const char *path, char *dst);
/* The same for a layer or model name, which Keras 3 also refuses with a "/". */
int spec_copy_layer_name(const spec_ctx *ctx, const cJSON *item, const char *path, char *dst);

/* Every object in the tree rooted at item has each key once (path: item's). */
int spec_check_unique_keys(const spec_ctx *ctx, const cJSON *item, const char *path);

/* A JSON shape list. With has_batch the first entry is the batch dimension
 * (null or an integer) and is dropped; every other entry must be a positive
 * integer. */
int spec_parse_shape(const spec_ctx *ctx, const cJSON *item, const char *path, int has_batch,
                     nnc_spec_shape *out);

/* A strictly positive integer up to INT32_MAX (units, dimensions). */
int spec_positive_int(const spec_ctx *ctx, const cJSON *item, const char *path, int64_t *out);

/* The class_name string of a {class_name, config} object, or NULL. */
const char *spec_class_name(const cJSON *obj);

/* ---- spec_activation.c ---- */
/* A string, null (linear), or a Keras 3 serialized function object. */
int spec_parse_activation(const spec_ctx *ctx, const cJSON *item, const char *path,
                          nnc_activation *out);

/* ---- spec_init.c ---- */
/* A string or {class_name, config}; missing or null gives default_name. */
int spec_parse_init(const spec_ctx *ctx, const cJSON *item, const char *path,
                    const char *default_name, nnc_spec_init *out);

/* ---- spec_regularizer.c, spec_constraint.c ---- */
/* null (none), a string or {class_name, config}: Keras 3's regularizers
 * (L1, L2, L1L2, OrthogonalRegularizer) and constraints (MaxNorm, MinMaxNorm,
 * NonNeg, UnitNorm). Any layer with such an argument may use them. */
int spec_parse_regularizer(const spec_ctx *ctx, const cJSON *item, const char *path,
                           nnc_spec_regularizer *out);
int spec_parse_constraint(const spec_ctx *ctx, const cJSON *item, const char *path,
                          nnc_spec_constraint *out);

/* ---- spec_layer.c ---- */
typedef struct spec_layer_site {
  int first; /* first layer of a Sequential: its batch_input_shape is the model input */
} spec_layer_site;

int spec_parse_layer(const spec_ctx *ctx, const cJSON *entry, const char *path,
                     const spec_layer_site *site, nnc_spec_layer *out);
/* The layer's class takes n_inputs tensors per call; else an error at path. */
int spec_check_arity(const spec_ctx *ctx, const char *path, const nnc_spec_layer *layer,
                     int n_inputs);
/* Append one declared input shape (with the batch dimension first) of a
 * layer whose first call takes several tensors; the parse error is at path. */
int spec_add_declared_input(const spec_ctx *ctx, nnc_spec_layer *layer, const cJSON *shape,
                            const char *path);
/* Forget the declared shapes of several inputs (a later declaration replaces them). */
void spec_clear_declared_inputs(nnc_spec_layer *layer);
/* Keras-style default name prefix for a layer kind ("dense", "input_layer"). */
const char *spec_layer_default_prefix(nnc_layer_kind kind);

/* ---- spec_parse.c ---- */
/* A model config used as a layer (nested model) -> *sub: layers, calls,
 * names; no compile config. */
int spec_parse_nested(const spec_ctx *ctx, const cJSON *config, const char *config_path,
                      int functional, nnc_spec *sub);

/* ---- spec_functional.c ---- */
/* A Functional config -> spec->layers (config order), spec->calls
 * (topological order), spec->inputs, spec->outputs. Partial results are left
 * in spec for nnc_spec_free. */
int spec_functional_graph(const spec_ctx *ctx, const cJSON *config, const char *config_path,
                          nnc_spec *spec);

/* ---- spec_optimizer.c ---- */
/* A string, {class_name, config} or missing/null (rmsprop, Keras's compile default). */
int spec_parse_optimizer(const spec_ctx *ctx, const cJSON *item, const char *path,
                         nnc_spec_optimizer *out);

/* ---- spec_compile.c ---- */
/* A compile config object (Keras compile_config, h5 training_config or tfjs
 * trainingConfig). Per-output entries are matched to the model's outputs by
 * lowering. On error *out is left empty. */
/* compile's "metrics" into out's metric fields; spec_metrics_free frees
 * them (also after a failure). */
int spec_parse_metrics(const spec_ctx *ctx, const cJSON *item, const char *path,
                       nnc_spec_compile *out);
void spec_metrics_free(nnc_spec_compile *c);
/* compile's "weighted_metrics" into out->weighted_metrics (NULL when none) */
int spec_parse_weighted_metrics(const spec_ctx *ctx, const cJSON *item, const char *path,
                                nnc_spec_compile *out);

int spec_parse_compile(const spec_ctx *ctx, const cJSON *cc, const char *path,
                       nnc_spec_compile *out);

/* ---- spec_text.c (text: NUL-terminated JSON that cJSON parsed, except depth_at) ---- */
/* 1-based line and column of byte offset at. */
void spec_text_position(const char *text, size_t at, size_t *line, size_t *column);
/* Arrays and objects open before byte offset at (any text). */
int spec_text_depth_at(const char *text, size_t at);
/* JSON path of the string (key or value) holding byte offset at; keys as written. */
int spec_text_path_at(const char *text, size_t at, char *path);

/* A per-output dict of a compile argument (keys are output names): an object
 * that is not a {class_name, config} object nor an {"expression": ...}. */
int spec_is_output_dict(const cJSON *item);

#endif
