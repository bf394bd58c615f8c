/* graph_parse, the inverse of graph_dump_text.
 *
 * Truth: the dump itself. Every graph the compiler makes, after every pass,
 * for the repo's specs and the oracle cases, must read back into a graph
 * whose dump is the same text; and text that breaks the dump's grammar or an
 * op's shape rule is refused with its line number. */
#include <check.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "compiler/compile.h"
#include "compiler/graph/graph.h"
#include "oracle_case.h"
#include "testutil.h"

/* Dump every graph after every pass, then parse each and dump it again.
 * Returns the number of graphs, or -1 for a model this compiler does not
 * support yet (refused with "not supported"). */
static int round_trip(const char *json, const char *name) {
  nnc_spec spec;
  nnc_status st;
  if (nnc_spec_parse_string(json, name, &spec, &st) != NNC_OK) {
    ck_assert_msg(strstr(st.message, "not supported") != NULL, "%s", st.message);
    nnc_spec_free(&spec);
    return -1;
  }
  char *text = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&text, &len);
  nnc_compile_options o = {0};
  o.dump = f;
  o.dump_after = "all";
  o.no_jit = 1;
  nnc_compiled c;
  ck_assert_msg(nnc_compile_spec(&spec, NULL, &o, &c, &st) == NNC_OK, "%s: %s", name, st.message);
  fclose(f);
  int graphs = 0, line = 0;
  for (const char *p = text; *p;) {
    if (*p == ';' || *p == '\n') { /* "; after PASS" */
      const char *nl = strchr(p, '\n');
      p = nl ? nl + 1 : p + strlen(p);
      line++;
      continue;
    }
    nnc_graph g;
    const char *rest;
    ck_assert_msg(graph_parse(name, p, &rest, &line, &g, &st) == NNC_OK, "%s", st.message);
    char *again = NULL;
    size_t again_len = 0;
    FILE *h = open_memstream(&again, &again_len);
    graph_dump_text(&g, h);
    fclose(h);
    size_t want = (size_t)(rest - p);
    ck_assert_msg(again_len == want && !memcmp(again, p, want),
                  "%s line %d: dump -> parse -> dump differs:\n%.*s\n---\n%s", name, line,
                  (int)want, p, again);
    free(again);
    graph_free(&g);
    graphs++;
    p = rest;
  }
  free(text);
  nnc_compiled_free(&c);
  nnc_spec_free(&spec);
  return graphs;
}

START_TEST(repo_specs_round_trip) {
  size_t len = 0;
  nnc_status st;
  char *json = nnc_read_file(NNC_SOURCE_DIR "/specs/fashion_mnist_mlp.json", &len, &st);
  ck_assert_msg(json != NULL, "%s", st.message);
  /* the train graph after lower and 18 pass rows, test and predict after lower and 11 */
  ck_assert_int_eq(round_trip(json, "fashion_mnist_mlp.json"), 19 + 12 + 12);
  free(json);
}
END_TEST

static void cases_round_trip(const char *dir) {
  DIR *d = opendir(dir);
  ck_assert_msg(d != NULL, "no cases in %s", dir);
  int cases = 0;
  for (struct dirent *e; (e = readdir(d));) {
    if (e->d_name[0] == '.') continue;
    char path[1024];
    snprintf(path, sizeof path, "%s/%s/case.json", dir, e->d_name);
    FILE *f = fopen(path, "r");
    if (!f) continue;
    fclose(f);
    char *json = oracle_spec_json_from(dir, e->d_name);
    int graphs = round_trip(json, e->d_name);
    ck_assert_int_ne(graphs, 0);
    free(json);
    cases += graphs > 0;
  }
  closedir(d);
  ck_assert_int_gt(cases, 0);
}

START_TEST(oracle_cases_round_trip) {
  cases_round_trip(NNC_ORACLE_DIR "/cases");
  cases_round_trip(NNC_SOURCE_DIR "/tests/cases");
}
END_TEST

/* The pooling and resampling ops (pool, pool_grad with max and avg, resize
 * both ways), channels_first permutes included: a train graph of all of them
 * (the Dense before them makes their gradients). */
