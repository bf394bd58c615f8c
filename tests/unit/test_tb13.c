/* TensorBoard event files (runtime/io/tfrecord.c, tb_event.c,
 * runtime/callbacks/tensorboard.c): CRC32C against RFC 3720's vectors, the
 * mask against hand-rotated values and the 12 bytes every TF event file
 * starts with, varint edge cases, and Events decoded by a small protobuf
 * reader written here from the wire-format spec. */
#include <check.h>
#include <dirent.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cb_testutil.h"
#include "runtime/io/tb_event.h"
#include "runtime/io/tfrecord.h"
#include "testutil.h"

extern const cb_class cb_tensorboard;

static uint32_t crc_of(const void *p, size_t n) {
  return tfrecord_crc32c(0, p, n);
}

START_TEST(crc32c_rfc3720_vectors) {
  unsigned char buf[32];
  memset(buf, 0, sizeof buf); /* RFC 3720 B.4: 32 bytes of zeros */
  ck_assert_uint_eq(crc_of(buf, 32), 0x8A9136AAu);
  memset(buf, 0xFF, sizeof buf);
  ck_assert_uint_eq(crc_of(buf, 32), 0x62A8AB43u);
  for (int i = 0; i < 32; i++) buf[i] = (unsigned char)i;
  ck_assert_uint_eq(crc_of(buf, 32), 0x46DD794Eu);
  for (int i = 0; i < 32; i++) buf[i] = (unsigned char)(31 - i);
  ck_assert_uint_eq(crc_of(buf, 32), 0x113FDB5Cu);
  ck_assert_uint_eq(crc_of("123456789", 9), 0xE3069283u); /* the CRC catalogue's check value */
  ck_assert_uint_eq(crc_of("", 0), 0);
  /* continuing a CRC over a split buffer gives the whole buffer's */
  ck_assert_uint_eq(tfrecord_crc32c(crc_of("1234", 4), "56789", 5), 0xE3069283u);
}
END_TEST

START_TEST(mask_by_hand) {
  /* rotate right by 15, add 0xa282ead8 (mod 2^32) */
  ck_assert_uint_eq(tfrecord_mask(0), 0xa282ead8u);
  ck_assert_uint_eq(tfrecord_mask(0x8000u), 0xa282ead9u);
  ck_assert_uint_eq(tfrecord_mask(1), 0xa282ead8u + 0x20000u);
  ck_assert_uint_eq(tfrecord_mask(0xFFFFFFFFu), 0xa282ead7u); /* wraps */
}
END_TEST

/* The first record of a TF event file is 24 bytes, and every such file
 * starts 18 00 00 00 00 00 00 00 a3 7f 4b 22. */
START_TEST(record_framing) {
  char *mem = NULL;
  size_t size = 0;
  FILE *f = open_memstream(&mem, &size);
  ck_assert_ptr_nonnull(f);
  pb_buf b;
  ck_assert_int_eq(tb_event_file_version(&b, 1700000000.0), 0);
  ck_assert_uint_eq(b.n, 24);
  ck_assert_int_eq(tfrecord_write(f, b.data, b.n), 0);
  fclose(f);
  ck_assert_uint_eq(size, 8 + 4 + 24 + 4);
  static const unsigned char head[12] = {0x18, 0, 0, 0, 0, 0, 0, 0, 0xa3, 0x7f, 0x4b, 0x22};
  ck_assert_int_eq(memcmp(mem, head, 12), 0);
  uint32_t tail = (uint32_t)(unsigned char)mem[36] | (uint32_t)(unsigned char)mem[37] << 8 |
                  (uint32_t)(unsigned char)mem[38] << 16 | (uint32_t)(unsigned char)mem[39] << 24;
  ck_assert_uint_eq(tail, tfrecord_mask(crc_of(mem + 12, 24)));
  free(mem);
}
END_TEST

static size_t varint_bytes(uint64_t v, unsigned char *out) {
  pb_buf b = {.n = 0};
  pb_varint(&b, v);
  memcpy(out, b.data, b.n);
  return b.n;
}

