/* {"expression": "...", "name": "..."} as a loss or a metric. */
#include "compiler/expr/expr_spec.h"

#include <string.h>

#include "compiler/expr/expr_internal.h"

int expr_spec_is(const cJSON *item) {
  return cJSON_IsObject(item) && spec_child(item, "expression") != NULL;
}

int expr_spec_parse(const spec_ctx *ctx, const cJSON *item, const char *path,
                    const char *default_name, nnc_expr **out, char *name, char *name_path) {
  char text_path[NNC_PATH_MAX], key_path[NNC_PATH_MAX];
  *out = NULL;
  const cJSON *key;
  cJSON_ArrayForEach(key, item) {
    if (key->string && (!strcmp(key->string, "expression") || !strcmp(key->string, "name")))
      continue;
    spec_path_key(key_path, path, key->string ? key->string : "?");
    return spec_fail(ctx, key_path,
                     "expected only the keys \"expression\" and \"name\" in an expression "
                     "object, got \"%s\"",
                     key->string ? key->string : "?");
  }
  spec_path_key(text_path, path, "expression");
  const cJSON *text = spec_child(item, "expression");
  if (!cJSON_IsString(text))
    return spec_fail_expected(ctx, text_path, text, "the expression as a string");
  spec_path_key(key_path, path, "name");
  if (name_path) nnc_strlcpy(name_path, path, NNC_PATH_MAX);
  const cJSON *n = spec_child(item, "name");
  if (spec_is_absent(n)) {
    nnc_strlcpy(name, default_name, NNC_NAME_MAX);
  } else {
    int rc = spec_copy_name(ctx, n, key_path, name);
    if (rc) return rc;
    if (name_path) nnc_strlcpy(name_path, key_path, NNC_PATH_MAX);
  }
  return expr_parse(text->valuestring, ctx->source, text_path, out, ctx->st);
}

int expr_require_per_sample(const nnc_expr *e, const nnc_graph *g, int id, nnc_status *st) {
  const nnc_shape *s = &g->nodes[id].shape;
  if (s->batched) return NNC_OK;
  char have[64];
  shape_format(s, have, sizeof have);
  return expr_fail(st, e, 1,
                   "the value is shaped %s: a metric needs one value per sample ([B] or "
                   "[B, ...]; Keras would average a batch value per batch); reduce the "
                   "non-batch axes only, e.g. mean(..., axis=-1)",
                   have);
}
