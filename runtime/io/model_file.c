/* Saved model files: the format told by the first bytes, the reader of that
 * format, and the weights a reader found set into a built model
 * (model_file.h). */
#include "runtime/io/model_file.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "base/base.h"

/* The TF.js reader lives in runtime/io/tfjs_*.c (another branch): until it
 * is linked in, a TF.js layers model is refused as "not built". */
#pragma weak nnc_tfjs_model_read

int nnc_model_file_has_tfjs(void) {
  return nnc_tfjs_model_read != NULL;
}

int nnc_path_has_suffix(const char *path, const char *suffix) {
  size_t n = strlen(path), k = strlen(suffix);
  return n >= k && !strcasecmp(path + n - k, suffix);
}

int nnc_path_is_h5(const char *path) {
  return nnc_path_has_suffix(path, ".h5") || nnc_path_has_suffix(path, ".hdf5");
}

const char *nnc_keras_save_path_problem(const char *path) {
  if (nnc_path_has_suffix(path, ".keras")) return NULL;
  return "nnc saves a whole model as a Keras 3 .keras archive only (a name ending in .keras); "
         "for weights use --weights-out W.h5 (Keras's save_weights .h5) or W.safetensors, for "
         "TF.js --save-tfjs DIR";
}

static int has_class_and_config(const cJSON *o) {
  return cJSON_IsString(cJSON_GetObjectItemCaseSensitive(o, "class_name")) &&
         cJSON_GetObjectItemCaseSensitive(o, "config");
}

const cJSON *nnc_model_config_of(const cJSON *root) {
  const cJSON *topo = cJSON_GetObjectItemCaseSensitive(root, "modelTopology");
  if (topo) root = topo; /* TF.js: converter {model_config, ...} or tfjs-layers' config itself */
  const cJSON *mc = cJSON_GetObjectItemCaseSensitive(root, "model_config");
  if (has_class_and_config(mc)) return mc;
  return has_class_and_config(root) ? root : NULL;
}

static const unsigned char hdf5_magic[8] = {0x89, 'H', 'D', 'F', '\r', '\n', 0x1a, '\n'};

/* HDF5's superblock is at 0, 512, 1024, 2048, ... (a user block before it). */
static int is_hdf5(FILE *fp) {
  unsigned char b[8];
  for (long off = 0; off <= (1L << 20); off = off ? 2 * off : 512) {
    if (fseek(fp, off, SEEK_SET) || fread(b, 1, 8, fp) != 8) return 0;
    if (!memcmp(b, hdf5_magic, 8)) return 1;
  }
  return 0;
}

nnc_model_format nnc_model_format_sniff(const char *path, nnc_status *st) {
  /* a pipe (`<(cat spec.json)`) can be read once only: it is a spec */
  struct stat sb;
  if (stat(path, &sb) == 0 && !S_ISREG(sb.st_mode)) return NNC_FORMAT_JSON;
  FILE *fp = fopen(path, "rb");
  if (!fp) {
    nnc_fail(st, NNC_ERR_IO, "%s: cannot open", path);
    return NNC_FORMAT_UNKNOWN;
  }
  unsigned char b[8] = {0};
  size_t got = fread(b, 1, sizeof b, fp);
  nnc_model_format f = NNC_FORMAT_UNKNOWN;
  if (got >= 4 && b[0] == 'P' && b[1] == 'K' && b[2] == 3 && b[3] == 4)
    f = NNC_FORMAT_KERAS_ZIP;
  else if (is_hdf5(fp))
    f = NNC_FORMAT_H5;
  fclose(fp);
  if (f != NNC_FORMAT_UNKNOWN) return f;
  /* a NUL among the first bytes: binary (safetensors starts with its header's
   * length, whose high bytes are 0), never JSON text: not read whole */
  if (memchr(b, 0, got)) return NNC_FORMAT_JSON;
  /* JSON: a TF.js model.json has modelTopology and weightsManifest; a graph
   * model's topology has "node" (and format "graph-model") */
  size_t len;
  char *text = nnc_read_file(path, &len, st);
  if (!text) return NNC_FORMAT_UNKNOWN;
  f = NNC_FORMAT_JSON;
  cJSON *root = strstr(text, "\"weightsManifest\"") ? cJSON_Parse(text) : NULL;
  const cJSON *topology = cJSON_GetObjectItemCaseSensitive(root, "modelTopology");
  if (cJSON_GetObjectItemCaseSensitive(root, "weightsManifest") && cJSON_IsObject(topology)) {
    const cJSON *format = cJSON_GetObjectItemCaseSensitive(root, "format");
    int graph = cJSON_GetObjectItemCaseSensitive(topology, "node") ||
                (cJSON_IsString(format) && !strcmp(format->valuestring, "graph-model"));
    f = graph ? NNC_FORMAT_TFJS_GRAPH : NNC_FORMAT_TFJS_LAYERS;
  }
  cJSON_Delete(root);
  free(text);
  return f;
}

