/* Cheap code generation for the small kernels (session 18,
 * compiler/codegen/jit.c, NNC_CHEAP_CODEGEN). Checked on Dense(24, relu),
 * Dense(20) with Adam (matmul, elementwise and reduce kernels, GEMM
 * strips, drivers):
 * - in the optimised IR, every kernel whose group starts with an
 *   elementwise op has optnone, and no GEMM strip, reduce or matmul kernel
 *   has it; with NNC_CHEAP_CODEGEN=0 only the drivers have it, and
 *   the functions are otherwise the same text (the switch changes code
 *   generation alone);
 * - fits with and without the switch are the same bits, at width 16 on 2
 *   threads and width 8 on 1. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "compiler/compile.h"
#include "compiler/spec/spec.h"
#include "nnc.h"
#include "oracle_case.h"
#include "testutil.h"

static const char model_json[] =
    "{\"class_name\": \"Sequential\", \"config\": {\"name\": \"m\", \"layers\": ["
    "{\"class_name\": \"InputLayer\", \"config\": {\"batch_shape\": [null, 20], \"name\": \"i\"}},"
    "{\"class_name\": \"Dense\", \"config\": {\"name\": \"a\", \"units\": 24, \"activation\": "
    "\"relu\"}},"
    "{\"class_name\": \"Dense\", \"config\": {\"name\": \"b\", \"units\": 20}}]},"
    "\"compile_config\": {\"optimizer\": \"adam\", \"loss\": \"mse\"}}";
enum { ROWS = 11, IN = 20, OUT = 20 };

/* The optimised IR of the model at width 16. */
static char *post_ir(void) {
  return testutil_post_ir(model_json, "16");
}

/* Does attribute group #n of the IR text hold optnone? */
static int group_optnone(const char *ir, int n) {
  char head[32];
  snprintf(head, sizeof head, "\nattributes #%d = {", n);
  const char *at = strstr(ir, head);
  ck_assert_msg(at != NULL, "no attribute group #%d", n);
  const char *end = strchr(at + 1, '\n');
  const char *hit = strstr(at, " optnone ");
  return hit && (!end || hit < end);
}

typedef struct kinds {
  int cheap, cheap_optnone;   /* elementwise kernels */
  int strips, strip_optnone;  /* GEMM strips */
  int reduce, reduce_optnone; /* reduce and matmul kernels */
  int drivers, driver_optnone;
} kinds;

/* Counts the defined functions of each kind, and those with optnone. */
static kinds count_kinds(const char *ir) {
  kinds k = {0};
  for (const char *d = ir; (d = strstr(d, "\ndefine ")); d++) {
    const char *eol = strchr(d + 1, '\n'), *name = strchr(d, '@');
    ck_assert_ptr_nonnull(eol);
    ck_assert_ptr_nonnull(name);
    char fn[128];
    size_t len = strcspn(name + 1, "(");
    snprintf(fn, sizeof fn, "%.*s", (int)(len < sizeof fn ? len : sizeof fn - 1), name + 1);
    /* the group: ") #N {" at the line's end */
    const char *hash = NULL;
    for (const char *p = name; p < eol; p++)
      if (*p == '#') hash = p;
    ck_assert_msg(hash != NULL, "%s: no attribute group", fn);
    int on = group_optnone(ir, atoi(hash + 1));
    const char *kind = strrchr(fn, '_');
    if (!strncmp(fn, "gemm_strip_", 11)) {
      k.strips++;
      k.strip_optnone += on;
    } else if (!strncmp(fn, "nnc_", 4) && strstr(fn, "_scratch_floats")) {
      continue; /* the scratch size's getter (emit_driver.c): no kernel, no driver */
    } else if (!strncmp(fn, "nnc_", 4)) {
      k.drivers++;
      k.driver_optnone += on;
    } else if (!strcmp(kind, "_reduce") || !strcmp(kind, "_matmul")) {
      k.reduce++;
      k.reduce_optnone += on;
    } else if (!strcmp(kind, "_binary") || !strcmp(kind, "_unary") || !strcmp(kind, "_broadcast")) {
      k.cheap++;
      k.cheap_optnone += on;
    }
  }
  return k;
}

