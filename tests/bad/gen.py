#!/usr/bin/env python3
"""Writes the inputs of the bad-input corpus (tests/bad/cases.tsv) into DIR.

usage: gen.py DIR

Specs are small edits of one valid model; binary files (.npy, IDX, safetensors)
are built byte by byte here so that every defect is visible in this file rather
than hidden in a committed binary. Standard library only.
"""
import gzip
import json
import os
import struct
import sys

D = sys.argv[1]
os.makedirs(D, exist_ok=True)


def put(name, data):
    with open(os.path.join(D, name), "wb") as f:
        f.write(data.encode() if isinstance(data, str) else data)


# ---------------------------------------------------------------- specs
def layer_in(shape="[null, 4]", key="batch_input_shape", name="in"):
    return '{"class_name": "InputLayer", "config": {"%s": %s, "name": "%s"}}' % (key, shape, name)


def dense(name="d", units="3", extra=', "activation": "softmax"'):
    return '{"class_name": "Dense", "config": {"name": "%s", "units": %s%s}}' % (name, units, extra)


CLS_COMPILE = '{"optimizer": "sgd", "loss": "sparse_categorical_crossentropy", "metrics": ["accuracy"]}'


def seq(layers=None, compile_cfg=CLS_COMPILE, model_name='"m"', cls='"Sequential"'):
    if layers is None:
        layers = [layer_in(), dense()]
    return '{"class_name": %s, "config": {"name": %s, "layers": [%s]}, "compile_config": %s}' % (
        cls, model_name, ", ".join(layers), compile_cfg)


def compile_cfg(optimizer='"sgd"', loss='"sparse_categorical_crossentropy"', metrics='["accuracy"]'):
    return '{"optimizer": %s, "loss": %s, "metrics": %s}' % (optimizer, loss, metrics)


def sgd(config):
    return '{"class_name": "SGD", "config": {%s}}' % config


# valid models the data/weights/CLI cases run against
put("ok.json", seq())  # 4 -> 3 classes, softmax, sparse CCE
put("ok_mse.json", seq([layer_in(), dense("d", "1", "")], compile_cfg(loss='"mse"', metrics="[]")))
put("ok_relu.json", seq([layer_in(), dense("h", "5", ', "activation": "relu"'), dense("o", "1", "")],
                        compile_cfg(loss='"mse"', metrics="[]")))
put("ok_numerics.json", seq([layer_in(), dense("hidden_layer", "5", ', "activation": "relu"'), dense("out")]))
put("ok_noshape.json", seq([dense("d", "1", "")], compile_cfg(loss='"mse"', metrics="[]")))
put("ok_sigmoid_logits.json",
    seq([layer_in(), dense("d", "1", ', "activation": "sigmoid"')],
        compile_cfg(loss='{"class_name": "BinaryCrossentropy", "config": {"from_logits": true}}',
                    metrics="[]")))
put("cc_ok.json", compile_cfg())
put("cc_bad.json", '{"optimizer": "sgd", "loss": 7}')
put("cc_truncated.json", '{"optimizer": ')

