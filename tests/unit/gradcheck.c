#include "gradcheck.h"

#include <check.h>
#include <math.h>

#include "nnc.h"
#include "testutil.h"

enum { MAX_W = 16, MAX_ROWS = 8, MAX_IN = 8, MAX_OUT = 8 };

static double test_loss(nnc_model *m, const nnc_array *x, const nnc_array *y) {
  TEST_LOGS(logs);
  nnc_status st;
  ck_assert_msg(nnc_model_test_on_batch(m, x, y, &logs, &st) == NNC_OK, "%s", st.message);
  return nnc_logs_get(&logs, "loss");
}

/* (L(w + h) - L(w - h)) / (the float step actually taken), element e of w; restored after */
static double central(nnc_model *m, const nnc_array *x, const nnc_array *y, nnc_array *w,
                      const char *name, int64_t e, double h) {
  nnc_status st;
  float *v = w->data, keep = v[e];
  v[e] = keep + (float)h;
  ck_assert(nnc_model_set_weight(m, name, w, &st) == NNC_OK);
  double up = test_loss(m, x, y);
  v[e] = keep - (float)h;
  ck_assert(nnc_model_set_weight(m, name, w, &st) == NNC_OK);
  double down = test_loss(m, x, y);
  v[e] = keep;
  ck_assert(nnc_model_set_weight(m, name, w, &st) == NNC_OK);
  return (up - down) / ((double)(keep + (float)h) - (double)(keep - (float)h));
}

static void check_model(const char *json, int in_dim, int out_dim, const gradcheck_opts *o,
                        double h);

void gradcheck_model(const char *json, int in_dim, const gradcheck_opts *o) {
  check_model(json, in_dim, 1, o, 1e-2);
}

void gradcheck_model_out(const char *json, int in_dim, int out_dim, const gradcheck_opts *o) {
  check_model(json, in_dim, out_dim, o, 1e-2);
}

void gradcheck_model_step(const char *json, int in_dim, const gradcheck_opts *o, double h) {
  check_model(json, in_dim, 1, o, h);
}

static void check_model(const char *json, int in_dim, int out_dim, const gradcheck_opts *o,
                        double h) {
  ck_assert(o->rows <= MAX_ROWS && in_dim <= MAX_IN && out_dim <= MAX_OUT);
  nnc_model *m;
  nnc_status st;
  ck_assert_msg(nnc_model_load_string(json, "model.json", &m, &st) == NNC_OK, "%s", st.message);
  float xv[MAX_ROWS * MAX_IN], yv[MAX_ROWS * MAX_OUT];
  uint64_t r = o->seed;
  for (int i = 0; i < o->rows * in_dim; i++) {
    r = r * 6364136223846793005ull + 1442695040888963407ull;
    xv[i] = (float)((double)(r >> 11) / 9007199254740992.0 * 2 - 1);
  }
  for (int i = 0; i < o->rows * out_dim; i++) yv[i] = (float)(o->y0 + o->dy * i);
  nnc_array x = testutil_f32(xv, o->rows, in_dim), y = testutil_f32(yv, o->rows, out_dim);
  ck_assert_msg(nnc_model_build(m, &x, &y, &st) == NNC_OK, "%s", st.message);
  int nw = nnc_model_weight_count(m);
  ck_assert_int_gt(nw, 0);
  ck_assert_int_le(nw, MAX_W);
  nnc_array w0[MAX_W], w1[MAX_W];
  const char *names[MAX_W];
  for (int i = 0; i < nw; i++) {
    names[i] = nnc_model_weight_name(m, i);
    ck_assert(nnc_model_get_weight(m, names[i], &w0[i], &st) == NNC_OK);
    float *v = w0[i].data;
    for (int64_t e = 0; e < nnc_array_count(&w0[i]); e++)
      v[e] = (float)(0.5 * sin(o->w_freq * (double)(e + o->w_shift * i)) + 0.1);
    ck_assert(nnc_model_set_weight(m, names[i], &w0[i], &st) == NNC_OK);
  }
  TEST_LOGS(logs);
  ck_assert_msg(nnc_model_train_on_batch(m, &x, &y, &logs, &st) == NNC_OK, "%s", st.message);
  for (int i = 0; i < nw; i++) {
    ck_assert(nnc_model_get_weight(m, names[i], &w1[i], &st) == NNC_OK);
    ck_assert(nnc_model_set_weight(m, names[i], &w0[i], &st) == NNC_OK);
  }
  int checked = 0;
  for (int i = 0; i < nw; i++) {
    for (int64_t e = 0; e < nnc_array_count(&w0[i]); e++) {
      double g = (double)((float *)w0[i].data)[e] - (double)((float *)w1[i].data)[e];
      double fd = central(m, &x, &y, &w0[i], names[i], e, h);
      if (o->richardson) fd = (4 * central(m, &x, &y, &w0[i], names[i], e, h / 2) - fd) / 3;
      ck_assert_msg(fabs(g - fd) <= o->abs_tol + o->rel_tol * fabs(fd),
                    "%s[%lld]: step %g, differences %g", names[i], (long long)e, g, fd);
      checked += fabs(fd) > 1e-3;
    }
  }
  ck_assert_int_gt(checked, 0); /* not all flat */
  for (int i = 0; i < nw; i++) {
    nnc_array_free(&w0[i]);
    nnc_array_free(&w1[i]);
  }
  nnc_model_free(m);
}
