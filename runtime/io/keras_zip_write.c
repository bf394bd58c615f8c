/* .keras out (docs/formats.md "## .keras"): a zip (stored members) of
 * config.json (the model's config as it was read), metadata.json and
 * model.weights.h5 in Keras 3's layout: layers/<auto>/vars/<i> with <auto>
 * the snake_case of the class plus _1, _2, ... in model.layers order (as
 * h5_keras3.c reads it), float32 datasets "0", "1", ..., a `name`
 * attribute on each layer's vars group, an RNN's weights under
 * layers/<auto>/cell/vars, empty groups for weightless layers, and the
 * model's own empty vars group. Written through nnc_write_file_atomic. */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zlib.h>

#include "base/base.h"
#include "runtime/io/h5_util.h"
#include "runtime/io/rnn_defaults.h"
#include "runtime/io/model_file.h"
#include "runtime/model.h"

void nnc_keras3_snake_case(const char *cls, char *out, size_t cap);

static hid_t group(hid_t f, const char *path) {
  hid_t lcpl = H5Pcreate(H5P_LINK_CREATE);
  H5Pset_create_intermediate_group(lcpl, 1);
  hid_t g = H5Gcreate2(f, path, lcpl, H5P_DEFAULT, H5P_DEFAULT);
  H5Pclose(lcpl);
  return g;
}

static int name_attr(hid_t g, const char *value) {
  hid_t type = H5Tcopy(H5T_C_S1);
  H5Tset_size(type, H5T_VARIABLE);
  H5Tset_cset(type, H5T_CSET_UTF8);
  hid_t space = H5Screate(H5S_SCALAR);
  hid_t a = H5Acreate2(g, "name", type, space, H5P_DEFAULT, H5P_DEFAULT);
  int ok = a >= 0 && H5Awrite(a, type, &value) >= 0;
  if (a >= 0) H5Aclose(a);
  H5Sclose(space);
  H5Tclose(type);
  return ok ? 0 : -1;
}

/* The weights of the layer whose nnc weights are `name`/... into
 * <auto_path>/vars or <auto_path>/cell/vars; `label` is its Keras name (the
 * vars group's `name` attribute). */
static int write_layer(hid_t f, const nnc_model *m, const char *auto_path, const char *label,
                       const char *name, const char *path, nnc_status *st) {
  char vars[700], cell[700];
  snprintf(vars, sizeof vars, "%s/vars", auto_path);
  snprintf(cell, sizeof cell, "%s/cell/vars", auto_path);
  hid_t g = group(f, vars);
  if (g < 0 || name_attr(g, label))
    return nnc_fail(st, NNC_ERR_WRITE, "%s: model.weights.h5: cannot create %s", path, vars);
  H5Gclose(g);
  size_t plen = strlen(name);
  int own = 0, in_cell = 0;
  for (int i = 0, n = nnc_model_weight_count(m); i < n; i++) {
    const char *w = nnc_model_weight_name(m, i);
    if (strncmp(w, name, plen) || w[plen] != '/') continue;
    const char *rest = w + plen + 1, *slash = strchr(rest, '/');
    int is_cell = slash && !strchr(slash + 1, '/') && strstr(rest, "_cell/") == slash - 5;
    if (slash && !is_cell)
      return nnc_fail(st, NNC_ERR_ARG,
                      "%s: weight '%s': writing this layer's weights to a .keras is not supported "
                      "yet (only a layer's own variables and an RNN's cell)",
                      path, w);
    if (is_cell && !in_cell) {
      /* named as the cell ("lstm_cell"), as Keras >= 3.7 names it */
      char cell_name[128];
      snprintf(cell_name, sizeof cell_name, "%.*s", (int)(slash - rest), rest);
      hid_t c = group(f, cell);
      if (c >= 0 && name_attr(c, cell_name)) {
        H5Gclose(c);
        c = -1;
      }
      if (c < 0)
        return nnc_fail(st, NNC_ERR_WRITE, "%s: model.weights.h5: cannot create %s", path, cell);
      H5Gclose(c);
    }
    char ds[800];
    snprintf(ds, sizeof ds, "%s/%d", is_cell ? cell : vars, is_cell ? in_cell++ : own++);
    nnc_array a;
    if (nnc_model_get_weight(m, w, &a, st)) return st->code;
    hsize_t dims[NNC_MAX_RANK];
    for (int d = 0; d < a.rank; d++) dims[d] = (hsize_t)a.shape[d];
    hid_t space = a.rank ? H5Screate_simple(a.rank, dims, NULL) : H5Screate(H5S_SCALAR);
    hid_t d = H5Dcreate2(f, ds, H5T_IEEE_F32LE, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    int ok = d >= 0 && H5Dwrite(d, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, a.data) >= 0;
    if (d >= 0) H5Dclose(d);
    H5Sclose(space);
    nnc_array_free(&a);
    if (!ok) return nnc_fail(st, NNC_ERR_WRITE, "%s: model.weights.h5: cannot write %s", path, ds);
  }
  return NNC_OK;
}

static int write_model(hid_t f, const nnc_model *m, const cJSON *model, const char *base,
                       const char *prefix, int depth, const char *path, nnc_status *st);

/* A model's or a wrapper's own vars: none, an empty group named as it. */
static int empty_vars(hid_t f, const char *auto_path, const char *label, const char *path,
                      nnc_status *st) {
  char vars[700];
  snprintf(vars, sizeof vars, "%s/vars", auto_path);
  hid_t g = group(f, vars);
  int rc = g < 0 || name_attr(g, label)
               ? nnc_fail(st, NNC_ERR_WRITE, "%s: model.weights.h5: cannot create %s", path, vars)
               : NNC_OK;
  if (g >= 0) H5Gclose(g);
  return rc;
}

static const char *config_name(const cJSON *layer) {
  const cJSON *n =
      cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(layer, "config"), "name");
  return cJSON_IsString(n) ? n->valuestring : NULL;
}

