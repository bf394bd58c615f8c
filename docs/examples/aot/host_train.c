/* Train the Fashion-MNIST MLP from an ahead-of-time object: no LLVM, no
 * compiler, only libnnc_runtime (docs/aot.md, docs/examples/aot/README.md).
 *
 *   nnc compile specs/fashion_mnist_mlp.json -o model.o --header model.h --prefix fmnist
 *   cc -I include host_train.c model.o -L build -lnnc_runtime -lm -lpthread -o host_train
 *   ./host_train DATA_DIR OUT_DIR [EPOCHS]
 *
 * DATA_DIR holds the four Fashion-MNIST idx files, uncompressed. Writes
 * OUT_DIR/history.json, OUT_DIR/weights.safetensors (as nnc fit
 * --weights-out), OUT_DIR/params.f32 (the parameter region, laid out as
 * model.h says, for host_predict) and OUT_DIR/predict.f32 (the test set's
 * logits, 10000 x 10 floats). Same seed and options as
 *   nnc fit specs/fashion_mnist_mlp.json --x-divide 255 --validation-split 0.1
 *       --epochs 2 --batch-size 32 --seed 1
 * so its History and weights equal that run's bit for bit. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model.h"
#include "nnc.h"
#include "nnc_program.h"

_Static_assert(FMNIST_PROGRAM_VERSION == NNC_PROGRAM_VERSION, "model.o is for another nnc");
_Static_assert(FMNIST_PROGRAM_TABLE_SIZE == sizeof(nnc_program_table), "another table layout");

/* An idx file (big-endian dims, unsigned bytes) as a U8 array. */
static int read_idx(const char *dir, const char *name, nnc_array *out) {
  char path[4096];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  FILE *f = fopen(path, "rb");
  unsigned char head[4];
  if (!f || fread(head, 1, 4, f) != 4 || head[0] || head[1] || head[2] != 8 || head[3] < 1 ||
      head[3] > 3) {
    fprintf(stderr, "host_train: %s: not an idx file of unsigned bytes\n", path);
    if (f) fclose(f);
    return -1;
  }
  memset(out, 0, sizeof *out);
  out->dtype = NNC_U8;
  out->rank = head[3];
  int64_t count = 1;
  for (int i = 0; i < out->rank; i++) {
    unsigned char d[4];
    if (fread(d, 1, 4, f) != 4) break;
    out->shape[i] = (int64_t)d[0] << 24 | (int64_t)d[1] << 16 | (int64_t)d[2] << 8 | d[3];
    count *= out->shape[i];
  }
  out->data = malloc((size_t)count + 1);
  if (!out->data || fread(out->data, 1, (size_t)count, f) != (size_t)count) {
    fprintf(stderr, "host_train: %s: truncated\n", path);
    fclose(f);
    return -1;
  }
  fclose(f);
  return 0;
}

/* pixels / 255 in float32, as nnc fit --x-divide 255 */
static float *divided(const nnc_array *a) {
  int64_t n = nnc_array_count(a);
  float *v = malloc((size_t)n * sizeof *v + 1);
  for (int64_t i = 0; v && i < n; i++) v[i] = (float)((unsigned char *)a->data)[i] / 255.0f;
  return v;
}

static int write_raw(const char *dir, const char *name, const float *v, int64_t n) {
  char path[4096];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  FILE *f = fopen(path, "wb");
  int ok = f && fwrite(v, sizeof *v, (size_t)n, f) == (size_t)n;
  if (f && fclose(f)) ok = 0;
  if (!ok) fprintf(stderr, "host_train: cannot write %s\n", path);
  return ok ? 0 : -1;
}

static int check(int rc, const nnc_status *st) {
  if (rc != NNC_OK) fprintf(stderr, "host_train: %s\n", st->message);
  return rc;
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: host_train DATA_DIR OUT_DIR [EPOCHS]\n");
    return 2;
  }
  const char *data = argv[1], *out = argv[2];
  nnc_array xi, yi, ti;
  if (read_idx(data, "train-images-idx3-ubyte", &xi) ||
      read_idx(data, "train-labels-idx1-ubyte", &yi) ||
      read_idx(data, "t10k-images-idx3-ubyte", &ti))
    return 1;
  float *xv = divided(&xi), *tv = divided(&ti);
  if (!xv || !tv) return 1;
  nnc_array x = xi, t = ti;
  x.dtype = t.dtype = NNC_F32;
  x.data = xv;
  t.data = tv;

  nnc_status st;
  nnc_model *m;
  if (check(nnc_model_from_table(fmnist_program(), &m, &st), &st)) return 1;
  if (check(nnc_model_set_seed(m, 1, &st), &st)) return 1;
  nnc_fit_options o;
  nnc_fit_options_default(&o);
  o.epochs = argc > 3 ? atoi(argv[3]) : 2;
  o.batch_size = 32;
  o.validation_split = 0.1;
  o.verbose = 0;
  nnc_history h;
  if (check(nnc_model_fit(m, &x, &yi, &o, &h, &st), &st)) return 1;
  for (int e = 0; e < h.n_epochs; e++)
    printf("epoch %d: loss %.6f accuracy %.4f val_loss %.6f val_accuracy %.4f\n", e + 1,
           nnc_history_get(&h, "loss", e), nnc_history_get(&h, "accuracy", e),
           nnc_history_get(&h, "val_loss", e), nnc_history_get(&h, "val_accuracy", e));
  char path[4096];
  snprintf(path, sizeof path, "%s/history.json", out);
  if (check(nnc_history_write_json(&h, path, &st), &st)) return 1;
  nnc_history_free(&h);
  snprintf(path, sizeof path, "%s/weights.safetensors", out);
  if (check(nnc_model_save_weights(m, path, &st), &st)) return 1;

  /* the parameter region as model.h lays it out, for host_predict */
  float *params = calloc(FMNIST_PARAMS_FLOATS, sizeof *params);
  if (!params) return 1;
#define COPY(index, name, offset, count, rank, trainable)                                          \
  {                                                                                                \
    nnc_array w;                                                                                   \
    if (check(nnc_model_get_weight(m, name, &w, &st), &st)) return 1;                              \
    memcpy(params + (offset), w.data, (size_t)(count) * sizeof(float));                            \
    nnc_array_free(&w);                                                                            \
  }
  FMNIST_VARIABLES(COPY)
#undef COPY
  if (write_raw(out, "params.f32", params, FMNIST_PARAMS_FLOATS)) return 1;

  nnc_array pred;
  if (check(nnc_model_predict(m, &t, 32, &pred, &st), &st)) return 1;
  if (write_raw(out, "predict.f32", pred.data, nnc_array_count(&pred))) return 1;
  nnc_array_free(&pred);
  free(params);
  nnc_model_free(m);
  free(xv);
  free(tv);
  nnc_array_free(&xi);
  nnc_array_free(&yi);
  nnc_array_free(&ti);
  return 0;
}