START_TEST(pooling_ops_round_trip) {
  const char *json = testutil_json(
      "{'class_name': 'Sequential', 'config': {'name': 'm', 'layers': ["
      "{'class_name': 'InputLayer', 'config': {'batch_shape': [null, 2, 6, 5], 'name': 'in'}}, "
      "{'class_name': 'Dense', 'config': {'name': 'p', 'units': 5}}, "
      "{'class_name': 'MaxPooling2D', 'config': {'name': 'a', 'pool_size': [2, 3], 'strides': "
      "[1, 2], 'padding': 'same', 'data_format': 'channels_first'}}, "
      "{'class_name': 'UpSampling2D', 'config': {'name': 'b', 'size': 2, 'interpolation': "
      "'bilinear', 'data_format': 'channels_first'}}, "
      "{'class_name': 'Resizing', 'config': {'name': 'aa', 'height': 5, 'width': 7, "
      "'antialias': true, 'data_format': 'channels_first'}}, "
      "{'class_name': 'Resizing', 'config': {'name': 'bc', 'height': 4, 'width': 9, "
      "'interpolation': 'bicubic', 'data_format': 'channels_first'}}, "
      "{'class_name': 'AveragePooling2D', 'config': {'name': 'c', 'data_format': "
      "'channels_first'}}, {'class_name': 'Flatten', 'config': {'name': 'f'}}, "
      "{'class_name': 'Dense', 'config': {'name': 'd', 'units': 1}}]}, "
      "'compile_config': {'optimizer': 'sgd', 'loss': 'mse'}}");
  ck_assert_int_gt(round_trip(json, "pooling.json"), 0);
}
END_TEST

/* The issue-8 layers' ops at their unusual settings (grouped, dilated,
 * causal and channels_first convolutions, Conv3D, depthwise with a
 * multiplier, gather, the normalizations, noise and activation layers): train
 * graphs, so their gradients are dumped and parsed too. */
START_TEST(layer_family_ops_round_trip) {
  const char *conv = testutil_json(
      "{'class_name': 'Sequential', 'config': {'name': 'm', 'layers': ["
      "{'class_name': 'InputLayer', 'config': {'batch_shape': [null, 4, 7, 6], 'name': 'in'}}, "
      "{'class_name': 'Conv2D', 'config': {'name': 'a', 'filters': 4, 'kernel_size': [2, 3], "
      "'groups': 2, 'dilation_rate': [2, 1], 'padding': 'same', 'data_format': "
      "'channels_first'}}, "
      "{'class_name': 'DepthwiseConv2D', 'config': {'name': 'b', 'kernel_size': 2, "
      "'depth_multiplier': 2, 'strides': [2, 1], 'data_format': 'channels_first'}}, "
      "{'class_name': 'Reshape', 'config': {'name': 'r', 'target_shape': [6, 5, 2, 2]}}, "
      "{'class_name': 'Conv3D', 'config': {'name': 'c', 'filters': 2, 'kernel_size': [2, 2, 1], "
      "'padding': 'same', 'activation': 'relu'}}, "
      "{'class_name': 'Reshape', 'config': {'name': 's', 'target_shape': [30, 4]}}, "
      "{'class_name': 'Conv1D', 'config': {'name': 'd', 'filters': 3, 'kernel_size': 3, "
      "'padding': 'causal', 'dilation_rate': 2}}, "
      "{'class_name': 'ZeroPadding1D', 'config': {'name': 'z', 'padding': [1, 2]}}, "
      "{'class_name': 'Cropping1D', 'config': {'name': 'e', 'cropping': [2, 1]}}, "
      "{'class_name': 'SpatialDropout1D', 'config': {'name': 'sd', 'rate': 0.5}}, "
      "{'class_name': 'GlobalMaxPooling1D', 'config': {'name': 'g', 'keepdims': true}}, "
      "{'class_name': 'Flatten', 'config': {'name': 'f'}}, "
      "{'class_name': 'Dense', 'config': {'name': 'o', 'units': 1}}]}, "
      "'compile_config': {'optimizer': 'sgd', 'loss': 'mse'}}");
  ck_assert_int_gt(round_trip(conv, "conv.json"), 0);
  const char *norm = testutil_json(
      "{'class_name': 'Sequential', 'config': {'name': 'm', 'layers': ["
      "{'class_name': 'InputLayer', 'config': {'batch_shape': [null, 5], 'name': 'in'}}, "
      "{'class_name': 'Embedding', 'config': {'name': 'em', 'input_dim': 7, 'output_dim': 4}}, "
      "{'class_name': 'BatchNormalization', 'config': {'name': 'bn', 'axis': 1}}, "
      "{'class_name': 'LayerNormalization', 'config': {'name': 'ln', 'axis': [1, 2]}}, "
      "{'class_name': 'GroupNormalization', 'config': {'name': 'gn', 'groups': 2}}, "
      "{'class_name': 'UnitNormalization', 'config': {'name': 'un', 'axis': 1}}, "
      "{'class_name': 'PReLU', 'config': {'name': 'pr', 'shared_axes': [1]}}, "
      "{'class_name': 'ReLU', 'config': {'name': 're', 'max_value': 6, 'negative_slope': 0.1, "
      "'threshold': 0.5}}, "
      "{'class_name': 'ELU', 'config': {'name': 'el', 'alpha': 0.5}}, "
      "{'class_name': 'LeakyReLU', 'config': {'name': 'lr', 'negative_slope': 0.2}}, "
      "{'class_name': 'GaussianNoise', 'config': {'name': 'gno', 'stddev': 0.1}}, "
      "{'class_name': 'GaussianDropout', 'config': {'name': 'gd', 'rate': 0.2}}, "
      "{'class_name': 'AlphaDropout', 'config': {'name': 'ad', 'rate': 0.2}}, "
      "{'class_name': 'Softmax', 'config': {'name': 'sm', 'axis': 1}}, "
      "{'class_name': 'Flatten', 'config': {'name': 'f'}}, "
      "{'class_name': 'Dense', 'config': {'name': 'o', 'units': 1}}]}, "
      "'compile_config': {'optimizer': 'sgd', 'loss': 'mse'}}");
  ck_assert_int_gt(round_trip(norm, "norm.json"), 0);
}
END_TEST