static int is_model_class(const char *cls) {
  return !strcmp(cls, "Sequential") || !strcmp(cls, "Functional") || !strcmp(cls, "Model");
}

/* "<prefix><name without prefix>", as Bidirectional names its copies. */
static void renamed(char *dst, size_t cap, const char *prefix, const char *name) {
  size_t n = strlen(prefix);
  snprintf(dst, cap, "%s%s", prefix, strncmp(name, prefix, n) ? name : name + n);
}

/* One layer of a model's config at auto_path (layers/<auto>, or a wrapper's
 * sub-object), its nnc weights named <name>/...: Keras's saving_lib writes
 * every object's own vars, then its sub-objects (a model's layers/, a
 * Bidirectional's backward_layer and forward_layer, a TimeDistributed's
 * layer, an RNN's cell) each at <auto_path>/<attribute>. */
static int write_object(hid_t f, const nnc_model *m, const cJSON *layer, const char *auto_path,
                        const char *name, int depth, const char *path, nnc_status *st) {
  const cJSON *lc = cJSON_GetObjectItemCaseSensitive(layer, "class_name");
  const char *label = config_name(layer);
  if (!cJSON_IsString(lc) || !label)
    return nnc_fail(st, NNC_ERR_ARG, "%s: a layer of the config has no class_name or name", path);
  if (depth > 8) return nnc_fail(st, NNC_ERR_ARG, "%s: models nested too deep", path);
  const char *cls = lc->valuestring;
  const cJSON *cfg = cJSON_GetObjectItemCaseSensitive(layer, "config");
  char sub[800], inner[400];
  if (is_model_class(cls)) {
    int rc = empty_vars(f, auto_path, label, path, st);
    snprintf(sub, sizeof sub, "%s/layers", auto_path);
    /* a nested Sequential's weights are "<model>/<layer>/...", a nested
     * Functional's its layers' own names (lower.c: lower_nested_model) */
    if (strcmp(cls, "Sequential"))
      inner[0] = '\0';
    else
      snprintf(inner, sizeof inner, "%s/", name);
    return rc ? rc : write_model(f, m, layer, sub, inner, depth + 1, path, st);
  }
  if (!strcmp(cls, "Bidirectional") || !strcmp(cls, "TimeDistributed")) {
    const cJSON *wrapped = cJSON_GetObjectItemCaseSensitive(cfg, "layer");
    const char *wname = config_name(wrapped);
    const cJSON *wc = cJSON_GetObjectItemCaseSensitive(wrapped, "class_name");
    if (!wname || !cJSON_IsString(wc))
      return nnc_fail(st, NNC_ERR_ARG, "%s: layer '%s' (%s): its config has no layer", path, label,
                      cls);
    int rc = empty_vars(f, auto_path, label, path, st);
    if (rc) return rc;
    if (!strcmp(cls, "TimeDistributed")) {
      /* a model inside: write_object gives a Sequential's weights the prefix
       * <name>/<model>/, a Functional's its layers' own names, as
       * time_distributed.c names them */
      snprintf(sub, sizeof sub, "%s/layer", auto_path);
      snprintf(inner, sizeof inner, "%s/%s", name, wname);
      return write_object(f, m, wrapped, sub, inner, depth + 1, path, st);
    }
    /* Keras 3 copies the layer as forward_<name> and backward_<name> (or
     * the config's backward_layer); nnc names their weights alike */
    const cJSON *back = cJSON_GetObjectItemCaseSensitive(cfg, "backward_layer");
    char fwd[200], bwd[200];
    renamed(fwd, sizeof fwd, "forward_", wname);
    if (cJSON_IsObject(back) && config_name(back))
      nnc_strlcpy(bwd, config_name(back), sizeof bwd);
    else
      renamed(bwd, sizeof bwd, "backward_", wname);
    snprintf(sub, sizeof sub, "%s/forward_layer", auto_path);
    snprintf(inner, sizeof inner, "%s/%s", name, fwd);
    rc = write_layer(f, m, sub, fwd, inner, path, st);
    snprintf(sub, sizeof sub, "%s/backward_layer", auto_path);
    snprintf(inner, sizeof inner, "%s/%s", name, bwd);
    return rc ? rc : write_layer(f, m, sub, bwd, inner, path, st);
  }
  return write_layer(f, m, auto_path, label, name, path, st);
}

