/* io_input: one input file of runtime/io, read front to back once, so that
 * the readers work on regular files and on pipes (`--x <(cat x.npy)`) alike
 * and never read more than their header announces. */
#ifndef NNC_IO_INPUT_H
#define NNC_IO_INPUT_H

#include <stddef.h>
#include <stdint.h>

#include "nnc.h"

typedef struct io_input {
  const char *path;
  int fd;
  int64_t size;            /* regular files: bytes in the file; pipes: -1 */
  uint64_t pos;            /* bytes handed out so far */
  unsigned char ahead[16]; /* bytes peeked at but not yet handed out */
  size_t ahead_len;
  const unsigned char *mem; /* io_input_open_memory: the bytes (fd is -1) */
  size_t mem_used;          /* bytes of mem read so far */
} io_input;

/* Open path (nnc_open_input: regular files and pipes only). */
int io_input_open(io_input *in, const char *path, nnc_status *st);
void io_input_close(io_input *in);

/* Read n bytes of memory (not copied; they must outlive in) as if they were
 * a regular file named path: a .npz member is parsed by the .npy reader so. */
void io_input_open_memory(io_input *in, const char *path, const void *bytes, size_t n);

/* Up to want bytes into dst; *got < want only at the end of the file. */
int io_input_read(io_input *in, void *dst, size_t want, size_t *got, nnc_status *st);

/* The first n (<= 16) bytes still to come, without consuming them. */
int io_input_peek(io_input *in, void *dst, size_t n, size_t *got, nnc_status *st);

/* Bytes left in a regular file, or -1 for a pipe (unknown). */
int64_t io_input_left(const io_input *in);

/* The next n bytes in a malloc'ed buffer (*got < n at the end of the file).
 * Memory grows with the data that arrives, not with n, so a forged length
 * costs no more than the bytes actually sent. */
void *io_input_read_alloc(io_input *in, size_t n, size_t *got, nnc_status *st);

/* *at_end = 1 if nothing follows (a pipe is probed by reading one byte). */
int io_input_at_end(io_input *in, int *at_end, nnc_status *st);

#endif
