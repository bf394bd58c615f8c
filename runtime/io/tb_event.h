/* TensorBoard Event protobufs written by hand (tensorflow/core/util/event.proto,
 * summary.proto, tensor.proto): only the fields TF2's summary writer sets for
 * the file header and for tf.summary.scalar. Field numbers used:
 *   Event:   wall_time 1 (double), step 2 (int64), file_version 3 (string),
 *            summary 5 (Summary)
 *   Summary: value 1 (Value);  Value: tag 1, tensor 8 (TensorProto),
 *            metadata 9 (SummaryMetadata)
 *   SummaryMetadata: plugin_data 1 (PluginData: plugin_name 1), data_class 4
 *   TensorProto: dtype 1 (DT_FLOAT = 1), tensor_shape 2 (empty: a scalar),
 *            tensor_content 4 (4 bytes, little-endian float32)
 * Fields are written in field-number order, as protobuf's C++ serializer does. */
#ifndef NNC_IO_TB_EVENT_H
#define NNC_IO_TB_EVENT_H

#include <stddef.h>
#include <stdint.h>

enum { TB_EVENT_MAX = 1024, TB_TAG_MAX = 512 };

/* A protobuf message being built in a fixed buffer; `failed` once it would
 * overflow (nothing more is written). */
typedef struct pb_buf {
  unsigned char data[TB_EVENT_MAX];
  size_t n;
  int failed;
} pb_buf;

void pb_varint(pb_buf *b, uint64_t v);
void pb_key(pb_buf *b, int field, int wire_type); /* wire 0 varint, 1 fixed64, 2 bytes, 5 fixed32 */
void pb_bytes(pb_buf *b, int field, const void *data, size_t n);
void pb_double(pb_buf *b, int field, double v);

/* The first event of a file: wall_time (whole seconds, as TF writes it) and
 * file_version "brain.Event:2". 0, or -1 when it does not fit. */
int tb_event_file_version(pb_buf *out, double wall_time);
/* tf.summary.scalar(tag, value, step): the value as a float32 scalar tensor
 * with the "scalars" plugin's metadata. -1 when tag is longer than TB_TAG_MAX. */
int tb_event_scalar(pb_buf *out, double wall_time, int64_t step, const char *tag, float value);

#endif