/* The layers of a model's config under base (layers, or <outer>/layers),
 * named <auto> as saving_lib's _get_unique_name does, their nnc weights
 * <prefix><name>/.... */
static int write_model(hid_t f, const nnc_model *m, const cJSON *model, const char *base,
                       const char *prefix, int depth, const char *path, nnc_status *st) {
  const cJSON *cls = cJSON_GetObjectItemCaseSensitive(model, "class_name");
  const cJSON *layers =
      cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(model, "config"), "layers");
  if (!cJSON_IsString(cls) || !cJSON_IsArray(layers))
    return nnc_fail(st, NNC_ERR_ARG, "%s: the model's config has no class_name and layers", path);
  int sequential = !strcmp(cls->valuestring, "Sequential"), n = cJSON_GetArraySize(layers);
  char(*used)[128] = nnc_calloc((size_t)n + 1, sizeof *used, st);
  int *counts = nnc_calloc((size_t)n + 1, sizeof *counts, st), n_used = 0, rc = NNC_OK;
  if (!used || !counts) rc = st->code;
  const cJSON *layer;
  cJSON_ArrayForEach(layer, layers) {
    if (rc) break;
    const cJSON *lc = cJSON_GetObjectItemCaseSensitive(layer, "class_name");
    const char *ln = config_name(layer);
    if (!cJSON_IsString(lc) || !ln) {
      rc = nnc_fail(st, NNC_ERR_ARG, "%s: a layer of the config has no class_name or name", path);
      break;
    }
    if (sequential && !strcmp(lc->valuestring, "InputLayer")) continue;
    char snake[128], autoname[160], auto_path[600], name[400];
    nnc_keras3_snake_case(lc->valuestring, snake, sizeof snake);
    int k = 0;
    while (k < n_used && strcmp(used[k], snake)) k++;
    if (k == n_used) {
      nnc_strlcpy(used[n_used++], snake, sizeof used[0]);
      nnc_strlcpy(autoname, snake, sizeof autoname);
    } else {
      snprintf(autoname, sizeof autoname, "%s_%d", snake, ++counts[k]);
    }
    snprintf(auto_path, sizeof auto_path, "%s/%s", base, autoname);
    snprintf(name, sizeof name, "%s%s", prefix, ln);
    rc = write_object(f, m, layer, auto_path, name, depth, path, st);
  }
  free(used);
  free(counts);
  return rc;
}

