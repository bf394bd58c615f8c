#include "oracle_case.h"
#include "testutil.h"

#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "runtime/io/io.h"

int close_enough(double got, double want, double rel, double abs_tol) {
  return fabs(got - want) <= abs_tol + rel * fabs(want);
}

static cJSON *read_json(const char *path) {
  nnc_status st;
  char *text = nnc_read_file(path, NULL, &st);
  ck_assert_msg(text != NULL, "%s", st.message);
  cJSON *j = cJSON_Parse(text);
  free(text);
  ck_assert_msg(j != NULL, "%s: invalid JSON", path);
  return j;
}

char *oracle_spec_json(const char *name) {
  return oracle_spec_json_from(NNC_ORACLE_DIR "/cases", name);
}

char *oracle_spec_json_from(const char *cases_dir, const char *name) {
  char path[1024];
  snprintf(path, sizeof path, "%s/%s/case.json", cases_dir, name);
  cJSON *c = read_json(path);
  cJSON *model = cJSON_DetachItemFromObject(c, "model");
  cJSON *compile = cJSON_DetachItemFromObject(c, "compile");
  ck_assert(model && compile);
  cJSON_AddItemToObject(model, "compile_config", compile);
  char *text = cJSON_PrintUnformatted(model);
  cJSON_Delete(model);
  cJSON_Delete(c);
  return text;
}

static void load_array(const char *dir, const char *rel, nnc_array *out) {
  char path[2200];
  snprintf(path, sizeof path, "%s/%s", dir, rel);
  nnc_status st;
  ck_assert_msg(nnc_npy_read(path, out, &st) == NNC_OK, "%s", st.message);
}

static void divide(nnc_array *a, double by) {
  nnc_array f;
  nnc_status st;
  ck_assert(nnc_array_to_f32(a, &f, &st) == NNC_OK);
  float *v = f.data;
  for (int64_t i = 0; i < nnc_array_count(&f); i++) v[i] = v[i] / (float)by;
  nnc_array_free(a);
  *a = f;
}

/* The folder of a bundle's weights.json, where its .npy files are. */
static void bundle_dir(const char *bundle_json_path, char *dir, size_t n) {
  snprintf(dir, n, "%s", bundle_json_path);
  char *slash = strrchr(dir, '/');
  if (slash) *slash = '\0';
}

void oracle_set_bundle(nnc_model *m, const char *bundle_json_path) {
  cJSON *b = read_json(bundle_json_path);
  char dir[1024];
  bundle_dir(bundle_json_path, dir, sizeof dir);
  cJSON *w;
  cJSON_ArrayForEach(w, cJSON_GetObjectItem(b, "weights")) {
    nnc_array a;
    load_array(dir, cJSON_GetObjectItem(w, "file")->valuestring, &a);
    nnc_status st;
    ck_assert_msg(nnc_model_set_weight(m, cJSON_GetObjectItem(w, "name")->valuestring, &a, &st) ==
                      NNC_OK,
                  "%s", st.message);
    nnc_array_free(&a);
  }
  cJSON_Delete(b);
}

void oracle_check_bundle(const nnc_model *m, const char *bundle_json_path, double rel,
                         double abs_tol) {
  cJSON *b = read_json(bundle_json_path);
  char dir[1024];
  bundle_dir(bundle_json_path, dir, sizeof dir);
  cJSON *w;
  cJSON_ArrayForEach(w, cJSON_GetObjectItem(b, "weights")) {
    const char *name = cJSON_GetObjectItem(w, "name")->valuestring;
    nnc_array want, got;
    nnc_status st;
    load_array(dir, cJSON_GetObjectItem(w, "file")->valuestring, &want);
    ck_assert_msg(nnc_model_get_weight(m, name, &got, &st) == NNC_OK, "%s", st.message);
    ck_assert_int_eq(nnc_array_count(&want), nnc_array_count(&got));
    const float *a = got.data, *e = want.data;
    for (int64_t i = 0; i < nnc_array_count(&want); i++)
      ck_assert_msg(close_enough(a[i], e[i], rel, abs_tol), "%s[%lld]: nnc %.9g, oracle %.9g", name,
                    (long long)i, (double)a[i], (double)e[i]);
    nnc_array_free(&want);
    nnc_array_free(&got);
  }
  cJSON_Delete(b);
}

