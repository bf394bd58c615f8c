/* libhdf5 helpers for the Keras readers (see h5_util.h). */
#include "runtime/io/h5_util.h"

#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/base.h"
#include "runtime/io/h5_heap_check.h"

/* External links would make a model file read (or block on) any file the
 * user can open: every traversal goes through access lists whose
 * external-link callback refuses. */
static herr_t refuse_external_link(const char *parent_file, const char *parent_group,
                                   const char *child_file, const char *child_object,
                                   unsigned *acc_flags, hid_t fapl, void *data) {
  (void)parent_file, (void)parent_group, (void)child_file, (void)child_object;
  (void)acc_flags, (void)fapl, (void)data;
  return -1;
}

static hid_t link_access, group_access, dataset_access;
static pthread_once_t access_once = PTHREAD_ONCE_INIT;

static void make_access_lists(void) {
  link_access = H5Pcreate(H5P_LINK_ACCESS);
  group_access = H5Pcreate(H5P_GROUP_ACCESS);
  dataset_access = H5Pcreate(H5P_DATASET_ACCESS);
  H5Pset_elink_cb(link_access, refuse_external_link, NULL);
  H5Pset_elink_cb(group_access, refuse_external_link, NULL);
  H5Pset_elink_cb(dataset_access, refuse_external_link, NULL);
}

hid_t h5u_link_access(void) {
  pthread_once(&access_once, make_access_lists);
  return link_access;
}

hid_t h5u_group_access(void) {
  pthread_once(&access_once, make_access_lists);
  return group_access;
}

static hid_t dataset_access_list(void) {
  pthread_once(&access_once, make_access_lists);
  return dataset_access;
}

void h5u_quiet(void) {
  H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
}

/* h5_heap_check on the file's bytes, mapped read-only */
static int check_file_heaps(const char *path, nnc_status *st) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  struct stat sb;
  if (fd < 0 || fstat(fd, &sb) < 0 || sb.st_size <= 0) {
    if (fd >= 0) close(fd);
    return NNC_OK; /* libhdf5 says what is wrong */
  }
  void *bytes = mmap(NULL, (size_t)sb.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
  close(fd);
  if (bytes == MAP_FAILED) return NNC_OK;
  int rc = h5_heap_check(bytes, (size_t)sb.st_size, path, st);
  munmap(bytes, (size_t)sb.st_size);
  return rc;
}

hid_t h5u_open(const char *path, nnc_status *st) {
  if (nnc_h5_load(path, st)) return -1;
  h5u_quiet();
  if (H5Fis_hdf5(path) <= 0) {
    nnc_fail(st, NNC_ERR_IO, "%s: not an HDF5 file (or not readable)", path);
    return -1;
  }
  hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
  if (f < 0) nnc_fail(st, NNC_ERR_IO, "%s: HDF5 cannot open it (truncated or damaged?)", path);
  /* opening reads the superblock and the root group; the heaps are read
   * later, with the attributes */
  if (f >= 0 && check_file_heaps(path, st)) {
    H5Fclose(f);
    return -1;
  }
  return f;
}

hid_t h5u_open_image(const void *bytes, size_t len, const char *label, nnc_status *st) {
  if (nnc_h5_load(label, st)) return -1;
  h5u_quiet();
  hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
  hid_t f = -1;
  if (fapl >= 0 && H5Pset_fapl_core(fapl, 1 << 16, 0) >= 0 &&
      H5Pset_file_image(fapl, (void *)bytes, len) >= 0) {
    /* the core driver wants a name; nothing is read from or written to it */
    f = H5Fopen(label, H5F_ACC_RDONLY, fapl);
  }
  if (fapl >= 0) H5Pclose(fapl);
  if (f < 0) nnc_fail(st, NNC_ERR_IO, "%s: HDF5 cannot open it (truncated or damaged?)", label);
  if (f >= 0 && h5_heap_check(bytes, len, label, st)) {
    H5Fclose(f);
    return -1;
  }
  return f;
}