static int write_weights(hid_t f, const nnc_model *m, const cJSON *model, const char *path,
                         nnc_status *st) {
  int rc = write_model(f, m, model, "layers", "", 0, path, st);
  hid_t g = rc ? -1 : group(f, "vars"); /* the model's own (none), named as the model */
  const char *mname = config_name(model);
  if (g >= 0 && mname && name_attr(g, mname))
    rc = nnc_fail(st, NNC_ERR_WRITE, "%s: model.weights.h5: cannot write vars's name", path);
  if (g >= 0) H5Gclose(g);
  return rc;
}

/* A zip of stored members, as zipfile writes with ZIP_STORED. */
typedef struct member {
  const char *name;
  const void *data;
  size_t len;
} member;

static void le(unsigned char *p, uint64_t v, int n) {
  for (int i = 0; i < n; i++) p[i] = (unsigned char)(v >> (8 * i));
}

static int zip_write(const char *path, const member *mem, int n, nnc_status *st) {
  size_t total = 22;
  for (int i = 0; i < n; i++) total += 2 * (30 + strlen(mem[i].name)) + 16 + mem[i].len;
  unsigned char *z = nnc_calloc(total, 1, st), *p = z;
  if (!z) return st->code;
  size_t offsets[8];
  uint32_t crcs[8];
  for (int i = 0; i < n; i++) {
    size_t nl = strlen(mem[i].name);
    offsets[i] = (size_t)(p - z);
    crcs[i] = (uint32_t)crc32(0L, mem[i].data, (uInt)mem[i].len);
    /* DOS date 1980-01-01 00:00: the archive's bytes do not depend on the clock */
    le(p, 0x04034b50, 4), le(p + 4, 20, 2), le(p + 12, 0x21, 2);
    le(p + 14, crcs[i], 4), le(p + 18, mem[i].len, 4), le(p + 22, mem[i].len, 4);
    le(p + 26, nl, 2);
    memcpy(p + 30, mem[i].name, nl);
    memcpy(p + 30 + nl, mem[i].data, mem[i].len);
    p += 30 + nl + mem[i].len;
  }
  unsigned char *dir = p;
  for (int i = 0; i < n; i++) {
    size_t nl = strlen(mem[i].name);
    le(p, 0x02014b50, 4), le(p + 4, 20, 2), le(p + 6, 20, 2), le(p + 14, 0x21, 2);
    le(p + 16, crcs[i], 4), le(p + 20, mem[i].len, 4), le(p + 24, mem[i].len, 4);
    le(p + 28, nl, 2), le(p + 38, 0100644u << 16, 4), le(p + 42, offsets[i], 4);
    memcpy(p + 46, mem[i].name, nl);
    p += 46 + nl;
  }
  le(p, 0x06054b50, 4), le(p + 8, (uint64_t)n, 2), le(p + 10, (uint64_t)n, 2);
  le(p + 12, (uint64_t)(p - dir), 4), le(p + 16, (uint64_t)(dir - z), 4);
  p += 22;
  int rc = nnc_write_file_atomic(path, z, (size_t)(p - z), st);
  free(z);
  return rc;
}

/* The optimizer's name as Keras 3 gives it (the `name` attribute of
 * optimizer/vars): its config's "name", else the snake_case of its class
 * ("adam" for Adam, as Keras's default names are). */
static void optimizer_name(const cJSON *model, char *out, size_t cap) {
  const cJSON *cc = cJSON_GetObjectItemCaseSensitive(model, "compile_config");
  const cJSON *opt = cJSON_GetObjectItemCaseSensitive(cc, "optimizer");
  const cJSON *name =
      cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(opt, "config"), "name");
  const cJSON *cls = cJSON_GetObjectItemCaseSensitive(opt, "class_name");
  nnc_strlcpy(out, "optimizer", cap);
  if (cJSON_IsString(name))
    nnc_strlcpy(out, name->valuestring, cap);
  else if (cJSON_IsString(cls) || cJSON_IsString(opt))
    nnc_keras3_snake_case(cJSON_IsString(cls) ? cls->valuestring : opt->valuestring, out, cap);
}

/* optimizer/vars/0, 1, ... as BaseOptimizer.save_own_variables writes them:
 * iterations (int64), the learning rate (float32, unless a schedule), then
 * each trainable weight's slots (model_optimizer_variables' order). A model
 * without an optimizer has no optimizer group, as in Keras. */
