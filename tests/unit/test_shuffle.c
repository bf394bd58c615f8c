/* Shuffling follows the rule docs/semantics.md ("Shuffling") states: epoch e
 * of a fit with seed s visits the training rows in the order of a
 * Fisher-Yates permutation drawn from (s, e). The test recomputes those
 * permutations from the documented algorithm (its own code, not nnc's) and
 * replays them: a fit with shuffling must give, bit for bit, the History and
 * weights of fits without shuffling on the rows reordered by hand. With
 * batch size 1 and SGD every update depends on the order, so a fit that
 * reused one permutation for every epoch, or ignored the seed, fails. */
#include <check.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nnc.h"
#include "oracle_case.h"
#include "testutil.h"

/* ---- the documented permutation ---- */

static uint64_t splitmix_finalizer(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

/* The stream key of (seed, "shuffle"): FNV-1a 64 of the name, folded with
 * the seed through the finalizer. */
static uint64_t shuffle_key(uint64_t seed) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (const char *p = "shuffle"; *p; p++) h = (h ^ (unsigned char)*p) * 0x100000001b3ull;
  return splitmix_finalizer(h ^ splitmix_finalizer(seed + 0x9e3779b97f4a7c15ull));
}

static void documented_permutation(int64_t *perm, int64_t n, uint64_t seed, int epoch) {
  uint64_t key = shuffle_key(seed), epoch_key = splitmix_finalizer(key ^ splitmix_finalizer(epoch));
  for (int64_t i = 0; i < n; i++) perm[i] = i;
  for (int64_t i = n - 1; i > 0; i--) {
    int64_t j = (int64_t)(splitmix_finalizer(epoch_key + (uint64_t)i) % (uint64_t)(i + 1));
    int64_t t = perm[i];
    perm[i] = perm[j];
    perm[j] = t;
  }
}

/* ---- a model and data whose results depend on the order of the rows ---- */

#define N 12
#define F 2
static float xs[N * F], ys[N];

static void make_data(void) {
  for (int i = 0; i < N; i++) {
    xs[i * F] = (float)(i % 5) - 2.0f + 0.1f * (float)i;
    xs[i * F + 1] = (float)((i * 7) % 11) / 11.0f;
    ys[i] = 0.5f * xs[i * F] - 1.5f * xs[i * F + 1] + (float)(i % 3);
  }
}

static nnc_model *model(uint64_t seed) {
  const char *spec =
      "{\"class_name\": \"Sequential\", \"config\": {\"name\": \"order\", \"layers\": ["
      "{\"class_name\": \"InputLayer\", \"config\": {\"batch_input_shape\": [null, 2], "
      "\"name\": \"in\"}},"
      "{\"class_name\": \"Dense\", \"config\": {\"name\": \"d\", \"units\": 1}}]},"
      "\"compile_config\": {\"optimizer\": {\"class_name\": \"SGD\", \"config\": "
      "{\"learning_rate\": 0.05}}, \"loss\": \"mse\"}}";
  nnc_model *m = NULL;
  nnc_status st;
  ck_assert_msg(nnc_model_load_string(spec, "order.json", &m, &st) == NNC_OK, "%s", st.message);
  ck_assert_msg(nnc_model_set_seed(m, seed, &st) == NNC_OK, "%s", st.message);
  return m;
}

static nnc_fit_options options(int epochs, int shuffle) {
  nnc_fit_options o;
  nnc_fit_options_default(&o);
  o.epochs = epochs;
  o.batch_size = 1;
  o.shuffle = shuffle;
  o.verbose = 0;
  return o;
}

/* rows of (x, y) in the order perm[0..n) */
static void reorder(const int64_t *perm, int64_t n, float *x, float *y) {
  for (int64_t r = 0; r < n; r++) {
    memcpy(x + r * F, xs + perm[r] * F, sizeof(float) * F);
    y[r] = ys[perm[r]];
  }
}

static int same_weights(const nnc_model *a, const nnc_model *b) {
  wset wa, wb;
  weights_get(a, &wa);
  weights_get(b, &wb);
  int same = wa.n == wb.n;
  for (int i = 0; same && i < wa.n; i++)
    same = nnc_array_count(&wa.a[i]) == nnc_array_count(&wb.a[i]) &&
           !memcmp(wa.a[i].data, wb.a[i].data, sizeof(float) * (size_t)nnc_array_count(&wa.a[i]));
  weights_free(&wa);
  weights_free(&wb);
  return same;
}

/* Fit with shuffling for `epochs` epochs (the last `val_rows` rows split off
 * for validation), then replay: one unshuffled fit per epoch on the training
 * rows in the documented order, validation data the same last rows. */
