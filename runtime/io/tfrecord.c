/* TFRecord framing with masked CRC32C (see tfrecord.h). The CRC table is
 * built once on first use (a byte at a time: event files are small). */
#include "runtime/io/tfrecord.h"

#include <pthread.h>

static uint32_t crc_table[256];
static pthread_once_t crc_once = PTHREAD_ONCE_INIT;

static void crc_table_init(void) {
  for (uint32_t i = 0; i < 256; i++) {
    uint32_t c = i;
    for (int k = 0; k < 8; k++) c = c & 1 ? (c >> 1) ^ 0x82F63B78u : c >> 1;
    crc_table[i] = c;
  }
}

uint32_t tfrecord_crc32c(uint32_t crc, const void *data, size_t n) {
  pthread_once(&crc_once, crc_table_init);
  const unsigned char *p = data;
  crc = ~crc;
  for (size_t i = 0; i < n; i++) crc = crc_table[(crc ^ p[i]) & 0xFF] ^ (crc >> 8);
  return ~crc;
}

uint32_t tfrecord_mask(uint32_t crc) {
  return ((crc >> 15) | (crc << 17)) + 0xa282ead8u;
}

static void put_le(unsigned char *out, uint64_t v, int bytes) {
  for (int i = 0; i < bytes; i++) out[i] = (unsigned char)(v >> (8 * i));
}

int tfrecord_write(FILE *f, const void *data, size_t n) {
  unsigned char head[12], tail[4];
  put_le(head, (uint64_t)n, 8);
  put_le(head + 8, tfrecord_mask(tfrecord_crc32c(0, head, 8)), 4);
  put_le(tail, tfrecord_mask(tfrecord_crc32c(0, data, n)), 4);
  if (fwrite(head, 1, sizeof head, f) != sizeof head) return -1;
  if (n && fwrite(data, 1, n, f) != n) return -1;
  if (fwrite(tail, 1, sizeof tail, f) != sizeof tail) return -1;
  return 0;
}
