/* Convolution kernel timings on W6's two layers (Fashion-MNIST CNN, batch
 * 64): Conv2D 32 3x3 on 28x28x1 and Conv2D 64 3x3 on 13x13x32. A program,
 * not a test: it prints GFLOP/s per kernel and the W6 train step time.
 *
 * Kernels are isolated through the public API by differences of small
 * models (the minimum of --reps timed calls each, to resist the load of a
 * shared machine):
 *   forward       predict of Input -> Conv2D (no bias)
 *   fwd+bias+relu predict of Input -> Conv2D (bias, relu): with the epilogue
 *                 on the register tile, or, under NNC_CONV_EPILOGUE=0, as a
 *                 second pass over the output
 *   filter grad   train step of Input -> Conv2D -> Flatten (mse, SGD) minus
 *                 the same step with the Conv2D frozen (trainable false)
 *   input grad    train step of Input -> pre 1x1 -> Conv2D (frozen) ->
 *                 Flatten minus the same with pre frozen too, minus pre's
 *                 own filter gradient (measured the same way)
 *   W6 step       train_on_batch of the whole W6 model (Adam)
 * and a Dense layer's matmul (1024x1024, batch 1024) as nnc's GEMM peak.
 * Times are CPU time with one thread (--threads 1, the default), wall time
 * with more.
 *
 *   conv_kernels [--threads N] [--reps R] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "nnc.h"

static int threads = 1, reps = 20;

/* With one thread, the process's CPU time: the machine is shared, and wall
 * time then counts the other processes' turns too. */
