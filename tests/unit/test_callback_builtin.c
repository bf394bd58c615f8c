/* The built-in callbacks of engineer FIT and the two callback parsers:
 * CSVLogger files against hand-written text (Keras 3's csv_logger.py:
 * sorted keys after "epoch", val_ copies when the first epoch has none, NA,
 * Python's str() of floats, \r\n rows, no header when appending to a file
 * that has one), TerminateOnNaN (stop, message, raise_error), and the text
 * and JSON forms with their error messages. Values from fit_table.h. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fit_table.h"
#include "nnc.h"
#include "runtime/pyfloat.h"
#include "testutil.h"

static float xv[4] = {1, 2, 3, 4}, yv[4] = {0}, xvv[2] = {10, 20}, yvv[2] = {0};

static char *slurp(const char *path) {
  FILE *f = fopen(path, "rb");
  ck_assert_msg(f != NULL, "%s", path);
  static char buf[4096];
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  buf[n] = '\0';
  fclose(f);
  return buf;
}

static nnc_callback *make(const char *text) {
  nnc_callback *cb;
  nnc_status st;
  ck_assert_msg(nnc_callback_create(text, "test", &cb, &st) == NNC_OK, "%s", st.message);
  return cb;
}

static void fit(nnc_model *m, nnc_callback *cb, int epochs, int with_val) {
  nnc_array x = testutil_f32(xv, 4, 1), y = testutil_f32(yv, 4, 1);
  nnc_array xval = testutil_f32(xvv, 2, 1), yval = testutil_f32(yvv, 2, 1);
  nnc_fit_options o;
  nnc_fit_options_default(&o);
  o.epochs = epochs;
  o.batch_size = 2;
  o.verbose = 0;
  o.shuffle = NNC_SHUFFLE_OFF;
  o.callbacks = &cb;
  o.n_callbacks = 1;
  if (with_val) {
    o.x_val = &xval;
    o.y_val = &yval;
  }
  nnc_status st;
  ck_assert_msg(nnc_model_fit(m, &x, &y, &o, NULL, &st) == NNC_OK, "%s", st.message);
}

/* Epoch losses (fit_table.h, x = 1..4, batch 2): 3, 5, then 7 in the next
 * fit; x = 2.5 and sw = 1 always. No validation: val_ copies of every key
 * hold NA. Appending with separator ';' keeps the rows and adds no header. */
START_TEST(csv_logger_rows_header_and_append) {
  char path[512], text[600];
  snprintf(path, sizeof path, "%s/log.csv", testutil_tmpdir());
  remove(path);
  nnc_model *m = fit_table_model(0);
  snprintf(text, sizeof text, "CSVLogger(filename='%s')", path);
  nnc_callback *cb = make(text);
  fit(m, cb, 2, 0);
  nnc_callback_free(cb);
  const char *two = "epoch,loss,sw,x,val_loss,val_sw,val_x\r\n"
                    "0,3.0,1.0,2.5,NA,NA,NA\r\n"
                    "1,5.0,1.0,2.5,NA,NA,NA\r\n";
  ck_assert_str_eq(slurp(path), two);
  snprintf(text, sizeof text, "CSVLogger(filename=\"%s\", separator=;, append=True)", path);
  cb = make(text);
  fit(m, cb, 1, 0);
  nnc_callback_free(cb);
  char want[512];
  snprintf(want, sizeof want, "%s0;7.0;1.0;2.5;NA;NA;NA\r\n", two);
  ck_assert_str_eq(slurp(path), want);
  /* append=False (the default) starts the file again */
  snprintf(text, sizeof text, "CSVLogger(filename='%s', append=false)", path);
  cb = make(text);
  fit(m, cb, 1, 1);
  nnc_callback_free(cb);
  /* w = 6 then 7: loss (7+8 + 10+11)/4 = 9; val (w 8) (18 + 28)/2 = 23 */
  ck_assert_str_eq(slurp(path), "epoch,loss,sw,val_loss,val_sw,val_x,x\r\n"
                                "0,9.0,1.0,23.0,1.0,15.0,2.5\r\n");
  nnc_model_free(m);
}
END_TEST