void h5u_close(hid_t file) {
  if (file >= 0) H5Fclose(file);
}

int h5u_exists(hid_t loc, const char *path) {
  /* H5Lexists checks one level at a time: walk the path so a missing
   * intermediate group is "no", not an error */
  char buf[1024];
  nnc_strlcpy(buf, path, sizeof buf);
  for (char *p = buf; (p = strchr(p, '/')); p++) {
    *p = 0;
    if (buf[0] && H5Lexists(loc, buf, h5u_link_access()) <= 0) return 0;
    *p = '/';
  }
  return H5Lexists(loc, buf, h5u_link_access()) > 0;
}

int h5u_has_attr(hid_t loc, const char *name) {
  return H5Aexists(loc, name) > 0;
}

/* One string of a fixed-length element: NULL-padded, and a string exactly
 * as long as the element has no terminator. */
static char *fixed_copy(const char *src, size_t size, nnc_status *st) {
  size_t n = 0;
  while (n < size && src[n]) n++;
  char *s = nnc_calloc(n + 1, 1, st);
  if (s) memcpy(s, src, n);
  return s;
}

static int read_strings(hid_t attr, hid_t type, int count, const char *label, const char *obj,
                        const char *name, char **out, nnc_status *st) {
  int rc = NNC_OK;
  if (H5Tis_variable_str(type) > 0) {
    char **v = nnc_calloc((size_t)count + 1, sizeof *v, st);
    hid_t mem = H5Tcopy(H5T_C_S1);
    H5Tset_size(mem, H5T_VARIABLE);
    H5Tset_cset(mem, H5Tget_cset(type));
    if (!v || H5Aread(attr, mem, v) < 0) {
      rc = v ? nnc_fail(st, NNC_ERR_DATA, "%s: %s: attribute '%s' cannot be read", label, obj, name)
             : (int)st->code;
      count = 0;
    }
    for (int i = 0; i < count; i++) {
      if (!rc && !(out[i] = nnc_calloc(strlen(v[i] ? v[i] : "") + 1, 1, st))) rc = st->code;
      if (!rc) strcpy(out[i], v[i] ? v[i] : "");
    }
    if (v && count) {
      hid_t space = H5Aget_space(attr);
      H5Dvlen_reclaim(mem, space, H5P_DEFAULT, v);
      H5Sclose(space);
    }
    H5Tclose(mem);
    free(v);
    return rc;
  }
  size_t size = H5Tget_size(type);
  char *buf = nnc_calloc((size_t)count * size + 1, 1, st);
  if (!buf) return st->code;
  hid_t mem = H5Tcopy(type);
  if (H5Aread(attr, mem, buf) < 0)
    rc = nnc_fail(st, NNC_ERR_DATA, "%s: %s: attribute '%s' cannot be read", label, obj, name);
  for (int i = 0; i < count && !rc; i++)
    if (!(out[i] = fixed_copy(buf + (size_t)i * size, size, st))) rc = st->code;
  H5Tclose(mem);
  free(buf);
  return rc;
}

