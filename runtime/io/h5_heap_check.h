/* The global heaps of an HDF5 file checked before libhdf5 reads it: every
 * heap object within its collection and every collection within the file,
 * and every variable-length descriptor no longer than the object it names
 * (h5_heap_check.c says why). A file that is no HDF5 is left to libhdf5. */
#ifndef NNC_H5_HEAP_CHECK_H
#define NNC_H5_HEAP_CHECK_H

#include <stddef.h>

#include "nnc.h"

/* NNC_OK, or NNC_ERR_DATA with "LABEL: what is damaged". */
int h5_heap_check(const void *bytes, size_t len, const char *label, nnc_status *st);

#endif