specs = {
    # malformed JSON
    "json_truncated": '{"class_name": "Sequential", "config": {',
    "json_empty": "",
    "json_not_object": "[1, 2, 3]",
    "json_trailing": seq() + " xyz",
    "json_deep": "[" * 100000,
    "json_bare_word": "Sequential",
    # item 9: strictness where Keras is strict
    "dup_key": seq([layer_in(), dense("d", "3", ', "units": 4, "activation": "softmax"')]),
    "dup_key_root": seq()[:-1] + ', "class_name": "Functional"}',
    "name_slash": seq([layer_in(), dense("a/b")]),
    "opt_unknown_arg": seq(compile_cfg=compile_cfg(optimizer=sgd('"learning_rate": 0.1, "colour": 1'))),
    "lr_1e400": seq(compile_cfg=compile_cfg(optimizer=sgd('"learning_rate": 1e400'))),
    "batch_shape_conflict": seq([
        '{"class_name": "InputLayer", "config": {"batch_shape": [null, 4], '
        '"batch_input_shape": [null, 5], "name": "in"}}', dense()]),
    "units_1e400": seq([layer_in(), dense("d", "1e400")]),
    # wrong types at many JSON paths
    "class_name_number": seq(cls="5"),
    "model_name_number": seq(model_name="5"),
    "config_number": '{"class_name": "Sequential", "config": 5}',
    "layers_object": '{"class_name": "Sequential", "config": {"name": "m", "layers": {}}}',
    "layers_empty": seq([]),
    "layer_number": seq([layer_in(), "5"]),
    "layer_no_class": seq([layer_in(), '{"config": {"name": "d", "units": 3}}']),
    "units_string": seq([layer_in(), dense("d", '"3"')]),
    # regularizers and constraints (compiler/spec/spec_regularizer.c, spec_constraint.c)
    "regularizer_negative": seq([layer_in(), dense("d", "3", ', "kernel_regularizer": '
                                 '{"class_name": "L2", "config": {"l2": -0.1}}')]),
    "regularizer_orthogonal_bias": seq([layer_in(), dense("d", "3", ', "bias_regularizer": '
                                        '"orthogonal_regularizer"')]),
    "constraint_axis": seq([layer_in(), dense("d", "3", ', "kernel_constraint": '
                            '{"class_name": "MaxNorm", "config": {"axis": 5}}')]),
    "units_negative": seq([layer_in(), dense("d", "-3")]),
    "units_zero": seq([layer_in(), dense("d", "0")]),
    "units_fraction": seq([layer_in(), dense("d", "2.5")]),
    "units_null_list": seq([layer_in(), dense("d", "[3]")]),
    "activation_number": seq([layer_in(), dense("d", "3", ', "activation": 5')]),
    "activation_unknown": seq([layer_in(), dense("d", "3", ', "activation": "relu7"')]),
    "use_bias_string": seq([layer_in(), dense("d", "3", ', "use_bias": "yes"')]),
    "input_shape_string": seq([layer_in('"4"'), dense()]),
    "input_shape_negative": seq([layer_in("[null, -4]"), dense()]),
    "input_shape_zero": seq([layer_in("[null, 0]"), dense()]),
    "input_shape_text_dim": seq([layer_in('[null, "four"]'), dense()]),
    "input_shape_rank9": seq([layer_in("[null, 1, 1, 1, 1, 1, 1, 1, 1, 4]"), dense()]),
    "input_shape_huge": seq([layer_in("[null, 4611686018427387904]"), dense()]),
    # None axes (a sequence length): built for the data, or --input-shape
    "none_axis": seq([layer_in("[null, null, 4]"),
                      '{"class_name": "GlobalAveragePooling1D", "config": {"name": "g"}}', dense()]),
    "none_axis_shape_key": seq([layer_in("[null, 4]", key="shape"),
                                '{"class_name": "GlobalAveragePooling1D", "config": {"name": "g"}}',
                                dense()]),
    "none_axis_flatten": seq([layer_in("[null, null, 4]"),
                              '{"class_name": "Flatten", "config": {"name": "f"}}', dense()]),
    "input_not_first": seq([dense(), layer_in()]),
    "dropout_rate_high": seq([layer_in(), '{"class_name": "Dropout", "config": {"name": "dr", "rate": 1.5}}',
                              dense()]),
    "dropout_rate_negative": seq([layer_in(), '{"class_name": "Dropout", "config": {"name": "dr", "rate": -0.1}}',
                                  dense()]),
    "dropout_rate_string": seq([layer_in(), '{"class_name": "Dropout", "config": {"name": "dr", "rate": "half"}}',
                                dense()]),
    "initializer_unknown": seq([layer_in(), dense("d", "3", ', "kernel_initializer": "magic"')]),
    "initializer_number": seq([layer_in(), dense("d", "3", ', "kernel_initializer": 5')]),
    "trainable_false": '{"class_name": "Sequential", "config": {"name": "m", "trainable": false, "layers": [%s, %s]}}'
                       % (layer_in(), dense()),
    # unsupported layers / activations / losses / optimizers / metrics
    "layer_conv9d": seq([layer_in(), '{"class_name": "Conv9D", "config": {"name": "c"}}']),
    "layer_conv2d": seq([layer_in(), '{"class_name": "Conv2D", "config": {"name": "c", "filters": 2, '
                         '"kernel_size": [3, 3]}}']),
    "layer_conv2d_causal": seq([layer_in("[null, 5, 5, 1]"), '{"class_name": "Conv2D", "config": '
                                '{"name": "c", "filters": 2, "kernel_size": 3, "padding": "causal"}}']),
    # sizes whose products overflow int64: refused, never computed (issue 8 breaker)
    "layer_conv2d_huge_kernel": seq([layer_in("[null, 4, 4, 1]"), '{"class_name": "Conv2D", "config": '
                                     '{"name": "c", "filters": 2, "kernel_size": 2147483647, '
                                     '"dilation_rate": 2147483647, "padding": "same"}}']),
    "layer_dense_huge_kernel": seq([layer_in("[null, 65536]"), dense("d", "65536", "")]),
    "layer_upsampling_huge": seq([layer_in("[null, 4, 4, 1]"), '{"class_name": "UpSampling2D", "config": '
                                  '{"name": "u", "size": 2147483647}}']),
    "layer_pool_stride_2p63": seq([layer_in("[null, 4, 4, 1]"), '{"class_name": "MaxPooling2D", "config": '
                                   '{"name": "p", "strides": 9223372036854775807}}']),
    "layer_prelu_axis_1e30": seq([layer_in("[null, 4, 2]"), '{"class_name": "PReLU", "config": '
                                  '{"name": "p", "shared_axes": [1e30]}}']),
    "layer_prelu_axis_beyond": seq([layer_in("[null, 4, 2]"), '{"class_name": "PReLU", "config": '
                                    '{"name": "p", "shared_axes": [3]}}']),
    "layer_leaky_relu_negative": seq([layer_in(), '{"class_name": "LeakyReLU", "config": '
                                      '{"name": "lr", "negative_slope": -0.1}}']),
    "layer_batchnorm": seq([layer_in(), '{"class_name": "BatchNormalization", "config": {"name": "bn", "renorm": true}}']),
    "model_class_unknown": seq(cls='"Bogus"'),
    "loss_unknown": seq(compile_cfg=compile_cfg(loss='"hinge_of_doom"')),
    "loss_number": seq(compile_cfg=compile_cfg(loss="7")),
    "loss_from_logits_string": seq(compile_cfg=compile_cfg(
        loss='{"class_name": "SparseCategoricalCrossentropy", "config": {"from_logits": "yes"}}')),
    "loss_unknown_key": seq(compile_cfg=compile_cfg(
        loss='{"class_name": "Huber", "config": {"delta": 1.0, "epsilon": 0.1}}')),
    "loss_bad_reduction": seq(compile_cfg=compile_cfg(
        loss='{"class_name": "MeanSquaredError", "config": {"reduction": "average"}}')),
    "loss_ignore_class_cce": seq(compile_cfg=compile_cfg(
        loss='{"class_name": "CategoricalCrossentropy", "config": {"ignore_class": 0}}')),
    "loss_label_smoothing_range": seq(compile_cfg=compile_cfg(
        loss='{"class_name": "BinaryCrossentropy", "config": {"label_smoothing": 2}}')),
    "loss_dice_batch_axis": seq(compile_cfg=compile_cfg(
        loss='{"class_name": "Dice", "config": {"axis": [0, 1]}}')),
    "optimizer_unknown": seq(compile_cfg=compile_cfg(optimizer='"adamw_turbo"')),
    "optimizer_number": seq(compile_cfg=compile_cfg(optimizer="5")),
    "lr_string": seq(compile_cfg=compile_cfg(optimizer=sgd('"learning_rate": "fast"'))),
    # learning-rate schedules (base/schedule.c)
    "lr_schedule_unknown": seq(compile_cfg=compile_cfg(optimizer=sgd(
        '"learning_rate": {"class_name": "StepDecay", "config": {}}'))),
    "lr_schedule_decay_steps": seq(compile_cfg=compile_cfg(optimizer=sgd(
        '"learning_rate": {"class_name": "ExponentialDecay", "config": {"initial_learning_rate": 0.1, '
        '"decay_steps": 0, "decay_rate": 0.9}}'))),
    "lr_schedule_values": seq(compile_cfg=compile_cfg(optimizer=sgd(
        '"learning_rate": {"class_name": "PiecewiseConstantDecay", "config": {"boundaries": [5], '
        '"values": [0.1]}}'))),
    "momentum_string": seq(compile_cfg=compile_cfg(optimizer=sgd('"momentum": "high"'))),
    "metrics_number": seq(compile_cfg=compile_cfg(metrics="5")),
    # optimizers (issue 7): unknown keys, values Keras 3 refuses
    "opt_adamw_unknown_arg": seq(compile_cfg=compile_cfg(
        optimizer='{"class_name": "AdamW", "config": {"momentum": 0.9}}')),
    "opt_two_clips": seq(compile_cfg=compile_cfg(optimizer=sgd('"clipnorm": 1, "global_clipnorm": 1'))),
    "opt_clipnorm_negative": seq(compile_cfg=compile_cfg(optimizer=sgd('"clipnorm": -1'))),
    "opt_ema_momentum_2": seq(compile_cfg=compile_cfg(optimizer=sgd('"use_ema": true, "ema_momentum": 2'))),
    "opt_accumulation_1": seq(compile_cfg=compile_cfg(optimizer=sgd('"gradient_accumulation_steps": 1'))),
    "opt_lion_beta_0": seq(compile_cfg=compile_cfg(
        optimizer='{"class_name": "Lion", "config": {"beta_1": 0}}')),
    "opt_ftrl_power_positive": seq(compile_cfg=compile_cfg(
        optimizer='{"class_name": "Ftrl", "config": {"learning_rate_power": 0.5}}')),
    "opt_adagrad_negative_accumulator": seq(compile_cfg=compile_cfg(
        optimizer='{"class_name": "Adagrad", "config": {"initial_accumulator_value": -0.1}}')),
    "opt_exclude_not_list": seq(compile_cfg=compile_cfg(
        optimizer=sgd('"weight_decay": 0.1, "exclude_from_weight_decay": "bias"'))),
    "metric_unknown": seq(compile_cfg=compile_cfg(metrics='["auc_of_doom"]')),
    "metric_loss_string": seq(compile_cfg=compile_cfg(metrics='["huber"]')),
    "metric_auc_curve": seq(compile_cfg=compile_cfg(
        metrics='[{"class_name": "AUC", "config": {"curve": "ROCK"}}]')),
    "metric_unknown_key": seq(compile_cfg=compile_cfg(
        metrics='[{"class_name": "Recall", "config": {"treshold": 0.5}}]')),
    "metric_threshold_range": seq(compile_cfg=compile_cfg(
        metrics='[{"class_name": "Precision", "config": {"thresholds": [0.2, 1.5]}}]')),
    "metric_at_value_missing": seq(compile_cfg=compile_cfg(
        metrics='[{"class_name": "SensitivityAtSpecificity", "config": {}}]')),
    # custom losses and metrics as expressions (docs/expressions.md): errors at the column
    "loss_expr_paren": seq(compile_cfg=compile_cfg(
        loss='{"expression": "mean(square(y_true - y_pred) y_pred)", "name": "l"}')),
    "loss_expr_unknown_fn": seq(compile_cfg=compile_cfg(
        loss='{"expression": "mean(hinge(y_true, y_pred), axis=-1)"}')),
    "loss_expr_chain": seq(compile_cfg=compile_cfg(loss='{"expression": "0 < y_pred < 1"}')),
    "loss_expr_shape": seq(compile_cfg=compile_cfg(
        loss='{"expression": "mean(y_pred, axis=-1) * y_pred"}')),
    "loss_expr_key": seq(compile_cfg=compile_cfg(loss='{"expression": "y_pred", "nmae": "l"}')),
    "metric_expr_scalar": seq(compile_cfg=compile_cfg(
        loss='"mse"', metrics='[{"expression": "mean(y_pred)", "name": "m"}]')),
    "tfjs_graph_model": '{"format": "graph-model", "modelTopology": {}}',
}


