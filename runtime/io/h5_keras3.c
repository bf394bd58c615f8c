/* Keras 3's model.weights.h5 (inside a .keras archive), as saving_lib
 * writes it: layers/<auto>/vars/<i>, where <auto> is the snake_case of the
 * layer's class plus _1, _2, ... in model.layers order (NOT the layer's
 * name); sub-objects nest (layers/lstm/cell/vars/0), private ones ("_key_dense")
 * after public ones; a nested model's layers under layers/<auto>/layers/.
 * tf.keras 2.14 writes _layer_checkpoint_dependencies/ for layers/; archives
 * saved on Windows by tf.keras 2.15 have backslashes inside the group names
 * ("layers\conv1d" is one group at the root). Every variable becomes the
 * tensor "LAYER/#I" (model_file.h), LAYER the config's layer name. */
#include <cjson/cJSON.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "runtime/io/h5_util.h"
#include "runtime/io/model_file.h"

#define OBJ_PATH_MAX 1024

void nnc_keras3_snake_case(const char *cls, char *out, size_t cap);

typedef struct k3_ctx {
  hid_t f;
  const char *label;     /* the weights file, for its messages */
  const char *cfg_label; /* the config (ARCHIVE: config.json), for the config's */
  char sep;              /* '/' or, in Windows-saved archives, '\\' between objects */
  nnc_tensor_set *out;
  nnc_status *st;
  haddr_t *seen; /* the groups collect_vars walked into, by address */
  int nseen, capseen;
} k3_ctx;

/* keras.src.utils.naming.to_snake_case: drop non-word characters, then
 * "(.)([A-Z][a-z]+)" -> "\1_\2", "([a-z])([A-Z])" -> "\1_\2", lower. */
void nnc_keras3_snake_case(const char *cls, char *out, size_t cap) {
  char w[256], a[512];
  size_t n = 0, m = 0, o = 0;
  for (const char *p = cls; *p && n + 1 < sizeof w; p++)
    if (isalnum((unsigned char)*p) || *p == '_') w[n++] = *p;
  w[n] = 0;
  for (size_t i = 0; i < n && m + 2 < sizeof a; i++) {
    /* (.)([A-Z][a-z]+): an upper case letter followed by a lower case one,
     * not at the start (where the overlap rule skips one, the second rule
     * below inserts the same "_") */
    if (i > 0 && isupper((unsigned char)w[i]) && i + 1 < n && islower((unsigned char)w[i + 1]))
      a[m++] = '_';
    a[m++] = w[i];
  }
  a[m] = 0;
  for (size_t i = 0; i < m && o + 2 < cap; i++) {
    if (i > 0 && islower((unsigned char)a[i - 1]) && isupper((unsigned char)a[i])) out[o++] = '_';
    out[o++] = (char)tolower((unsigned char)a[i]);
  }
  out[o] = 0;
}

typedef struct used_names {
  char (*names)[128];
  int *counts;
  int n;
} used_names;

/* saving_lib._get_unique_name: name, then name_1, name_2, ... */
static void unique_name(used_names *u, const char *name, char *out, size_t cap) {
  for (int i = 0; i < u->n; i++)
    if (!strcmp(u->names[i], name)) {
      snprintf(out, cap, "%s_%d", name, ++u->counts[i]);
      return;
    }
  nnc_strlcpy(u->names[u->n], name, sizeof u->names[0]);
  u->counts[u->n++] = 0;
  nnc_strlcpy(out, name, cap);
}

static int numeric_cmp(const void *a, const void *b) {
  const char *x = *(char *const *)a, *y = *(char *const *)b;
  long p = strtol(x, NULL, 10), q = strtol(y, NULL, 10);
  return p < q ? -1 : p > q;
}

/* saving_lib._name_key: private attributes ("_x") after the others. */
static int attr_cmp(const void *a, const void *b) {
  const char *x = *(char *const *)a, *y = *(char *const *)b;
  if ((x[0] == '_') != (y[0] == '_')) return x[0] == '_' ? 1 : -1;
  return strcmp(x, y);
}