static double now(void) {
  struct timespec ts;
  clock_gettime(threads == 1 ? CLOCK_PROCESS_CPUTIME_ID : CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void must(int rc, const nnc_status *st) {
  if (rc) {
    fprintf(stderr, "conv_kernels: %s\n", st->message);
    exit(1);
  }
}

static nnc_model *load(const char *layers, const char *shape, int trainable_loss) {
  static char json[8192];
  snprintf(json, sizeof json,
           "{\"class_name\": \"Sequential\", \"config\": {\"name\": \"m\", \"layers\": ["
           "{\"class_name\": \"InputLayer\", \"config\": {\"batch_shape\": [null, %s], "
           "\"name\": \"x\"}}, %s]}, \"compile_config\": %s}",
           shape, layers,
           trainable_loss == 2
               ? "{\"optimizer\": {\"class_name\": \"Adam\", \"config\": {\"learning_rate\": "
                 "0.001}}, \"loss\": \"sparse_categorical_crossentropy\"}"
               : "{\"optimizer\": {\"class_name\": \"SGD\", \"config\": {\"learning_rate\": "
                 "0.0}}, \"loss\": \"mse\"}");
  nnc_status st;
  nnc_model *m;
  must(nnc_model_load_string(json, "conv_kernels", &m, &st), &st);
  must(nnc_model_set_threads(m, threads, &st), &st);
  return m;
}

static nnc_array array(int rank, const int64_t *dims) {
  nnc_array a = {NNC_F32, rank, {0}, NULL, NULL};
  int64_t n = 1;
  for (int i = 0; i < rank; i++) a.shape[i] = dims[i], n *= dims[i];
  float *v = malloc((size_t)n * sizeof *v);
  for (int64_t i = 0; i < n; i++) v[i] = (float)((i * 7919 % 1000) / 1000.0 - 0.5);
  a.data = v;
  return a;
}

/* minimum seconds of one predict (mode 0) or train_on_batch (mode 1) */
static double best(nnc_model *m, nnc_array *x, nnc_array *y, int mode) {
  nnc_status st;
  double t = 1e30;
  for (int r = 0; r <= reps; r++) {
    nnc_array out = {0};
    nnc_logs l = {0};
    double t0 = now();
    if (mode == 0)
      must(nnc_model_predict(m, x, 64 * 1024, &out, &st), &st);
    else
      must(nnc_model_train_on_batch(m, x, y, &l, &st), &st);
    double dt = now() - t0;
    if (r > 0 && dt < t) t = dt; /* the first call compiles */
    if (mode == 0) nnc_array_free(&out);
    nnc_logs_free(&l);
  }
  return t;
}

/* seconds of predict (mode 0) or train_on_batch (mode 1) of a model whose
 * output has out_elems per sample */
static double model_time(const char *layers, const char *shape, int rank, const int64_t *xd,
                         int64_t out_elems, int mode) {
  nnc_model *m = load(layers, shape, 1);
  nnc_array x = array(rank, xd);
  int64_t yd[2] = {xd[0], out_elems};
  nnc_array y = array(2, yd);
  nnc_status st;
  must(nnc_model_build(m, &x, &y, &st), &st);
  double t = best(m, &x, &y, mode);
  nnc_model_free(m);
  free(x.data);
  free(y.data);
  return t;
}

#define CONV(name, f, k, extra)                                                                    \
  "{\"class_name\": \"Conv2D\", \"config\": {\"name\": \"" name "\", \"filters\": " #f             \
  ", \"kernel_size\": [" #k ", " #k "], \"use_bias\": false" extra "}}"
#define CONV_BR(name, f, k)                                                                        \
  "{\"class_name\": \"Conv2D\", \"config\": {\"name\": \"" name "\", \"filters\": " #f             \
  ", \"kernel_size\": [" #k ", " #k "], \"activation\": \"relu\"}}"
#define FROZEN ", \"trainable\": false"
#define FLAT "{\"class_name\": \"Flatten\", \"config\": {\"name\": \"flat\"}}"

/* train step of "a, b, Flatten" (b may be NULL) */
static double step_of(const char *a, const char *b, const char *shape, const int64_t *xd,
                      int64_t out_elems) {
  char buf[1024];
  snprintf(buf, sizeof buf, "%s, %s%s" FLAT, a, b ? b : "", b ? ", " : "");
  double t = model_time(buf, shape, 4, xd, out_elems, 1);
  if (getenv("CONV_KERNELS_VERBOSE")) printf("  step %8.3f ms: %s\n", t * 1e3, buf);
  return t;
}

/* conv: the layer timed (frozen: the same, not trainable); pre, pre_frozen:
 * a 1x1 convolution before it, so that its input gradient is needed */
static void layer(const char *label, const char *conv, const char *biased, const char *frozen,
                  const char *pre, const char *pre_frozen, const char *shape, int64_t h, int64_t c,
                  int64_t f) {
  int64_t xd[4] = {64, h, h, c}, o = h - 2, y = o * o * f;
  double flops = 2.0 * 64 * o * o * f * 9 * c;
  double fwd = model_time(conv, shape, 4, xd, y, 0);
  printf("%-6s forward      %8.3f ms  %6.1f GFLOP/s\n", label, fwd * 1e3, flops / fwd * 1e-9);
  double fbr = model_time(biased, shape, 4, xd, y, 0);
  printf("%-6s fwd+bias+relu %7.3f ms  %6.1f GFLOP/s (epilogue %s)\n", label, fbr * 1e3,
         flops / fbr * 1e-9,
         getenv("NNC_CONV_EPILOGUE") && !strcmp(getenv("NNC_CONV_EPILOGUE"), "0") ? "separate"
                                                                                  : "in the tile");
  /* the filter gradient: a trainable step minus a frozen one */
  double filt = step_of(conv, NULL, shape, xd, y) - step_of(frozen, NULL, shape, xd, y);
  printf("%-6s filter grad  %8.3f ms  %6.1f GFLOP/s\n", label, filt * 1e3, flops / filt * 1e-9);
  if (pre) {
    /* pre trainable needs the frozen conv's input gradient (and pre's own
     * filter gradient, measured alone and taken off) */
    double with = step_of(pre, frozen, shape, xd, y) - step_of(pre_frozen, frozen, shape, xd, y);
    double pre_filt =
        step_of(pre, NULL, shape, xd, h * h * c) - step_of(pre_frozen, NULL, shape, xd, h * h * c);
    double in = with - pre_filt;
    printf("%-6s input grad   %8.3f ms  %6.1f GFLOP/s\n", label, in * 1e3, flops / in * 1e-9);
  }
  fflush(stdout);
}

static void w6_step(void) {
  const char *layers =
      "{\"class_name\": \"Conv2D\", \"config\": {\"name\": \"c1\", \"filters\": 32, "
      "\"kernel_size\": [3, 3], \"activation\": \"relu\"}},"
      "{\"class_name\": \"MaxPooling2D\", \"config\": {\"name\": \"p1\"}},"
      "{\"class_name\": \"Conv2D\", \"config\": {\"name\": \"c2\", \"filters\": 64, "
      "\"kernel_size\": [3, 3], \"activation\": \"relu\"}},"
      "{\"class_name\": \"MaxPooling2D\", \"config\": {\"name\": \"p2\"}}," FLAT ","
      "{\"class_name\": \"Dense\", \"config\": {\"name\": \"d1\", \"units\": 128, "
      "\"activation\": \"relu\"}},"
      "{\"class_name\": \"Dense\", \"config\": {\"name\": \"d2\", \"units\": 10, "
      "\"activation\": \"softmax\"}}";
  nnc_model *m = load(layers, "28, 28, 1", 2);
  int64_t xd[4] = {64, 28, 28, 1}, yd[1] = {64};
  nnc_array x = array(4, xd), y = array(1, yd);
  float *labels = y.data;
  for (int i = 0; i < 64; i++) labels[i] = (float)(i % 10);
  nnc_status st;
  must(nnc_model_build(m, &x, &y, &st), &st);
  double t = best(m, &x, &y, 1);
  printf("W6 train step (batch 64, Adam)  %8.3f ms\n", t * 1e3);
  nnc_model_free(m);
  free(x.data);
  free(y.data);
}

static void dense_peak(void) {
  int64_t xd[2] = {1024, 1024};
  double t = model_time("{\"class_name\": \"Dense\", \"config\": {\"name\": \"d\", \"units\": "
                        "1024, \"use_bias\": false}}",
                        "1024", 2, xd, 1024, 0);
  printf("Dense 1024x1024 batch 1024 forward  %8.3f ms  %6.1f GFLOP/s\n", t * 1e3,
         2.0 * 1024 * 1024 * 1024 / t * 1e-9);
}

int main(int argc, char **argv) {
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!strcmp(argv[i], "--threads"))
      threads = atoi(argv[i + 1]);
    else if (!strcmp(argv[i], "--reps"))
      reps = atoi(argv[i + 1]);
  }
  if (threads < 1 || reps < 1) return fprintf(stderr, "conv_kernels: bad arguments\n"), 2;
  printf("threads %d, min of %d reps (%s time)\n", threads, reps, threads == 1 ? "CPU" : "wall");
  dense_peak();
  layer("conv1", CONV("c", 32, 3, ""), CONV_BR("c", 32, 3), CONV("c", 32, 3, FROZEN), NULL, NULL,
        "28, 28, 1", 28, 1, 32);
  layer("conv2", CONV("c", 64, 3, ""), CONV_BR("c", 64, 3), CONV("c", 64, 3, FROZEN),
        CONV("pre", 32, 1, ""), CONV("pre", 32, 1, FROZEN), "13, 13, 32", 13, 32, 64);
  w6_step();
  return 0;
}
