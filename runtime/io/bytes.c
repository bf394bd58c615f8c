#include "runtime/io/bytes.h"

#include <stdint.h>
#include <string.h>

int io_host_is_little_endian(void) {
  const uint16_t one = 1;
  unsigned char first;
  memcpy(&first, &one, 1);
  return first == 1;
}

void io_swap_each_element(void *data, size_t count, size_t elem_size) {
  unsigned char *p = data;
  for (size_t i = 0; i < count; i++, p += elem_size)
    for (size_t lo = 0, hi = elem_size - 1; lo < hi; lo++, hi--) {
      unsigned char t = p[lo];
      p[lo] = p[hi];
      p[hi] = t;
    }
}