static int parse_error(const char *text, const char *needle) {
  nnc_graph g;
  nnc_status st;
  nnc_status_ok(&st);
  int line = 0;
  int rc = graph_parse("t.ir", text, NULL, &line, &g, &st);
  ck_assert_msg(rc == NNC_ERR_SPEC, "accepted:\n%s", text);
  ck_assert_msg(strstr(st.message, needle) != NULL, "message '%s' lacks '%s'", st.message, needle);
  return rc;
}

START_TEST(errors_name_the_line) {
  const char *head = "graph t (3 nodes)\n"
                     "%0 input any [B,3] - - () io=0 \"x\"\n"
                     "%1 param any [3] - - () param=0 \"b\"\n";
  char text[512];
  snprintf(text, sizeof text, "%s%%2 binary.add any [B,3] - - (%%0,%%1:last) \"s\"\n", head);
  nnc_graph g;
  nnc_status st;
  ck_assert_msg(graph_parse("t.ir", text, NULL, NULL, &g, &st) == NNC_OK, "%s", st.message);
  ck_assert_int_eq(g.n, 3);
  ck_assert_int_eq(g.nodes[2].bcast[1], NNC_BCAST_LAST);
  ck_assert_int_eq(g.nodes[1].params.index, 0);
  ck_assert_str_eq(g.nodes[2].label, "s");
  graph_free(&g);
  /* a shape the rule does not give */
  snprintf(text, sizeof text, "%s%%2 binary.add any [B,4] - - (%%0,%%1:last)\n", head);
  parse_error(text, "t.ir:4: shape [B,4], but the operands give [B,3]");
  /* a broadcast mode the rule does not give */
  snprintf(text, sizeof text, "%s%%2 binary.add any [B,3] - - (%%0,%%1)\n", head);
  parse_error(text, "t.ir:4: broadcast mode differs");
  /* an operand after its user */
  snprintf(text, sizeof text, "%s%%2 unary.relu any [B,3] - - (%%2)\n", head);
  parse_error(text, "t.ir:4: an operand must be an earlier node");
  /* unknown op, attribute, phase */
  snprintf(text, sizeof text, "%s%%2 unary.nope any [B,3] - - (%%0)\n", head);
  parse_error(text, "t.ir:4: unknown op");
  snprintf(text, sizeof text, "%s%%2 unary.relu any [B,3] - - (%%0) rate=1\n", head);
  parse_error(text, "t.ir:4: unknown attribute 'rate=1' for unary");
  snprintf(text, sizeof text, "%s%%2 unary.relu later [B,3] - - (%%0)\n", head);
  parse_error(text, "t.ir:4: expected a phase");
  /* a node number beyond the header's count */
  snprintf(text, sizeof text, "%s%%3 unary.relu any [B,3] - - (%%0)\n", head);
  parse_error(text, "t.ir:4: expected a node number");
  parse_error("graph t (1 nodes)\n%0 input any [B,3] - - () io=x\n", "t.ir:2: io: not an integer");
  parse_error("nonsense\n", "t.ir:1: expected 'graph NAME (N nodes)'");
}
END_TEST

int main(void) {
  Suite *s = suite_create("graph_parse");
  TCase *tc = tcase_create("graph_parse");
  tcase_set_timeout(tc, 300);
  tcase_add_test(tc, repo_specs_round_trip);
  tcase_add_test(tc, oracle_cases_round_trip);
  tcase_add_test(tc, pooling_ops_round_trip);
  tcase_add_test(tc, layer_family_ops_round_trip);
  tcase_add_test(tc, errors_name_the_line);
  suite_add_tcase(s, tc);
  return testutil_run(s);
}