static int add_var(k3_ctx *c, const char *layer, int *index, const char *path) {
  nnc_array a;
  if (h5u_read_dataset(c->f, path, c->label, &a, c->st)) return c->st->code;
  char name[256];
  snprintf(name, sizeof name, "%s/#%d", layer, (*index)++);
  int rc = nnc_tensor_set_add(c->out, name, &a, c->st);
  if (rc) rc = nnc_fail_prefix(c->st, "%s: %s", c->label, path);
  nnc_array_free(&a);
  return rc;
}

/* Keras writes each object once; a group hard-linked from two places (a
 * DAG's paths grow exponentially with depth) is refused on its second visit. */
static int mark_seen(k3_ctx *c, haddr_t addr, const char *path) {
  for (int i = 0; i < c->nseen; i++)
    if (c->seen[i] == addr)
      return nnc_fail(c->st, NNC_ERR_DATA,
                      "%s: %s: a group reached twice (hard-linked; Keras writes each object once)",
                      c->label, path);
  if (c->nseen == c->capseen) {
    int cap = c->capseen ? 2 * c->capseen : 64;
    haddr_t *grown = nnc_realloc_array(c->seen, (size_t)cap, sizeof *grown, c->st);
    if (!grown) return c->st->code;
    c->seen = grown;
    c->capseen = cap;
  }
  c->seen[c->nseen++] = addr;
  return NNC_OK;
}

/* The variables of the object at path (own vars, then sub-objects), as
 * Keras's save_own_variables walk visits them. */
static int collect_vars(k3_ctx *c, const char *layer, int *index, const char *path, int depth) {
  char sub[OBJ_PATH_MAX], **names = NULL;
  int n = 0, rc = NNC_OK;
  if (depth > 16) return nnc_fail(c->st, NNC_ERR_DATA, "%s: %s: nested too deep", c->label, path);
  snprintf(sub, sizeof sub, "%s/vars", path);
  if (h5u_exists(c->f, sub)) {
    if (h5u_list(c->f, sub, c->label, &names, &n, c->st)) return c->st->code;
    /* 0, 1, 2, ..., 10, not 0, 1, 10 */
    if (n > 1) qsort(names, (size_t)n, sizeof *names, numeric_cmp);
    /* Keras's load_own_variables reads store["0"], store["1"], ...: any
     * other name (a gap, "x", "01") is a file it refuses */
    for (int i = 0; i < n && !rc; i++) {
      char want[16];
      snprintf(want, sizeof want, "%d", i);
      if (strcmp(names[i], want))
        rc = nnc_fail(c->st, NNC_ERR_DATA,
                      "%s: %s: variables named 0 to %d expected, got '%s' (Keras names them by "
                      "their order)",
                      c->label, sub, n - 1, names[i]);
    }
    for (int i = 0; i < n && !rc; i++) {
      char var[OBJ_PATH_MAX + 32];
      snprintf(var, sizeof var, "%s/%s", sub, names[i]);
      rc = add_var(c, layer, index, var);
    }
    h5u_strings_free(names, n);
    if (rc) return rc;
  }
  /* sub-objects: children of the group, or (backslash layout) root links named PATH\CHILD */
  int windows = c->sep == '\\';
  if (h5u_list(c->f, windows ? "/" : path, c->label, &names, &n, c->st)) return c->st->code;
  int k = 0;
  size_t plen = strlen(path);
  for (int i = 0; i < n; i++) {
    const char *child = names[i];
    if (windows) {
      if (strncmp(child, path, plen) || child[plen] != '\\' || strchr(child + plen + 1, '\\')) {
        free(names[i]);
        continue;
      }
      memmove(names[i], child + plen + 1, strlen(child + plen + 1) + 1);
    } else if (!strcmp(child, "vars")) {
      free(names[i]);
      continue;
    }
    names[k++] = names[i];
  }
  if (k > 1) qsort(names, (size_t)k, sizeof *names, attr_cmp);
  for (int i = 0; i < k && !rc; i++) {
    snprintf(sub, sizeof sub, "%s%c%s", path, c->sep, names[i]);
    if (H5Oexists_by_name(c->f, sub, h5u_link_access()) > 0) {
      H5O_info_t info;
      if (H5Oget_info_by_name(c->f, sub, &info, h5u_link_access()) >= 0 &&
          info.type == H5O_TYPE_GROUP) {
        rc = mark_seen(c, info.addr, sub);
        if (!rc) rc = collect_vars(c, layer, index, sub, depth + 1);
      }
    }
  }
  h5u_strings_free(names, k);
  return rc;
}

