/* base — shapes: a rank, dimensions and an optional symbolic batch
 * dimension. Shared by the compiler (node shapes) and the runtime (data). */
#ifndef NNC_SHAPE_H
#define NNC_SHAPE_H

#include <stddef.h>
#include <stdint.h>

#include "nnc.h"

typedef struct nnc_shape {
  int rank;
  int batched;                /* dims[0] is the symbolic batch dimension */
  int64_t dims[NNC_MAX_RANK]; /* dims[0] is -1 when batched */
} nnc_shape;

nnc_shape shape_make(int batched, int rank, const int64_t *dims);
nnc_shape shape_scalar(void);
int shape_equal(const nnc_shape *a, const nnc_shape *b);
int64_t shape_inner(const nnc_shape *s); /* elements per row if batched, else all;
                                          INT64_MAX if that overflows */
int64_t shape_last(const nnc_shape *s);
void shape_format(const nnc_shape *s, char *buf, size_t n);       /* "[B,784]" */
void shape_format_keras(const nnc_shape *s, char *buf, size_t n); /* "(None, 784)" */

#endif
