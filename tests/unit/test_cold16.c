/* Small fixed-size elementwise kernels on thread 0 with constant bounds
 * (session 16, compiler/codegen/emit_serial.c). An optimizer update of a
 * bias or a small weight matrix has no batch dimension; its kernel now takes
 * all elements on thread 0 (any other thread returns at once), so its loop
 * has constant bounds instead of a share computed from (tid, nthreads).
 * Checked: from the IR before optimisation, those kernels have the early
 * return and no run-time share (no sdiv by the thread count) and the others
 * keep theirs; with NNC_SERIAL_KERNELS=0 none has it; and fits give the same
 * bits with and without it at vector widths 16, 8 and 4 on 1, 2 and 3
 * threads (updates of 1, 257 and 3855 elements: a lone element, a vector
 * remainder of 1 and of 15 at width 16). */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "compiler/compile.h"
#include "nnc.h"
#include "oracle_case.h"
#include "testutil.h"

/* InputLayer [None, 15], Dense(257, relu), Dense(1); mse, Adam: the
 * parameters are of fixed size (15 x 257 = 3855, 257, 257 and 1 floats),
 * the batch-sized groups keep the run-time share. */
static const char odd_json[] =
    "{\"class_name\": \"Sequential\", \"config\": {\"name\": \"o\", \"layers\": ["
    "{\"class_name\": \"InputLayer\", \"config\": {\"batch_shape\": [null, 15], \"name\": \"i\"}},"
    "{\"class_name\": \"Dense\", \"config\": {\"name\": \"a\", \"units\": 257, \"activation\": "
    "\"relu\"}},"
    "{\"class_name\": \"Dense\", \"config\": {\"name\": \"b\", \"units\": 1}}]},"
    "\"compile_config\": {\"optimizer\": \"adam\", \"loss\": \"mse\"}}";

enum { N = 11, IN = 15, OUT = 1 };

typedef struct ir_counts {
  int kernels, serial, shared; /* kernels; with the early return; with a run-time share */
} ir_counts;

/* The kernels (not the nnc_* drivers) of the unoptimised module. */
static ir_counts count_kernels(void) {
  char dir[] = "/tmp/nnc_cold16_XXXXXX", path[64];
  ck_assert_ptr_nonnull(mkdtemp(dir));
  snprintf(path, sizeof path, "%s/pre.ll", dir);
  nnc_compile_options opts;
  memset(&opts, 0, sizeof opts);
  opts.no_cache = 1;
  opts.emit_only = 1;
  opts.dump_ir_pre = path;
  nnc_status st;
  ck_assert_msg(testutil_compile(odd_json, &opts, &st) == NNC_OK, "%s", st.message);
  FILE *f = fopen(path, "r");
  ck_assert_ptr_nonnull(f);
  static char line[1 << 16];
  ir_counts n = {0, 0, 0};
  int in_kernel = 0, serial = 0, sdiv = 0;
  while (fgets(line, sizeof line, f)) {
    if (!strncmp(line, "define ", 7)) {
      in_kernel = !strstr(line, "@nnc_") && !strstr(line, "@gemm_strip");
      serial = sdiv = 0;
    } else if (in_kernel && !strncmp(line, "not_thread0", 11)) {
      serial = 1;
    } else if (in_kernel && strstr(line, " = sdiv ")) {
      sdiv = 1;
    } else if (in_kernel && line[0] == '}') {
      n.kernels++;
      n.serial += serial;
      n.shared += sdiv;
      /* a serial kernel takes no share from the thread count */
      ck_assert_msg(!(serial && sdiv), "a serial kernel still divides by the thread count");
      in_kernel = 0;
    }
  }
  fclose(f);
  unlink(path);
  rmdir(dir);
  return n;
}

START_TEST(small_fixed_kernels_have_constant_bounds) {
  ir_counts on = count_kernels();
  setenv("NNC_SERIAL_KERNELS", "0", 1);
  ir_counts off = count_kernels();
  unsetenv("NNC_SERIAL_KERNELS");
  ck_assert_int_eq(on.kernels, off.kernels);
  ck_assert_int_eq(off.serial, 0);
  /* the train graph's four groups of no batch dimension after the
   * reductions and products (--dump-after=fuse): Adam's step size
   * (scalars), the updates of 3855 and of 2 x 257 floats, then one group of
   * one element for the rest (session 20's one-element rule, fuse.c: with
   * NNC_FUSE_ONE_ELEMENT=0 the last bias's [1] update steps are two groups
   * more); every batch-sized one keeps its share */
  ck_assert_msg(on.serial == 4, "%d serial kernels, expected 4", on.serial);
  ck_assert_msg(on.shared == off.shared - on.serial, "run-time shares: %d on, %d off, %d serial",
                on.shared, off.shared, on.serial);
  ck_assert_msg(on.shared > 0, "the batch-sized kernels keep their share");
}
END_TEST

static void fit_odd(int threads, fit_run *r) {
  float xs[N * IN], ys[N * OUT];
  fill_uniform(xs, N * IN, 5);
  fill_uniform(ys, N * OUT, 6);
  nnc_array x = testutil_f32(xs, N, IN), y = testutil_f32(ys, N, OUT);
  /* 11 rows: batches of 4, 4 and 3 */
  fit_run_fit_threads(odd_json, "o.json", &x, &y, 2, 4, threads, r);
}

START_TEST(serial_kernels_fit_the_same_bits) {
  setenv("NNC_CACHE", "0", 1);
  setenv("NNC_SPLIT_SMALL_STEPS", "1", 1); /* else the small steps run on one thread */
  const char *widths[3] = {"16", "8", "4"};
  for (int k = 0; k < 3; k++) {
    setenv("NNC_VECTOR_WIDTH", widths[k], 1);
    char what[64];
    snprintf(what, sizeof what, "width %s, %d threads: serial / shared", widths[k], k + 1);
    fit_run a, b;
    fit_odd(k + 1, &a);
    setenv("NNC_SERIAL_KERNELS", "0", 1);
    fit_odd(k + 1, &b);
    unsetenv("NNC_SERIAL_KERNELS");
    fit_run_same(&a, &b, what);
    fit_run_free(&a);
    fit_run_free(&b);
  }
  unsetenv("NNC_VECTOR_WIDTH");
  unsetenv("NNC_SPLIT_SMALL_STEPS");
  unsetenv("NNC_CACHE");
}
END_TEST

int main(void) {
  Suite *s = suite_create("cold16");
  TCase *tc = tcase_create("cold16");
  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, small_fixed_kernels_have_constant_bounds);
  tcase_add_test(tc, serial_kernels_fit_the_same_bits);
  suite_add_tcase(s, tc);
  return testutil_run(s);
}