static int attr_strings(hid_t loc, const char *name, const char *label, const char *obj,
                        int want_scalar, char ***out, int *n, nnc_status *st) {
  *out = NULL;
  *n = 0;
  if (H5Aexists(loc, name) <= 0)
    return nnc_fail(st, NNC_ERR_DATA, "%s: %s: no attribute '%s'", label, obj, name);
  hid_t attr = H5Aopen(loc, name, H5P_DEFAULT);
  if (attr < 0)
    return nnc_fail(st, NNC_ERR_DATA, "%s: %s: cannot open attribute '%s'", label, obj, name);
  hid_t type = H5Aget_type(attr), space = H5Aget_space(attr);
  int rank = H5Sget_simple_extent_ndims(space);
  hssize_t count = H5Sget_simple_extent_npoints(space);
  int rc = NNC_OK;
  if (H5Tget_class(type) != H5T_STRING) {
    /* weight_names of a weightless layer: an empty float64 array */
    if (!(count == 0 && !want_scalar))
      rc = nnc_fail(st, NNC_ERR_DATA, "%s: %s: attribute '%s' is not a string%s", label, obj, name,
                    want_scalar ? "" : " array");
  } else if (rank > 1 || (want_scalar && count != 1)) {
    rc = nnc_fail(st, NNC_ERR_DATA, "%s: %s: attribute '%s' should be %s, has %lld values", label,
                  obj, name, want_scalar ? "one string" : "a 1-D string array", (long long)count);
  } else if (count > 0) {
    char **v = nnc_calloc((size_t)count + 1, sizeof *v, st);
    if (!v) rc = st->code;
    if (!rc) rc = read_strings(attr, type, (int)count, label, obj, name, v, st);
    if (rc) {
      h5u_strings_free(v, (int)count);
    } else {
      *out = v;
      *n = (int)count;
    }
  }
  H5Sclose(space);
  H5Tclose(type);
  H5Aclose(attr);
  return rc;
}

char *h5u_attr_string(hid_t loc, const char *name, const char *label, const char *obj,
                      nnc_status *st) {
  char **v;
  int n;
  if (attr_strings(loc, name, label, obj, 1, &v, &n, st)) return NULL;
  char *s = v[0];
  free(v);
  return s;
}

int h5u_attr_strings(hid_t loc, const char *name, const char *label, const char *obj, char ***out,
                     int *n, nnc_status *st) {
  return attr_strings(loc, name, label, obj, 0, out, n, st);
}

void h5u_strings_free(char **s, int n) {
  for (int i = 0; s && i < n; i++) free(s[i]);
  free(s);
}

int h5u_read_dataset(hid_t loc, const char *path, const char *label, nnc_array *out,
                     nnc_status *st) {
  memset(out, 0, sizeof *out);
  if (!h5u_exists(loc, path))
    return nnc_fail(st, NNC_ERR_DATA, "%s: %s: no such dataset", label, path);
  hid_t d = H5Dopen2(loc, path, dataset_access_list());
  if (d < 0)
    return nnc_fail(st, NNC_ERR_DATA,
                    "%s: %s: not a dataset (or reached through an external link, which is not "
                    "followed)",
                    label, path);
  /* data kept in other files (external storage, virtual datasets) is refused
   * like external links */
  hid_t dcpl = H5Dget_create_plist(d);
  int external = dcpl < 0 || H5Pget_external_count(dcpl) != 0 || H5Pget_layout(dcpl) == H5D_VIRTUAL;
  if (dcpl >= 0) H5Pclose(dcpl);
  if (external) {
    H5Dclose(d);
    return nnc_fail(st, NNC_ERR_DATA,
                    "%s: %s: its data lives outside the file (external storage or a virtual "
                    "dataset): not read",
                    label, path);
  }
  hid_t type = H5Dget_type(d), space = H5Dget_space(d);
  int rank = H5Sget_simple_extent_ndims(space), rc = NNC_OK;
  hsize_t dims[NNC_MAX_RANK];
  H5T_class_t cls = H5Tget_class(type);
  size_t size = H5Tget_size(type);
  hid_t mem = -1;
  if (rank < 0 || rank > NNC_MAX_RANK) {
    rc =
        nnc_fail(st, NNC_ERR_DATA, "%s: %s: rank %d (at most %d)", label, path, rank, NNC_MAX_RANK);
  } else if (cls == H5T_FLOAT && (size == 4 || size == 8)) {
    out->dtype = size == 4 ? NNC_F32 : NNC_F64;
    mem = size == 4 ? H5T_NATIVE_FLOAT : H5T_NATIVE_DOUBLE;
  } else if (cls == H5T_INTEGER && (size == 4 || size == 8) && H5Tget_sign(type) == H5T_SGN_2) {
    out->dtype = size == 4 ? NNC_I32 : NNC_I64;
    mem = size == 4 ? H5T_NATIVE_INT32 : H5T_NATIVE_INT64;
  } else {
    rc = nnc_fail(st, NNC_ERR_DATA,
                  "%s: %s: a dataset of %zu-byte %s values (float32/64 and int32/64 are read)",
                  label, path, size,
                  cls == H5T_FLOAT     ? "float"
                  : cls == H5T_INTEGER ? "integer"
                                       : "other");
  }
  int64_t count = 1;
  if (!rc) {
    H5Sget_simple_extent_dims(space, dims, NULL);
    out->rank = rank;
    for (int i = 0; i < rank && !rc; i++) {
      if (dims[i] > (hsize_t)INT64_MAX / 8 || (count && (int64_t)dims[i] > INT64_MAX / 8 / count))
        rc = nnc_fail(st, NNC_ERR_DATA, "%s: %s: its dimensions overflow", label, path);
      else
        count *= (int64_t)(out->shape[i] = (int64_t)dims[i]);
    }
    /* a dataset declares its size: memory is taken only for bytes the file
     * holds (Keras stores weights uncompressed; 1024x leaves room for a
     * compressed chunked one) */
    hsize_t stored = rc ? 0 : H5Dget_storage_size(d);
    if (!rc && (uint64_t)count * size > (uint64_t)stored * 1024 + 4096)
      rc = nnc_fail(st, NNC_ERR_DATA,
                    "%s: %s: declares %lld values but the file stores %llu bytes of them", label,
                    path, (long long)count, (unsigned long long)stored);
    if (!rc) {
      out->data = nnc_calloc((size_t)count + 1, nnc_dtype_size(out->dtype), st);
      if (!out->data) rc = st->code;
    }
  }
  if (!rc && count > 0 && H5Dread(d, mem, H5S_ALL, H5S_ALL, H5P_DEFAULT, out->data) < 0)
    rc = nnc_fail(st, NNC_ERR_DATA, "%s: %s: its data cannot be read (truncated file?)", label,
                  path);
  if (rc) nnc_array_free(out);
  H5Sclose(space);
  H5Tclose(type);
  H5Dclose(d);
  return rc;
}

