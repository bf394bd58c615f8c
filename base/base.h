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
/* Zeroed and aligned to a cache line (NNC_LINE bytes): regions the
 * kernels split among threads by columns, where a line shared by two
 * threads' columns would move between the cores at every write. Freed with
 * free(). */
#define NNC_LINE 64
void *nnc_calloc_lines(size_t n, size_t size, nnc_status *st);
/* n floats rounded up to whole lines: where the next buffer, parameter or
 * slot of a region starts. */
#define NNC_LINE_FLOATS (NNC_LINE / (int64_t)sizeof(float))
static inline int64_t nnc_floats_on_lines(int64_t n) {
  return (n + NNC_LINE_FLOATS - 1) / NNC_LINE_FLOATS * NNC_LINE_FLOATS;
}
/* The same, not zeroed (its pages untouched until used). */
void *nnc_alloc_lines(size_t n, size_t size, nnc_status *st);

/* NNC_ERR_NOMEM ("<what> need N GiB of memory, more than the M GiB this
 * machine has") when bytes exceed the physical memory or the process's
 * ulimit -v/-d: a model too large is refused before it is allocated, not
 * killed by the OOM killer once its pages are touched. */
int nnc_memory_check(double bytes, const char *what, nnc_status *st);

/* Heap on transparent huge pages (base/huge_heap.c): enable is process
 * policy, called by the nnc command alone, before anything allocates; a
 * thread the library starts for heavy allocation (a compile part) calls
 * nnc_huge_heap_thread first. Both do nothing unless enabled, and nothing in
 * sanitizer builds. */
void nnc_huge_heap_enable(void);
void nnc_huge_heap_thread(void);

/* Bounded copy that always terminates dst. */
void nnc_strlcpy(char *dst, const char *src, size_t dst_size);

/* A path (or any text) short enough for a message that must still say what
 * went wrong after it (status messages hold 1023 bytes): up to max bytes
 * (at most NNC_PATH_BRIEF) as it is, a longer one as its first and last
 * bytes around "...". buf holds NNC_PATH_BRIEF + 1 bytes. */
#define NNC_PATH_BRIEF 400
const char *nnc_path_brief(const char *path, size_t max, char buf[NNC_PATH_BRIEF + 1]);

/* The largest spec or JSON file nnc_read_file accepts (docs/spec.md says so). */
#define NNC_MAX_JSON_FILE_BYTES ((size_t)256 << 20)

/* Open path for reading. Regular files (*size_out = their size) and pipes
 * (*size_out = -1: `<(cat x.npy)`, read until the writer closes) are read;
 * anything else (a device such as /dev/zero, a directory, a socket) is refused
 * with NNC_ERR_IO "PATH: not a regular file (...)", since reading it need not
 * end. Returns the descriptor, or -1 with st filled. */
int nnc_open_input(const char *path, int64_t *size_out, nnc_status *st);

/* read() until want bytes or end of file (*got says how many), retrying on
 * EINTR. 0, or -1 with errno set. */
int nnc_read_fd(int fd, void *dst, size_t want, size_t *got);

/* Read a whole file into a NUL-terminated buffer (free with free()); a file
 * larger than NNC_MAX_JSON_FILE_BYTES (or cap) is refused with NNC_ERR_IO
 * without reading more than one byte past the limit. */
char *nnc_read_file(const char *path, size_t *len_out, nnc_status *st);
char *nnc_read_file_capped(const char *path, size_t cap, size_t *len_out, nnc_status *st);

/* Write len bytes to path so that a failure never damages what was there:
 * a regular file (or a new path) is replaced atomically (a temporary
 * "PATH.tmp.<pid>.<n>" in the same folder, fsynced, renamed over it, then
 * the folder fsynced; the old permission bits are kept); a symlink is
 * followed and its target replaced that way; a device or FIFO is written
 * through, never replaced. Errors: NNC_ERR_WRITE "PATH: cannot write: ...",
 * with the old file intact and no temporary file left. */
int nnc_write_file_atomic(const char *path, const void *data, size_t len, nnc_status *st);

/* For a SIGINT/SIGTERM handler (the library installs none): unlink the
 * temporary file of every write in progress. Async-signal-safe. A SIGKILL
 * cannot be caught: its PATH.tmp.* stays, and later writes step over it. */
void nnc_remove_temp_files_on_signal(void);

/* 1 when the JSON text (len bytes) holds an escaped NUL, "\u0000", in any
 * string: JSON libraries built on C strings (cJSON) cut the string there, so
 * the name they report differs from what the author wrote. An escaped
 * backslash followed by "u0000" ("\\u0000") is not one. 0 otherwise. */
int json_text_has_nul_escape(const char *text, size_t len);
/* The byte offset of the first such escape's backslash, or SIZE_MAX. */
size_t json_text_find_nul_escape(const char *text, size_t len);

/* CLOCK_MONOTONIC in seconds (durations: the progress bar, the step tuner) */
double nnc_monotonic_seconds(void);

#endif