START_TEST(csv_logger_unwritable) {
  nnc_model *m = fit_table_model(0);
  nnc_callback *cb = make("CSVLogger(filename=/nonexistent-dir/log.csv)");
  nnc_array x = testutil_f32(xv, 4, 1), y = testutil_f32(yv, 4, 1);
  nnc_fit_options o;
  nnc_fit_options_default(&o);
  o.verbose = 0;
  o.callbacks = &cb;
  o.n_callbacks = 1;
  nnc_status st;
  ck_assert_int_eq(nnc_model_fit(m, &x, &y, &o, NULL, &st), NNC_ERR_WRITE);
  ck_assert_msg(strstr(st.message, "CSVLogger: /nonexistent-dir/log.csv: cannot write"), "%s",
                st.message);
  nnc_callback_free(cb);
  nnc_model_free(m);
}
END_TEST

/* Python's str(float): the shortest round trip, fixed in [1e-4, 1e16) */
START_TEST(python_float_text) {
  struct {
    double v;
    const char *want;
  } rows[] = {{0.1f, "0.10000000149011612"},
              {0.1, "0.1"},
              {1e-5, "1e-05"},
              {1.5e-7, "1.5e-07"},
              {1e16, "1e+16"},
              {1e15, "1000000000000000.0"},
              {1.2345678901234568e+17, "1.2345678901234568e+17"},
              {100.0, "100.0"},
              {0.0001, "0.0001"},
              {-0.0, "-0.0"},
              {-2.5, "-2.5"},
              {1234.5, "1234.5"},
              {NAN, "nan"},
              {INFINITY, "inf"},
              {-INFINITY, "-inf"}};
  for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
    char buf[40];
    py_float_repr(rows[i].v, buf, sizeof buf);
    ck_assert_msg(!strcmp(buf, rows[i].want), "%.17g: got %s, want %s", rows[i].v, buf,
                  rows[i].want);
  }
}
END_TEST

/* TerminateOnNaN: the running loss turns NaN at batch 2 (x = NaN): training
 * stops after that batch's hooks; Keras's message on the progress output. */
START_TEST(terminate_on_nan) {
  float xs[4] = {1, 2, NAN, 4};
  nnc_array x = testutil_f32(xs, 4, 1), y = testutil_f32(yv, 4, 1);
  nnc_model *m = fit_table_model(0);
  nnc_callback *cb = make("TerminateOnNaN()");
  char *text = NULL;
  size_t size = 0;
  FILE *f = open_memstream(&text, &size);
  nnc_fit_options o;
  nnc_fit_options_default(&o);
  o.epochs = 3;
  o.batch_size = 1;
  o.verbose = 2;
  o.progress = f;
  o.shuffle = NNC_SHUFFLE_OFF;
  o.callbacks = &cb;
  o.n_callbacks = 1;
  nnc_history h;
  nnc_status st;
  ck_assert_msg(nnc_model_fit(m, &x, &y, &o, &h, &st) == NNC_OK, "%s", st.message);
  fclose(f);
  ck_assert_int_eq(nnc_model_iterations(m), 3);
  ck_assert_int_eq(h.n_epochs, 1);
  ck_assert(isnan(nnc_history_get(&h, "loss", 0)));
  ck_assert_msg(strstr(text, "Batch 2: Invalid loss, terminating training\n"), "%s", text);
  free(text);
  nnc_history_free(&h);
  nnc_callback_free(cb);
  nnc_model_free(m);
  /* raise_error=True: fit fails with Keras's message */
  m = fit_table_model(0);
  cb = make("TerminateOnNaN(raise_error=True)");
  o.verbose = 0;
  o.callbacks = &cb;
  ck_assert_int_eq(nnc_model_fit(m, &x, &y, &o, &h, &st), NNC_ERR_NUMERICS);
  ck_assert_msg(strstr(st.message, "NaN or Inf loss encountered at batch 2. Loss value: nan. "
                                   "Terminating training immediately."),
                "%s", st.message);
  nnc_callback_free(cb);
  nnc_model_free(m);
}
END_TEST