static int is_model_class(const char *cls) {
  return !strcmp(cls, "Sequential") || !strcmp(cls, "Functional") || !strcmp(cls, "Model");
}

/* A wrapper's layer when it is a Functional (not a Sequential), else NULL. */
static const cJSON *nested_functional(const cJSON *wrapper) {
  const cJSON *wrapped = cJSON_GetObjectItemCaseSensitive(
      cJSON_GetObjectItemCaseSensitive(wrapper, "config"), "layer");
  const cJSON *cls = cJSON_GetObjectItemCaseSensitive(wrapped, "class_name");
  return cJSON_IsString(cls) && is_model_class(cls->valuestring) &&
                 strcmp(cls->valuestring, "Sequential")
             ? wrapped
             : NULL;
}

static int map_layers(k3_ctx *c, const cJSON *model, const char *base, const char *prefix,
                      int depth) {
  const cJSON *cls = cJSON_GetObjectItemCaseSensitive(model, "class_name");
  const cJSON *cfg = cJSON_GetObjectItemCaseSensitive(model, "config");
  const cJSON *layers = cJSON_GetObjectItemCaseSensitive(cfg, "layers");
  if (!cJSON_IsString(cls) || !cJSON_IsArray(layers))
    return nnc_fail(c->st, NNC_ERR_SPEC, "%s: no class_name and config.layers", c->cfg_label);
  int sequential = !strcmp(cls->valuestring, "Sequential"), n = cJSON_GetArraySize(layers);
  used_names u = {nnc_calloc((size_t)n + 1, sizeof *u.names, c->st),
                  nnc_calloc((size_t)n + 1, sizeof *u.counts, c->st), 0};
  int rc = u.names && u.counts ? NNC_OK : c->st->code;
  const cJSON *layer;
  cJSON_ArrayForEach(layer, layers) {
    if (rc) break;
    const cJSON *lc = cJSON_GetObjectItemCaseSensitive(layer, "class_name");
    const cJSON *lname =
        cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(layer, "config"), "name");
    if (!cJSON_IsString(lc) || !cJSON_IsString(lname)) {
      rc = nnc_fail(c->st, NNC_ERR_SPEC, "%s: a layer without class_name or name", c->cfg_label);
      break;
    }
    if (sequential && !strcmp(lc->valuestring, "InputLayer")) continue; /* not in .layers */
    char snake[128], autoname[160], path[OBJ_PATH_MAX], name[256];
    nnc_keras3_snake_case(lc->valuestring, snake, sizeof snake);
    unique_name(&u, snake, autoname, sizeof autoname);
    snprintf(path, sizeof path, "%s%c%s", base, c->sep, autoname);
    snprintf(name, sizeof name, "%s%s", prefix, lname->valuestring);
    if (!h5u_exists(c->f, path)) {
      rc = nnc_fail(c->st, NNC_ERR_DATA,
                    "%s: %s: no such group (the weights of layer '%s', %s): the weights file is "
                    "not of this config",
                    c->label, path, lname->valuestring, lc->valuestring);
    } else if (is_model_class(lc->valuestring)) {
      char inner[OBJ_PATH_MAX + 8], nested_prefix[300];
      snprintf(inner, sizeof inner, "%s%clayers", path, c->sep);
      /* nnc names a nested Sequential's weights "<model>/<layer>/...", a nested
       * Functional's as its layers' own (lower.c: lower_nested_model, as Keras 3's
       * variable paths): the tensors "LAYER/#I" follow that */
      if (strcmp(lc->valuestring, "Sequential"))
        nested_prefix[0] = '\0';
      else
        snprintf(nested_prefix, sizeof nested_prefix, "%s/", name);
      rc = depth > 8 ? nnc_fail(c->st, NNC_ERR_DATA, "%s: models nested too deep", c->label)
                     : map_layers(c, layer, inner, nested_prefix, depth + 1);
    } else if (!strcmp(lc->valuestring, "TimeDistributed") && nested_functional(layer)) {
      /* a Functional inside: its layers' own names (time_distributed.c), the
       * wrapper's "layer" attribute holding the model's layers */
      char inner[OBJ_PATH_MAX + 16];
      snprintf(inner, sizeof inner, "%s%clayer%clayers", path, c->sep, c->sep);
      rc = depth > 8 ? nnc_fail(c->st, NNC_ERR_DATA, "%s: models nested too deep", c->label)
                     : map_layers(c, nested_functional(layer), inner, "", depth + 1);
    } else if (!strcmp(lc->valuestring, "Bidirectional")) {
      /* Keras walks backward_layer before forward_layer (sorted attribute
       * names); nnc's weights are the forward copy's, then the backward's */
      int index = 0;
      char side[OBJ_PATH_MAX + 32];
      snprintf(side, sizeof side, "%s%cforward_layer", path, c->sep);
      rc = collect_vars(c, name, &index, side, 1);
      snprintf(side, sizeof side, "%s%cbackward_layer", path, c->sep);
      if (!rc) rc = collect_vars(c, name, &index, side, 1);
    } else {
      int index = 0;
      rc = collect_vars(c, name, &index, path, 0);
    }
  }
  free(u.names);
  free(u.counts);
  return rc;
}