START_TEST(varint_edges) {
  unsigned char o[16];
  ck_assert_uint_eq(varint_bytes(0, o), 1);
  ck_assert_uint_eq(o[0], 0);
  ck_assert_uint_eq(varint_bytes(127, o), 1);
  ck_assert_uint_eq(o[0], 0x7f);
  ck_assert_uint_eq(varint_bytes(128, o), 2);
  ck_assert(o[0] == 0x80 && o[1] == 0x01);
  ck_assert_uint_eq(varint_bytes(300, o), 2); /* the protobuf docs' example */
  ck_assert(o[0] == 0xac && o[1] == 0x02);
  ck_assert_uint_eq(varint_bytes(1ull << 63, o), 10);
  for (int i = 0; i < 9; i++) ck_assert_uint_eq(o[i], 0x80);
  ck_assert_uint_eq(o[9], 0x01);
  ck_assert_uint_eq(varint_bytes(UINT64_MAX, o), 10);
  for (int i = 0; i < 9; i++) ck_assert_uint_eq(o[i], 0xff);
  ck_assert_uint_eq(o[9], 0x01);
  /* a full buffer fails instead of overflowing */
  pb_buf b = {.n = 0};
  char big[TB_EVENT_MAX];
  memset(big, 'x', sizeof big);
  pb_bytes(&b, 1, big, sizeof big);
  ck_assert(b.failed);
  ck_assert_uint_eq(b.n, 3); /* the key and length went in, nothing after */
}
END_TEST

/* ---- a small protobuf reader: fields of one message ---- */
typedef struct field {
  int num, wire;
  uint64_t v;             /* varint / fixed value */
  const unsigned char *p; /* bytes (wire 2) */
  size_t n;
} field;

static uint64_t rd_varint(const unsigned char **p, const unsigned char *end) {
  uint64_t v = 0;
  for (int shift = 0; shift < 64; shift += 7) {
    ck_assert_msg(*p < end, "varint runs past the message");
    unsigned char c = *(*p)++;
    v |= (uint64_t)(c & 0x7f) << shift;
    if (!(c & 0x80)) return v;
  }
  ck_abort_msg("varint longer than 10 bytes");
  return 0;
}

/* the fields of msg, in order; returns their count */
static int fields(const unsigned char *msg, size_t len, field *out, int max) {
  const unsigned char *p = msg, *end = msg + len;
  int n = 0;
  while (p < end) {
    ck_assert_int_lt(n, max);
    uint64_t key = rd_varint(&p, end);
    field *f = &out[n++];
    f->num = (int)(key >> 3);
    f->wire = (int)(key & 7);
    if (f->wire == 0) {
      f->v = rd_varint(&p, end);
    } else if (f->wire == 1 || f->wire == 5) {
      int k = f->wire == 1 ? 8 : 4;
      ck_assert(end - p >= k);
      f->v = 0;
      for (int i = 0; i < k; i++) f->v |= (uint64_t)p[i] << (8 * i);
      p += k;
    } else {
      ck_assert_int_eq(f->wire, 2);
      f->n = (size_t)rd_varint(&p, end);
      ck_assert(f->n <= (size_t)(end - p));
      f->p = p;
      p += f->n;
    }
  }
  return n;
}

static double as_double(uint64_t bits) {
  double d;
  memcpy(&d, &bits, sizeof d);
  return d;
}

typedef struct scalar_event {
  double wall_time;
  int64_t step;
  char tag[600];
  float value;
} scalar_event;