typedef struct link_list {
  char **names;
  int n, cap;
  nnc_status *st;
  int rc;
} link_list;

static herr_t add_link(hid_t g, const char *name, const H5L_info_t *info, void *data) {
  (void)g;
  (void)info;
  link_list *l = data;
  if (l->n == l->cap) {
    int cap = l->cap ? 2 * l->cap : 16;
    char **grown = nnc_realloc_array(l->names, (size_t)cap, sizeof *grown, l->st);
    if (!grown) return (herr_t)(l->rc = l->st->code, -1);
    l->names = grown;
    l->cap = cap;
  }
  if (!(l->names[l->n] = nnc_calloc(strlen(name) + 1, 1, l->st)))
    return (herr_t)(l->rc = l->st->code, -1);
  strcpy(l->names[l->n++], name);
  return 0;
}

int h5u_list(hid_t loc, const char *path, const char *label, char ***out, int *n, nnc_status *st) {
  *out = NULL;
  *n = 0;
  if (path[0] && strcmp(path, "/") && !h5u_exists(loc, path))
    return nnc_fail(st, NNC_ERR_DATA, "%s: %s: no such group", label, path);
  hid_t g = H5Gopen2(loc, path[0] ? path : "/", h5u_group_access());
  if (g < 0) return nnc_fail(st, NNC_ERR_DATA, "%s: %s: not a group", label, path);
  link_list l = {NULL, 0, 0, st, NNC_OK};
  hsize_t idx = 0;
  herr_t e = H5Literate(g, H5_INDEX_NAME, H5_ITER_INC, &idx, add_link, &l);
  H5Gclose(g);
  if (e < 0 || l.rc) {
    h5u_strings_free(l.names, l.n);
    return l.rc ? l.rc
                : nnc_fail(st, NNC_ERR_DATA, "%s: %s: its links cannot be read", label, path);
  }
  *out = l.names;
  *n = l.n;
  return NNC_OK;
}