static int has_backslash_layers(hid_t f, const char *label, nnc_status *st) {
  char **names;
  int n, found = 0;
  if (h5u_list(f, "/", label, &names, &n, st)) return -1;
  for (int i = 0; i < n; i++) found |= !strncmp(names[i], "layers\\", 7);
  h5u_strings_free(names, n);
  return found;
}

int nnc_keras3_weights_read(hid_t f, const char *label, const char *config_json,
                            const char *config_label, nnc_tensor_set *out, nnc_status *st) {
  k3_ctx c = {f, label, config_label, '/', out, st, NULL, 0, 0};
  const char *base = "layers";
  if (!h5u_exists(f, "layers")) {
    int w = has_backslash_layers(f, label, st);
    if (w < 0) return st->code;
    if (w)
      c.sep = '\\';
    else if (h5u_exists(f, "_layer_checkpoint_dependencies"))
      base = "_layer_checkpoint_dependencies"; /* tf.keras 2.14 */
    else
      return nnc_fail(st, NNC_ERR_DATA,
                      "%s: no group 'layers' (nor tf.keras 2.14's "
                      "'_layer_checkpoint_dependencies'): not a Keras 3 weights file",
                      label);
  }
  cJSON *root = cJSON_Parse(config_json);
  if (!root) return nnc_fail(st, NNC_ERR_SPEC, "%s: not valid JSON", config_label);
  int rc = map_layers(&c, root, base, "", 0);
  cJSON_Delete(root);
  free(c.seen);
  return rc;
}

int nnc_keras3_optimizer_read(hid_t f, const char *label, nnc_tensor_set *out, nnc_status *st) {
  if (!h5u_exists(f, "optimizer") || !h5u_exists(f, "optimizer/vars")) return NNC_OK;
  char **names;
  int n;
  if (h5u_list(f, "optimizer/vars", label, &names, &n, st)) return st->code;
  if (n > 1) qsort(names, (size_t)n, sizeof *names, numeric_cmp); /* 0, 1, ..., 10 */
  int rc = NNC_OK;
  for (int i = 0; i < n && !rc; i++) {
    char path[OBJ_PATH_MAX], name[32], *end;
    long k = strtol(names[i], &end, 10);
    if (*end || k != i) {
      rc = nnc_fail(st, NNC_ERR_DATA,
                    "%s: optimizer/vars/%.64s: expected the variables numbered 0, 1, 2, ...", label,
                    names[i]);
      break;
    }
    snprintf(path, sizeof path, "optimizer/vars/%s", names[i]);
    snprintf(name, sizeof name, "#%d", i);
    nnc_array a;
    if (h5u_read_dataset(f, path, label, &a, st)) {
      rc = st->code;
      break;
    }
    if (nnc_tensor_set_add(out, name, &a, st)) rc = nnc_fail_prefix(st, "%s: %s", label, path);
    nnc_array_free(&a);
  }
  h5u_strings_free(names, n);
  if (rc) nnc_tensor_set_free(out);
  return rc;
}