/* A case's data entry: one file name (one input/output), a list in the
 * model's input (output) order, or a dict by input (output) name; files
 * are relative to the case folder. Returns how many arrays it filled. */
static int load_arrays(const oracle_case *c, const cJSON *entry, int inputs, nnc_array *out) {
  ck_assert_msg(entry != NULL, "%s: a data entry is missing", c->dir);
  if (cJSON_IsString(entry)) {
    load_array(c->dir, entry->valuestring, &out[0]);
    return 1;
  }
  int n = inputs ? nnc_model_input_count(c->model) : nnc_model_output_count(c->model);
  ck_assert_int_le(n, ORACLE_MAX_IO);
  if (cJSON_IsArray(entry)) {
    ck_assert_int_eq(cJSON_GetArraySize(entry), n);
    for (int k = 0; k < n; k++)
      load_array(c->dir, cJSON_GetArrayItem(entry, k)->valuestring, &out[k]);
    return n;
  }
  ck_assert_msg(cJSON_IsObject(entry), "%s: a data entry is not a name, list or dict", c->dir);
  for (int k = 0; k < n; k++) { /* an output left out of the dict has no target (rank 0) */
    const char *name =
        inputs ? nnc_model_input_name(c->model, k) : nnc_model_output_name(c->model, k);
    cJSON *file = cJSON_GetObjectItem(entry, name);
    ck_assert_msg(file || !inputs, "%s: no data for input '%s'", c->dir, name);
    if (file) load_array(c->dir, file->valuestring, &out[k]);
  }
  return n;
}

/* Every data key must be one this loader reads (see check_fit_keys). */
static void check_data_keys(const oracle_case *c, const cJSON *data) {
  static const char *known[] = {
      "x", "y", "x_val", "y_val", "x_transform", "sample_weight", "sample_weight_val"};
  const cJSON *e;
  cJSON_ArrayForEach(e, data) {
    int ok = 0;
    for (size_t k = 0; k < sizeof known / sizeof known[0]; k++) ok |= !strcmp(e->string, known[k]);
    ck_assert_msg(ok, "%s: data.%s is not read by oracle_case.c", c->dir, e->string);
  }
}

/* data.sample_weight / data.sample_weight_val: one file (one output), a list
 * in output order or a dict by output name, as data.y. */
static void load_sample_weights(oracle_case *c, const cJSON *data) {
  int n_out = nnc_model_output_count(c->model);
  cJSON *sw = cJSON_GetObjectItem(data, "sample_weight");
  if (sw) {
    load_arrays(c, sw, 0, c->sample_weights);
    c->fit.n_sample_weights = n_out;
    c->fit.sample_weights = c->sample_weights;
  }
  cJSON *swv = cJSON_GetObjectItem(data, "sample_weight_val");
  if (swv) {
    load_arrays(c, swv, 0, c->sample_weights_val);
    c->fit.n_sample_weights_val = n_out;
    c->fit.sample_weights_val = c->sample_weights_val;
  }
}

/* fit.class_weight {"0": 1.0, "2": 4.0} -> class_weights[c] (absent: 1.0) */
static void load_class_weight(oracle_case *c, const cJSON *cw) {
  if (!cw) return;
  ck_assert_msg(cJSON_IsObject(cw), "%s: fit.class_weight is not a dict", c->dir);
  int n = 0;
  const cJSON *e;
  cJSON_ArrayForEach(e, cw) {
    char *end;
    long k = strtol(e->string, &end, 10);
    ck_assert_msg(*end == '\0' && k >= 0 && k < 1000000, "%s: class_weight key '%s'", c->dir,
                  e->string);
    if (k + 1 > n) n = (int)k + 1;
  }
  c->class_weights = malloc(sizeof(double) * (size_t)(n ? n : 1));
  ck_assert(c->class_weights != NULL);
  for (int k = 0; k < n; k++) c->class_weights[k] = 1.0;
  cJSON_ArrayForEach(e, cw) c->class_weights[strtol(e->string, NULL, 10)] = e->valuedouble;
  c->fit.n_class_weights = n;
  c->fit.class_weights = c->class_weights;
}

