/* nnc_adapt_normalization (include/nnc.h): Keras 3's Normalization.adapt
 * for the Normalization layers fed by the model's input. As Keras does for
 * a NumPy array: mean = np.mean(x, axis=reduce_axes), variance =
 * np.var(x, axis=reduce_axes) (population variance), where the kept axes
 * are the layer's `axis` over x's dimensions (axis 0: the samples) and the
 * reduced axes all the others. Here in float64 (two passes), written into
 * the layer's config as nested lists of the kept axes' shape. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include <cjson/cJSON.h>
#include "nnc.h"

static double element(const nnc_array *x, int64_t i) {
  switch (x->dtype) {
  case NNC_F32:
    return ((const float *)x->data)[i];
  case NNC_F64:
    return ((const double *)x->data)[i];
  case NNC_I32:
    return ((const int32_t *)x->data)[i];
  case NNC_I64:
    return (double)((const int64_t *)x->data)[i];
  case NNC_U8:
    return ((const uint8_t *)x->data)[i];
  case NNC_I8:
    return ((const int8_t *)x->data)[i];
  case NNC_I16:
    return ((const int16_t *)x->data)[i];
  case NNC_U16:
    return ((const uint16_t *)x->data)[i];
  case NNC_U32:
    return ((const uint32_t *)x->data)[i];
  case NNC_U64:
    return (double)((const uint64_t *)x->data)[i];
  }
  return 0;
}

static int is_class(const cJSON *obj, const char *name) {
  const cJSON *c = cJSON_GetObjectItemCaseSensitive(obj, "class_name");
  if (!cJSON_IsString(c)) c = cJSON_GetObjectItemCaseSensitive(obj, "className");
  return cJSON_IsString(c) && !strcmp(c->valuestring, name);
}

static const char *layer_name(const cJSON *layer) {
  const cJSON *cfg = cJSON_GetObjectItemCaseSensitive(layer, "config");
  const cJSON *n = cJSON_GetObjectItemCaseSensitive(cfg, "name");
  if (!cJSON_IsString(n)) n = cJSON_GetObjectItemCaseSensitive(layer, "name");
  return cJSON_IsString(n) ? n->valuestring : NULL;
}

/* 1 when some string anywhere in v equals name (a Functional inbound node). */
static int mentions(const cJSON *v, const char *name) {
  if (cJSON_IsString(v)) return !strcmp(v->valuestring, name);
  for (const cJSON *e = v ? v->child : NULL; e; e = e->next)
    if (mentions(e, name)) return 1;
  return 0;
}

/* The first object (depth first) with class Sequential/Functional/Model and
 * a config.layers list. */
static cJSON *find_model(cJSON *v) {
  if (cJSON_IsObject(v) &&
      (is_class(v, "Sequential") || is_class(v, "Functional") || is_class(v, "Model"))) {
    cJSON *cfg = cJSON_GetObjectItemCaseSensitive(v, "config");
    if (cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(cfg, "layers"))) return v;
  }
  for (cJSON *e = v ? v->child : NULL; e; e = e->next) {
    cJSON *m = find_model(e);
    if (m) return m;
  }
  return NULL;
}

/* The kept axes of cfg's `axis` over a rank-`rank` x (sorted, unique). */
static int kept_axes(const cJSON *cfg, const char *where, int rank, int *keep, int *n_keep,
                     nnc_status *st) {
  const cJSON *a = cJSON_GetObjectItemCaseSensitive(cfg, "axis");
  int seen[NNC_MAX_RANK] = {0};
  int64_t list[NNC_MAX_RANK + 1];
  int n = 0;
  if (!a)
    list[n++] = -1;
  else if (cJSON_IsNumber(a) && fabs(a->valuedouble) < 2 * NNC_MAX_RANK) /* no UB cast */
    list[n++] = (int64_t)a->valuedouble;
  else if (cJSON_IsArray(a))
    for (const cJSON *e = a->child; e; e = e->next) {
      if (!cJSON_IsNumber(e) || !(fabs(e->valuedouble) < 2 * NNC_MAX_RANK) || n > NNC_MAX_RANK)
        return nnc_fail(st, NNC_ERR_SPEC, "%s.axis: expected integers", where);
      list[n++] = (int64_t)e->valuedouble;
    }
  else if (!cJSON_IsNull(a))
    return nnc_fail(st, NNC_ERR_SPEC, "%s.axis: expected an integer, a list or null", where);
  for (int k = 0; k < n; k++) {
    int64_t d = list[k] < 0 ? list[k] + rank : list[k];
    if (d < 1 || d >= rank)
      return nnc_fail(st, NNC_ERR_SPEC,
                      "%s.axis: %lld is not a feature axis of the data (rank %d, axis 0 the "
                      "samples)",
                      where, (long long)list[k], rank);
    seen[d] = 1;
  }
  *n_keep = 0;
  for (int d = 1; d < rank; d++)
    if (seen[d]) keep[(*n_keep)++] = d;
  return NNC_OK;
}

