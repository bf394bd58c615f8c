/* HDF5 model files (docs/formats.md "## .h5"): a Keras 2 / tf.keras full
 * model (root attribute model_config, weights under model_weights/), a
 * save_weights file (layer groups at the root) and Keras 3's legacy .h5
 * (the same tree, weight names without ":0"). Each layer group's
 * weight_names attribute gives the order (Keras's creation order); a
 * layer's variables become "LAYER/#I", a nested model's inner layer's
 * "OUTER/INNER/#I" (its weight_names list every trainable weight before the
 * non-trainable ones; grouping by inner layer keeps each layer's order). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "runtime/io/h5_util.h"
#include "runtime/io/model_file.h"

int nnc_keras3_weights_read(hid_t f, const char *label, const char *config_json,
                            const char *config_label, nnc_tensor_set *out, nnc_status *st);

typedef struct counter {
  char name[256];
  int n;
} counter;

static int next_index(counter *c, int *nc, const char *name) {
  for (int i = 0; i < *nc; i++)
    if (!strcmp(c[i].name, name)) return c[i].n++;
  nnc_strlcpy(c[*nc].name, name, sizeof c[0].name);
  c[*nc].n = 1;
  (*nc)++;
  return 0;
}

static int read_layer(hid_t f, const char *label, const char *group, const char *layer,
                      nnc_tensor_set *out, nnc_status *st) {
  char path[1024];
  snprintf(path, sizeof path, "%s/%s", strcmp(group, "/") ? group : "", layer);
  if (!h5u_exists(f, path))
    return nnc_fail(st, NNC_ERR_DATA, "%s: %s: no such group (listed in layer_names)", label, path);
  hid_t g = H5Gopen2(f, path, h5u_group_access());
  if (g < 0) return nnc_fail(st, NNC_ERR_DATA, "%s: %s: not a group", label, path);
  char **names;
  int n, rc = h5u_attr_strings(g, "weight_names", label, path, &names, &n, st);
  H5Gclose(g);
  if (rc) return rc;
  counter *counts = nnc_calloc((size_t)n + 1, sizeof *counts, st);
  int nc = 0;
  if (!counts) rc = st->code;
  for (int i = 0; i < n && !rc; i++) {
    /* "dense_1/kernel:0"; a nested model's "conv2d_3/kernel:0" names its inner layer */
    char first[256], owner[600], name[700], ds[1300];
    const char *slash = strchr(names[i], '/');
    size_t len = slash ? (size_t)(slash - names[i]) : 0;
    if (len >= sizeof first) len = sizeof first - 1;
    memcpy(first, names[i], len);
    first[len] = 0;
    if (slash && strcmp(first, layer))
      snprintf(owner, sizeof owner, "%s/%s", layer, first);
    else
      nnc_strlcpy(owner, layer, sizeof owner);
    snprintf(name, sizeof name, "%s/#%d", owner, next_index(counts, &nc, owner));
    snprintf(ds, sizeof ds, "%s/%s", path, names[i]);
    nnc_array a;
    if (h5u_read_dataset(f, ds, label, &a, st)) {
      rc = st->code;
      break;
    }
    if (nnc_tensor_set_add(out, name, &a, st)) rc = nnc_fail_prefix(st, "%s: %s", label, ds);
    nnc_array_free(&a);
  }
  free(counts);
  h5u_strings_free(names, n);
  return rc;
}

static int read_layers(hid_t f, const char *label, const char *group, nnc_tensor_set *out,
                       nnc_status *st) {
  hid_t g = H5Gopen2(f, group, h5u_group_access());
  if (g < 0) return nnc_fail(st, NNC_ERR_DATA, "%s: %s: no such group", label, group);
  char **layers;
  int n, rc = h5u_attr_strings(g, "layer_names", label, group, &layers, &n, st);
  H5Gclose(g);
  /* Keras names layers uniquely: a name listed twice would read one group twice */
  for (int i = 0; i < n && !rc; i++)
    for (int j = 0; j < i && !rc; j++)
      if (!strcmp(layers[i], layers[j]))
        rc = nnc_fail(st, NNC_ERR_DATA,
                      "%s: %s: attribute layer_names lists '%s' twice (a layer name is unique)",
                      label, group, layers[i]);
  for (int i = 0; i < n && !rc; i++) rc = read_layer(f, label, group, layers[i], out, st);
  h5u_strings_free(layers, n);
  return rc;
}

/* {"model_config": MC, "training_config": TC}: the wrapper spec_parse reads. */
static char *wrap_config(const char *mc, const char *tc, nnc_status *st) {
  size_t n = strlen(mc) + (tc ? strlen(tc) : 0) + 64;
  char *s = nnc_calloc(n, 1, st);
  if (!s) return NULL;
  if (tc)
    snprintf(s, n, "{\"model_config\": %s, \"training_config\": %s}", mc, tc);
  else
    snprintf(s, n, "{\"model_config\": %s}", mc);
  return s;
}

int nnc_h5_read_open(hid_t f, const char *label, const char *config_json, nnc_model_file *out,
                     nnc_status *st) {
  hid_t root = H5Gopen2(f, "/", h5u_group_access());
  int full = h5u_has_attr(root, "model_config"), weights_only = h5u_has_attr(root, "layer_names");
  int rc = NNC_OK;
  if (full) {
    char *mc = h5u_attr_string(root, "model_config", label, "/", st), *tc = NULL;
    if (mc && h5u_has_attr(root, "training_config"))
      tc = h5u_attr_string(root, "training_config", label, "/", st);
    if (!mc || (h5u_has_attr(root, "training_config") && !tc))
      rc = st->code;
    else if (!(out->spec_json = wrap_config(mc, tc, st)))
      rc = st->code;
    free(mc);
    free(tc);
    if (!rc && !h5u_exists(f, "model_weights"))
      rc = nnc_fail(st, NNC_ERR_DATA,
                    "%s: model_weights: no such group (a model saved without weights?)", label);
    if (!rc) rc = read_layers(f, label, "model_weights", &out->weights, st);
  } else if (weights_only) {
    rc = read_layers(f, label, "/", &out->weights, st);
  } else if (h5u_exists(f, "layers") || h5u_exists(f, "_layer_checkpoint_dependencies")) {
    rc = config_json
             ? nnc_keras3_weights_read(f, label, config_json, "the config", &out->weights, st)
             : nnc_fail(st, NNC_ERR_DATA,
                        "%s: a Keras 3 weights file (layers/<name>/vars/<i>): its variables "
                        "are numbered, not named, so it is read with its config inside a "
                        ".keras archive",
                        label);
  } else {
    rc = nnc_fail(st, NNC_ERR_DATA,
                  "%s: an HDF5 file but no Keras model: no model_config or layer_names attribute "
                  "at the root and no layers group",
                  label);
  }
  H5Gclose(root);
  return rc;
}

int nnc_h5_model_read(const char *path, nnc_model_file *out, nnc_status *st) {
  memset(out, 0, sizeof *out);
  hid_t f = h5u_open(path, st);
  if (f < 0) return st->code;
  out->format = NNC_FORMAT_H5;
  int rc = nnc_h5_read_open(f, path, NULL, out, st);
  h5u_close(f);
  if (rc) nnc_model_file_free(out);
  return rc;
}