/* fit.callbacks [{"class_name", "config"}] -> nnc_callback_create_json each,
 * in list order (the host's callbacks of nnc_fit_options) */
static void load_callbacks(oracle_case *c, const cJSON *list) {
  if (!list) return;
  ck_assert_msg(cJSON_IsArray(list), "%s: fit.callbacks is not a list", c->dir);
  int n = cJSON_GetArraySize(list);
  c->callbacks = calloc((size_t)(n ? n : 1), sizeof *c->callbacks);
  ck_assert(c->callbacks != NULL);
  const cJSON *item;
  cJSON_ArrayForEach(item, list) {
    char *json = cJSON_PrintUnformatted(item);
    nnc_status st;
    int rc = nnc_callback_create_json(json, c->dir, &c->callbacks[c->n_callbacks], &st);
    ck_assert_msg(rc == NNC_OK, "%s: callback %s: %s", c->dir, json, st.message);
    free(json);
    c->n_callbacks++;
  }
  c->fit.n_callbacks = c->n_callbacks;
  c->fit.callbacks = c->callbacks;
}

/* Every key of fit must be one this loader passes on: a case whose fit option
 * were dropped here would pass for the wrong reason. */
static void check_fit_keys(const oracle_case *c, const cJSON *fit) {
  static const char *known[] = {
      "epochs",          "batch_size",    "shuffle",         "validation_split",
      "validation_data", "initial_epoch", "validation_freq", "validation_batch_size",
      "class_weight",    "callbacks"};
  const cJSON *e;
  cJSON_ArrayForEach(e, fit) {
    int ok = 0;
    for (size_t k = 0; k < sizeof known / sizeof known[0]; k++) ok |= !strcmp(e->string, known[k]);
    ck_assert_msg(ok, "%s: fit.%s is not read by oracle_case.c", c->dir, e->string);
  }
}

void oracle_case_load(const char *name, oracle_case *c) {
  oracle_case_load_from(NNC_ORACLE_DIR "/cases", name, c);
}

