/* The graph builders: shapes of the named builders and error propagation.
 *
 * Truth: the shape rules documented in compiler/graph/graph.h and ops.def
 * (matmul [..,K]@[K,N] -> [..,N], argmax and one-hot along the last axis),
 * and the contract that the first error of a chain of nested builder calls
 * is the one reported. */
#include <check.h>
#include <string.h>

#include "base/base.h"
#include "compiler/graph/graph.h"
#include "testutil.h"

static nnc_shape batched(int64_t c) {
  int64_t d[2] = {-1, c};
  return shape_make(1, 2, d);
}

static nnc_shape vec(int64_t c) {
  return shape_make(0, 1, &c);
}

/* x [B,3] + p [4] does not broadcast; relu of that and a sum over it must
 * still report the broadcast error, not "operand -1 out of range". */
START_TEST(first_error_sticks) {
  nnc_status st;
  nnc_status_ok(&st);
  nnc_graph g;
  ck_assert_int_eq(graph_init(&g, "t", &st), NNC_OK);
  int x = graph_input(&g, 0, batched(3), "x", &st);
  int p = graph_source(&g, NNC_OP_PARAM, 0, vec(4), "dense/bias", &st);
  ck_assert(x >= 0 && p >= 0);
  int r = graph_reduce(&g, NNC_RED_ALL,
                       graph_unary(&g, NNC_FN_RELU, graph_binary(&g, NNC_BIN_ADD, x, p, &st), &st),
                       &st);
  ck_assert_int_eq(r, -1);
  ck_assert_int_eq(st.code, NNC_ERR_SPEC);
  ck_assert_msg(strstr(st.message, "operands do not broadcast") != NULL, "%s", st.message);
  ck_assert_msg(strstr(st.message, "out of range") == NULL, "%s", st.message);
  ck_assert_int_eq(g.n, 2); /* nothing was appended */
  graph_free(&g);
}
END_TEST

/* With no earlier error, an operand of -1 is itself the error. */
START_TEST(bad_operand_without_earlier_error) {
  nnc_status st;
  nnc_status_ok(&st);
  nnc_graph g;
  ck_assert_int_eq(graph_init(&g, "t", &st), NNC_OK);
  ck_assert_int_eq(graph_unary(&g, NNC_FN_RELU, -1, &st), -1);
  ck_assert_int_eq(st.code, NNC_ERR_INTERNAL);
  ck_assert_msg(strstr(st.message, "out of range") != NULL, "%s", st.message);
  graph_free(&g);
}
END_TEST

START_TEST(named_builders_shapes) {
  nnc_status st;
  nnc_status_ok(&st);
  nnc_graph g;
  ck_assert_int_eq(graph_init(&g, "t", &st), NNC_OK);
  int64_t wd[2] = {3, 5};
  int x = graph_input(&g, 0, batched(3), "x", &st);
  int w = graph_source(&g, NNC_OP_PARAM, 0, shape_make(0, 2, wd), "dense/kernel", &st);
  int z = graph_matmul(&g, x, w, &st);
  ck_assert_int_ge(z, 0);
  nnc_shape want = batched(5);
  ck_assert(shape_equal(&g.nodes[z].shape, &want));
  int s = graph_softmax(&g, z, &st);
  ck_assert(shape_equal(&g.nodes[s].shape, &want));
  int am = graph_argmax(&g, s, &st);
  nnc_shape one = batched(1);
  ck_assert(shape_equal(&g.nodes[am].shape, &one));
  int oh = graph_one_hot(&g, am, 7, &st);
  nnc_shape seven = batched(7);
  ck_assert(shape_equal(&g.nodes[oh].shape, &seven));
  int d = graph_dropout(&g, z, 0.25, 42, &st);
  ck_assert_int_ge(d, 0);
  ck_assert(g.nodes[d].params.rate == 0.25 && g.nodes[d].key == 42);
  int lr = graph_scalar(&g, NNC_SCALAR_LR, &st);
  ck_assert_int_eq(g.nodes[lr].params.index, NNC_SCALAR_LR);
  int total = graph_reduce(&g, NNC_RED_ALL, z, &st);
  int stat = graph_stat(&g, total, 3, &st);
  ck_assert_int_eq(g.nodes[stat].params.index, 3);
  int out = graph_output(&g, s, 1, &st);
  ck_assert_int_eq(g.nodes[out].params.index, 1);
  /* reshape keeps the elements per row: [B,5] -> [B,5,1] yes, [B,4] no */
  int64_t r3[3] = {-1, 5, 1};
  int rs = graph_reshape(&g, z, shape_make(1, 3, r3), &st);
  ck_assert_int_ge(rs, 0);
  ck_assert_int_eq(g.nodes[rs].shape.rank, 3);
  int before = g.n;
  ck_assert_int_eq(graph_reshape(&g, z, batched(4), &st), -1);
  ck_assert_msg(strstr(st.message, "reshape changes the number of elements") != NULL, "%s",
                st.message);
  ck_assert_int_eq(g.n, before);
  nnc_status_ok(&st);
  /* a matmul whose inner dimensions differ is refused with the node named */
  ck_assert_int_eq(graph_matmul(&g, z, w, &st), -1);
  ck_assert_msg(strstr(st.message, "inner dimensions differ") != NULL, "%s", st.message);
  graph_free(&g);
}
END_TEST

int main(void) {
  Suite *s = suite_create("graph");
  TCase *tc = tcase_create("graph");
  tcase_add_test(tc, first_error_sticks);
  tcase_add_test(tc, bad_operand_without_earlier_error);
  tcase_add_test(tc, named_builders_shapes);
  suite_add_tcase(s, tc);
  return testutil_run(s);
}