def functional(layers, inputs='[["in", 0, 0]]', outputs='[["d2", 0, 0]]'):
    return ('{"class_name": "Functional", "config": {"name": "f", "layers": [%s], '
            '"input_layers": %s, "output_layers": %s}, "compile_config": %s}'
            % (", ".join(layers), inputs, outputs, CLS_COMPILE))


IN = ('{"class_name": "InputLayer", "name": "in", "config": {"batch_input_shape": [null, 4], '
      '"name": "in"}, "inbound_nodes": []}')


def fdense(name, src, units=3):
    return ('{"class_name": "Dense", "name": "%s", "config": {"name": "%s", "units": %d}, '
            '"inbound_nodes": [[["%s", 0, 0, {}]]]}' % (name, name, units, src))


specs.update({
    # Functional graphs: cycles and dangling inbound nodes
    "functional_cycle": functional([IN, fdense("d1", "d2"), fdense("d2", "d1")]),
    "functional_self_loop": functional([IN, fdense("d2", "d2")]),
    "functional_dangling": functional([IN, fdense("d1", "in"), fdense("d2", "ghost")]),
    "functional_dup_names": functional([IN, fdense("d2", "in"), fdense("d2", "d2")]),
    "functional_no_output": functional([IN, fdense("d1", "in"), fdense("d2", "d1")], outputs="[]"),
    "functional_output_unknown": functional([IN, fdense("d1", "in"), fdense("d2", "d1")],
                                            outputs='[["nowhere", 0, 0]]'),
    "functional_node_index": functional([IN, fdense("d1", "in"),
                                         fdense("d2", "d1").replace('["d1", 0, 0', '["d1", 3, 0')]),
    # shapes past 2^31-1 values per sample: refused before a count overflows int64
    "functional_repeat_huge": functional(
        [IN, '{"class_name": "RepeatVector", "name": "rv", "config": {"name": "rv", "n": 2147483647}, '
         '"inbound_nodes": [[["in", 0, 0, {}]]]}', fdense("d2", "rv")]),
    "functional_reshape_overflow": functional(
        [IN, '{"class_name": "Reshape", "name": "r", "config": {"name": "r", "target_shape": '
         '[2147483647, 2147483647, 2147483647]}, "inbound_nodes": [[["in", 0, 0, {}]]]}',
         fdense("d2", "r")]),
    # Keras allows one unknown (-1) dimension in a Reshape's target_shape
    "functional_reshape_two_unknowns": functional(
        [IN, '{"class_name": "Reshape", "name": "r", "config": {"name": "r", "target_shape": '
         '[-1, -1]}, "inbound_nodes": [[["in", 0, 0, {}]]]}', fdense("d2", "r")]),
    "input_huge": seq([layer_in("[null, 2147483647, 2147483647, 2147483647]"),
                       '{"class_name": "Flatten", "config": {"name": "f"}}', dense()]),
})
# 100 outputs: the scalar run of their loss terms is one fusion group unless split
# (codegen: "group ... touches too many buffers")
specs["functional_100_outputs"] = functional(
    [IN] + [fdense("o%d" % k, "in", 1) for k in range(100)],
    outputs="[%s]" % ", ".join('["o%d", 0, 0]' % k for k in range(100))).replace(
        CLS_COMPILE, '{"optimizer": "sgd", "loss": "mse"}')