START_TEST(text_and_json_forms) {
  nnc_callback *cb;
  nnc_status st;
  const char *ok[] = {"TerminateOnNaN", "  TerminateOnNaN ( ) ", "keras.callbacks.TerminateOnNaN()",
                      "TerminateOnNaN(raise_error=False,)",
                      "CSVLogger(filename='a b.csv', separator=\"\\t\", append=True)"};
  for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
    ck_assert_msg(nnc_callback_create(ok[i], "t", &cb, &st) == NNC_OK, "%s: %s", ok[i], st.message);
    ck_assert_str_eq(cb->name, i < 4 ? "TerminateOnNaN" : "CSVLogger");
    nnc_callback_free(cb);
  }
  const char *json[] = {
      ("{\"class_name\": \"CSVLogger\", \"config\": {\"filename\": \"a.csv\", \"append\": true}, "
       "\"module\": \"keras.callbacks\", \"registered_name\": null}"),
      "{\"class_name\": \"TerminateOnNaN\"}",
      "{\"class_name\": \"TerminateOnNaN\", \"config\": {}}"};
  for (size_t i = 0; i < sizeof json / sizeof json[0]; i++) {
    ck_assert_msg(nnc_callback_create_json(json[i], "t", &cb, &st) == NNC_OK, "%s: %s", json[i],
                  st.message);
    nnc_callback_free(cb);
  }
}
END_TEST

/* Each message names the source, the text or JSON path, and what was expected. */
START_TEST(parser_errors) {
  struct {
    const char *text, *want;
  } rows[] = {
      {"CSVLogger(filename=f.csv, append=x)", "--callback 2: CSVLogger(filename=f.csv, append=x): "
                                              "append: expected true or false, got 'x'"},
      {"Nope(a=1)", "--callback 2: Nope(a=1): class: unknown callback class 'Nope' (known: "},
      {"CSVLogger(filename='x", "column 20: expected a closing ' quote"},
      {"CSVLogger(filename=a,, )", "column 22: expected an argument (a value or key=value)"},
      {"CSVLogger(append=true, a.csv)", "column 24: expected key=value (a positional argument"},
      {"LearningRateScheduler(1, 0, 2)", "column 29: LearningRateScheduler takes 2 positional"},
      {"TerminateOnNaN(raise_error=true, raise_error=false)", "raise_error: given twice"},
      {"CSVLogger(filename=a.csv) x", "column 27: expected the end"},
      {"CSVLogger(filename=a.csv", "column 25: expected ',' or ')' after a value"},
      {"CSVLogger(separator=';;', filename=a)", "separator: expected one character"},
      {"CSVLogger(append=true)", "filename: CSVLogger needs a file name"},
      {"TerminateOnNaN(patience=2)",
       "patience: unknown argument of TerminateOnNaN (known: raise_error)"},
      {"TerminateOnNaN(raise_error=1e-3)", "raise_error: expected true or false, got a number"},
      {"TerminateOnNaN(raise_error=None)", "raise_error: expected true or false, got None"},
      {"TerminateOnNaN(raise_error=[1, {\"a\": \"]\"}])",
       "raise_error: expected true or false, got a JSON object or list"},
      {"TerminateOnNaN(raise_error={'a': 1})", "expected JSON inside { } or [ ]"},
      {"TerminateOnNaN(raise_error=)", "column 28: expected a value"},
      {"(x=1)", "column 1: expected a callback class name"},
  };
  for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
    nnc_callback *cb = (nnc_callback *)1;
    nnc_status st;
    ck_assert_int_eq(nnc_callback_create(rows[i].text, "--callback 2", &cb, &st), NNC_ERR_ARG);
    ck_assert_ptr_null(cb);
    ck_assert_msg(strstr(st.message, rows[i].want), "%s:\n got  %s\n want %s", rows[i].text,
                  st.message, rows[i].want);
  }
  struct {
    const char *json, *want;
  } js[] = {
      {"{\"class_name\": \"TerminateOnNaN\", \"config\": {\"raise_error\": 1}}",
       "spec.json: $.config.raise_error: expected true or false, got a number"},
      {"{\"class_name\": 3}", "spec.json: $.class_name: expected a string"},
      {"{\"class\": \"X\"}", "spec.json: $.class: unknown key"},
      {"[1]", "spec.json: $: expected an object"},
      {"{\"class_name\": \"CSVLogger\", \"config\": {\"filename\": {\"a\": 1}}}",
       "$.config.filename: expected a string, got a JSON object or list"},
      {"{\"class_name\": \"X\"}", "spec.json: $.class_name: unknown callback class 'X'"},
      {"{", "spec.json: $: not valid JSON"},
  };
  for (size_t i = 0; i < sizeof js / sizeof js[0]; i++) {
    nnc_callback *cb;
    nnc_status st;
    ck_assert_int_eq(nnc_callback_create_json(js[i].json, "spec.json", &cb, &st), NNC_ERR_ARG);
    ck_assert_msg(strstr(st.message, js[i].want), "%s:\n got  %s\n want %s", js[i].json, st.message,
                  js[i].want);
  }
  nnc_callback *cb;
  ck_assert_int_eq(nnc_callback_create(NULL, NULL, &cb, NULL), NNC_ERR_ARG);
  nnc_callback_free(NULL);
}
END_TEST