void oracle_case_load_from(const char *cases_dir, const char *name, oracle_case *c) {
  memset(c, 0, sizeof *c);
  snprintf(c->dir, sizeof c->dir, "%s/%s", cases_dir, name);
  char path[1024];
  snprintf(path, sizeof path, "%s/case.json", c->dir);
  c->json = read_json(path);
  char *spec = oracle_spec_json_from(cases_dir, name);
  nnc_status st;
  ck_assert_msg(nnc_model_load_string(spec, name, &c->model, &st) == NNC_OK, "%s", st.message);
  free(spec);
  nnc_model_set_seed(c->model, (uint64_t)cJSON_GetObjectItem(c->json, "seed")->valuedouble, &st);

  cJSON *data = cJSON_GetObjectItem(c->json, "data");
  check_data_keys(c, data);
  c->n_x = load_arrays(c, cJSON_GetObjectItem(data, "x"), 1, c->xs);
  c->n_y = load_arrays(c, cJSON_GetObjectItem(data, "y"), 0, c->ys);
  cJSON *xv = cJSON_GetObjectItem(data, "x_val");
  if (xv) {
    c->n_x_val = load_arrays(c, xv, 1, c->x_vals);
    c->n_y_val = load_arrays(c, cJSON_GetObjectItem(data, "y_val"), 0, c->y_vals);
  }
  cJSON *tr = cJSON_GetObjectItem(data, "x_transform");
  if (tr) {
    double by = cJSON_GetObjectItem(tr, "divide")->valuedouble;
    for (int k = 0; k < c->n_x; k++) divide(&c->xs[k], by);
    for (int k = 0; k < c->n_x_val; k++) divide(&c->x_vals[k], by);
  }
  c->x = c->xs[0];
  c->y = c->ys[0];
  c->x_val = c->x_vals[0];
  c->y_val = c->y_vals[0];
  ck_assert_msg(nnc_model_build_multi(c->model, c->n_x, c->xs, c->n_y, c->ys, &st) == NNC_OK, "%s",
                st.message);
  snprintf(path, sizeof path, "%s/%s", c->dir,
           cJSON_GetObjectItem(c->json, "initial_weights")->valuestring);
  oracle_set_bundle(c->model, path);

  nnc_fit_options_default(&c->fit);
  c->fit.verbose = 0;
  load_sample_weights(c, data);
  cJSON *fit = cJSON_GetObjectItem(c->json, "fit");
  if (fit) {
    check_fit_keys(c, fit);
    cJSON *ep = cJSON_GetObjectItem(fit, "epochs"); /* evaluate/predict cases: batch_size only */
    if (ep) c->fit.epochs = ep->valueint;
    cJSON *ie = cJSON_GetObjectItem(fit, "initial_epoch");
    if (ie) c->fit.initial_epoch = ie->valueint;
    cJSON *vf = cJSON_GetObjectItem(fit, "validation_freq");
    if (vf) c->fit.validation_freq = vf->valueint;
    cJSON *vbs = cJSON_GetObjectItem(fit, "validation_batch_size");
    if (vbs) c->fit.validation_batch_size = vbs->valueint;
    load_class_weight(c, cJSON_GetObjectItem(fit, "class_weight"));
    load_callbacks(c, cJSON_GetObjectItem(fit, "callbacks"));
    cJSON *bs = cJSON_GetObjectItem(fit, "batch_size");
    if (bs) c->fit.batch_size = bs->valueint;
    c->fit.shuffle = cJSON_IsTrue(cJSON_GetObjectItem(fit, "shuffle"));
    cJSON *vs = cJSON_GetObjectItem(fit, "validation_split");
    if (vs) c->fit.validation_split = vs->valuedouble;
    if (cJSON_IsTrue(cJSON_GetObjectItem(fit, "validation_data"))) {
      c->fit.n_x_vals = c->n_x_val;
      c->fit.x_vals = c->x_vals;
      c->fit.n_y_vals = c->n_y_val;
      c->fit.y_vals = c->y_vals;
      c->has_val = 1;
    }
  }
  cJSON *steps = cJSON_GetObjectItem(c->json, "steps");
  if (steps) c->steps = steps->valueint;
}

void oracle_case_free(oracle_case *c) {
  nnc_model_free(c->model);
  for (int k = 0; k < c->n_callbacks; k++) nnc_callback_free(c->callbacks[k]);
  free(c->callbacks);
  free(c->class_weights);
  for (int k = 0; k < ORACLE_MAX_IO; k++) {
    nnc_array_free(&c->sample_weights[k]);
    nnc_array_free(&c->sample_weights_val[k]);
    nnc_array_free(&c->xs[k]);
    nnc_array_free(&c->ys[k]);
    nnc_array_free(&c->x_vals[k]);
    nnc_array_free(&c->y_vals[k]);
  }
  cJSON_Delete(c->json);
}

cJSON *oracle_expected(const oracle_case *c, const char *file) {
  char path[1024];
  snprintf(path, sizeof path, "%s/expected/%s", c->dir, file);
  return read_json(path);
}

void weights_get(const nnc_model *m, wset *w) {
  memset(w, 0, sizeof *w);
  w->n = nnc_model_weight_count(m);
  ck_assert_int_gt(w->n, 0);
  ck_assert_int_le(w->n, WSET_MAX);
  for (int i = 0; i < w->n; i++) {
    nnc_status st;
    snprintf(w->name[i], sizeof w->name[i], "%s", nnc_model_weight_name(m, i));
    ck_assert_msg(nnc_model_get_weight(m, w->name[i], &w->a[i], &st) == NNC_OK, "%s", st.message);
  }
}

void weights_put(nnc_model *m, const wset *w) {
  for (int i = 0; i < w->n; i++) {
    nnc_status st;
    ck_assert_msg(nnc_model_set_weight(m, w->name[i], &w->a[i], &st) == NNC_OK, "%s", st.message);
  }
}