static int write_optimizer(hid_t f, const nnc_model *m, const cJSON *model, const char *path,
                           nnc_status *st) {
  if (!m->built || !m->t || !m->t->entries[NNC_ENTRY_TRAIN].fn) return NNC_OK;
  nnc_tensor_set set;
  if (model_optimizer_variables(m, &set, st)) return nnc_fail_prefix(st, "%s", path);
  char name[128];
  optimizer_name(model, name, sizeof name);
  hid_t g = group(f, "optimizer/vars");
  int rc =
      g < 0 || name_attr(g, name)
          ? nnc_fail(st, NNC_ERR_WRITE, "%s: model.weights.h5: cannot create optimizer/vars", path)
          : NNC_OK;
  for (int i = 0; i < set.n && !rc; i++) {
    const nnc_array *a = &set.items[i].array;
    hsize_t dims[NNC_MAX_RANK];
    for (int d = 0; d < a->rank; d++) dims[d] = (hsize_t)a->shape[d];
    char ds[32];
    snprintf(ds, sizeof ds, "%d", i);
    int i64 = a->dtype == NNC_I64;
    hid_t space = a->rank ? H5Screate_simple(a->rank, dims, NULL) : H5Screate(H5S_SCALAR);
    hid_t d = H5Dcreate2(g, ds, i64 ? H5T_STD_I64LE : H5T_IEEE_F32LE, space, H5P_DEFAULT,
                         H5P_DEFAULT, H5P_DEFAULT);
    int ok = d >= 0 && H5Dwrite(d, i64 ? H5T_NATIVE_INT64 : H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL,
                                H5P_DEFAULT, a->data) >= 0;
    if (d >= 0) H5Dclose(d);
    H5Sclose(space);
    if (!ok)
      rc = nnc_fail(st, NNC_ERR_WRITE, "%s: model.weights.h5: cannot write optimizer/vars/%d", path,
                    i);
  }
  if (g >= 0) H5Gclose(g);
  nnc_tensor_set_free(&set);
  return rc;
}

/* config.json holds the compile config as Keras 3 writes it: "compile_config"
 * beside the model's class_name and config. A Keras 2 .h5's or a TF.js
 * model's training_config goes there, its "optimizer_config" as "optimizer". */
static void add_compile_config(const cJSON *root, cJSON *model) {
  if (model == root || cJSON_GetObjectItemCaseSensitive(model, "compile_config")) return;
  const cJSON *topo = cJSON_GetObjectItemCaseSensitive(root, "modelTopology");
  const cJSON *tc = cJSON_GetObjectItemCaseSensitive(topo ? topo : root, "training_config");
  if (!tc) tc = cJSON_GetObjectItemCaseSensitive(root, "training_config");
  if (!cJSON_IsObject(tc)) return;
  cJSON *cc = cJSON_Duplicate(tc, 1);
  cJSON *opt = cc ? cJSON_DetachItemFromObjectCaseSensitive(cc, "optimizer_config") : NULL;
  if (opt && !cJSON_GetObjectItemCaseSensitive(cc, "optimizer"))
    cJSON_AddItemToObject(cc, "optimizer", opt);
  else
    cJSON_Delete(opt);
  if (cc) cJSON_AddItemToObject(model, "compile_config", cc);
}

/* Keras <= 2.2.2 wrote a Sequential's config as the bare list of its layers:
 * every such Sequential under v (the model and nested ones) gets the form
 * Keras 3 writes, {"name", "layers"}, in config.json and for the weights'
 * walk (the reader, h5_keras3.c, walks config.layers). */
static void sequential_lists_as_configs(cJSON *v) {
  for (cJSON *c = v ? v->child : NULL; c; c = c->next) sequential_lists_as_configs(c);
  const cJSON *cls = cJSON_GetObjectItemCaseSensitive(v, "class_name");
  cJSON *cfg = cJSON_GetObjectItemCaseSensitive(v, "config");
  if (!cJSON_IsObject(v) || !cJSON_IsString(cls) || strcmp(cls->valuestring, "Sequential") ||
      !cJSON_IsArray(cfg))
    return;
  cJSON *obj = cJSON_CreateObject();
  if (!obj) return; /* the walk then reports the config it cannot use */
  cJSON_AddStringToObject(obj, "name", "sequential");
  cJSON_AddItemToObject(obj, "layers", cJSON_DetachItemViaPointer(v, cfg));
  cJSON_AddItemToObject(v, "config", obj);
}