# a bad value 30 Sequentials down: its path (~560 bytes) is elided in the middle, not cut
deep = '{"class_name": "Dense", "config": {"name": "bottom", "units": -1}}'
for level in range(30):
    deep = '{"class_name": "Sequential", "config": {"name": "s%d", "layers": [%s]}}' % (level, deep)
specs["nested_deep_path"] = seq([layer_in(), deep])
for name, text in specs.items():
    put("s_%s.json" % name, text)
# item 9: a layer name that is not UTF-8
put("s_name_not_utf8.json", seq([layer_in(), dense("d\xff")]).encode("latin-1"))


# ---------------------------------------------------------------- .npy
def npy_header(descr, shape, fortran=False, raw=None, version=b"\x01\x00"):
    text = raw if raw is not None else "{'descr': '%s', 'fortran_order': %s, 'shape': %s, }" % (
        descr, "True" if fortran else "False", shape)
    pad = 64 - (10 + len(text) + 1) % 64
    text = text + " " * pad + "\n"
    return b"\x93NUMPY" + version + struct.pack("<H", len(text)) + text.encode("latin-1")


def npy(name, descr, shape, payload, **kw):
    put(name, npy_header(descr, shape, **kw) + payload)


def f32(values):
    return struct.pack("<%df" % len(values), *values)