void weights_free(wset *w) {
  for (int i = 0; i < w->n; i++) nnc_array_free(&w->a[i]);
  w->n = 0;
}

void fit_run_fit(const char *json, const char *name, const nnc_array *x, const nnc_array *y,
                 int epochs, int batch_size, fit_run *r) {
  fit_run_fit_threads(json, name, x, y, epochs, batch_size, 0, r);
}

void fit_run_fit_threads(const char *json, const char *name, const nnc_array *x, const nnc_array *y,
                         int epochs, int batch_size, int threads, fit_run *r) {
  nnc_model *m = NULL;
  nnc_status st;
  ck_assert_msg(nnc_model_load_string(json, name, &m, &st) == NNC_OK, "%s", st.message);
  if (threads > 0)
    ck_assert_msg(nnc_model_set_threads(m, threads, &st) == NNC_OK, "%s", st.message);
  nnc_fit_options o;
  nnc_fit_options_default(&o);
  o.epochs = epochs;
  o.batch_size = batch_size;
  o.verbose = 0;
  memset(&r->h, 0, sizeof r->h);
  ck_assert_msg(nnc_model_fit(m, x, y, &o, &r->h, &st) == NNC_OK, "%s", st.message);
  weights_get(m, &r->w);
  nnc_model_free(m);
}

void fit_run_same(const fit_run *a, const fit_run *b, const char *what) {
  size_t nv = (size_t)(a->h.n_keys * a->h.n_epochs);
  ck_assert_int_eq(a->h.n_keys * a->h.n_epochs, b->h.n_keys * b->h.n_epochs);
  ck_assert_msg(memcmp(a->h.values, b->h.values, sizeof(double) * nv) == 0, "%s: histories differ",
                what);
  ck_assert_int_eq(a->w.n, b->w.n);
  for (int i = 0; i < a->w.n; i++)
    ck_assert_msg(memcmp(a->w.a[i].data, b->w.a[i].data,
                         sizeof(float) * (size_t)nnc_array_count(&a->w.a[i])) == 0,
                  "%s: %s differs", what, a->w.name[i]);
}

void fit_run_free(fit_run *r) {
  nnc_history_free(&r->h);
  weights_free(&r->w);
}

void fill_uniform(float *x, int64_t n, uint64_t seed) {
  uint64_t state = seed;
  for (int64_t i = 0; i < n; i++) {
    state = state * 6364136223846793005ull + 1442695040888963407ull;
    x[i] = (float)((state >> 40) & 0xffff) / 65536.0f - 0.5f;
  }
}

/* ---- the three small models of test_cold10/test_cold11 ---- */

static const char *head =
    "{\"class_name\": \"Sequential\", \"config\": {\"name\": \"k\", \"layers\": [";
static const char *dense_tail =
    "]}, \"compile_config\": {\"optimizer\": \"adam\", \"loss\": {\"class_name\": "
    "\"CategoricalCrossentropy\", \"config\": {\"from_logits\": true}}, \"metrics\": "
    "[\"accuracy\"]}}";
static const char *mse_tail =
    "]}, \"compile_config\": {\"optimizer\": \"rmsprop\", \"loss\": \"mse\"}}";