/* Decode an Event holding one scalar summary; checks every field's meaning. */
static void decode_scalar(const unsigned char *msg, size_t len, scalar_event *e) {
  field ev[8], sum[4], val[8], ten[8], meta[8], plug[4];
  memset(e, 0, sizeof *e);
  int n = fields(msg, len, ev, 8), has_summary = 0;
  for (int i = 0; i < n; i++) {
    if (ev[i].num == 1 && ev[i].wire == 1) e->wall_time = as_double(ev[i].v);
    if (ev[i].num == 2 && ev[i].wire == 0) e->step = (int64_t)ev[i].v;
    if (ev[i].num != 5) continue;
    has_summary = 1;
    ck_assert_int_eq(fields(ev[i].p, ev[i].n, sum, 4), 1);
    ck_assert(sum[0].num == 1 && sum[0].wire == 2);
    int nv = fields(sum[0].p, sum[0].n, val, 8), has_tensor = 0, has_meta = 0;
    for (int j = 0; j < nv; j++) {
      if (val[j].num == 1) {
        ck_assert_uint_lt(val[j].n, sizeof e->tag);
        memcpy(e->tag, val[j].p, val[j].n);
      } else if (val[j].num == 8) {
        has_tensor = 1;
        int nt = fields(val[j].p, val[j].n, ten, 8), dtype = 0, shape = 0, content = 0;
        for (int k = 0; k < nt; k++) {
          if (ten[k].num == 1) dtype = (int)ten[k].v;
          if (ten[k].num == 2) {
            shape = 1;
            ck_assert_uint_eq(ten[k].n, 0); /* no dims: a scalar */
          }
          if (ten[k].num == 4) {
            ck_assert_uint_eq(ten[k].n, 4);
            uint32_t bits = (uint32_t)ten[k].p[0] | (uint32_t)ten[k].p[1] << 8 |
                            (uint32_t)ten[k].p[2] << 16 | (uint32_t)ten[k].p[3] << 24;
            memcpy(&e->value, &bits, 4);
            content = 1;
          }
        }
        ck_assert_int_eq(dtype, 1); /* DT_FLOAT */
        ck_assert(shape && content);
      } else if (val[j].num == 9) {
        has_meta = 1;
        int nm = fields(val[j].p, val[j].n, meta, 8), plugin = 0, data_class = 0;
        for (int k = 0; k < nm; k++) {
          if (meta[k].num == 4) data_class = (int)meta[k].v;
          if (meta[k].num != 1) continue;
          ck_assert_int_eq(fields(meta[k].p, meta[k].n, plug, 4), 1);
          ck_assert_int_eq(plug[0].num, 1);
          ck_assert_uint_eq(plug[0].n, 7);
          ck_assert_int_eq(memcmp(plug[0].p, "scalars", 7), 0);
          plugin = 1;
        }
        ck_assert(plugin);
        ck_assert_int_eq(data_class, 1); /* DATA_CLASS_SCALAR */
      } else {
        ck_abort_msg("unexpected Summary.Value field %d", val[j].num);
      }
    }
    ck_assert(has_tensor && has_meta);
  }
  ck_assert(has_summary);
}

START_TEST(scalar_event_decodes) {
  pb_buf b;
  ck_assert_int_eq(tb_event_scalar(&b, 1700000000.25, 7, "epoch_loss", 0.1f), 0);
  scalar_event e;
  decode_scalar(b.data, b.n, &e);
  ck_assert(e.wall_time == 1700000000.25);
  ck_assert_int_eq(e.step, 7);
  ck_assert_str_eq(e.tag, "epoch_loss");
  ck_assert(e.value == 0.1f);
  /* step 0 is not written (proto3 default) and still reads as 0; a large step */
  ck_assert_int_eq(tb_event_scalar(&b, 1.0, 0, "t", -INFINITY), 0);
  decode_scalar(b.data, b.n, &e);
  ck_assert_int_eq(e.step, 0);
  ck_assert(isinf(e.value) && e.value < 0);
  ck_assert_int_eq(tb_event_scalar(&b, 1.0, (int64_t)1 << 40, "t", NAN), 0);
  decode_scalar(b.data, b.n, &e);
  ck_assert_int_eq(e.step, (int64_t)1 << 40);
  ck_assert(isnan(e.value));
  /* the file header: wall_time and file_version only */
  field f[4];
  ck_assert_int_eq(tb_event_file_version(&b, 5.0), 0);
  ck_assert_int_eq(fields(b.data, b.n, f, 4), 2);
  ck_assert(f[0].num == 1 && as_double(f[0].v) == 5.0);
  ck_assert(f[1].num == 3 && f[1].n == 13 && !memcmp(f[1].p, "brain.Event:2", 13));
  /* a tag too long for an event is refused, not cut */
  char tag[TB_TAG_MAX + 2];
  memset(tag, 'a', sizeof tag - 1);
  tag[sizeof tag - 1] = '\0';
  ck_assert_int_eq(tb_event_scalar(&b, 1.0, 1, tag, 1.0f), -1);
  tag[TB_TAG_MAX] = '\0';
  ck_assert_int_eq(tb_event_scalar(&b, 1.0, 1, tag, 1.0f), 0);
}
END_TEST

/* ---- the callback, its hooks called by hand ---- */