/* The functions of the IR text (from the first define to the attribute
 * groups) without the "; Function Attrs:" comments and with every attribute
 * group reference "#N" taken out: the groups are numbered in order of first
 * use, so optnone renumbers them. */
static char *bodies(const char *ir) {
  const char *from = strstr(ir, "\ndefine "), *to = strstr(ir, "\nattributes #");
  ck_assert(from && to && from < to);
  char *out = malloc((size_t)(to - from) + 1), *w = out;
  ck_assert_ptr_nonnull(out);
  for (const char *r = from; r < to;) {
    if (!strncmp(r, "; Function Attrs:", 17)) { /* the comment lists optnone */
      r = strchr(r, '\n');
      continue;
    }
    if (*r == '#' && r[1] >= '0' && r[1] <= '9') {
      r++;
      while (*r >= '0' && *r <= '9') r++;
      continue;
    }
    *w++ = *r++;
  }
  *w = 0;
  return out;
}

START_TEST(small_kernels_get_cheap_codegen) {
  unsetenv("NNC_CHEAP_CODEGEN");
  char *on = post_ir();
  kinds k = count_kinds(on);
  ck_assert_msg(k.cheap > 0 && k.strips > 0 && k.reduce > 0 && k.drivers > 0,
                "the model has %d cheap kernels, %d strips, %d reduce, %d drivers", k.cheap,
                k.strips, k.reduce, k.drivers);
  ck_assert_msg(k.cheap_optnone == k.cheap, "%d of %d elementwise kernels cheap", k.cheap_optnone,
                k.cheap);
  ck_assert_msg(k.strip_optnone == 0 && k.reduce_optnone == 0,
                "%d strips and %d reduce/matmul kernels with cheap code generation",
                k.strip_optnone, k.reduce_optnone);
  ck_assert_int_eq(k.driver_optnone, k.drivers);
  setenv("NNC_CHEAP_CODEGEN", "0", 1);
  char *off = post_ir();
  unsetenv("NNC_CHEAP_CODEGEN");
  kinds o = count_kinds(off);
  ck_assert_msg(o.cheap_optnone == 0 && o.strip_optnone == 0 && o.reduce_optnone == 0 &&
                    o.driver_optnone == o.drivers,
                "off: %d cheap kernels, %d strips, %d reduce with optnone", o.cheap_optnone,
                o.strip_optnone, o.reduce_optnone);
  /* optnone is all that differs: the functions' IR is the same text */
  char *bon = bodies(on), *boff = bodies(off);
  ck_assert_msg(!strcmp(bon, boff), "the optimised IR differs with NNC_CHEAP_CODEGEN=0");
  free(bon);
  free(boff);
  free(on);
  free(off);
}
END_TEST

static void fit_model(int threads, fit_run *r) {
  float xs[ROWS * IN], ys[ROWS * OUT];
  fill_uniform(xs, ROWS * IN, 5);
  fill_uniform(ys, ROWS * OUT, 6);
  nnc_array x = testutil_f32(xs, ROWS, IN), y = testutil_f32(ys, ROWS, OUT);
  /* 11 rows: batches of 4, 4 and 3 */
  fit_run_fit_threads(model_json, "m.json", &x, &y, 2, 4, threads, r);
}

START_TEST(same_bits_either_way) {
  const char *const full[] = {"NNC_CHEAP_CODEGEN=0", NULL};
  fit_run_same_with(fit_model, full, "cheap / full");
}
END_TEST

int main(void) {
  Suite *s = suite_create("cold18");
  TCase *tc = tcase_create("cold18");
  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, small_kernels_get_cheap_codegen);
  tcase_add_test(tc, same_bits_either_way);
  suite_add_tcase(s, tc);
  return testutil_run(s);
}
