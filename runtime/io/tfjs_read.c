/* nnc_tfjs_model_read: a TF.js layers model.json and its weight shards.
 *
 * Layouts seen in the wild (../shared/models/saved/INDEX.md): one group of
 * shards "group1-shard1of1.bin" (converter 1.x-4.x), one "weights.bin" or
 * "./weights.bin" (tfjs-layers model.save), several groups of extension-less
 * shards (converter 0.x, no "format" key); entries in layer order or sorted
 * by name; weight names "LAYER/VAR", sometimes behind the model's name
 * ("sequential/dense/kernel", converter 4.22 on Keras 3). Weights are
 * matched by name, never by position. A graph model (format "graph-model",
 * modelTopology.node) is refused: it holds a TensorFlow graph, not layers. */
/* realpath is XSI. */
#define _XOPEN_SOURCE 700
#include <cjson/cJSON.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/base.h"
#include "runtime/io/model_file.h"
#include "runtime/io/tfjs.h"

/* A weight file above this is refused before it is read (nnc_memory_check
 * refuses what this machine cannot hold anyway). */
#define TFJS_MAX_SHARD_BYTES ((size_t)1 << 36)

/* ---- layer names: manifest names to nnc's weight names ---- */

typedef struct {
  char key[256];  /* a layer name as a manifest may spell it */
  char path[256]; /* the layer's prefix in nnc's weight names */
} name_entry;

typedef struct {
  name_entry *items;
  int n;
} name_table;

static const char *layer_name(const cJSON *layer) {
  const cJSON *n = cJSON_GetObjectItemCaseSensitive(layer, "name");
  if (!cJSON_IsString(n))
    n = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(layer, "config"), "name");
  return cJSON_IsString(n) ? n->valuestring : NULL;
}

static int is_model_class(const cJSON *layer) {
  const cJSON *c = cJSON_GetObjectItemCaseSensitive(layer, "class_name");
  return cJSON_IsString(c) &&
         (!strcmp(c->valuestring, "Sequential") || !strcmp(c->valuestring, "Functional") ||
          !strcmp(c->valuestring, "Model"));
}

/* The layer list of a model config {"class_name", "config"}: config.layers,
 * or config itself when it is the bare list of Keras <= 2.2.2. */
static const cJSON *layer_list(const cJSON *model) {
  const cJSON *cfg = cJSON_GetObjectItemCaseSensitive(model, "config");
  return cJSON_IsArray(cfg) ? cfg : cJSON_GetObjectItemCaseSensitive(cfg, "layers");
}

static int table_add(name_table *t, const char *key, const char *path, nnc_status *st) {
  if (strlen(key) >= sizeof t->items[0].key || strlen(path) >= sizeof t->items[0].path)
    return NNC_OK; /* no weight of nnc has such a long name: nothing to map */
  for (int i = 0; i < t->n; i++)
    if (!strcmp(t->items[i].key, key)) return NNC_OK; /* the outer (first) one wins */
  name_entry *items = nnc_realloc_array(t->items, (size_t)t->n + 1, sizeof *items, st);
  if (!items) return st->code;
  t->items = items;
  nnc_strlcpy(items[t->n].key, key, sizeof items[t->n].key);
  nnc_strlcpy(items[t->n].path, path, sizeof items[t->n].path);
  t->n++;
  return NNC_OK;
}

/* Every layer of model, nested models' layers too, with the prefix nnc
 * gives its weights (docs/spec.md, "Nested models"): a nested Sequential
 * scopes its layers' weights under its name, a nested Functional does not. */
