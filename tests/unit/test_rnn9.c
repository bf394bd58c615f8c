/* The recurrent layers' backward pass moves no more data than it needs
 * (issue 9, W7): RNN_GRAD's output is read in place by the gradients of W,
 * the bias and U (transposed matmuls contracting over batch x time rows, no
 * slice copy in between), and the record's incoming gradient is built for
 * its state fields alone (no zero-filled gradient of the whole record). The
 * values themselves are checked by test_rnn_op (finite differences),
 * test_rnn (a float64 reference) and the golden rnn cases. */
#include <check.h>
#include <string.h>

#include "compiler/compile.h"
#include "compiler/ops/rnn_cell.h"
#include "compiler/spec/spec.h"
#include "nnc.h"
#include "testutil.h"

#define Q testutil_json

typedef struct counts {
  int grads, slices_of_grad, direct_matmuls, wide_pads;
  int64_t states_width, record_width;
} counts;

/* The train graph of InputLayer [B, 100, 4] -> `layer` -> Dense 1. */
static counts train_graph(const char *layer) {
  char buf[1024];
  snprintf(buf, sizeof buf,
           "{'class_name': 'Sequential', 'config': {'name': 'm', 'layers': ["
           "{'class_name': 'InputLayer', 'config': {'batch_shape': [null, 100, 4]}}, %s,"
           "{'class_name': 'Dense', 'config': {'units': 1}}]},"
           "'compile_config': {'optimizer': 'adam', 'loss': 'mse'}}",
           layer);
  nnc_spec spec;
  nnc_status st;
  ck_assert_msg(nnc_spec_parse_string(Q(buf), "rnn9.json", &spec, &st) == NNC_OK, "%s", st.message);
  nnc_compile_options opts;
  memset(&opts, 0, sizeof opts);
  opts.emit_only = 1;
  nnc_compiled c;
  ck_assert_msg(nnc_compile_spec(&spec, NULL, &opts, &c, &st) == NNC_OK, "%s", st.message);
  const nnc_graph *g = &c.graphs[NNC_GRAPH_TRAIN];
  counts k = {0};
  int grad = -1;
  for (int i = 0; i < g->n; i++)
    if (g->nodes[i].op == NNC_OP_RNN_GRAD) {
      grad = i, k.grads++;
      k.states_width = g->nodes[g->nodes[i].in[1]].shape.dims[2];
      k.record_width = g->nodes[g->nodes[i].in[0]].shape.dims[2];
    }
  for (int i = 0; i < g->n; i++) {
    const nnc_node *n = &g->nodes[i];
    if (n->op == NNC_OP_PAD && n->shape.rank == 3 && n->shape.dims[2] == k.record_width)
      k.wide_pads++;
    for (int a = 0; a < op_arity(n->op); a++) {
      if (n->in[a] != grad) continue;
      k.slices_of_grad += n->op == NNC_OP_SLICE;
      k.direct_matmuls += n->op == NNC_OP_MATMUL && n->params.transpose_a;
    }
  }
  nnc_compiled_free(&c);
  nnc_spec_free(&spec);
  return k;
}

START_TEST(lstm_gradients_read_rnn_grad_in_place) {
  counts k = train_graph("{'class_name': 'LSTM', 'config': {'units': 8}}");
  ck_assert_int_eq(k.grads, 1);
  ck_assert_int_eq(k.slices_of_grad, 0);
  ck_assert_int_eq(k.direct_matmuls, 2); /* W's and U's gradients */
  ck_assert_int_eq(k.states_width, 16);  /* h and c */
  ck_assert_int_eq(k.wide_pads, 0);
}
END_TEST

START_TEST(backwards_and_sequences_read_in_place_too) {
  counts k = train_graph("{'class_name': 'LSTM', 'config': {'units': 8, 'go_backwards': true, "
                         "'return_sequences': true}}, {'class_name': 'Flatten', 'config': {}}");
  ck_assert_int_eq(k.slices_of_grad, 0);
  ck_assert_int_eq(k.direct_matmuls, 2);
  ck_assert_int_eq(k.wide_pads, 0);
  k = train_graph("{'class_name': 'SimpleRNN', 'config': {'units': 8}}");
  ck_assert_int_eq(k.slices_of_grad, 0);
  ck_assert_int_eq(k.direct_matmuls, 2);
  ck_assert_int_eq(k.states_width, 8);
  ck_assert_int_eq(k.wide_pads, 0);
}
END_TEST

/* GRU reset_after's d(h U) differs from d xp in the candidate's block: its
 * output is wider and read through slices; without reset_after in place. */
START_TEST(gru_reads_what_it_can_in_place) {
  counts k = train_graph("{'class_name': 'GRU', 'config': {'units': 8, 'reset_after': false}}");
  ck_assert_int_eq(k.direct_matmuls, 1); /* W's; U's reads its two column blocks */
  ck_assert_int_eq(k.states_width, 8);
  ck_assert_int_eq(k.wide_pads, 0);
  k = train_graph("{'class_name': 'GRU', 'config': {'units': 8}}");
  ck_assert_int_eq(k.grads, 1);
  ck_assert_int_eq(k.wide_pads, 0);
}
END_TEST

int main(void) {
  Suite *s = suite_create("rnn9");
  TCase *tc = tcase_create("core");
  tcase_add_test(tc, lstm_gradients_read_rnn_grad_in_place);
  tcase_add_test(tc, backwards_and_sequences_read_in_place_too);
  tcase_add_test(tc, gru_reads_what_it_can_in_place);
  suite_add_tcase(s, tc);
  return testutil_run(s);
}
