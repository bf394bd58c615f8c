/* Event protobufs for TensorBoard, encoded by hand (see tb_event.h). */
#include "runtime/io/tb_event.h"

#include <string.h>

static void put(pb_buf *b, const void *data, size_t n) {
  if (!n) return;
  if (b->failed || n > sizeof b->data - b->n) {
    b->failed = 1;
    return;
  }
  memcpy(b->data + b->n, data, n);
  b->n += n;
}

void pb_varint(pb_buf *b, uint64_t v) {
  unsigned char tmp[10];
  size_t n = 0;
  do {
    tmp[n] = (unsigned char)(v & 0x7F);
    v >>= 7;
    if (v) tmp[n] |= 0x80;
    n++;
  } while (v);
  put(b, tmp, n);
}

void pb_key(pb_buf *b, int field, int wire_type) {
  pb_varint(b, (uint64_t)field << 3 | (uint64_t)wire_type);
}

void pb_bytes(pb_buf *b, int field, const void *data, size_t n) {
  pb_key(b, field, 2);
  pb_varint(b, n);
  put(b, data, n);
}

static void put_le(pb_buf *b, uint64_t v, int bytes) {
  unsigned char tmp[8];
  for (int i = 0; i < bytes; i++) tmp[i] = (unsigned char)(v >> (8 * i));
  put(b, tmp, (size_t)bytes);
}

void pb_double(pb_buf *b, int field, double v) {
  uint64_t bits;
  memcpy(&bits, &v, sizeof bits);
  pb_key(b, field, 1);
  put_le(b, bits, 8);
}

/* a nested message: its bytes as a length-delimited field of b */
static void pb_message(pb_buf *b, int field, const pb_buf *msg) {
  if (msg->failed) b->failed = 1;
  pb_bytes(b, field, msg->data, msg->n);
}

int tb_event_file_version(pb_buf *out, double wall_time) {
  static const char version[] = "brain.Event:2";
  out->n = 0;
  out->failed = 0;
  pb_double(out, 1, wall_time);
  pb_bytes(out, 3, version, sizeof version - 1);
  return out->failed ? -1 : 0;
}

int tb_event_scalar(pb_buf *out, double wall_time, int64_t step, const char *tag, float value) {
  static const char plugin[] = "scalars";
  size_t tag_len = strlen(tag);
  out->n = 0;
  out->failed = 0;
  if (tag_len > TB_TAG_MAX) return -1;
  pb_buf tensor = {.n = 0}, plugin_data = {.n = 0}, metadata = {.n = 0}, value_msg = {.n = 0},
         summary = {.n = 0};
  uint32_t bits;
  memcpy(&bits, &value, sizeof bits);
  unsigned char content[4];
  for (int i = 0; i < 4; i++) content[i] = (unsigned char)(bits >> (8 * i));
  pb_key(&tensor, 1, 0); /* dtype: DT_FLOAT */
  pb_varint(&tensor, 1);
  pb_bytes(&tensor, 2, NULL, 0); /* tensor_shape {}: rank 0 */
  pb_bytes(&tensor, 4, content, sizeof content);

  pb_bytes(&plugin_data, 1, plugin, sizeof plugin - 1);
  pb_message(&metadata, 1, &plugin_data);
  pb_key(&metadata, 4, 0); /* data_class: DATA_CLASS_SCALAR */
  pb_varint(&metadata, 1);

  pb_bytes(&value_msg, 1, tag, tag_len);
  pb_message(&value_msg, 8, &tensor);
  pb_message(&value_msg, 9, &metadata);
  pb_message(&summary, 1, &value_msg);

  pb_double(out, 1, wall_time);
  if (step) { /* proto3: a zero int64 is not written */
    pb_key(out, 2, 0);
    pb_varint(out, (uint64_t)step);
  }
  pb_message(out, 5, &summary);
  return out->failed ? -1 : 0;
}
