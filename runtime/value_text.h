/* One element of a host array as text, in the array's own dtype: messages
 * about bad labels and indices show the value the host passed, not its
 * float32 image (int64 4294967297 is not 4.29497e+09). */
#ifndef NNC_VALUE_TEXT_H
#define NNC_VALUE_TEXT_H

#include <stddef.h>
#include <stdint.h>

#include "nnc.h"

/* Element i of data (dtype) exactly: integers in full, floats in the
 * shortest decimal that reads back to the same value. When the float32 the
 * model sees (as_f32) is another number, " (as float32: V)" follows. */
void value_text(nnc_dtype dtype, const void *data, int64_t i, float as_f32, char *buf, size_t n);

#endif