/* An empty HDF5 file in memory (HDF5's core driver, never written to disk). */
static hid_t memory_file(void) {
  h5u_quiet();
  hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
  H5Pset_fapl_core(fapl, 1 << 16, 0);
  hid_t f = H5Fcreate("model.weights.h5", H5F_ACC_TRUNC, H5P_DEFAULT, fapl);
  H5Pclose(fapl);
  return f;
}

int nnc_keras_zip_check(const nnc_model *m, const char *config_json, const char *path,
                        nnc_status *st) {
  if (nnc_h5_load(path, st)) return st->code;
  cJSON *root = cJSON_Parse(config_json);
  const cJSON *model = nnc_model_config_of(root);
  sequential_lists_as_configs((cJSON *)model);
  int rc = model ? NNC_OK
                 : nnc_fail(st, NNC_ERR_ARG, "%s: the model's config has no class_name and config",
                            path);
  hid_t f = rc ? -1 : memory_file();
  if (!rc && f < 0)
    rc = nnc_fail(st, NNC_ERR_WRITE, "%s: HDF5 cannot create a file in memory", path);
  if (!rc) rc = write_weights(f, m, model, path, st);
  if (f >= 0) H5Fclose(f);
  cJSON_Delete(root);
  return rc;
}

int nnc_keras_zip_write(const nnc_model *m, const char *config_json, const char *path,
                        nnc_status *st) {
  const char *bad = nnc_keras_save_path_problem(path);
  if (bad) return nnc_fail(st, NNC_ERR_ARG, "%s: %s", path, bad);
  if (nnc_h5_load(path, st)) return st->code;
  cJSON *root = cJSON_Parse(config_json);
  if (!root) return nnc_fail(st, NNC_ERR_ARG, "%s: the model's config is not JSON", path);
  /* a Keras 2 .h5's {model_config, training_config}, a TF.js model.json's
   * modelTopology: the model's config */
  const cJSON *model = nnc_model_config_of(root);
  if (!model) {
    cJSON_Delete(root);
    return nnc_fail(st, NNC_ERR_ARG, "%s: the model's config has no class_name and config", path);
  }
  sequential_lists_as_configs((cJSON *)model);
  /* a TF.js model's recurrent layers were read with TF.js's defaults: say so */
  if (spec_origin_of(root, model) == SPEC_TFJS) rnn_defaults_from_tfjs((cJSON *)model);
  hid_t f = memory_file();
  add_compile_config(root, (cJSON *)model);
  int rc = f < 0 ? nnc_fail(st, NNC_ERR_WRITE, "%s: HDF5 cannot create a file in memory", path)
                 : write_weights(f, m, model, path, st);
  if (!rc) rc = write_optimizer(f, m, model, path, st);
  char *config = rc ? NULL : cJSON_PrintUnformatted(model);
  if (!rc && !config) rc = nnc_fail(st, NNC_ERR_NOMEM, "%s: out of memory", path);
  ssize_t len = -1;
  void *image = NULL;
  if (!rc && H5Fflush(f, H5F_SCOPE_GLOBAL) >= 0 && (len = H5Fget_file_image(f, NULL, 0)) > 0 &&
      (image = malloc((size_t)len)) && H5Fget_file_image(f, image, (size_t)len) != len)
    len = -1;
  if (!rc && (len <= 0 || !image))
    rc = nnc_fail(st, NNC_ERR_WRITE, "%s: HDF5 gives no file image", path);
  if (f >= 0) H5Fclose(f);
  if (!rc) {
    char meta[128];
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    snprintf(meta, sizeof meta,
             "{\"keras_version\": \"3.4.1\", \"date_saved\": \"%04d-%02d-%02d@%02d:%02d:%02d\"}",
             tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
    member mem[3] = {{"metadata.json", meta, strlen(meta)},
                     {"config.json", config, strlen(config)},
                     {"model.weights.h5", image, (size_t)len}};
    rc = zip_write(path, mem, 3, st);
  }
  free(image);
  free(config);
  cJSON_Delete(root);
  return rc;
}
