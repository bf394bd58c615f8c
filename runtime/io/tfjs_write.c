/* nnc_tfjs_model_write: a built model as a TF.js layers model, the files
 * tensorflowjs_converter writes for a Keras model: model.json and 4 MiB
 * float32 shards group1-shard{i}of{N}.bin, loadable by tf.loadLayersModel
 * and by nnc (nnc_tfjs_model_read). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

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
    tfjs_weight_name(topo, name, tname, sizeof tname);
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

/* ---- re-saving into a folder that holds a model ----
 * model.json is the commit point: the new shards never take the names the
 * folder's current model.json uses (a first save uses group1-shard{i}of{N}.bin,
 * a re-save over it group1-shard{i}of{N}-{g}.bin with the first g whose
 * names are all free), model.json is replaced last, and only then are the
 * shards the old model.json named removed. Interrupted at any point, the
 * folder's model.json loads either the old model or the new one, never a
 * mix. Files the old model.json did not name are left alone. */

typedef struct name_list {
  char (*items)[256];
  int n;
} name_list;

/* A shard name as the old manifest gives it, when it is a plain file name
 * in the folder (what nnc and the converter write); anything else (a path,
 * "..") is neither avoided nor removed. */
static int plain_name(const char *s) {
  return s[0] && strlen(s) < 256 && !strchr(s, '/') && strcmp(s, ".") && strcmp(s, "..");
}

/* Whether an old shard may be removed: only names shaped as the converter,
 * tfjs-layers and nnc name shards (group1-shard1of1.bin, group2-shard1of1,
 * weights.bin). A hostile or hand-edited model.json naming "model.json" or
 * a user's file in the folder gets nothing removed. */
static int removable_name(const char *s) {
  return (!strncmp(s, "group", 5) && strstr(s, "-shard")) || !strcmp(s, "weights.bin");
}

/* The shard names the folder's current model.json uses (none when it has
 * no readable one). */
static void old_shards(const char *dir, name_list *out) {
  char file[4096];
  nnc_status ignore;
  memset(out, 0, sizeof *out);
  if (join(file, sizeof file, dir, "model.json", &ignore)) return;
  struct stat sb;
  if (stat(file, &sb) || !S_ISREG(sb.st_mode)) return;
  size_t len;
  char *text = nnc_read_file(file, &len, &ignore);
  cJSON *root = text ? cJSON_ParseWithLength(text, len) : NULL;
  free(text);
  const cJSON *group, *p;
  cJSON_ArrayForEach(group, cJSON_GetObjectItemCaseSensitive(root, "weightsManifest")) {
    cJSON_ArrayForEach(p, cJSON_GetObjectItemCaseSensitive(group, "paths")) {
      const char *name = cJSON_IsString(p) ? p->valuestring : "";
      while (name[0] == '.' && name[1] == '/') name += 2;
      if (!plain_name(name)) continue;
      void *grown = realloc(out->items, ((size_t)out->n + 1) * sizeof *out->items);
      if (!grown) break;
      out->items = grown;
      nnc_strlcpy(out->items[out->n++], name, sizeof out->items[0]);
    }
  }
  cJSON_Delete(root);
}

int nnc_tfjs_write_removes(const char *dir, const char *file) {
  name_list old;
  old_shards(dir, &old);
  struct stat sf, so;
  int hit = 0;
  if (!stat(file, &sf) && S_ISREG(sf.st_mode))
    for (int i = 0; i < old.n && !hit; i++) {
      char path[4096];
      nnc_status ignore;
      hit = removable_name(old.items[i]) && !join(path, sizeof path, dir, old.items[i], &ignore) &&
            !stat(path, &so) && so.st_dev == sf.st_dev && so.st_ino == sf.st_ino;
    }
  free(old.items);
  return hit;
}

static int listed(const name_list *l, const char *name) {
  for (int i = 0; i < l->n; i++)
    if (!strcmp(l->items[i], name)) return 1;
  return 0;
}