static int collect_layers(name_table *t, const cJSON *model, const char *scope, int depth,
                          nnc_status *st) {
  const cJSON *layer;
  if (depth > 64) return NNC_OK; /* the spec parser reports such nesting */
  cJSON_ArrayForEach(layer, layer_list(model)) {
    const char *name = layer_name(layer);
    if (!name) continue;
    char path[512];
    int n = snprintf(path, sizeof path, "%s%s%s", scope, scope[0] ? "/" : "", name);
    if (n < 0 || (size_t)n >= sizeof path) continue; /* no weight of nnc has such a name */
    /* a nested model owns no weight of its own: its name in the table
     * would take the place of a layer of the same name elsewhere (Dense
     * "s" inside Sequential "t" after a Sequential "s"; session 26) */
    if (!is_model_class(layer) && table_add(t, name, path, st)) return st->code;
    if (is_model_class(layer)) {
      const cJSON *c = cJSON_GetObjectItemCaseSensitive(layer, "class_name");
      int sequential = !strcmp(c->valuestring, "Sequential");
      if (collect_layers(t, layer, sequential ? path : scope, depth + 1, st)) return st->code;
    }
  }
  return NNC_OK;
}

/* nnc's name for a manifest name "S0/S1/.../VAR": from the first segment
 * that names a layer on (leading segments that do not, such as the model's
 * own name, are dropped), that layer's prefix in nnc, then the rest. A name
 * with no such segment is kept, for the loader to report. */
static void map_name(const name_table *t, const char *name, char *out, size_t out_size) {
  const char *seg = name;
  for (const char *slash; (slash = strchr(seg, '/')) != NULL; seg = slash + 1) {
    size_t len = (size_t)(slash - seg);
    for (int i = 0; i < t->n; i++)
      if (strlen(t->items[i].key) == len && !strncmp(t->items[i].key, seg, len)) {
        snprintf(out, out_size, "%s%s", t->items[i].path, slash);
        return;
      }
  }
  nnc_strlcpy(out, name, out_size);
}

/* ---- shards ---- */

/* dir/rel, rel as the manifest writes it (a leading "./" dropped). URLs and
 * absolute paths are refused: a model.json on disk names its shards
 * relative to itself. */
static int shard_path(const char *json_path, const char *rel, const char *where, char *out,
                      size_t out_size, nnc_status *st) {
  while (rel[0] == '.' && rel[1] == '/') rel += 2;
  size_t rl = strlen(rel);
  int up = !strncmp(rel, "../", 3) || strstr(rel, "/../") || !strcmp(rel, "..") ||
           (rl >= 3 && !strcmp(rel + rl - 3, "/.."));
  if (!rel[0] || rel[0] == '/' || strstr(rel, "://") || up)
    return nnc_fail(st, NNC_ERR_DATA,
                    "%s: shard path \"%.200s\": expected a file name relative to model.json, "
                    "inside its folder",
                    where, rel);
  const char *slash = strrchr(json_path, '/');
  int dir_len = slash ? (int)(slash - json_path) : 0;
  int n = slash ? snprintf(out, out_size, "%.*s/%s", dir_len, json_path, rel)
                : snprintf(out, out_size, "%s", rel);
  if (n < 0 || (size_t)n >= out_size)
    return nnc_fail(st, NNC_ERR_DATA, "%s: shard path \"%.200s\" is too long", where, rel);
  /* symbolic links are followed only to files inside the model's folder: a
   * planted link would otherwise copy any readable file into saved weights */
  char dir[4096], real_dir[PATH_MAX], real_file[PATH_MAX];
  snprintf(dir, sizeof dir, "%.*s", slash ? (dir_len ? dir_len : 1) : 1, slash ? json_path : ".");
  if (!realpath(out, real_file)) return NNC_OK; /* missing: stat says so, naming the shard */
  if (!realpath(dir, real_dir))
    return nnc_fail(st, NNC_ERR_IO, "%s: the folder of the model cannot be resolved", where);
  size_t dl = strlen(real_dir);
  if (strncmp(real_file, real_dir, dl) || (real_file[dl] != '/' && strcmp(real_dir, "/")))
    return nnc_fail(st, NNC_ERR_DATA,
                    "%s: shard %s leads outside the model's folder (to %s): refused", where, out,
                    real_file);
  return NNC_OK;
}

/* The group's shards, concatenated in the order of its "paths". Their
 * sizes are checked against need (what the group's entries take) before
 * any is read: a huge or sparse shard costs no memory. */