static const char *small_layers[SMALL_MODELS] = {
    "{\"class_name\": \"InputLayer\", \"config\": {\"batch_shape\": [null, 37], \"name\": \"i\"}},"
    "{\"class_name\": \"Dense\", \"config\": {\"name\": \"d\", \"units\": 40, \"activation\": "
    "\"tanh\"}}, {\"class_name\": \"Dropout\", \"config\": {\"name\": \"p\", \"rate\": 0.25, "
    "\"seed\": 3}}, {\"class_name\": \"Dense\", \"config\": {\"name\": \"e\", \"units\": 19, "
    "\"activation\": \"relu\"}}, {\"class_name\": \"Dense\", \"config\": {\"name\": \"o\", "
    "\"units\": 3}}",
    "{\"class_name\": \"InputLayer\", \"config\": {\"batch_shape\": [null, 7, 7, 2], \"name\": "
    "\"i\"}}, {\"class_name\": \"Conv2D\", \"config\": {\"name\": \"c\", \"filters\": 5, "
    "\"kernel_size\": [3, 3], \"activation\": \"relu\"}}, {\"class_name\": \"MaxPooling2D\", "
    "\"config\": {\"name\": \"m\", \"pool_size\": [2, 2]}}, {\"class_name\": \"Flatten\", "
    "\"config\": {\"name\": \"f\"}}, {\"class_name\": \"Dense\", \"config\": {\"name\": \"o\", "
    "\"units\": 3}}",
    "{\"class_name\": \"InputLayer\", \"config\": {\"batch_shape\": [null, 4, 3], \"name\": "
    "\"i\"}}, {\"class_name\": \"LSTM\", \"config\": {\"name\": \"l\", \"units\": 5}}, "
    "{\"class_name\": \"Dense\", \"config\": {\"name\": \"o\", \"units\": 3}}"};
static const int64_t small_shapes[SMALL_MODELS][4] = {{13, 37}, {13, 7, 7, 2}, {13, 4, 3}};
static const int small_ranks[SMALL_MODELS] = {2, 4, 3};

void small_model_spec(int k, char *json, size_t n) {
  snprintf(json, n, "%s%s%s", head, small_layers[k], k == SMALL_DENSE ? dense_tail : mse_tail);
}

/* Two epochs on 13 samples (a partial last batch), targets of 3 floats
 * (one-hot for the dense model's cross-entropy). */
void small_model_fit(int k, fit_run *r) {
  char json[2048];
  small_model_spec(k, json, sizeof json);
  int64_t x_per = 1, n = small_shapes[k][0];
  for (int i = 1; i < small_ranks[k]; i++) x_per *= small_shapes[k][i];
  float *xs = malloc(sizeof(float) * (size_t)(n * x_per)), ys[13 * 3];
  ck_assert_ptr_nonnull(xs);
  fill_uniform(xs, n * x_per, 9);
  for (int i = 0; i < n * 3; i++)
    ys[i] = k == SMALL_DENSE ? (float)(i % 3 == (i / 3) % 3) : xs[(i * 7 + 1) % (n * x_per)] * 0.8f;
  nnc_array x = testutil_f32(xs, (int)n, (int)x_per), y = testutil_f32(ys, (int)n, 3);
  x.rank = small_ranks[k];
  for (int i = 0; i < small_ranks[k]; i++) x.shape[i] = small_shapes[k][i];
  fit_run_fit(json, "k.json", &x, &y, 2, 5, r);
  free(xs);
}

/* Each "NAME=VALUE" of set (NULL-ended) set (on) or unset. */
static void switches(const char *const *set, int on) {
  for (int i = 0; set[i]; i++) {
    char name[64];
    snprintf(name, sizeof name, "%.*s", (int)strcspn(set[i], "="), set[i]);
    if (on)
      setenv(name, strchr(set[i], '=') + 1, 1);
    else
      unsetenv(name);
  }
}

void fit_run_same_with(void (*fit)(int threads, fit_run *r), const char *const *set,
                       const char *what) {
  setenv("NNC_CACHE", "0", 1);
  setenv("NNC_SPLIT_SMALL_STEPS", "1", 1); /* else the small steps run on one thread */
  const char *widths[] = {"16", "8"};
  for (int k = 0; k < 2; k++) {
    setenv("NNC_VECTOR_WIDTH", widths[k], 1);
    char pair[128];
    snprintf(pair, sizeof pair, "width %s, %d threads: %s", widths[k], 2 - k, what);
    fit_run a, b;
    switches(set, 0);
    fit(2 - k, &a);
    switches(set, 1);
    fit(2 - k, &b);
    switches(set, 0);
    fit_run_same(&a, &b, pair);
    fit_run_free(&a);
    fit_run_free(&b);
  }
  unsetenv("NNC_VECTOR_WIDTH");
  unsetenv("NNC_SPLIT_SMALL_STEPS");
  unsetenv("NNC_CACHE");
}
