/* .h5 weights out in Keras 2's save_weights layout (docs/formats.md
 * "## .h5"): root attributes layer_names (fixed-length NULL-padded
 * strings, as h5py stores numpy byte arrays), backend and keras_version
 * (variable-length UTF-8); one group per layer with weights, its
 * weight_names attribute, and float32 datasets at <layer>/<weight name>,
 * e.g. dense_1/dense_1/kernel:0. The file is built in memory (HDF5's core
 * driver) and written through nnc_write_file_atomic (temporary file, then
 * rename). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "runtime/io/h5_util.h"
#include "runtime/io/model_file.h"

static int put_fixed_strings(hid_t loc, const char *attr, char **s, int n, nnc_status *st) {
  size_t w = 1;
  for (int i = 0; i < n; i++)
    if (strlen(s[i]) > w) w = strlen(s[i]);
  char *buf = nnc_calloc((size_t)n * w + 1, 1, st);
  if (!buf) return st->code;
  for (int i = 0; i < n; i++) memcpy(buf + (size_t)i * w, s[i], strlen(s[i]));
  hsize_t dims[1] = {(hsize_t)n};
  hid_t type = H5Tcopy(H5T_C_S1);
  H5Tset_size(type, w);
  H5Tset_strpad(type, H5T_STR_NULLPAD);
  hid_t space = H5Screate_simple(1, dims, NULL);
  hid_t a = H5Acreate2(loc, attr, type, space, H5P_DEFAULT, H5P_DEFAULT);
  int rc = a >= 0 && H5Awrite(a, type, buf) >= 0
               ? NNC_OK
               : nnc_fail(st, NNC_ERR_WRITE, "HDF5 cannot write attribute %s", attr);
  if (a >= 0) H5Aclose(a);
  H5Sclose(space);
  H5Tclose(type);
  free(buf);
  return rc;
}

static int put_vlen_string(hid_t loc, const char *attr, const char *value, nnc_status *st) {
  hid_t type = H5Tcopy(H5T_C_S1);
  H5Tset_size(type, H5T_VARIABLE);
  H5Tset_cset(type, H5T_CSET_UTF8);
  hid_t space = H5Screate(H5S_SCALAR);
  hid_t a = H5Acreate2(loc, attr, type, space, H5P_DEFAULT, H5P_DEFAULT);
  int rc = a >= 0 && H5Awrite(a, type, &value) >= 0
               ? NNC_OK
               : nnc_fail(st, NNC_ERR_WRITE, "HDF5 cannot write attribute %s", attr);
  if (a >= 0) H5Aclose(a);
  H5Sclose(space);
  H5Tclose(type);
  return rc;
}

static int put_dataset(hid_t g, const char *name, const nnc_array *a, nnc_status *st) {
  hsize_t dims[NNC_MAX_RANK];
  for (int i = 0; i < a->rank; i++) dims[i] = (hsize_t)a->shape[i];
  hid_t space = a->rank ? H5Screate_simple(a->rank, dims, NULL) : H5Screate(H5S_SCALAR);
  hid_t lcpl = H5Pcreate(H5P_LINK_CREATE);
  H5Pset_create_intermediate_group(lcpl, 1); /* "dense_1/kernel:0" inside group dense_1 */
  hid_t d = H5Dcreate2(g, name, H5T_IEEE_F32LE, space, lcpl, H5P_DEFAULT, H5P_DEFAULT);
  int rc = d >= 0 && H5Dwrite(d, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, a->data) >= 0
               ? NNC_OK
               : nnc_fail(st, NNC_ERR_WRITE, "HDF5 cannot write dataset %s", name);
  if (d >= 0) H5Dclose(d);
  H5Pclose(lcpl);
  H5Sclose(space);
  return rc;
}

/* The layer of a weight name: its first component. */
static size_t layer_len(const char *w) {
  const char *slash = strchr(w, '/');
  return slash ? (size_t)(slash - w) : strlen(w);
}

static int write_layers(hid_t f, const nnc_model *m, nnc_status *st) {
  int n = nnc_model_weight_count(m), rc = NNC_OK, n_layers = 0;
  char **layers = nnc_calloc((size_t)n + 1, sizeof *layers, st);
  char **names = nnc_calloc((size_t)n + 1, sizeof *names, st);
  if (!layers || !names) rc = st->code;
  for (int i = 0; i < n && !rc;) {
    const char *w = nnc_model_weight_name(m, i);
    size_t len = layer_len(w);
    if (!(layers[n_layers] = nnc_calloc(len + 1, 1, st))) {
      rc = st->code;
      break;
    }
    memcpy(layers[n_layers], w, len);
    hid_t g = H5Gcreate2(f, layers[n_layers], H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    if (g < 0) rc = nnc_fail(st, NNC_ERR_WRITE, "HDF5 cannot create group %s", layers[n_layers]);
    int k = 0;
    for (; !rc && i + k < n; k++) {
      const char *v = nnc_model_weight_name(m, i + k);
      if (layer_len(v) != len || strncmp(v, w, len)) break;
      /* Keras 2's variable names: "dense_1/kernel:0" */
      if (!(names[k] = nnc_calloc(strlen(v) + 3, 1, st))) {
        rc = st->code;
        break;
      }
      snprintf(names[k], strlen(v) + 3, "%s:0", v);
      nnc_array a;
      if (nnc_model_get_weight(m, v, &a, st)) {
        rc = st->code;
        break;
      }
      rc = put_dataset(g, names[k], &a, st);
      nnc_array_free(&a);
    }
    if (!rc) rc = put_fixed_strings(g, "weight_names", names, k, st);
    for (int j = 0; j < k; j++) free(names[j]), names[j] = NULL;
    if (g >= 0) H5Gclose(g);
    n_layers++;
    i += k;
  }
  if (!rc) rc = put_fixed_strings(f, "layer_names", layers, n_layers, st);
  if (!rc) rc = put_vlen_string(f, "backend", "tensorflow", st);
  if (!rc) rc = put_vlen_string(f, "keras_version", "2.15.0", st);
  h5u_strings_free(layers, n_layers);
  free(names);
  return rc;
}

int nnc_h5_weights_write(const nnc_model *m, const char *path, nnc_status *st) {
  if (nnc_h5_load(path, st)) return st->code;
  h5u_quiet();
  hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
  H5Pset_fapl_core(fapl, 1 << 16, 0); /* in memory: written below, atomically */
  hid_t f = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, fapl);
  H5Pclose(fapl);
  if (f < 0) return nnc_fail(st, NNC_ERR_WRITE, "%s: HDF5 cannot create a file in memory", path);
  int rc = write_layers(f, m, st);
  if (rc) nnc_fail_prefix(st, "%s", path);
  if (!rc && H5Fflush(f, H5F_SCOPE_GLOBAL) < 0)
    rc = nnc_fail(st, NNC_ERR_WRITE, "%s: HDF5 cannot flush the file", path);
  ssize_t len = rc ? -1 : H5Fget_file_image(f, NULL, 0);
  void *image = len > 0 ? malloc((size_t)len) : NULL;
  if (!rc && (!image || H5Fget_file_image(f, image, (size_t)len) != len))
    rc = nnc_fail(st, NNC_ERR_WRITE, "%s: HDF5 gives no file image", path);
  H5Fclose(f);
  if (!rc) rc = nnc_write_file_atomic(path, image, (size_t)len, st);
  free(image);
  return rc;
}