int nnc_model_file_read(const char *path, nnc_model_file *out, nnc_status *st) {
  memset(out, 0, sizeof *out);
  nnc_model_format f = nnc_model_format_sniff(path, st);
  /* without the TF.js reader linked in: its topology as a spec, no weights */
  if (f == NNC_FORMAT_TFJS_LAYERS && !nnc_tfjs_model_read) f = NNC_FORMAT_JSON;
  size_t len;
  switch (f) {
  case NNC_FORMAT_KERAS_ZIP:
    return nnc_keras_zip_read(path, out, st);
  case NNC_FORMAT_H5:
    return nnc_h5_model_read(path, out, st);
  case NNC_FORMAT_TFJS_LAYERS:
    return nnc_tfjs_model_read(path, out, st);
  case NNC_FORMAT_TFJS_GRAPH:
    return nnc_fail(st, NNC_ERR_SPEC,
                    "%s: a TF.js graph model (a frozen TensorFlow graph, format \"graph-model\"), "
                    "not a layers model: nnc reads Keras layers models only",
                    path);
  case NNC_FORMAT_JSON:
    out->format = NNC_FORMAT_JSON;
    out->spec_json = nnc_read_file(path, &len, st);
    return out->spec_json ? NNC_OK : st->code;
  case NNC_FORMAT_UNKNOWN:
    break;
  }
  return st->code;
}

void nnc_model_file_free(nnc_model_file *f) {
  if (!f) return;
  free(f->spec_json);
  nnc_tensor_set_free(&f->weights);
  nnc_tensor_set_free(&f->optimizer);
  memset(f, 0, sizeof *f);
}

int nnc_weight_name_alias(const char *name, int k, char *out, size_t cap) {
  static const char *const cells[] = {"/simple_rnn_cell/", "/lstm_cell/", "/gru_cell/"};
  static const char kernel[] = "/kernel", depthwise[] = "/depthwise_kernel";
  const int ncells = (int)(sizeof cells / sizeof cells[0]);
  size_t n = strlen(name);
  out[0] = 0;
  if (k < 0 || k > ncells) return -1;
  if (k < ncells) { /* the name without its cell level, when the cell holds the variable */
    const char *at = strstr(name, cells[k]);
    size_t head = at ? (size_t)(at - name) : 0, cell = strlen(cells[k]) - 1;
    if (at && n - cell < cap && !strchr(at + cell + 1, '/')) {
      memcpy(out, name, head);
      memcpy(out + head, at + cell, n - head - cell + 1);
    }
    return 0;
  }
  size_t kl = sizeof kernel - 1;
  if (n >= kl && !strcmp(name + n - kl, kernel) && n - kl + sizeof depthwise <= cap) {
    memcpy(out, name, n - kl);
    memcpy(out + n - kl, depthwise, sizeof depthwise);
  }
  return 0;
}

/* Whether the file's name file_name is the model's weight name (or a
 * spelling of it: nnc_weight_name_alias). */
static int names_same_weight(const char *name, const char *file_name) {
  char alt[512];
  if (!strcmp(name, file_name)) return 1;
  for (int k = 0; nnc_weight_name_alias(name, k, alt, sizeof alt) >= 0; k++)
    if (alt[0] && !strcmp(alt, file_name)) return 1;
  return 0;
}

/* "LAYER/#I" -> the I-th weight of the model whose name is LAYER/<rest>
 * (in the model's order, which is Keras's creation order per layer); other
 * names as they are. NULL when the model has none. */
