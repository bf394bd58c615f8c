/* TFRecord framing (TensorFlow's RecordWriter, as TensorBoard reads event
 * files): each record is
 *   uint64 length (little-endian), uint32 masked CRC32C of those 8 bytes,
 *   length bytes of data, uint32 masked CRC32C of the data.
 * CRC32C is the Castagnoli CRC (reflected polynomial 0x82F63B78, RFC 3720);
 * the mask rotates it right by 15 bits and adds 0xa282ead8, so a CRC of data
 * that holds CRCs does not degenerate. */
#ifndef NNC_IO_TFRECORD_H
#define NNC_IO_TFRECORD_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* The CRC32C of n bytes, continuing crc (0 to start). */
uint32_t tfrecord_crc32c(uint32_t crc, const void *data, size_t n);
uint32_t tfrecord_mask(uint32_t crc);
/* One record of n bytes into f: 0, or -1 with errno set by stdio. */
int tfrecord_write(FILE *f, const void *data, size_t n);

#endif
