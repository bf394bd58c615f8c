/* nnc_tfjs_model_write: a built model as a TF.js layers model, the files
 * tensorflowjs_converter writes for a Keras model: model.json and 4 MiB
 * float32 shards group1-shard{i}of{N}.bin, loadable by tf.loadLayersModel
 * and by nnc (nnc_tfjs_model_read). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/base.h"
#include "runtime/io/bytes.h"
#include "runtime/io/tfjs.h"
#include "runtime/model.h"

static int join(char *out, size_t size, const char *dir, const char *name, nnc_status *st) {
  int n = snprintf(out, size, "%s/%s", dir, name);
  if (n < 0 || (size_t)n >= size)
    return nnc_fail(st, NNC_ERR_WRITE, "%s/%s: cannot write: path too long", dir, name);
  return NNC_OK;
}

static int make_dir(const char *dir, nnc_status *st) {
  struct stat sb;
  if (!stat(dir, &sb)) {
    if (S_ISDIR(sb.st_mode)) return NNC_OK;
    return nnc_fail(st, NNC_ERR_WRITE, "%s: cannot write a TF.js model there: not a folder", dir);
  }
  if (mkdir(dir, 0777) && errno != EEXIST)
    return nnc_fail(st, NNC_ERR_WRITE, "%s: cannot create the folder: %s", dir, strerror(errno));
  return NNC_OK;
}

/* The name TF.js gives weight `name` of the model: nnc's, except that TF.js
 * names a depthwise convolution's kernel "depthwise_kernel" (as tf.keras 2). */
static void tfjs_name(const cJSON *topo, const char *name, char *out, size_t size) {
  nnc_strlcpy(out, name, size);
  const char *slash = strrchr(name, '/');
  if (!slash || strcmp(slash, "/kernel")) return;
  const cJSON *layers = cJSON_GetObjectItemCaseSensitive(
      cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(topo, "model_config"),
                                       "config"),
      "layers");
  const cJSON *l;
  cJSON_ArrayForEach(l, layers) {
    const cJSON *cls = cJSON_GetObjectItemCaseSensitive(l, "class_name");
    const cJSON *lname =
        cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(l, "config"), "name");
    if (cJSON_IsString(cls) && cJSON_IsString(lname) &&
        (!strcmp(cls->valuestring, "DepthwiseConv2D") ||
         !strcmp(cls->valuestring, "DepthwiseConv1D")) &&
        strlen(lname->valuestring) == (size_t)(slash - name) &&
        !strncmp(lname->valuestring, name, (size_t)(slash - name)))
      snprintf(out, size, "%.*s/depthwise_kernel", (int)(slash - name), name);
  }
}

/* A Sequential without an input shape (built from the data, as Keras
 * builds it) gets the shape it was built for on its first layer: TF.js
 * builds a Sequential only from a declared input shape. */
static void add_built_input_shape(const nnc_model *m, cJSON *topo) {
  cJSON *model = cJSON_GetObjectItemCaseSensitive(topo, "model_config");
  cJSON *cls = cJSON_GetObjectItemCaseSensitive(model, "class_name");
  cJSON *first = cJSON_GetArrayItem(
      cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(model, "config"), "layers"),
      0);
  cJSON *fcls = cJSON_GetObjectItemCaseSensitive(first, "class_name");
  cJSON *cfg = cJSON_GetObjectItemCaseSensitive(first, "config");
  if (!cJSON_IsString(cls) || strcmp(cls->valuestring, "Sequential") || !cJSON_IsObject(cfg) ||
      (cJSON_IsString(fcls) && !strcmp(fcls->valuestring, "InputLayer")) ||
      cJSON_GetObjectItemCaseSensitive(cfg, "batch_input_shape") ||
      cJSON_GetObjectItemCaseSensitive(cfg, "input_shape") || !m->in_shapes)
    return;
  cJSON *shape = cJSON_CreateArray();
  if (!shape) return;
  cJSON_AddItemToArray(shape, cJSON_CreateNull());
  for (int d = 0; d < m->in_shapes[0].rank; d++)
    cJSON_AddItemToArray(shape, cJSON_CreateNumber((double)m->in_shapes[0].dims[d]));
  cJSON_AddItemToObject(cfg, "batch_input_shape", shape);
}

/* Every weight as float32 little-endian bytes, in weight order, and the
 * manifest's entries for them. */
