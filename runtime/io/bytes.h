/* Byte-order helpers shared by the file readers and writers of runtime/io. */
#ifndef NNC_IO_BYTES_H
#define NNC_IO_BYTES_H

#include <stddef.h>

int io_host_is_little_endian(void);

/* Reverse the bytes of each of `count` elements of `elem_size` bytes. */
void io_swap_each_element(void *data, size_t count, size_t elem_size);

#endif
