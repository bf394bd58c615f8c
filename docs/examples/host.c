/* A complete host program using nnc as a library: load a spec, train it on
 * data made here (y = 3x - 1 with a little structure), watch the History,
 * evaluate, predict, save and reload the weights.
 *
 *   cc host.c -I include -L build -lnnc $(pkg-config --libs libcjson) -lLLVM-14 -lz -lm
 * (the test suite builds it with CMake: tests/CMakeLists.txt). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "nnc.h"

static const char *spec =
    "{\"class_name\": \"Sequential\", \"config\": {\"name\": \"host_example\", \"layers\": ["
    "  {\"class_name\": \"Dense\", \"config\": {\"name\": \"hidden\", \"units\": 8, "
    "\"activation\": \"tanh\","
    "   \"batch_input_shape\": [null, 1]}},"
    "  {\"class_name\": \"Dense\", \"config\": {\"name\": \"out\", \"units\": 1}}]},"
    " \"compile_config\": {\"optimizer\": {\"class_name\": \"Adam\", \"config\": "
    "{\"learning_rate\": 0.05}},"
    "   \"loss\": \"mse\", \"metrics\": [\"mae\"]}}";

static int check(int rc, const nnc_status *st) {
  if (rc != NNC_OK) fprintf(stderr, "host: %s\n", st->message);
  return rc;
}

int main(int argc, char **argv) {
  const char *weights_path = argc > 1 ? argv[1] : "host_example.safetensors";
  enum { N = 256 };
  static float xs[N], ys[N];
  for (int i = 0; i < N; i++) {
    xs[i] = -1.0f + 2.0f * (float)i / (N - 1);
    ys[i] = 3.0f * xs[i] - 1.0f;
  }
  nnc_array x = {NNC_F32, 2, {N, 1}, xs, "x"}, y = {NNC_F32, 2, {N, 1}, ys, "y"};

  nnc_status st;
  nnc_model *model;
  if (check(nnc_model_load_string(spec, "host_example", &model, &st), &st)) return 1;
  if (check(nnc_model_set_seed(model, 7, &st), &st)) return 1;

  nnc_fit_options opts;
  nnc_fit_options_default(&opts);
  opts.epochs = 40;
  opts.batch_size = 32;
  opts.verbose = 0;
  opts.validation_split = 0.25;
  nnc_history history;
  if (check(nnc_model_fit(model, &x, &y, &opts, &history, &st), &st)) return 1;
  double first = nnc_history_get(&history, "loss", 0);
  double last = nnc_history_get(&history, "loss", history.n_epochs - 1);
  printf("epochs run: %d, loss %.5f -> %.5f, val_loss %.5f\n", history.n_epochs, first, last,
         nnc_history_get(&history, "val_loss", history.n_epochs - 1));
  nnc_history_free(&history);

  nnc_logs logs = {0}; /* zero-initialized: empty; the library grows it */
  if (check(nnc_model_evaluate(model, &x, &y, 32, &logs, &st), &st)) return 1;
  printf("evaluate: loss %.5f mae %.5f\n", nnc_logs_get(&logs, "loss"), nnc_logs_get(&logs, "mae"));

  nnc_array pred;
  if (check(nnc_model_predict(model, &x, 64, &pred, &st), &st)) return 1;
  float p0 = ((float *)pred.data)[0];
  printf("predict(x=-1) = %.4f (target -4)\n", p0);
  nnc_array_free(&pred);

  /* weights by name, and a round trip through a safetensors file */
  nnc_array kernel;
  if (check(nnc_model_get_weight(model, "out/kernel", &kernel, &st), &st)) return 1;
  printf("out/kernel shape [%lld, %lld]\n", (long long)kernel.shape[0], (long long)kernel.shape[1]);
  nnc_array_free(&kernel);
  if (check(nnc_model_save_weights(model, weights_path, &st), &st)) return 1;
  nnc_model *again;
  if (check(nnc_model_load_string(spec, "host_example", &again, &st), &st)) return 1;
  if (check(nnc_model_load_weights(again, weights_path, &st), &st)) return 1;
  nnc_logs logs2 = {0};
  if (check(nnc_model_evaluate(again, &x, &y, 32, &logs2, &st), &st)) return 1;
  printf("reloaded weights evaluate to the same loss: %s\n",
         nnc_logs_get(&logs2, "loss") == nnc_logs_get(&logs, "loss") ? "yes" : "no");

  /* an error is a value with a message, never a crash */
  nnc_model *broken;
  int rc = nnc_model_load_string(
      "{\"class_name\": \"Sequential\", \"config\": {\"layers\": [{\"class_name\": "
      "\"Dense\", \"config\": {\"units\": -2}}]}}",
      "broken.json", &broken, &st);
  printf("bad spec -> code %d: %s\n", rc, st.message);

  int ok = last < 0.01 && fabs(p0 - (-4.0f)) < 0.2 &&
           nnc_logs_get(&logs2, "loss") == nnc_logs_get(&logs, "loss") && rc == NNC_ERR_SPEC;
  nnc_logs_free(&logs);
  nnc_logs_free(&logs2);
  nnc_model_free(again);
  nnc_model_free(model);
  printf("%s\n", ok ? "host example: ok" : "host example: FAILED");
  return ok ? 0 : 1;
}
