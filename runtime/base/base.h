/* Internal helpers shared by the compiler and the runtime: status reporting,
 * checked allocation, small string utilities. Not part of the public API. */
#ifndef NNC_BASE_H
#define NNC_BASE_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "nnc.h"

/* Fill st (may be NULL) with code and a printf-style message; returns code so
 * callers can write `return nnc_fail(st, NNC_ERR_SPEC, "...")`. */
int nnc_fail(nnc_status *st, nnc_code code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void nnc_status_ok(nnc_status *st);

/* Prefix an existing message ("context: message"), keeping the code. */
int nnc_fail_prefix(nnc_status *st, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* calloc/realloc that report NNC_ERR_NOMEM through st instead of crashing. */
void *nnc_calloc(size_t n, size_t size, nnc_status *st);
void *nnc_realloc_array(void *p, size_t n, size_t size, nnc_status *st);

/* Bounded copy that always terminates dst. */
void nnc_strlcpy(char *dst, const char *src, size_t dst_size);

/* Read a whole file into a NUL-terminated buffer (free with free()). */
char *nnc_read_file(const char *path, size_t *len_out, nnc_status *st);

/* Write len bytes to path atomically: a temporary file in the same folder,
 * then rename, so a failure never damages the file the user had. */
int nnc_write_file_atomic(const char *path, const void *data, size_t len, nnc_status *st);

#endif