/* Nested lists of vals over dims[0..n) (a number for n = 0). */
static cJSON *nested(const double *vals, const int64_t *dims, int n, int64_t *at) {
  if (n == 0) return cJSON_CreateNumber((double)(float)vals[(*at)++]);
  cJSON *list = cJSON_CreateArray();
  for (int64_t i = 0; list && i < dims[0]; i++) {
    cJSON *e = nested(vals, dims + 1, n - 1, at);
    if (!e || !cJSON_AddItemToArray(list, e)) {
      cJSON_Delete(e);
      cJSON_Delete(list);
      return NULL;
    }
  }
  return list;
}

static int replace(cJSON *cfg, const char *key, cJSON *value, nnc_status *st) {
  if (!value) return nnc_fail(st, NNC_ERR_NOMEM, "out of memory");
  cJSON_DeleteItemFromObjectCaseSensitive(cfg, key);
  if (!cJSON_AddItemToObject(cfg, key, value)) {
    cJSON_Delete(value);
    return nnc_fail(st, NNC_ERR_NOMEM, "out of memory");
  }
  return NNC_OK;
}

/* The batch shape an InputLayer (or a first layer) declares: Keras 3
 * batch_shape, Keras 2 batch_input_shape, tfjs batchInputShape; NULL when
 * none. */
static const cJSON *declared_shape(const cJSON *layer) {
  static const char *const keys[] = {"batch_shape", "batch_input_shape", "batchInputShape"};
  const cJSON *cfg = cJSON_GetObjectItemCaseSensitive(layer, "config");
  for (int k = 0; k < 3; k++) {
    const cJSON *s = cJSON_GetObjectItemCaseSensitive(cfg, keys[k]);
    if (cJSON_IsArray(s)) return s;
  }
  return NULL;
}

static void format_shape(const cJSON *shape, const nnc_array *x, char *buf, size_t size) {
  size_t n = (size_t)snprintf(buf, size, "[");
  int rank = shape ? cJSON_GetArraySize(shape) : x->rank;
  for (int d = 0; d < rank && n < size; d++) {
    const cJSON *e = shape ? cJSON_GetArrayItem(shape, d) : NULL;
    if (shape && (d == 0 || !cJSON_IsNumber(e)))
      n += (size_t)snprintf(buf + n, size - n, "%s%s", d ? ", " : "", d ? "null" : "N");
    else
      n += (size_t)snprintf(buf + n, size - n, "%s%lld", d ? ", " : "",
                            shape ? (long long)e->valuedouble : (long long)x->shape[d]);
  }
  if (n < size) snprintf(buf + n, size - n, "]");
}

/* The data against the layer's declared input (shape, or NULL: unknown):
 * the same rank and, on every kept axis, the same size (Keras's adapt on a
 * built layer checks the kept axes). */
static int check_data_shape(const cJSON *cfg, const cJSON *shape, const char *where,
                            const nnc_array *x, nnc_status *st) {
  if (!shape) return NNC_OK;
  char want[256], have[256];
  format_shape(shape, x, want, sizeof want);
  format_shape(NULL, x, have, sizeof have);
  int rank = cJSON_GetArraySize(shape);
  if (rank != x->rank)
    return nnc_fail(st, NNC_ERR_DATA,
                    "the data has shape %s (rank %d), but %s takes the model's input %s (rank %d)",
                    have, x->rank, where, want, rank);
  int keep[NNC_MAX_RANK], n_keep;
  if (kept_axes(cfg, where, rank, keep, &n_keep, st)) return st->code;
  for (int k = 0; k < n_keep; k++) {
    const cJSON *e = cJSON_GetArrayItem(shape, keep[k]);
    if (cJSON_IsNumber(e) && (int64_t)e->valuedouble != x->shape[keep[k]])
      return nnc_fail(st, NNC_ERR_DATA,
                      "the data has shape %s, but %s takes the model's input %s: kept axis %d "
                      "has %lld entries, the data %lld",
                      have, where, want, keep[k], (long long)e->valuedouble,
                      (long long)x->shape[keep[k]]);
  }
  return NNC_OK;
}