X = [((i * 7 + j * 3) % 10) / 10.0 for i in range(8) for j in range(4)]
npy("x.npy", "<f4", "(8, 4)", f32(X))
npy("y.npy", "<f4", "(8, 1)", f32([i / 8.0 for i in range(8)]))
npy("ylab.npy", "<i8", "(8,)", struct.pack("<8q", *[i % 3 for i in range(8)]))
npy("x3d.npy", "<f4", "(8, 5, 4)", f32([((i * 7) % 10) / 10.0 for i in range(160)]))  # sequences
npy("x0.npy", "<f4", "(0, 4)", b"")  # item 2: zero rows
npy("ylab0.npy", "<i8", "(0,)", b"")
npy("y0.npy", "<f4", "(0, 1)", b"")
npy("x_nan.npy", "<f4", "(8, 4)", f32([float("nan")] + X[1:]))  # item 4
npy("x_inf.npy", "<f4", "(8, 4)", f32([float("inf")] + X[1:]))
npy("x5.npy", "<f4", "(8, 5)", f32([0.5] * 40))
npy("x_rank3.npy", "<f4", "(8, 2, 2)", f32(X))
npy("y7.npy", "<f4", "(7, 1)", f32([0.0] * 7))
npy("ylab7.npy", "<i8", "(7,)", struct.pack("<7q", *[0] * 7))
npy("y2col.npy", "<f4", "(8, 2)", f32([0.0] * 16))
npy("ylab_range.npy", "<i8", "(8,)", struct.pack("<8q", 0, 1, 2, 3, 0, 1, 2, 0))
npy("ylab_negative.npy", "<i8", "(8,)", struct.pack("<8q", 0, 1, -1, 0, 0, 1, 2, 0))
npy("ylab_fraction.npy", "<f4", "(8,)", f32([0, 1, 2, 0.5, 0, 1, 2, 0]))
npy("ylab_nan.npy", "<f4", "(8,)", f32([0, 1, 2, float("nan"), 0, 1, 2, 0]))
npy("ylab_huge.npy", "<i8", "(8,)", struct.pack("<8q", 0, 1, 2, 1 << 62, 0, 1, 2, 0))
# malformed .npy headers
put("npy_magic.npy", b"\x93NUMPZ\x01\x00" + npy_header("<f4", "(8, 4)")[8:] + f32(X))
put("npy_truncated.npy", b"\x93NUMPY\x01")
put("npy_header_cut.npy", npy_header("<f4", "(8, 4)")[:40])
put("npy_header_len_big.npy", b"\x93NUMPY\x01\x00\xff\xff{'descr': '<f4'")
npy("npy_version.npy", "<f4", "(8, 4)", f32(X), version=b"\x07\x00")
npy("npy_f16.npy", "<f2", "(8, 4)", b"\0" * 64)
npy("npy_complex.npy", "<c8", "(8, 4)", b"\0" * 256)
npy("npy_object.npy", "|O", "(8, 4)", b"\0" * 256)
npy("npy_f4_big_endian.npy", ">f4", "(8, 4)", f32(X))  # unsupported byte order
npy("npy_fortran.npy", "<f4", "(8, 4)", f32(X), fortran=True)
npy("npy_huge_shape.npy", "<f4", "(4611686018427387904, 4)", f32(X))
npy("npy_overflow_shape.npy", "<f4", "(4294967296, 4294967296, 4294967296)", f32(X))
npy("npy_negative_dim.npy", "<f4", "(-8, 4)", f32(X))
npy("npy_float_dim.npy", "<f4", "(8.5, 4)", f32(X))
npy("npy_rank9.npy", "<f4", "(8, 1, 1, 1, 1, 1, 1, 1, 4)", f32(X))
npy("npy_short_data.npy", "<f4", "(8, 4)", f32(X[:20]))
npy("npy_long_data.npy", "<f4", "(8, 4)", f32(X) + b"\0" * 12)
npy("npy_not_dict.npy", "<f4", "", f32(X), raw="[1, 2, 3]")
npy("npy_no_shape.npy", "<f4", "", f32(X), raw="{'descr': '<f4', 'fortran_order': False, }")
npy("npy_extra_key.npy", "<f4", "", f32(X),
    raw="{'descr': '<f4', 'fortran_order': False, 'shape': (8, 4), 'colour': 1, }")