static int pack_weights(const nnc_model *m, const cJSON *topo, unsigned char **data, size_t *len,
                        cJSON *entries, nnc_status *st) {
  *data = NULL;
  *len = 0;
  for (int i = 0; i < nnc_model_weight_count(m); i++) {
    const char *name = nnc_model_weight_name(m, i);
    nnc_array a;
    if (nnc_model_get_weight(m, name, &a, st)) return st->code;
    size_t bytes = (size_t)nnc_array_count(&a) * sizeof(float);
    unsigned char *grown = bytes ? realloc(*data, *len + bytes) : *data;
    cJSON *entry = cJSON_CreateObject(), *shape = cJSON_CreateArray();
    char tname[512];
    tfjs_name(topo, name, tname, sizeof tname);
    if ((bytes && !grown) || !entry || !shape) {
      cJSON_Delete(entry);
      cJSON_Delete(shape);
      nnc_array_free(&a);
      return nnc_fail(st, NNC_ERR_NOMEM, "out of memory packing the weights");
    }
    *data = grown;
    if (bytes) memcpy(*data + *len, a.data, bytes);
    if (!io_host_is_little_endian()) io_swap_each_element(*data + *len, bytes / 4, 4);
    *len += bytes;
    for (int d = 0; d < a.rank; d++)
      cJSON_AddItemToArray(shape, cJSON_CreateNumber((double)a.shape[d]));
    cJSON_AddStringToObject(entry, "name", tname);
    cJSON_AddItemToObject(entry, "shape", shape);
    cJSON_AddStringToObject(entry, "dtype", "float32");
    cJSON_AddItemToArray(entries, entry);
    nnc_array_free(&a);
  }
  return NNC_OK;
}

/* The shards, each written atomically; their names go to paths. */
static int write_shards(const char *dir, const unsigned char *data, size_t len, cJSON *paths,
                        nnc_status *st) {
  size_t n = (len + TFJS_SHARD_BYTES - 1) / TFJS_SHARD_BYTES;
  for (size_t s = 0; s < n; s++) {
    char name[64], file[4096];
    snprintf(name, sizeof name, "group1-shard%zuof%zu.bin", s + 1, n);
    size_t off = s * TFJS_SHARD_BYTES,
           part = len - off < TFJS_SHARD_BYTES ? len - off : TFJS_SHARD_BYTES;
    if (join(file, sizeof file, dir, name, st) || nnc_write_file_atomic(file, data + off, part, st))
      return st->code;
    cJSON_AddItemToArray(paths, cJSON_CreateString(name));
  }
  return NNC_OK;
}

int nnc_tfjs_model_write(const char *dir, const char *spec_json, const nnc_model *m,
                         nnc_status *st) {
  nnc_status local;
  if (!st) st = &local;
  nnc_status_ok(st);
  if (!dir || !spec_json || !m)
    return nnc_fail(st, NNC_ERR_ARG, "nnc_tfjs_model_write: NULL argument");
  if (!m->built) return nnc_fail(st, NNC_ERR_ARG, "the model is not built: nothing to save");
  cJSON *topo = tfjs_topology_from_spec(spec_json, dir, st);
  if (!topo) return st->code;
  add_built_input_shape(m, topo);
  cJSON *root = cJSON_CreateObject(), *manifest = cJSON_CreateArray();
  cJSON *group = cJSON_CreateObject(), *paths = cJSON_CreateArray(), *entries = cJSON_CreateArray();
  unsigned char *data = NULL;
  size_t len = 0;
  char *text = NULL;
  if (!root || !manifest || !group || !paths || !entries) {
    nnc_fail(st, NNC_ERR_NOMEM, "%s: out of memory", dir);
    cJSON_Delete(topo);
    cJSON_Delete(manifest);
    cJSON_Delete(group);
    cJSON_Delete(paths);
    cJSON_Delete(entries);
  } else {
    cJSON_AddStringToObject(root, "format", "layers-model");
    cJSON_AddStringToObject(root, "generatedBy", "nnc");
    cJSON_AddStringToObject(root, "convertedBy", "nnc (runtime/io/tfjs_write.c)");
    cJSON_AddItemToObject(root, "modelTopology", topo);
    cJSON_AddItemToObject(root, "weightsManifest", manifest);
    cJSON_AddItemToArray(manifest, group);
    cJSON_AddItemToObject(group, "paths", paths);
    cJSON_AddItemToObject(group, "weights", entries);
    if (!make_dir(dir, st) && !pack_weights(m, topo, &data, &len, entries, st) &&
        !write_shards(dir, data, len, paths, st)) {
      char file[4096];
      text = cJSON_PrintUnformatted(root);
      if (!text)
        nnc_fail(st, NNC_ERR_NOMEM, "%s: out of memory", dir);
      else if (!join(file, sizeof file, dir, "model.json", st))
        nnc_write_file_atomic(file, text, strlen(text), st); /* last: it names the shards */
    }
  }
  free(text);
  free(data);
  cJSON_Delete(root);
  return st->code;
}