static int adapt_one(cJSON *cfg, const cJSON *shape, const char *where, const nnc_array *x,
                     nnc_status *st) {
  int keep[NNC_MAX_RANK], n_keep;
  if (check_data_shape(cfg, shape, where, x, st) ||
      kept_axes(cfg, where, x->rank, keep, &n_keep, st))
    return st->code;
  int64_t kdims[NNC_MAX_RANK], groups = 1, total = nnc_array_count(x);
  for (int k = 0; k < n_keep; k++) groups *= (kdims[k] = x->shape[keep[k]]);
  if (total <= 0 || groups <= 0)
    return nnc_fail(st, NNC_ERR_DATA, "the data has no samples to adapt %s on", where);
  double *mean = calloc((size_t)groups, sizeof *mean), *var = calloc((size_t)groups, sizeof *var);
  int64_t *group = malloc((size_t)total * sizeof *group);
  if (!mean || !var || !group) {
    free(mean), free(var), free(group);
    return nnc_fail(st, NNC_ERR_NOMEM, "out of memory");
  }
  /* each element's position among the kept axes */
  for (int64_t i = 0; i < total; i++) {
    int64_t rest = i, g = 0;
    for (int d = x->rank - 1; d >= 0; d--) {
      int64_t idx = rest % x->shape[d];
      rest /= x->shape[d];
      for (int k = n_keep - 1; k >= 0; k--)
        if (keep[k] == d) {
          int64_t s = 1;
          for (int j = k + 1; j < n_keep; j++) s *= kdims[j];
          g += idx * s;
        }
    }
    group[i] = g;
  }
  int64_t per_group = total / groups;
  for (int64_t i = 0; i < total; i++) mean[group[i]] += element(x, i);
  for (int64_t g = 0; g < groups; g++) mean[g] /= (double)per_group;
  for (int64_t i = 0; i < total; i++) {
    double d = element(x, i) - mean[group[i]];
    var[group[i]] += d * d;
  }
  int bad = 0;
  for (int64_t g = 0; g < groups; g++) {
    var[g] /= (double)per_group;
    if (!isfinite(mean[g]) || !isfinite(var[g]) || fabs(mean[g]) > 3.4e38 || var[g] > 3.4e38)
      bad = 1;
  }
  free(group);
  int rc = NNC_OK;
  if (bad)
    rc = nnc_fail(st, NNC_ERR_DATA,
                  "the data gives %s a mean or variance that is not a finite float32", where);
  int64_t at = 0, at2 = 0;
  if (!rc) rc = replace(cfg, "mean", nested(mean, kdims, n_keep, &at), st);
  if (!rc) rc = replace(cfg, "variance", nested(var, kdims, n_keep, &at2), st);
  free(mean), free(var);
  return rc;
}

int nnc_adapt_normalization(const char *json, const char *source_name, const nnc_array *x,
                            char **out_json, int *n_adapted, nnc_status *st) {
  const char *src = source_name ? source_name : "<string>";
  *out_json = NULL;
  *n_adapted = 0;
  if (!x || x->rank < 2 || nnc_array_count(x) < 0 || (nnc_array_count(x) > 0 && !x->data))
    return nnc_fail(st, NNC_ERR_ARG, "adapt: expected data of rank >= 2 (samples, features...)");
  cJSON *root = cJSON_Parse(json);
  if (!root) return nnc_fail(st, NNC_ERR_SPEC, "%s: not valid JSON", src);
  cJSON *model = find_model(root);
  if (!model) {
    cJSON_Delete(root);
    return nnc_fail(st, NNC_ERR_SPEC, "%s: no Sequential or Functional model with layers", src);
  }
  cJSON *layers =
      cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(model, "config"), "layers");
  int sequential = is_class(model, "Sequential");
  int rc = NNC_OK, index = 0;
  for (cJSON *l = layers->child; l && !rc; l = l->next, index++) {
    if (!is_class(l, "Normalization")) {
      if (sequential && !is_class(l, "InputLayer")) break; /* later layers get other tensors */
      continue;
    }
    int fed = sequential;
    /* the declared input: the InputLayer before it (Sequential), the one its
     * inbound node names (Functional), or its own batch_input_shape */
    const cJSON *shape = declared_shape(l);
    if (sequential && !shape && l != layers->child && is_class(l->prev, "InputLayer"))
      shape = declared_shape(l->prev);
    for (cJSON *in = layers->child; !sequential && in && !fed; in = in->next)
      if (is_class(in, "InputLayer") && layer_name(in)) {
        fed = mentions(cJSON_GetObjectItemCaseSensitive(l, "inbound_nodes"), layer_name(in));
        if (fed) shape = declared_shape(in);
      }
    if (!fed) continue;
    char where[512];
    snprintf(where, sizeof where, "%s: Normalization \"%s\" (layers[%d].config)", src,
             layer_name(l) ? layer_name(l) : "?", index);
    rc = adapt_one(cJSON_GetObjectItemCaseSensitive(l, "config"), shape, where, x, st);
    if (!rc) (*n_adapted)++;
    if (sequential) break; /* the next layer gets this one's output */
  }
  if (!rc && *n_adapted == 0)
    rc = nnc_fail(st, NNC_ERR_SPEC,
                  "%s: no Normalization layer takes the model's input directly (nnc adapt fills "
                  "only those)",
                  src);
  if (!rc) {
    *out_json = cJSON_Print(root);
    if (!*out_json) rc = nnc_fail(st, NNC_ERR_NOMEM, "out of memory");
  }
  cJSON_Delete(root);
  return rc;
}