static int read_group(const char *json_path, const cJSON *paths, const char *where, uint64_t need,
                      unsigned char **data, size_t *len, nnc_status *st) {
  *data = NULL;
  *len = 0;
  if (!cJSON_IsArray(paths) || cJSON_GetArraySize(paths) == 0)
    return nnc_fail(st, NNC_ERR_DATA, "%s: expected \"paths\" as a non-empty list of file names",
                    where);
  int n_paths = cJSON_GetArraySize(paths), k = 0;
  char(*files)[4096] = nnc_calloc((size_t)n_paths, sizeof *files, st);
  if (!files) return st->code;
  uint64_t total = 0;
  const cJSON *p;
  cJSON_ArrayForEach(p, paths) {
    if (!cJSON_IsString(p)) {
      nnc_fail(st, NNC_ERR_DATA, "%s: expected the shard paths as strings", where);
      break;
    }
    if (shard_path(json_path, p->valuestring, where, files[k], sizeof files[k], st)) break;
    struct stat sb;
    if (stat(files[k], &sb) != 0) {
      nnc_fail(st, NNC_ERR_IO, "%s: shard %s: cannot open", where, files[k]);
      break;
    }
    /* a FIFO or device would block or never end: shards are regular files */
    if (!S_ISREG(sb.st_mode)) {
      nnc_fail(st, NNC_ERR_DATA, "%s: shard %s is not a regular file", where, files[k]);
      break;
    }
    total += (uint64_t)sb.st_size;
    k++;
  }
  if (!st->code && total != need)
    nnc_fail(st, NNC_ERR_DATA,
             "%s: its shards hold %llu bytes, its entries take %llu: the shards do not belong "
             "to this manifest",
             where, (unsigned long long)total, (unsigned long long)need);
  if (!st->code && need > TFJS_MAX_SHARD_BYTES)
    nnc_fail(st, NNC_ERR_DATA, "%s: its entries take %llu bytes: more than nnc reads (%llu)", where,
             (unsigned long long)need, (unsigned long long)TFJS_MAX_SHARD_BYTES);
  if (!st->code && need && !(*data = nnc_calloc((size_t)need, 1, st)))
    nnc_fail_prefix(st, "%s", where);
  for (int i = 0; i < k && !st->code; i++) {
    size_t n;
    /* capped at what is left: a shard that grew since its size was taken is refused */
    char *bytes = nnc_read_file_capped(files[i], (size_t)(need - *len), &n, st);
    if (!bytes) {
      nnc_fail_prefix(st, "%s", where);
      break;
    }
    if (n) memcpy(*data + *len, bytes, n);
    free(bytes);
    *len += n;
  }
  if (!st->code && *len != need)
    nnc_fail(st, NNC_ERR_DATA, "%s: its shards changed while read (%zu bytes, expected %llu)",
             where, *len, (unsigned long long)need);
  free(files);
  if (st->code) {
    free(*data);
    *data = NULL;
    *len = 0;
  }
  return st->code;
}

