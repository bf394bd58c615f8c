/* Predict with an ahead-of-time object and nothing but libc and libm: no
 * nnc library, no threads (docs/aot.md, docs/examples/aot/README.md).
 *
 *   nnc compile specs/fashion_mnist_mlp.json -o model.o --header model.h --prefix fmnist
 *   cc host_predict.c model.o -lm -o host_predict
 *   ./host_predict PARAMS.f32 IMAGES [LABELS|""] [OUT.f32]
 *
 * PARAMS.f32: the parameter region (host_train writes it; "-" uses the
 * object's initial weights, fmnist_weights); IMAGES, LABELS: uncompressed
 * idx files. Prints the accuracy when LABELS is given and writes the logits
 * (rows x 10 floats) to OUT.f32. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model.h"

/* An idx file of unsigned bytes; *rows its first dimension, *per_row the rest. */
static unsigned char *read_idx(const char *path, int64_t *rows, int64_t *per_row) {
  FILE *f = fopen(path, "rb");
  unsigned char head[4], d[4];
  if (!f || fread(head, 1, 4, f) != 4 || head[0] || head[1] || head[2] != 8 || head[3] < 1 ||
      head[3] > 3) {
    fprintf(stderr, "host_predict: %s: not an idx file of unsigned bytes\n", path);
    if (f) fclose(f);
    return NULL;
  }
  *per_row = 1;
  for (int i = 0; i < head[3]; i++) {
    if (fread(d, 1, 4, f) != 4) break;
    int64_t dim = (int64_t)d[0] << 24 | (int64_t)d[1] << 16 | (int64_t)d[2] << 8 | d[3];
    if (i == 0)
      *rows = dim;
    else
      *per_row *= dim;
  }
  size_t n = (size_t)(*rows * *per_row);
  unsigned char *v = malloc(n + 1);
  if (!v || fread(v, 1, n, f) != n) {
    fprintf(stderr, "host_predict: %s: truncated\n", path);
    free(v);
    v = NULL;
  }
  fclose(f);
  return v;
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: host_predict PARAMS.f32|- IMAGES [LABELS] [OUT.f32]\n");
    return 2;
  }
  const float *params = fmnist_weights;
  float *loaded = NULL;
  if (strcmp(argv[1], "-")) {
    FILE *f = fopen(argv[1], "rb");
    loaded = malloc(FMNIST_PARAMS_FLOATS * sizeof *loaded);
    if (!f || !loaded ||
        fread(loaded, sizeof *loaded, FMNIST_PARAMS_FLOATS, f) != FMNIST_PARAMS_FLOATS) {
      fprintf(stderr, "host_predict: %s: expected %d floats\n", argv[1], FMNIST_PARAMS_FLOATS);
      return 1;
    }
    fclose(f);
    params = loaded;
  }
  int64_t rows, per_row, label_rows = 0, one;
  unsigned char *images = read_idx(argv[2], &rows, &per_row);
  int with_labels = argc > 3 && argv[3][0]; /* "": none */
  unsigned char *labels = with_labels ? read_idx(argv[3], &label_rows, &one) : NULL;
  if (!images || (with_labels && !labels)) return 1;
  if (per_row != FMNIST_INPUT0_FLOATS_PER_ROW || (labels && label_rows != rows)) {
    fprintf(stderr, "host_predict: %lld values per image, the model takes %d\n", (long long)per_row,
            FMNIST_INPUT0_FLOATS_PER_ROW);
    return 1;
  }
  enum { CHUNK = 1000 }; /* rows per call: the workspace grows with it */
  float *x = malloc((size_t)rows * per_row * sizeof *x);
  float *logits = malloc((size_t)rows * FMNIST_OUTPUT0_FLOATS_PER_ROW * sizeof *logits);
  float *ws = malloc((size_t)FMNIST_PREDICT_WORKSPACE_FLOATS(CHUNK) * sizeof *ws);
  if (!x || !logits || !ws) return 1;
  for (int64_t i = 0; i < rows * per_row; i++) x[i] = (float)images[i] / 255.0f;
  for (int64_t r = 0; r < rows; r += CHUNK) {
    int64_t n = rows - r < CHUNK ? rows - r : CHUNK;
    const float *in[1] = {x + r * per_row};
    float *out[1] = {logits + r * FMNIST_OUTPUT0_FLOATS_PER_ROW};
    fmnist_predict(params, in, out, n, ws);
  }
  if (labels) {
    int64_t right = 0;
    for (int64_t r = 0; r < rows; r++) {
      const float *l = logits + r * FMNIST_OUTPUT0_FLOATS_PER_ROW;
      int best = 0;
      for (int c = 1; c < FMNIST_OUTPUT0_FLOATS_PER_ROW; c++)
        if (l[c] > l[best]) best = c;
      right += best == labels[r];
    }
    printf("accuracy %.4f on %lld images\n", (double)right / (double)rows, (long long)rows);
  }
  if (argc > 4) {
    FILE *f = fopen(argv[4], "wb");
    size_t n = (size_t)rows * FMNIST_OUTPUT0_FLOATS_PER_ROW;
    if (!f || fwrite(logits, sizeof *logits, n, f) != n || fclose(f)) {
      fprintf(stderr, "host_predict: cannot write %s\n", argv[4]);
      return 1;
    }
  }
  free(loaded);
  free(images);
  free(labels);
  free(x);
  free(logits);
  free(ws);
  return 0;
}