static void shard_name(char *out, size_t size, size_t s, size_t n, int gen) {
  if (gen)
    snprintf(out, size, "group1-shard%zuof%zu-%d.bin", s + 1, n, gen);
  else
    snprintf(out, size, "group1-shard%zuof%zu.bin", s + 1, n);
}

/* The first generation whose n shard names are neither in the folder nor
 * named by its current model.json. */
static int free_generation(const char *dir, size_t n, const name_list *old, int *gen,
                           nnc_status *st) {
  for (int g = 0; g < 1000; g++) {
    int clash = 0;
    for (size_t s = 0; s < n && !clash; s++) {
      char name[96], file[4096];
      struct stat sb;
      shard_name(name, sizeof name, s, n, g);
      if (join(file, sizeof file, dir, name, st)) return st->code;
      clash = listed(old, name) || !lstat(file, &sb);
    }
    if (!clash) {
      *gen = g;
      return NNC_OK;
    }
  }
  return nnc_fail(st, NNC_ERR_WRITE,
                  "%s: no free shard names (group1-shard1of%zu-1..999.bin all exist): remove the "
                  "folder's stale shards",
                  dir, n);
}

/* The shards, each written atomically under names free in the folder;
 * their names go to paths. */
static int write_shards(const char *dir, const unsigned char *data, size_t len,
                        const name_list *old, cJSON *paths, nnc_status *st) {
  size_t n = (len + TFJS_SHARD_BYTES - 1) / TFJS_SHARD_BYTES;
  int gen = 0;
  if (free_generation(dir, n, old, &gen, st)) return st->code;
  for (size_t s = 0; s < n; s++) {
    char name[96], file[4096];
    shard_name(name, sizeof name, s, n, gen);
    size_t off = s * TFJS_SHARD_BYTES,
           part = len - off < TFJS_SHARD_BYTES ? len - off : TFJS_SHARD_BYTES;
    if (join(file, sizeof file, dir, name, st) || nnc_write_file_atomic(file, data + off, part, st))
      return st->code;
    cJSON_AddItemToArray(paths, cJSON_CreateString(name));
  }
  return NNC_OK;
}

/* After the new model.json is in place: the old one's shards that the new
 * one does not use (regular files only). */
static void remove_old_shards(const char *dir, const name_list *old, const cJSON *paths) {
  for (int i = 0; i < old->n; i++) {
    int reused = 0;
    const cJSON *p;
    cJSON_ArrayForEach(p, paths) reused |=
        cJSON_IsString(p) && !strcmp(p->valuestring, old->items[i]);
    char file[4096];
    nnc_status ignore;
    struct stat sb;
    if (!reused && removable_name(old->items[i]) &&
        !join(file, sizeof file, dir, old->items[i], &ignore) && !lstat(file, &sb) &&
        S_ISREG(sb.st_mode))
      unlink(file);
  }
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
  if (tfjs_weight_names_check(m, topo, st) || tfjs_nested_inputs(m, topo, st) ||
      tfjs_batchnorm_axes(m, topo, st)) {
    cJSON_Delete(topo); /* refused before anything is written */
    return st->code;
  }
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
    name_list old = {0};
    if (!make_dir(dir, st)) old_shards(dir, &old);
    if (!st->code && !pack_weights(m, topo, &data, &len, entries, st) &&
        !write_shards(dir, data, len, &old, paths, st)) {
      char file[4096];
      text = cJSON_PrintUnformatted(root);
      if (!text)
        nnc_fail(st, NNC_ERR_NOMEM, "%s: out of memory", dir);
      else if (!join(file, sizeof file, dir, "model.json", st) &&
               !nnc_write_file_atomic(file, text, strlen(text), st)) /* last: names the shards */
        remove_old_shards(dir, &old, paths);
    }
    free(old.items);
  }
  free(text);
  free(data);
  cJSON_Delete(root);
  return st->code;
}