static const char *model_name_of(const nnc_model *m, const char *file_name, char *buf, size_t cap) {
  const char *hash = strstr(file_name, "/#");
  if (!hash) {
    for (int i = 0, n = nnc_model_weight_count(m); i < n; i++)
      if (!strcmp(nnc_model_weight_name(m, i), file_name)) return file_name;
    for (int i = 0, n = nnc_model_weight_count(m); i < n; i++)
      if (names_same_weight(nnc_model_weight_name(m, i), file_name)) {
        nnc_strlcpy(buf, nnc_model_weight_name(m, i), cap);
        return buf;
      }
    return NULL;
  }
  size_t plen = (size_t)(hash - file_name) + 1; /* "LAYER/" */
  int want = atoi(hash + 2);
  for (int i = 0, n = nnc_model_weight_count(m); i < n; i++) {
    const char *w = nnc_model_weight_name(m, i);
    if (strncmp(w, file_name, plen)) continue;
    /* a layer named like another's prefix ("d" and "d/..."): nested models'
     * names are OUTER/INNER/VAR, a layer's own OUTER/VAR or OUTER/cell/VAR */
    if (want-- == 0) {
      nnc_strlcpy(buf, w, cap);
      return buf;
    }
  }
  return NULL;
}

static int layer_weight_count(const nnc_model *m, const char *file_name) {
  const char *hash = strstr(file_name, "/#");
  size_t plen = hash ? (size_t)(hash - file_name) + 1 : 0;
  int n = 0;
  for (int i = 0, k = nnc_model_weight_count(m); i < k; i++)
    n += plen && !strncmp(nnc_model_weight_name(m, i), file_name, plen);
  return n;
}

static void shape_text(const nnc_array *a, char *buf, size_t cap) {
  size_t n = (size_t)snprintf(buf, cap, "(");
  for (int d = 0; d < a->rank && n < cap; d++)
    n += (size_t)snprintf(buf + n, cap - n, d ? ", %lld" : "%lld", (long long)a->shape[d]);
  if (n < cap) snprintf(buf + n, cap - n, a->rank == 1 ? ",)" : ")");
}

int nnc_model_file_apply_weights(nnc_model *m, const char *path, const nnc_tensor_set *w,
                                 nnc_status *st) {
  int n = nnc_model_weight_count(m);
  char *seen = nnc_calloc((size_t)n + 1, 1, st);
  if (!seen) return st->code;
  char buf[512];
  int rc = NNC_OK;
  /* all or nothing: every name and shape is checked before a weight changes */
  for (int t = 0; t < w->n && !rc; t++) {
    const char *name = model_name_of(m, w->items[t].name, buf, sizeof buf);
    if (!name) {
      int have = layer_weight_count(m, w->items[t].name);
      rc = nnc_fail(st, NNC_ERR_DATA,
                    "%s: variable %s of the file has no weight in the model (the model's layer "
                    "has %d weight(s)): the file is not of this model, or of a layer nnc builds "
                    "differently",
                    path, w->items[t].name, have);
      break;
    }
    for (int i = 0; i < n; i++)
      if (!strcmp(nnc_model_weight_name(m, i), name)) {
        nnc_array cur;
        if (nnc_model_get_weight(m, name, &cur, st)) {
          rc = st->code;
          break;
        }
        const nnc_array *a = &w->items[t].array;
        int same = cur.rank == a->rank;
        for (int d = 0; same && d < cur.rank; d++) same = cur.shape[d] == a->shape[d];
        if (!same) {
          char want[128], got[128];
          shape_text(&cur, want, sizeof want);
          shape_text(a, got, sizeof got);
          rc = nnc_fail(st, NNC_ERR_DATA,
                        "%s: variable %s has shape %s, the model's weight '%s' %s: the file is "
                        "not of this model",
                        path, w->items[t].name, got, name, want);
        }
        nnc_array_free(&cur);
        seen[i] = 1;
      }
  }
  for (int i = 0; i < n && !rc; i++)
    if (!seen[i])
      rc = nnc_fail(st, NNC_ERR_DATA, "%s: the file has no value for weight '%s'", path,
                    nnc_model_weight_name(m, i));
  for (int t = 0; t < w->n && !rc; t++) {
    const char *name = model_name_of(m, w->items[t].name, buf, sizeof buf);
    if (nnc_model_set_weight(m, name, &w->items[t].array, st))
      rc = nnc_fail_prefix(st, "%s: variable %s", path, w->items[t].name);
  }
  free(seen);
  return rc;
}