/* A spec's top-level "callbacks" list is created by fit, before any step. */
static const char *spec_with(const char *callbacks) {
  static char json[2048];
  snprintf(json, sizeof json,
           "{\"class_name\": \"Sequential\", \"config\": {\"name\": \"s\", \"layers\": ["
           "{\"class_name\": \"InputLayer\", \"config\": {\"batch_shape\": [null, 1]}},"
           "{\"class_name\": \"Dense\", \"config\": {\"name\": \"d\", \"units\": 1}}]},"
           "\"compile_config\": {\"optimizer\": \"sgd\", \"loss\": \"mse\"},"
           "\"callbacks\": %s}",
           callbacks);
  return json;
}

START_TEST(spec_callbacks) {
  char path[512], list[700];
  snprintf(path, sizeof path, "%s/spec_log.csv", testutil_tmpdir());
  remove(path);
  snprintf(list, sizeof list,
           "[{\"class_name\": \"CSVLogger\", \"config\": {\"filename\": \"%s\"}, "
           "\"module\": \"keras.callbacks\"}]",
           path);
  nnc_model *m;
  nnc_status st;
  ck_assert_msg(nnc_model_load_string(spec_with(list), "spec.json", &m, &st) == NNC_OK, "%s",
                st.message);
  nnc_array x = testutil_f32(xv, 4, 1), y = testutil_f32(yv, 4, 1);
  nnc_fit_options o;
  nnc_fit_options_default(&o);
  o.epochs = 2;
  o.verbose = 0;
  ck_assert_msg(nnc_model_fit(m, &x, &y, &o, NULL, &st) == NNC_OK, "%s", st.message);
  const char *head = "epoch,loss,val_loss\r\n0,";
  ck_assert_msg(!strncmp(slurp(path), head, strlen(head)), "%s", slurp(path));
  ck_assert_msg(strstr(slurp(path), ",NA\r\n1,"), "%s", slurp(path));
  nnc_model_free(m);
  /* a bad argument fails fit before the first step, naming the spec path */
  ck_assert_msg(
      nnc_model_load_string(spec_with("[{\"class_name\": \"TerminateOnNaN\", \"config\": {}},"
                                      "{\"class_name\": \"TerminateOnNaN\", \"config\": "
                                      "{\"raise_error\": 3}}]"),
                            "spec.json", &m, &st) == NNC_OK,
      "%s", st.message);
  ck_assert_int_eq(nnc_model_fit(m, &x, &y, &o, NULL, &st), NNC_ERR_SPEC);
  ck_assert_msg(strstr(st.message, "spec.json: $.callbacks[1].config.raise_error: expected true "
                                   "or false, got a number"),
                "%s", st.message);
  ck_assert_int_eq(nnc_model_iterations(m), 0);
  nnc_model_free(m);
  /* not a list, or an entry without class_name: the load fails */
  ck_assert_int_eq(nnc_model_load_string(spec_with("3"), "spec.json", &m, &st), NNC_ERR_SPEC);
  ck_assert_msg(strstr(st.message, "$.callbacks: expected a list of callbacks"), "%s", st.message);
  ck_assert_int_eq(nnc_model_load_string(spec_with("[{\"config\": {}}]"), "spec.json", &m, &st),
                   NNC_ERR_SPEC);
  ck_assert_msg(strstr(st.message, "$.callbacks[0]: expected a callback"), "%s", st.message);
  ck_assert_msg(nnc_model_load_string(spec_with("null"), "spec.json", &m, &st) == NNC_OK, "%s",
                st.message);
  nnc_model_free(m);
}
END_TEST

int main(void) {
  Suite *s = suite_create("callback_builtin");
  TCase *tc = tcase_create("builtin");
  tcase_set_timeout(tc, 60);
  tcase_add_test(tc, csv_logger_rows_header_and_append);
  tcase_add_test(tc, csv_logger_unwritable);
  tcase_add_test(tc, python_float_text);
  tcase_add_test(tc, terminate_on_nan);
  tcase_add_test(tc, text_and_json_forms);
  tcase_add_test(tc, parser_errors);
  tcase_add_test(tc, spec_callbacks);
  suite_add_tcase(s, tc);
  return testutil_run(s);
}