static int read_manifest(const char *path, const cJSON *manifest, const name_table *names,
                         nnc_tensor_set *set, nnc_status *st) {
  if (!manifest || cJSON_IsNull(manifest)) return NNC_OK; /* a topology without weights */
  if (!cJSON_IsArray(manifest))
    return nnc_fail(st, NNC_ERR_DATA, "%s: $.weightsManifest: expected a list of groups", path);
  int g = 0;
  const cJSON *group;
  cJSON_ArrayForEach(group, manifest) {
    char where[NNC_PATH_BRIEF + 64], brief[NNC_PATH_BRIEF + 1];
    snprintf(where, sizeof where, "%s: $.weightsManifest[%d]", nnc_path_brief(path, 300, brief), g);
    const cJSON *weights = cJSON_GetObjectItemCaseSensitive(group, "weights");
    if (!cJSON_IsArray(weights))
      return nnc_fail(st, NNC_ERR_DATA, "%s: expected \"weights\" as a list of entries", where);
    uint64_t need = 0;
    int e = 0;
    const cJSON *entry;
    cJSON_ArrayForEach(entry, weights) {
      char at[sizeof where + 32];
      uint64_t bytes;
      snprintf(at, sizeof at, "%s.weights[%d]", where, e++);
      if (tfjs_entry_bytes(entry, at, &bytes, st)) return st->code;
      if (bytes > UINT64_MAX / 2 - need)
        return nnc_fail(st, NNC_ERR_DATA, "%s: its entries' sizes overflow", where);
      need += bytes;
    }
    unsigned char *data;
    size_t len, off = 0;
    if (read_group(path, cJSON_GetObjectItemCaseSensitive(group, "paths"), where, need, &data, &len,
                   st))
      return st->code;
    e = 0;
    cJSON_ArrayForEach(entry, weights) {
      char at[sizeof where + 32];
      snprintf(at, sizeof at, "%s.weights[%d]", where, e++);
      const cJSON *name = cJSON_GetObjectItemCaseSensitive(entry, "name");
      if (!cJSON_IsString(name) || !name->valuestring[0]) {
        nnc_fail(st, NNC_ERR_DATA, "%s: expected \"name\" as a non-empty string", at);
        break;
      }
      nnc_array a;
      size_t used;
      static const unsigned char none[1];
      if (tfjs_decode_entry(entry, data ? data + off : none, len - off, at, &a, &used, st)) break;
      off += used;
      char nnc_name[512];
      map_name(names, name->valuestring, nnc_name, sizeof nnc_name);
      int rc = nnc_tensor_set_add(set, nnc_name, &a, st);
      nnc_array_free(&a);
      if (rc) {
        nnc_fail_prefix(st, "%s (\"%.200s\")", at, name->valuestring);
        break;
      }
    }
    free(data);
    if (st->code) return st->code;
    if (off != len)
      return nnc_fail(st, NNC_ERR_DATA,
                      "%s: its shards hold %zu bytes, its entries take %zu: the shards do not "
                      "belong to this manifest",
                      where, len, off);
    g++;
  }
  return NNC_OK;
}

/* ---- model.json ---- */

