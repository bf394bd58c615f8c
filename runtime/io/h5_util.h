/* Small helpers over libhdf5 for the Keras readers (h5_keras2.c,
 * h5_keras3.c): open a file or an in-memory image, read the string
 * attributes Keras writes in either encoding (fixed-length NULL-padded or
 * variable-length), read a dataset as an nnc_array, list a group's links.
 * Every failure fills st with "LABEL: OBJECT: what"; HDF5's own error stack
 * printing is turned off while these run. */
#ifndef NNC_H5_UTIL_H
#define NNC_H5_UTIL_H

#include "runtime/io/h5_api.h"

#include "runtime/io/io.h"

/* Open path read-only (-1 and st filled when it is no HDF5 file). */
hid_t h5u_open(const char *path, nnc_status *st);
/* Open len bytes of an HDF5 file image (copied by HDF5); label names it. */
hid_t h5u_open_image(const void *bytes, size_t len, const char *label, nnc_status *st);
void h5u_close(hid_t file);

/* Whether loc has a link (group or dataset) at path / an attribute named name. */
int h5u_exists(hid_t loc, const char *path);
int h5u_has_attr(hid_t loc, const char *name);

/* A scalar string attribute (either encoding) as a malloc'd C string. */
char *h5u_attr_string(hid_t loc, const char *name, const char *label, const char *obj,
                      nnc_status *st);
/* A 1-D string array attribute as *n malloc'd strings (*out malloc'd; free
 * with h5u_strings_free). An empty numeric array (Keras's weight_names of a
 * weightless layer) gives *n = 0. */
int h5u_attr_strings(hid_t loc, const char *name, const char *label, const char *obj, char ***out,
                     int *n, nnc_status *st);
void h5u_strings_free(char **s, int n);

/* The dataset at path under loc as float32/float64/int32/int64 (its own
 * type; other types are refused), shape as stored (a scalar has rank 0). */
int h5u_read_dataset(hid_t loc, const char *path, const char *label, nnc_array *out,
                     nnc_status *st);

/* The names of the links in the group at path under loc, in HDF5's name
 * order (*out malloc'd; free with h5u_strings_free). */
int h5u_list(hid_t loc, const char *path, const char *label, char ***out, int *n, nnc_status *st);

/* Turn off HDF5's printing of its error stack (once per thread is enough). */
void h5u_quiet(void);
/* Access lists for every traversal (H5Lexists/H5Oexists_by_name: link; H5Gopen2:
 * group): external links are refused, never followed. */
hid_t h5u_link_access(void);
hid_t h5u_group_access(void);

#endif