/* The records of the one event file in dir: their data, CRCs checked. */
static int read_records(const char *dir, unsigned char **recs, size_t *lens, int max) {
  DIR *d = opendir(dir);
  ck_assert_msg(d != NULL, "%s: no folder", dir);
  struct dirent *de;
  char path[1024] = "";
  int files = 0;
  while ((de = readdir(d)))
    if (!strncmp(de->d_name, "events.out.tfevents.", 20)) {
      size_t k = strlen(de->d_name);
      ck_assert(k > 3 && !strcmp(de->d_name + k - 3, ".v2"));
      snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
      files++;
    }
  closedir(d);
  ck_assert_int_eq(files, 1);
  FILE *f = fopen(path, "rb");
  ck_assert_ptr_nonnull(f);
  int n = 0;
  unsigned char head[12];
  while (fread(head, 1, 12, f) == 12) {
    ck_assert_int_lt(n, max);
    uint64_t len = 0;
    for (int i = 0; i < 8; i++) len |= (uint64_t)head[i] << (8 * i);
    uint32_t c = (uint32_t)head[8] | (uint32_t)head[9] << 8 | (uint32_t)head[10] << 16 |
                 (uint32_t)head[11] << 24;
    ck_assert_uint_eq(c, tfrecord_mask(crc_of(head, 8)));
    ck_assert(len < 4096);
    recs[n] = malloc(len + 4);
    ck_assert_uint_eq(fread(recs[n], 1, len + 4, f), len + 4);
    const unsigned char *t = recs[n] + len;
    c = (uint32_t)t[0] | (uint32_t)t[1] << 8 | (uint32_t)t[2] << 16 | (uint32_t)t[3] << 24;
    ck_assert_uint_eq(c, tfrecord_mask(crc_of(recs[n], len)));
    lens[n++] = len;
  }
  fclose(f);
  return n;
}

static void free_records(unsigned char **recs, int n) {
  for (int i = 0; i < n; i++) free(recs[i]);
}

START_TEST(callback_writes_keras_tags) {
  char dir[512];
  snprintf(dir, sizeof dir, "%s/tb13_cb/a b/logs", testutil_tmpdir()); /* created with parents */
  nnc_model *m = cbt_model();
  cb_arg args[] = {cbt_str("log_dir", dir), cbt_str("update_freq", "epoch")};
  nnc_callback *cb = cbt_create(&cb_tensorboard, args, 2);
  ck_assert_ptr_null(cb->on_batch_end); /* no batch hook: fit builds no running logs */
  cbt_train_begin(cb, m);
  nnc_logs logs = {0};
  nnc_status st;
  for (int epoch = 0; epoch < 2; epoch++) {
    logs.n = 0;
    ck_assert_int_eq(nnc_logs_set(&logs, "loss", 0.5 / (epoch + 1), &st), 0);
    ck_assert_int_eq(nnc_logs_set(&logs, "accuracy", 0.25, &st), 0);
    if (epoch == 1) ck_assert_int_eq(nnc_logs_set(&logs, "val_loss", 0.75, &st), 0);
    m->iterations = 10 * (epoch + 1);
    cbt_epoch_end(cb, m, epoch, &logs);
  }
  cbt_train_end(cb, m);
  nnc_logs_free(&logs);
  unsigned char *recs[16];
  size_t lens[16];
  char sub[600];
  snprintf(sub, sizeof sub, "%s/train", dir);
  int n = read_records(sub, recs, lens, 16);
  ck_assert_int_eq(n, 1 + 2 * 3);
  static const char *const tags[] = {"epoch_loss", "epoch_accuracy", "epoch_learning_rate"};
  for (int i = 1; i < n; i++) {
    scalar_event e;
    decode_scalar(recs[i], lens[i], &e);
    ck_assert_str_eq(e.tag, tags[(i - 1) % 3]);
    ck_assert_int_eq(e.step, (i - 1) / 3);
    double want = (i - 1) % 3 == 0 ? 0.5 / ((i - 1) / 3 + 1) : (i - 1) % 3 == 1 ? 0.25 : 0.1;
    ck_assert(e.value == (float)want); /* SGD(0.1): the optimizer's learning rate */
  }
  free_records(recs, n);
  snprintf(sub, sizeof sub, "%s/validation", dir);
  n = read_records(sub, recs, lens, 16);
  ck_assert_int_eq(n, 3);
  scalar_event e;
  decode_scalar(recs[1], lens[1], &e);
  ck_assert_str_eq(e.tag, "evaluation_loss_vs_iterations");
  ck_assert_int_eq(e.step, 20);
  ck_assert(e.value == 0.75f);
  decode_scalar(recs[2], lens[2], &e);
  ck_assert_str_eq(e.tag, "epoch_loss");
  ck_assert_int_eq(e.step, 1);
  free_records(recs, n);
  cbt_free(cb);
  nnc_model_free(m);
}
END_TEST