static int by_key(const void *a, const void *b) {
  return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* A key that v (or anything under it, modelTopology aside: the spec parser
 * checks that with JSON paths) holds twice, with where: cJSON keeps the
 * first, TF.js's JSON.parse the last, so the two would read different
 * weights. at is v's path ("$", "$.weightsManifest[0]"). */
static int check_unique_keys(const char *file, const cJSON *v, const char *at, int depth,
                             nnc_status *st) {
  if (depth > 64) return nnc_fail(st, NNC_ERR_SPEC, "%s: %s: nested too deep", file, at);
  int n = 0, rc = NNC_OK;
  for (const cJSON *c = v->child; c; c = c->next) n++;
  if (cJSON_IsObject(v) && n > 1) {
    const char **keys = nnc_calloc((size_t)n, sizeof *keys, st);
    if (!keys) return st->code;
    int i = 0;
    for (const cJSON *c = v->child; c; c = c->next) keys[i++] = c->string ? c->string : "";
    qsort(keys, (size_t)n, sizeof *keys, by_key);
    for (i = 1; i < n && !rc; i++)
      if (!strcmp(keys[i - 1], keys[i]))
        rc = nnc_fail(st, NNC_ERR_SPEC,
                      "%s: %s: the key \"%s\" appears twice (JSON readers differ on which they "
                      "keep)",
                      file, at, keys[i]);
    free(keys);
  }
  int i = 0;
  for (const cJSON *c = v->child; c && !rc; c = c->next, i++) {
    if (depth == 0 && c->string && !strcmp(c->string, "modelTopology")) continue;
    char sub[512];
    int w = cJSON_IsObject(v) ? snprintf(sub, sizeof sub, "%s.%s", at, c->string ? c->string : "")
                              : snprintf(sub, sizeof sub, "%s[%d]", at, i);
    if (w < 0 || (size_t)w >= sizeof sub) /* a path for messages only: cut, and say so */
      memcpy(sub + sizeof sub - 4, "...", 4);
    rc = check_unique_keys(file, c, sub, depth + 1, st);
  }
  return rc;
}

static int check_layers_model(const char *path, const cJSON *root, nnc_status *st) {
  if (!cJSON_IsObject(root))
    return nnc_fail(st, NNC_ERR_SPEC, "%s: $: expected a TF.js model.json object", path);
  const cJSON *format = cJSON_GetObjectItemCaseSensitive(root, "format");
  const cJSON *topo = cJSON_GetObjectItemCaseSensitive(root, "modelTopology");
  int graph = (cJSON_IsString(format) && !strcmp(format->valuestring, "graph-model")) ||
              cJSON_GetObjectItemCaseSensitive(topo, "node");
  if (graph)
    return nnc_fail(st, NNC_ERR_SPEC,
                    "%s: a TensorFlow.js graph model (format \"graph-model\": a TensorFlow graph "
                    "of ops, no Keras layers): nnc reads TF.js layers models only "
                    "(tf.loadLayersModel's format)",
                    path);
  if (format && !cJSON_IsNull(format) &&
      !(cJSON_IsString(format) && !strcmp(format->valuestring, "layers-model")))
    return nnc_fail(st, NNC_ERR_SPEC, "%s: $.format: expected \"layers-model\"", path);
  if (!cJSON_IsObject(topo))
    return nnc_fail(st, NNC_ERR_SPEC, "%s: $.modelTopology: expected the model's topology object",
                    path);
  return NNC_OK;
}

int nnc_tfjs_model_read(const char *path, nnc_model_file *out, nnc_status *st) {
  nnc_status local;
  if (!st) st = &local;
  nnc_status_ok(st);
  if (!out || !path) return nnc_fail(st, NNC_ERR_ARG, "nnc_tfjs_model_read: NULL argument");
  memset(out, 0, sizeof *out);
  size_t len;
  char *text = nnc_read_file(path, &len, st);
  if (!text) return st->code;
  if (json_text_has_nul_escape(text, len)) {
    free(text);
    return nnc_fail(st, NNC_ERR_SPEC, "%s: a \"\\u0000\" in a string: not a model.json nnc reads",
                    path);
  }
  const char *end = NULL;
  cJSON *root = cJSON_ParseWithLengthOpts(text, len, &end, 0);
  /* only white space after the document (the spec parser's rule; the text
   * it parses is this tree printed again, so it cannot see what follows) */
  while (root && end && end < text + len && strchr(" \t\r\n", *end) && *end) end++;
  int trailing = root && end && end < text + len;
  free(text);
  if (!root || trailing) {
    cJSON_Delete(root);
    return nnc_fail(st, NNC_ERR_SPEC, "%s: invalid JSON%s", path,
                    trailing ? " (text after the document)" : "");
  }
  name_table names = {0};
  if (!check_unique_keys(path, root, "$", 0, st) && !check_layers_model(path, root, st)) {
    const cJSON *topo = cJSON_GetObjectItemCaseSensitive(root, "modelTopology");
    const cJSON *model = cJSON_GetObjectItemCaseSensitive(topo, "model_config");
    if (!collect_layers(&names, model ? model : topo, "", 0, st))
      read_manifest(path, cJSON_GetObjectItemCaseSensitive(root, "weightsManifest"), &names,
                    &out->weights, st);
  }
  free(names.items);
  if (!st->code) {
    /* the spec is the model.json itself: the spec parser reads its modelTopology */
    cJSON_DeleteItemFromObjectCaseSensitive(root, "weightsManifest");
    out->spec_json = cJSON_PrintUnformatted(root);
    if (!out->spec_json) nnc_fail(st, NNC_ERR_NOMEM, "%s: out of memory", path);
  }
  cJSON_Delete(root);
  if (st->code) {
    nnc_tensor_set_free(&out->weights);
    free(out->spec_json);
    memset(out, 0, sizeof *out);
    return st->code;
  }
  out->format = NNC_FORMAT_TFJS_LAYERS;
  return NNC_OK;
}