static void check_replay(uint64_t seed, int epochs, int64_t val_rows) {
  make_data();
  int64_t train_n = N - val_rows;
  nnc_status st;
  nnc_model *shuffled = model(seed), *replay = model(seed);
  nnc_array x = testutil_f32(xs, N, F), y = testutil_f32(ys, N, 1);
  nnc_fit_options o = options(epochs, 1);
  /* Keras's split: floor(N (1 - f)) training rows */
  if (val_rows) o.validation_split = ((double)val_rows - 0.5) / N;
  nnc_history h;
  ck_assert_msg(nnc_model_fit(shuffled, &x, &y, &o, &h, &st) == NNC_OK, "%s", st.message);

  nnc_array xv = testutil_f32(xs + train_n * F, val_rows, F),
            yv = testutil_f32(ys + train_n, val_rows, 1);
  for (int e = 0; e < epochs; e++) {
    int64_t perm[N];
    float px[N * F], py[N];
    documented_permutation(perm, train_n, seed, e);
    reorder(perm, train_n, px, py);
    nnc_array rx = testutil_f32(px, train_n, F), ry = testutil_f32(py, train_n, 1);
    nnc_fit_options r = options(e + 1, 0);
    r.initial_epoch = e;
    if (val_rows) r.x_val = &xv, r.y_val = &yv;
    nnc_history hr;
    ck_assert_msg(nnc_model_fit(replay, &rx, &ry, &r, &hr, &st) == NNC_OK, "%s", st.message);
    ck_assert_int_eq(hr.n_epochs, 1);
    ck_assert_int_eq(hr.n_keys, h.n_keys);
    for (int k = 0; k < h.n_keys; k++) {
      double got = nnc_history_get(&h, h.keys[k], e), want = nnc_history_get(&hr, h.keys[k], 0);
      ck_assert_msg(got == want,
                    "seed %llu epoch %d: %s %.9g with shuffling, %.9g replaying the documented "
                    "permutation",
                    (unsigned long long)seed, e, h.keys[k], got, want);
    }
    nnc_history_free(&hr);
  }
  ck_assert_msg(same_weights(shuffled, replay), "seed %llu: final weights differ from the replay",
                (unsigned long long)seed);
  nnc_history_free(&h);
  nnc_model_free(shuffled);
  nnc_model_free(replay);
}

START_TEST(fit_visits_rows_in_the_documented_order) {
  static const uint64_t seeds[] = {0, 1, 2026};
  check_replay(seeds[_i], 4, 0);
}
END_TEST

/* Only the training rows are shuffled; the split-off rows validate in order. */
START_TEST(validation_split_shuffles_the_training_rows_only) {
  check_replay(7, 3, 3);
}
END_TEST

/* The replay can fail: the rows' order is visible in the results, a
 * shuffled fit differs from an unshuffled one, each epoch's permutation
 * differs from the previous one's, and two seeds differ. */
START_TEST(order_epochs_and_seeds_are_visible) {
  make_data();
  int64_t p0[N], p1[N], q0[N];
  documented_permutation(p0, N, 5, 0);
  documented_permutation(p1, N, 5, 1);
  documented_permutation(q0, N, 6, 0);
  ck_assert(memcmp(p0, p1, sizeof p0) != 0);
  ck_assert(memcmp(p0, q0, sizeof p0) != 0);

  nnc_status st;
  nnc_array x = testutil_f32(xs, N, F), y = testutil_f32(ys, N, 1);
  nnc_history h[4];
  nnc_model *m[4];
  /* 0: two epochs shuffled; 1: unshuffled; 2: epoch 0's order twice; 3: seed 6 */
  for (int i = 0; i < 3; i++) m[i] = model(5);
  nnc_fit_options shuffled = options(2, 1), plain = options(2, 0);
  ck_assert(nnc_model_fit(m[0], &x, &y, &shuffled, &h[0], &st) == NNC_OK);
  ck_assert(nnc_model_fit(m[1], &x, &y, &plain, &h[1], &st) == NNC_OK);
  float px[N * F], py[N];
  reorder(p0, N, px, py);
  nnc_array rx = testutil_f32(px, N, F), ry = testutil_f32(py, N, 1);
  ck_assert(nnc_model_fit(m[2], &rx, &ry, &plain, &h[2], &st) == NNC_OK);
  /* seed 6, from seed 5's initial weights: only the shuffle differs */
  m[3] = model(6);
  nnc_model *fresh = model(5);
  wset w0;
  weights_get(fresh, &w0);
  weights_put(m[3], &w0);
  weights_free(&w0);
  nnc_model_free(fresh);
  ck_assert(nnc_model_fit(m[3], &x, &y, &shuffled, &h[3], &st) == NNC_OK);

  double l[4][2];
  for (int i = 0; i < 4; i++)
    for (int e = 0; e < 2; e++) l[i][e] = nnc_history_get(&h[i], "loss", e);
  ck_assert_msg(l[0][0] != l[1][0], "a shuffled epoch 0 equals the unshuffled one");
  ck_assert_msg(l[0][0] == l[2][0], "epoch 0 is not seed 5's documented permutation");
  ck_assert_msg(l[0][1] != l[2][1], "epoch 1 reused epoch 0's permutation (loss %.9g)", l[0][1]);
  ck_assert_msg(l[3][0] != l[0][0], "seeds 5 and 6 shuffle alike (loss %.9g)", l[3][0]);
  for (int i = 0; i < 4; i++) {
    nnc_history_free(&h[i]);
    nnc_model_free(m[i]);
  }
}
END_TEST

int main(void) {
  Suite *s = suite_create("shuffle");
  TCase *tc = tcase_create("permutations");
  tcase_set_timeout(tc, 120);
  tcase_add_loop_test(tc, fit_visits_rows_in_the_documented_order, 0, 3);
  tcase_add_test(tc, validation_split_shuffles_the_training_rows_only);
  tcase_add_test(tc, order_epochs_and_seeds_are_visible);
  suite_add_tcase(s, tc);
  return testutil_run(s);
}