START_TEST(callback_refuses_what_it_cannot_write) {
  nnc_status st;
  struct {
    cb_arg a;
    const char *says;
  } bad[] = {
      {cbt_num("histogram_freq", 1), "histograms"},
      {cbt_num("histogram_freq", -1), "non-negative integer"},
      {cbt_num("embeddings_freq", 2), "embeddings"},
      {cbt_num("profile_batch", 3), "profile"},
      {cbt_str("profile_batch", "2,4"), "profile"},
      {cbt_str("embeddings_metadata", "m.tsv"), "embeddings"},
      {cbt_num("update_freq", 0), "positive integer"},
      {cbt_num("update_freq", 2.5), "positive integer"},
      {cbt_str("update_freq", "epochs"), "\"epoch\", \"batch\""},
      {cbt_str("log_dir", ""), "non-empty 'log_dir'"},
      {cbt_num("write_graph", 2), "write_graph"},
      {cbt_num("histogram", 1), "has no argument"},
  };
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    ck_assert_int_eq(cbt_create_fails(&cb_tensorboard, &bad[i].a, 1, &st), NNC_ERR_ARG);
    ck_assert_msg(strstr(st.message, bad[i].says), "%zu: %s", i, st.message);
  }
  /* what Keras accepts and nnc honours or Keras ignores too */
  cb_arg ok[] = {cbt_num("histogram_freq", 0),    cbt_bool("write_graph", 1),
                 cbt_bool("write_images", 0),     cbt_num("profile_batch", 0),
                 cbt_null("embeddings_metadata"), cbt_str("update_freq", "batch")};
  nnc_callback *cb = cbt_create(&cb_tensorboard, ok, 6);
  ck_assert_ptr_nonnull(cb->on_batch_end);
  cbt_free(cb);
}
END_TEST

START_TEST(unwritable_log_dir_is_reported) {
  char dir[512];
  snprintf(dir, sizeof dir, "%s/tb13_file", testutil_tmpdir());
  FILE *f = fopen(dir, "wb"); /* a file where the folder should be */
  ck_assert_ptr_nonnull(f);
  fputs("keep me", f);
  fclose(f);
  nnc_model *m = cbt_model();
  cb_arg a = cbt_str("log_dir", dir);
  nnc_callback *cb = cbt_create(&cb_tensorboard, &a, 1);
  nnc_logs logs = {0};
  nnc_status st;
  ck_assert_int_eq(cb->on_train_begin(cb, m, 0, &logs, &st), NNC_ERR_WRITE);
  ck_assert_msg(strstr(st.message, "TensorBoard: ") && strstr(st.message, "tb13_file"), "%s",
                st.message);
  cbt_free(cb);
  nnc_model_free(m);
  f = fopen(dir, "rb");
  char buf[16] = "";
  ck_assert_ptr_nonnull(fgets(buf, sizeof buf, f));
  fclose(f);
  ck_assert_str_eq(buf, "keep me"); /* untouched */
}
END_TEST

int main(void) {
  Suite *s = suite_create("tb13");
  TCase *tc = tcase_create("format");
  tcase_add_test(tc, crc32c_rfc3720_vectors);
  tcase_add_test(tc, mask_by_hand);
  tcase_add_test(tc, record_framing);
  tcase_add_test(tc, varint_edges);
  tcase_add_test(tc, scalar_event_decodes);
  suite_add_tcase(s, tc);
  TCase *cbs = tcase_create("callback");
  tcase_add_test(cbs, callback_writes_keras_tags);
  tcase_add_test(cbs, callback_refuses_what_it_cannot_write);
  tcase_add_test(cbs, unwritable_log_dir_is_reported);
  suite_add_tcase(s, cbs);
  return testutil_run(s);
}