# ---------------------------------------------------------------- IDX
def idx(type_code, dims, payload, rank=None):
    r = len(dims) if rank is None else rank
    return b"\0\0" + bytes([type_code, r]) + b"".join(struct.pack(">I", d) for d in dims) + payload


put("idx_ok.idx", idx(0x08, [8, 4], bytes(range(32))))
put("idx_type.idx", idx(0x0A, [8, 4], bytes(32)))
put("idx_rank0.idx", idx(0x08, [], b""))
put("idx_rank9.idx", idx(0x08, [1] * 9, bytes(1)))
put("idx_dims_cut.idx", idx(0x08, [8, 4], b"")[:7])
put("idx_short.idx", idx(0x08, [8, 4], bytes(20)))
put("idx_long.idx", idx(0x08, [8, 4], bytes(40)))
put("idx_huge.idx", idx(0x08, [0xFFFFFFFF, 0xFFFFFFFF, 0xFFFFFFFF], bytes(32)))
put("idx_magic.idx", b"\x01\x02\x08\x02" + idx(0x08, [8, 4], bytes(32))[4:])
gz = gzip.compress(idx(0x08, [8, 4], bytes(range(32))))
put("idx_gz_truncated.idx.gz", gz[: len(gz) // 2])
put("idx_gz_trailing.idx.gz", gz + b"garbage")
put("idx_gz_bomb.idx.gz", gzip.compress(idx(0x08, [8, 4], bytes(32) + bytes(1 << 22))))


# ---------------------------------------------------------------- safetensors
def st(header, payload, raw_header=None):
    h = raw_header if raw_header is not None else json.dumps(header)
    hb = h.encode("utf-8") if isinstance(h, str) else h
    return struct.pack("<Q", len(hb)) + hb + payload


KER = f32([0.1, 0.2, 0.3, 0.4])  # d/kernel [4, 1]
BIAS = f32([0.5])


def t(dtype, shape, a, b):
    return {"dtype": dtype, "shape": shape, "data_offsets": [a, b]}


good = {"d/kernel": t("F32", [4, 1], 0, 16), "d/bias": t("F32", [1], 16, 20)}
put("w_ok.safetensors", st(good, KER + BIAS))
put("w_too_short.safetensors", b"\x10\0\0")
put("w_header_len_huge.safetensors", struct.pack("<Q", 1 << 62) + b"{}")
put("w_header_len_beyond.safetensors", struct.pack("<Q", 4096) + b'{"d/bias": {}}')
put("w_header_not_json.safetensors", st(None, KER + BIAS, raw_header="{not json"))
put("w_header_array.safetensors", st(None, KER + BIAS, raw_header="[1, 2]"))
put("w_dtype_unknown.safetensors", st(dict(good, **{"d/bias": t("Q7", [1], 16, 20)}), KER + BIAS))
put("w_dtype_f64_size.safetensors", st(dict(good, **{"d/bias": t("F64", [1], 16, 20)}), KER + BIAS))
put("w_shape_wrong.safetensors", st(dict(good, **{"d/kernel": t("F32", [1, 4], 0, 16)}), KER + BIAS))
put("w_missing_bias.safetensors", st({"d/kernel": t("F32", [4, 1], 0, 16)}, KER))
put("w_offsets_beyond.safetensors", st(dict(good, **{"d/bias": t("F32", [1], 16, 400)}), KER + BIAS))
put("w_offsets_reversed.safetensors", st(dict(good, **{"d/bias": t("F32", [1], 20, 16)}), KER + BIAS))
put("w_negative_dim.safetensors", st(dict(good, **{"d/kernel": t("F32", [-4, -1], 0, 16)}), KER + BIAS))
put("w_shape_string.safetensors", st(dict(good, **{"d/kernel": t("F32", ["4", 1], 0, 16)}), KER + BIAS))
# item 10: what the reference parser refuses
put("w_overlap.safetensors", st({"d/kernel": t("F32", [4, 1], 0, 16), "d/bias": t("F32", [1], 12, 16)}, KER))
put("w_gap.safetensors", st({"d/kernel": t("F32", [4, 1], 0, 16), "d/bias": t("F32", [1], 20, 24)},
                            KER + b"\0" * 4 + BIAS))
put("w_trailing.safetensors", st(good, KER + BIAS + b"\0" * 8))
put("w_metadata_number.safetensors", st(dict(good, __metadata__={"format": 5}), KER + BIAS))
put("w_metadata_nested.safetensors", st(dict(good, __metadata__={"a": {"b": "c"}}), KER + BIAS))
# item 9: tensor names must be UTF-8
put("w_name_not_utf8.safetensors",
    st(None, KER + BIAS, raw_header=json.dumps(good).replace("d/bias", "d/bi\udcff").encode(
        "utf-8", "surrogateescape")))
put("w_dup_name.safetensors",
    st(None, KER + BIAS, raw_header=json.dumps(good)[:-1] + ', "d/bias": {"dtype": "F32", "shape": [1], '
                                                           '"data_offsets": [16, 20]}}'))
put("w_entry_string.safetensors", st(dict(good, **{"d/bias": "F32"}), KER + BIAS))

# a regular file to use as a directory (write failures: file/child)
put("plain.txt", "not a directory\n")
