'use strict';
// Issue 8 cases for the layer families and options the first cases left out
// (tests/cases/README.md, "Issue 8: coverage"): DepthwiseConv1D/2D, Conv3D,
// channels_first, the 1D/3D padding, cropping, resampling and global pooling
// layers, UpSampling2D nearest and bilinear, GroupNormalization,
// UnitNormalization, ReLU's options, Softmax(axis), Attention,
// AdditiveAttention, MultiHeadAttention with use_causal_mask, and evaluate /
// predict cases for the phase-dependent layers. Where tfjs-layers 4.22 lacks a
// layer or computes it otherwise, the oracle needs oracle-layers.patch (its
// k3_layers.js ports the Keras 3 layer). Used by make_cases.js.
module.exports = function addFamilyMakers(MAKERS, h) {
  const { mulberry32, gauss, gaussArray, saveNpy, k3Input, k3Dense, POLICY } = h;
  const shapeOf = s => [null, ...s];
  const count = s => s.reduce((a, b) => a * b, 1);
  const init = (cls, config = {}) => ({ module: 'keras.initializers', class_name: cls, config, registered_name: null });
  const layer = (cls, config, inShape) => ({
    module: 'keras.layers', class_name: cls, registered_name: null,
    config: Object.assign({ trainable: true, dtype: POLICY }, config),
    build_config: { input_shape: Array.isArray(inShape[0]) ? inShape.map(shapeOf) : shapeOf(inShape) },
  });
  const sequential = (name, inShape, layers) => ({
    module: 'keras', class_name: 'Sequential', registered_name: null,
    config: { name, trainable: true, dtype: POLICY, layers: [k3Input('input_layer', inShape), ...layers] },
    build_config: { input_shape: shapeOf(inShape) },
  });
  const flatten = (name, inShape) => layer('Flatten', { name, data_format: 'channels_last' }, inShape);
  const reshape = (name, target, inShape) => layer('Reshape', { name, target_shape: target }, inShape);
  const kernelKeys = {
    kernel_initializer: init('GlorotUniform', { seed: null }), bias_initializer: init('Zeros'),
    kernel_regularizer: null, bias_regularizer: null, activity_regularizer: null, kernel_constraint: null, bias_constraint: null,
  };
  // Functional helpers: a KerasTensor argument and a layer entry with its calls
  const kt = (name, shape, node = 0) => ({ class_name: '__keras_tensor__', config: { shape: shapeOf(shape), dtype: 'float32', keras_history: [name, node, 0] } });
  const node = (def, calls) => Object.assign({}, def, {
    name: def.config.name,
    inbound_nodes: calls.map(c => (Array.isArray(c) ? { args: c, kwargs: {} } : c)),
  });
  const functional = (name, layers, inputs, outputs) => {
    for (const l of layers) if (l.class_name === 'InputLayer') delete l.build_config;
    return { module: 'keras.src.models.functional', class_name: 'Functional', registered_name: 'Functional', config: { name, trainable: true, layers, input_layers: inputs, output_layers: outputs } };
  };
  const input = (name, shape) => node(layer('InputLayer', { name, batch_shape: shapeOf(shape), sparse: false }, shape), []);

  // x ~ N(0, 1) of shape [N, ...shape]; y (N, 1) a smooth function of a few
  // entries plus a little noise, so every case has something to learn.
  function data(dir, seed, N, shape, file = 'x.npy', yfile = 'y.npy') {
    const r = mulberry32(seed);
    const F = count(shape);
    const x = gaussArray(r, N * F), y = new Float32Array(N);
    for (let i = 0; i < N; i++) {
      const v = x.subarray(i * F, i * F + F);
      y[i] = Math.tanh(0.8 * v[0] - 0.6 * v[F >> 1]) + 0.3 * v[F - 1] * v[1] + 0.05 * gauss(r);
    }
    saveNpy(dir, file, x, [N, ...shape]);
    saveNpy(dir, yfile, y, [N, 1]);
    return { x: file, y: yfile };
  }
  const fitCase = o => Object.assign({
    description: o.description, seed: o.seed, model: o.model,
    compile: o.compile || { optimizer: { class_name: 'Adam', config: { learning_rate: 0.01 } }, loss: 'mse', metrics: ['mae'] },
    fit: Object.assign({ epochs: 3, batch_size: 8, shuffle: false, validation_split: 0.25 }, o.fit || {}),
    data: o.data, mode: 'fit', trace: true,
    golden_predictions: true, // test_golden also predicts data.x with the final weights
  }, o.extra || {});
  const convCfg = (name, o) => Object.assign({
    name, kernel_size: o.kernel, strides: o.strides, padding: o.padding || 'valid', data_format: o.data_format || 'channels_last',
    dilation_rate: o.kernel.map(() => 1), activation: o.activation || 'linear', use_bias: true,
  }, kernelKeys);

  // ---- convolutions ----------------------------------------------------------
  MAKERS.conv_depthwise2d_channels_first = dir => fitCase({
    description: 'DepthwiseConv2D(3x3, depth_multiplier 2, same, relu) on (6, 5, 2) -> (6, 5, 4), kernel [3, 3, 2, 2] named dw/kernel (Keras 3; tfjs and tf.keras 2 say depthwise_kernel, mapped by oracle-layers.patch), output channel c * 2 + m; then Conv2D(3, 2x2, strides 2, valid, data_format channels_first) reading the (6, 5, 4) tensor as 6 channels of 5 x 4 -> (3, 2, 2) -> Flatten -> Dense 1. Adam(0.01), mse, mae; 32 samples, validation_split 0.25, batch 8, 3 epochs.',
    seed: 1100,
    model: sequential('depthwise_cf', [6, 5, 2], [
      layer('DepthwiseConv2D', Object.assign(convCfg('dw', { kernel: [3, 3], strides: [1, 1], padding: 'same', activation: 'relu' }), {
        depth_multiplier: 2, depthwise_initializer: init('GlorotUniform', { seed: null }), depthwise_regularizer: null, depthwise_constraint: null,
      }), [6, 5, 2]),
      layer('Conv2D', Object.assign(convCfg('conv_cf', { kernel: [2, 2], strides: [2, 2], data_format: 'channels_first', activation: 'tanh' }), { filters: 3, groups: 1 }), [6, 5, 4]),
      flatten('flatten', [3, 2, 2]), k3Dense('out', 1, 'linear', [12]),
    ]),
    data: data(dir, 1100, 32, [6, 5, 2]),
  });

  MAKERS.conv_3d = dir => fitCase({
    description: 'Conv3D(2, 2x2x2, valid, tanh) on (4, 4, 3, 1) -> (3, 3, 2, 2), then Conv3D(2, 2x2x2, strides 2, same) -> (2, 2, 1, 2) (padding only after: total 1 on each of the first two axes, 1 on the third) -> Flatten (8) -> Dense 1. Kernels [kd, kh, kw, in, out]. Adam(0.01), mse, mae; 32 samples, validation_split 0.25, batch 8, 3 epochs.',
    seed: 1101,
    model: sequential('conv3d', [4, 4, 3, 1], [
      layer('Conv3D', Object.assign(convCfg('c3a', { kernel: [2, 2, 2], strides: [1, 1, 1], activation: 'tanh' }), { filters: 2, groups: 1 }), [4, 4, 3, 1]),
      layer('Conv3D', Object.assign(convCfg('c3b', { kernel: [2, 2, 2], strides: [2, 2, 2], padding: 'same' }), { filters: 2, groups: 1 }), [3, 3, 2, 2]),
      flatten('flatten', [2, 2, 1, 2]), k3Dense('out', 1, 'linear', [8]),
    ]),
    data: data(dir, 1101, 32, [4, 4, 3, 1]),
  });

  MAKERS.conv_depthwise1d = dir => fitCase({
    description: 'DepthwiseConv1D(3, strides 2, same, depth_multiplier 2, tanh) on (9, 3) -> (5, 6) (total padding 2: one step before, one after), kernel dw1/kernel [3, 3, 2], bias [6] -> DepthwiseConv1D(2, valid, multiplier 1) -> (4, 6) -> Flatten -> Dense 1. tfjs has no DepthwiseConv1D: oracle-layers.patch ports it (tfjs depthwiseConv2d on a height-1 image). Adam(0.01), mse, mae; 32 samples, validation_split 0.25, batch 8, 3 epochs.',
    seed: 1102,
    model: sequential('depthwise1d', [9, 3], [
      layer('DepthwiseConv1D', Object.assign(convCfg('dw1', { kernel: [3], strides: [2], padding: 'same', activation: 'tanh' }), { depth_multiplier: 2 }), [9, 3]),
      layer('DepthwiseConv1D', Object.assign(convCfg('dw2', { kernel: [2], strides: [1] }), { depth_multiplier: 1 }), [5, 6]),
      flatten('flatten', [4, 6]), k3Dense('out', 1, 'linear', [24]),
    ]),
    data: data(dir, 1102, 32, [9, 3]),
  });

  MAKERS.conv1d_causal_dilated_groups = dir => fitCase({
    description: 'Conv1D options tfjs lacks (oracle-layers.patch computes such a Conv1D tap by tap: y[t] = sum_j x[t + j d - pad] W[j], per group): x (8, 4) -> c_causal (Conv1D(4, 3, padding causal, dilation_rate 2, groups 2, tanh): 4 zero steps before, none after; kernel [3, 2, 4]: each group of 2 input channels feeds 2 filters) -> c_same (Conv1D(2, 2, padding same, dilation_rate 3): span 3, padding 1 before and 2 after, Keras/TF pad_before = total // 2) -> Flatten (16) -> Dense 1. Adam(0.01), mse, mae; 32 samples, validation_split 0.25, batch 8, 3 epochs.',
    seed: 1114,
    model: sequential('conv1d_options', [8, 4], [
      layer('Conv1D', Object.assign(convCfg('c_causal', { kernel: [3], strides: [1], padding: 'causal', activation: 'tanh' }), { filters: 4, groups: 2, dilation_rate: [2] }), [8, 4]),
      layer('Conv1D', Object.assign(convCfg('c_same', { kernel: [2], strides: [1], padding: 'same' }), { filters: 2, groups: 1, dilation_rate: [3] }), [8, 4]),
      flatten('flatten', [8, 2]), k3Dense('out', 1, 'linear', [16]),
    ]),
    data: data(dir, 1114, 32, [8, 4]),
  });

  MAKERS.conv2d_dilated_groups = dir => fitCase({
    description: 'Conv2D options tfjs lacks (oracle-layers.patch computes such a Conv2D tap by tap, per group): x (6, 6, 4) -> c_groups (Conv2D(4, 3x3, dilation_rate 2, groups 2, same, relu): span 4, padding 2 before and 2 after on both axes; kernel [3, 3, 2, 4]) -> c_dil (Conv2D(2, 2x2, dilation_rate (1, 2), valid): 6 x 6 -> 5 x 4) -> GlobalMaxPooling2D (no ties: continuous data) -> Dense 1. Adam(0.01), mse, mae; 32 samples, validation_split 0.25, batch 8, 3 epochs.',
    seed: 1116,
    model: sequential('conv2d_options', [6, 6, 4], [
      layer('Conv2D', Object.assign(convCfg('c_groups', { kernel: [3, 3], strides: [1, 1], padding: 'same', activation: 'relu' }), { filters: 4, groups: 2, dilation_rate: [2, 2] }), [6, 6, 4]),
      layer('Conv2D', Object.assign(convCfg('c_dil', { kernel: [2, 2], strides: [1, 1] }), { filters: 2, groups: 1, dilation_rate: [1, 2] }), [6, 6, 4]),
      layer('GlobalMaxPooling2D', { name: 'gmp', data_format: 'channels_last', keepdims: false }, [5, 4, 2]),
      k3Dense('out', 1, 'linear', [2]),
    ]),
    data: data(dir, 1116, 32, [6, 6, 4]),
  });

  // ---- pooling and resampling --------------------------------------------------
  MAKERS.pool_resample_1d = dir => fitCase({
    description: 'Sequences (6, 2) -> step (Dense 3 tanh) -> ZeroPadding1D((1, 2)) (9 steps) -> Cropping1D((2, 1)) (6: the first kept step is an input step, one padded zero step stays at the end) -> UpSampling1D(2) (12: each step twice, its gradient the sum over the copies) -> Flatten (36) -> Dense 1. tfjs has none of the three: oracle-layers.patch ports them. Adam(0.01), mse, mae; 32 samples, validation_split 0.25, batch 8, 3 epochs.',
    seed: 1103,
    model: sequential('resample_1d', [6, 2], [
      k3Dense('step', 3, 'tanh', [6, 2]),
      layer('ZeroPadding1D', { name: 'pad', padding: [1, 2] }, [6, 3]),
      layer('Cropping1D', { name: 'crop', cropping: [2, 1] }, [9, 3]),
      layer('UpSampling1D', { name: 'up', size: 2 }, [6, 3]),
      flatten('flatten', [12, 3]), k3Dense('out', 1, 'linear', [36]),
    ]),
    data: data(dir, 1103, 32, [6, 2]),
  });

  MAKERS.pool_resample_3d = dir => {
    const S = [3, 3, 2, 2];
    const d = data(dir, 1104, 32, S);
    const model = functional('resample_3d', [
      input('x', S),
      node(k3Dense('voxel', 3, 'tanh', S), [[kt('x', S)]]),
      node(layer('ZeroPadding3D', { name: 'pad', padding: [[1, 0], [0, 1], [1, 1]], data_format: 'channels_last' }, [3, 3, 2, 3]), [[kt('voxel', [3, 3, 2, 3])]]),
      node(layer('Cropping3D', { name: 'crop', cropping: [[0, 1], [1, 0], [0, 2]], data_format: 'channels_last' }, [4, 4, 4, 3]), [[kt('pad', [4, 4, 4, 3])]]),
      node(layer('UpSampling3D', { name: 'up', size: [1, 2, 3], data_format: 'channels_last' }, [3, 3, 2, 3]), [[kt('crop', [3, 3, 2, 3])]]),
      node(layer('GlobalAveragePooling3D', { name: 'gap', data_format: 'channels_last', keepdims: true }, [3, 6, 6, 3]), [[kt('up', [3, 6, 6, 3])]]),
      node(layer('GlobalMaxPooling3D', { name: 'gmp', data_format: 'channels_last', keepdims: true }, [3, 3, 2, 3]), [[kt('voxel', [3, 3, 2, 3])]]),
      node(layer('Concatenate', { name: 'concat', axis: -1 }, [[1, 1, 1, 3], [1, 1, 1, 3]]), [[[kt('gap', [1, 1, 1, 3]), kt('gmp', [1, 1, 1, 3])]]]),
      node(flatten('flatten', [1, 1, 1, 6]), [[kt('concat', [1, 1, 1, 6])]]),
      node(k3Dense('out', 1, 'linear', [6]), [[kt('flatten', [6])]]),
    ], [['x', 0, 0]], [['out', 0, 0]]);
    return fitCase({
      description: 'Volumes (3, 3, 2, 2) -> voxel (Dense 3 tanh) -> two branches: ZeroPadding3D(((1, 0), (0, 1), (1, 1))) (4, 4, 4) -> Cropping3D(((0, 1), (1, 0), (0, 2))) (3, 3, 2) -> UpSampling3D((1, 2, 3)) (3, 6, 6: each entry repeated, its gradient summed over the copies) -> GlobalAveragePooling3D(keepdims) (1, 1, 1, 3); and GlobalMaxPooling3D(keepdims) of voxel (no ties: continuous data) -> Concatenate (1, 1, 1, 6) -> Flatten -> Dense 1. tfjs has none of the five 3D layers: oracle-layers.patch ports them. Adam(0.01), mse, mae; 32 samples, validation_split 0.25, batch 8, 3 epochs.',
      seed: 1104, model, data: d,
    });
  };

  MAKERS.pool_upsampling2d = dir => fitCase({
    description: 'Images (3, 3, 2) -> pixel (Dense 2 tanh) -> UpSampling2D((2, 1), nearest) (6, 3) -> UpSampling2D(2, bilinear) (12, 6: tf.image.resize with half-pixel centers, edge rows and columns clamped) -> Flatten (144) -> Dense 1. oracle-layers.patch ports UpSampling2D as two products with interpolation matrices (tfjs: a wrong nearest-neighbour gradient for some shapes, no half-pixel centers). Adam(0.01), mse, mae; 32 samples, validation_split 0.25, batch 8, 3 epochs.',
    seed: 1105,
    model: sequential('upsampling2d', [3, 3, 2], [
      k3Dense('pixel', 2, 'tanh', [3, 3, 2]),
      layer('UpSampling2D', { name: 'up_nearest', size: [2, 1], data_format: 'channels_last', interpolation: 'nearest' }, [3, 3, 2]),
      layer('UpSampling2D', { name: 'up_bilinear', size: [2, 2], data_format: 'channels_last', interpolation: 'bilinear' }, [6, 3, 2]),
      flatten('flatten', [12, 6, 2]), k3Dense('out', 1, 'linear', [144]),
    ]),
    data: data(dir, 1105, 32, [3, 3, 2]),
  });

  // ---- normalization ---------------------------------------------------------
  MAKERS.norm_group_unit = dir => fitCase({
    description: 'Sequences (4, 6) -> proj (Dense 6) -> gn (GroupNormalization(groups 3, epsilon 1e-3): statistics per sample over the 4 steps and the 2 channels of each group; gamma, beta [6]) -> un (UnitNormalization(axis -1): x rsqrt(max(sum x^2, 1e-12))) -> Flatten (24) -> Dense 1. tfjs has neither layer: oracle-layers.patch ports both from Keras 3. Inputs scaled by 2 and shifted by 1, so the statistics matter. Adam(0.01), mse, mae; 32 samples, validation_split 0.25, batch 8, 3 epochs.',
    seed: 1106,
    model: sequential('group_unit', [4, 6], [
      k3Dense('proj', 6, 'linear', [4, 6]),
      layer('GroupNormalization', {
        name: 'gn', groups: 3, axis: -1, epsilon: 0.001, center: true, scale: true,
        beta_initializer: init('Zeros'), gamma_initializer: init('Ones'),
        beta_regularizer: null, gamma_regularizer: null, beta_constraint: null, gamma_constraint: null,
      }, [4, 6]),
      layer('UnitNormalization', { name: 'un', axis: -1 }, [4, 6]),
      flatten('flatten', [4, 6]), k3Dense('out', 1, 'linear', [24]),
    ]),
    data: (() => {
      const d = data(dir, 1106, 32, [4, 6]);
      const { readNpy } = h;
      const a = readNpy(require('path').join(dir, d.x));
      const x = Float32Array.from(a.data, v => 2 * v + 1);
      saveNpy(dir, d.x, x, a.shape);
      return d;
    })(),
  });

  // ---- activation layers -------------------------------------------------------
  MAKERS.activation_options = dir => fitCase({
    description: 'The activation-layer options tfjs lacks: x (5) -> d1 (Dense 6) -> relu_opts (ReLU(max_value 1.5, negative_slope 0.1, threshold 0.2): Keras 3 x > threshold ? min(x, max) : slope (x - threshold)) -> d2 (Dense 6) -> relu_slope (ReLU(negative_slope 0.2): leaky) -> d3 (Dense 6, activation relu6) -> reshape (2, 3) -> softmax_axis1 (Softmax(axis 1): over the 2 rows) -> Flatten -> Dense 1. oracle-layers.patch ports Keras 3\'s ReLU; tfjs has Softmax(axis) and relu6. Adam(0.01), mse, mae; 32 samples, validation_split 0.25, batch 8, 4 epochs.',
    seed: 1107,
    model: sequential('activation_options', [5], [
      k3Dense('d1', 6, 'linear', [5]),
      layer('ReLU', { name: 'relu_opts', max_value: 1.5, negative_slope: 0.1, threshold: 0.2 }, [6]),
      k3Dense('d2', 6, 'linear', [6]),
      layer('ReLU', { name: 'relu_slope', max_value: null, negative_slope: 0.2, threshold: 0.0 }, [6]),
      k3Dense('d3', 6, 'relu6', [6]),
      reshape('reshape', [2, 3], [6]),
      layer('Softmax', { name: 'softmax_axis1', axis: 1 }, [2, 3]),
      flatten('flatten', [2, 3]), k3Dense('out', 1, 'linear', [6]),
    ]),
    fit: { epochs: 4 },
    data: (() => { // scaled so that d3's relu6 saturates for some samples
      const d = data(dir, 1107, 32, [5]);
      const a = h.readNpy(require('path').join(dir, d.x));
      saveNpy(dir, d.x, Float32Array.from(a.data, v => 3 * v), a.shape);
      return d;
    })(),
  });

  // ---- attention ---------------------------------------------------------------
  const denseAttention = (cls, name, extra, shapes) => layer(cls, Object.assign({ name, dropout: 0.0, seed: null }, extra), shapes);
  MAKERS.attention_dense_layers = dir => {
    const r = mulberry32(1108);
    const N = 32, Tq = 3, Tv = 5, D = 4;
    const q = gaussArray(r, N * Tq * D), v = gaussArray(r, N * Tv * D), y = new Float32Array(N);
    for (let i = 0; i < N; i++) {
      const a = q.subarray(i * Tq * D), b = v.subarray(i * Tv * D);
      y[i] = Math.tanh(a[0] * b[1] - a[5] * b[D + 2]) + 0.3 * b[3 * D] + 0.05 * gauss(r);
    }
    saveNpy(dir, 'q.npy', q, [N, Tq, D]);
    saveNpy(dir, 'v.npy', v, [N, Tv, D]);
    saveNpy(dir, 'y.npy', y, [N, 1]);
    const QS = [Tq, D], VS = [Tv, D];
    const model = functional('dense_attention', [
      input('query', QS), input('value', VS),
      // Keras 3 writes a call on a list as one positional argument
      node(denseAttention('Attention', 'att_concat', { use_scale: true, score_mode: 'concat' }, [QS, VS]), [[[kt('query', QS), kt('value', VS)]]]),
      node(denseAttention('Attention', 'att_causal', { use_scale: true, score_mode: 'dot' }, [QS, QS]),
        [{ args: [[kt('query', QS), kt('query', QS)]], kwargs: { use_causal_mask: true } }]),
      node(denseAttention('AdditiveAttention', 'add_att', { use_scale: true }, [QS, VS, VS]), [[[kt('query', QS), kt('value', VS), kt('value', VS)]]]),
      node(layer('Concatenate', { name: 'concat', axis: -1 }, [QS, QS, QS]), [[[kt('att_concat', QS), kt('att_causal', QS), kt('add_att', QS)]]]),
      node(flatten('flatten', [Tq, 3 * D]), [[kt('concat', [Tq, 3 * D])]]),
      node(k3Dense('out', 1, 'linear', [Tq * 3 * D]), [[kt('flatten', [Tq * 3 * D])]]),
    ], [['query', 0, 0], ['value', 0, 0]], [['out', 0, 0]]);
    return fitCase({
      description: 'Attention and AdditiveAttention (tfjs has neither: oracle-layers.patch ports Keras 3\'s). query (3 x 4), value (5 x 4) -> att_concat (Attention(use_scale, score_mode concat): scores concat_score_weight * sum tanh(scale (q + k)); weights scale [] and concat_score_weight [], ones), att_causal (Attention(use_scale, dot) self-attention on the query with use_causal_mask=True: step i sees steps <= i), add_att (AdditiveAttention(use_scale) on [query, value, key=value]: sum scale * tanh(q + k), scale [4] glorot) -> Concatenate (3 x 12) -> Flatten -> Dense 1. SGD(0.1) (softmax ignores a constant per row: Adam would amplify rounding noise in flat directions), mse, mae; 32 samples, validation_split 0.25, batch 8, 3 epochs.',
      seed: 1108, model,
      compile: { optimizer: { class_name: 'SGD', config: { learning_rate: 0.1 } }, loss: 'mse', metrics: ['mae'] },
      data: { x: ['q.npy', 'v.npy'], y: 'y.npy' },
    });
  };

  const mha = (name, extra, T, D) => {
    const l = layer('MultiHeadAttention', Object.assign({
      name, num_heads: 2, key_dim: 2, value_dim: 2, dropout: 0.0, use_bias: true, output_shape: null, attention_axes: null,
      kernel_initializer: init('GlorotUniform', { seed: null }), bias_initializer: init('Zeros'),
      kernel_regularizer: null, bias_regularizer: null, activity_regularizer: null, kernel_constraint: null, bias_constraint: null, seed: null,
    }, extra), [T, D]);
    l.build_config = { shapes_dict: { query_shape: shapeOf([T, D]), value_shape: shapeOf([T, D]) } };
    return l;
  };
  const mhaModel = (name, extra, kwargs, T, D) => functional(name, [
    input('x', [T, D]),
    node(mha('mha', extra, T, D), [{ args: [kt('x', [T, D]), kt('x', [T, D])], kwargs }]),
    node(flatten('flatten', [T, D]), [[kt('mha', [T, D])]]),
    node(k3Dense('out', 1, 'linear', [T * D]), [[kt('flatten', [T * D])]]),
  ], [['x', 0, 0]], [['out', 0, 0]]);
  MAKERS.attention_mha_causal = dir => fitCase({
    description: 'MultiHeadAttention(num_heads 2, key_dim 2) self-attention called as mha(x, x, use_causal_mask=True) (Keras 3 node kwargs): query step i attends to steps <= i (masked scores get -1e9 before the softmax) -> Flatten (the outputs of all 4 steps, so the causal structure shows) -> Dense 1. The oracle\'s MHA port (oracle-attention.patch) gets the causal mask from oracle-layers.patch. SGD(0.1), mse, mae; 32 samples, validation_split 0.25, batch 8, 3 epochs.',
    seed: 1109, model: mhaModel('mha_causal', {}, { use_causal_mask: true }, 4, 3),
    compile: { optimizer: { class_name: 'SGD', config: { learning_rate: 0.1 } }, loss: 'mse', metrics: ['mae'] },
    data: data(dir, 1109, 32, [4, 3]),
  });

  MAKERS.attention_mha_mask = dir => {
    const T = 4, D = 3, N = 32;
    const d = data(dir, 1117, N, [T, D]);
    // 1: query step t may attend to step s; random, the diagonal always 1 (no
    // row fully masked), as float32 0/1 (Keras casts it to bool)
    const r = mulberry32(1118), m = new Float32Array(N * T * T);
    for (let i = 0; i < N * T * T; i++) m[i] = (Math.floor(i / T) % T) === i % T || r() < 0.5 ? 1 : 0;
    saveNpy(dir, 'mask.npy', m, [N, T, T]);
    const model = functional('mha_mask', [
      input('x', [T, D]), input('attn_mask', [T, T]),
      node(mha('mha', {}, T, D), [{ args: [kt('x', [T, D]), kt('x', [T, D])], kwargs: { attention_mask: kt('attn_mask', [T, T]) } }]),
      node(flatten('flatten', [T, D]), [[kt('mha', [T, D])]]),
      node(k3Dense('out', 1, 'linear', [T * D]), [[kt('flatten', [T * D])]]),
    ], [['x', 0, 0], ['attn_mask', 0, 0]], [['out', 0, 0]]);
    return fitCase({
      description: 'MultiHeadAttention(num_heads 2, key_dim 2) called as mha(x, x, attention_mask=m) with m a second model input (N, 4, 4) of 0/1 floats (random; the diagonal always 1): masked scores get -1e9 before the softmax, the same mask for both heads -> Flatten -> Dense 1. The oracle\'s port reads the mask tensor as an extra input of the node (oracle-layers.patch). SGD(0.1), mse, mae; 32 samples, validation_split 0.25, batch 8, 3 epochs.',
      seed: 1117, model,
      compile: { optimizer: { class_name: 'SGD', config: { learning_rate: 0.1 } }, loss: 'mse', metrics: ['mae'] },
      data: { x: [d.x, 'mask.npy'], y: d.y },
    });
  };

  // ---- phase-dependent layers: evaluate and predict (inference only) -----------
  // At w0 (the oracle's seeded initializer): each layer must be the identity
  // in inference; a layer that drew noise or dropped units would change every
  // prediction by far more than the tolerance.
  const inferenceCase = (mode, o) => ({
    description: o.description, seed: o.seed, model: o.model,
    compile: { optimizer: { class_name: 'SGD', config: { learning_rate: 0.01 } }, loss: 'mse', metrics: ['mae'] },
    fit: { batch_size: 8 }, data: o.data, mode,
  });
  MAKERS.phase_noise_evaluate = dir => inferenceCase('evaluate', {
    description: 'evaluate and predict (mode evaluate, expected/evaluate.json and predictions.npy) at w0: x (4, 3) -> GaussianNoise(0.5) -> d1 (Dense 4 tanh) -> SpatialDropout1D(0.3) -> GaussianDropout(0.4) -> AlphaDropout(0.2) -> Dropout(0.5) -> Flatten -> out (Dense 1); every noise and dropout layer is the identity in inference. 30 samples, batch 8 (last 6).',
    seed: 1110,
    model: sequential('noise_stack', [4, 3], [
      layer('GaussianNoise', { name: 'gnoise', stddev: 0.5, seed: null }, [4, 3]),
      k3Dense('d1', 4, 'tanh', [4, 3]),
      layer('SpatialDropout1D', { name: 'sdrop1', rate: 0.3, seed: null, noise_shape: null }, [4, 4]),
      layer('GaussianDropout', { name: 'gdrop', rate: 0.4, seed: null }, [4, 4]),
      layer('AlphaDropout', { name: 'adrop', rate: 0.2, seed: null, noise_shape: null }, [4, 4]),
      layer('Dropout', { name: 'drop', rate: 0.5, seed: null, noise_shape: null }, [4, 4]),
      flatten('flatten', [4, 4]), k3Dense('out', 1, 'linear', [16]),
    ]),
    data: data(dir, 1110, 30, [4, 3]),
  });
  MAKERS.phase_spatial_evaluate = dir => inferenceCase('evaluate', {
    description: 'evaluate and predict at w0: x (3, 4, 2) -> SpatialDropout2D(0.5) -> pixel (Dense 4 tanh) -> reshape (3, 2, 2, 4) -> SpatialDropout3D(0.5) -> Flatten -> out (Dense 1): identities in inference (tfjs has neither layer: oracle-layers.patch ports their inference phase). 30 samples, batch 8.',
    seed: 1111,
    model: sequential('spatial_stack', [3, 4, 2], [
      layer('SpatialDropout2D', { name: 'sdrop2', rate: 0.5, seed: null, noise_shape: null, data_format: 'channels_last' }, [3, 4, 2]),
      k3Dense('pixel', 4, 'tanh', [3, 4, 2]),
      reshape('reshape', [3, 2, 2, 4], [3, 4, 4]),
      layer('SpatialDropout3D', { name: 'sdrop3', rate: 0.5, seed: null, noise_shape: null, data_format: 'channels_last' }, [3, 2, 2, 4]),
      flatten('flatten', [3, 2, 2, 4]), k3Dense('out', 1, 'linear', [48]),
    ]),
    data: data(dir, 1111, 30, [3, 4, 2]),
  });
  const rnnKeys = {
    kernel_initializer: init('GlorotUniform', { seed: null }), recurrent_initializer: init('Orthogonal', { gain: 1.0, seed: null }),
    bias_initializer: init('Zeros'), kernel_regularizer: null, recurrent_regularizer: null, bias_regularizer: null,
    activity_regularizer: null, kernel_constraint: null, recurrent_constraint: null, bias_constraint: null,
    return_state: false, go_backwards: false, stateful: false, unroll: false, zero_output_for_mask: false, seed: null,
  };
  // Bidirectional's other merge modes, go_backwards and GlobalMaxPooling1D
  // (oracle-rnn.patch names the weights; tfjs has all of these).
  const rnn = (cls, name, units, inShape, extra) => layer(cls, Object.assign({
    name, units, activation: 'tanh', use_bias: true, dropout: 0.0, recurrent_dropout: 0.0, return_sequences: true,
  }, rnnKeys, cls === 'SimpleRNN' ? {} : { recurrent_activation: 'sigmoid' }, extra), inShape);
  const bidir = (name, mode, inner, inShape) => layer('Bidirectional', { name, merge_mode: mode, layer: inner }, inShape);
  MAKERS.rnn_merge_modes_backwards = dir => fitCase({
    description: 'x (4 steps x 3) -> bi_sum (Bidirectional(SimpleRNN(3, return_sequences), merge_mode sum)) -> bi_mul (Bidirectional(GRU(2, reset_after false, return_sequences), mul)) -> bi_ave (Bidirectional(LSTM(2, return_sequences), ave)) -> back (LSTM(3, go_backwards, return_sequences): the steps read last to first, outputs in that order) -> gmp (GlobalMaxPooling1D: the order of the outputs does not matter, only what go_backwards computes; no ties in continuous data) -> out (Dense 1). Weights bi_sum/forward_simple_rnn/simple_rnn_cell/kernel and so on (oracle-rnn.patch). Adam(0.01), mse, mae; 32 samples, validation_split 0.25, batch 8, 3 epochs.',
    seed: 1115,
    model: sequential('rnn_modes', [4, 3], [
      bidir('bi_sum', 'sum', rnn('SimpleRNN', 'simple_rnn', 3, [4, 3], {}), [4, 3]),
      bidir('bi_mul', 'mul', rnn('GRU', 'gru', 2, [4, 3], { reset_after: false }), [4, 3]),
      bidir('bi_ave', 'ave', rnn('LSTM', 'lstm', 2, [4, 2], { unit_forget_bias: true }), [4, 2]),
      rnn('LSTM', 'back', 3, [4, 2], { unit_forget_bias: true, go_backwards: true }),
      layer('GlobalMaxPooling1D', { name: 'gmp', data_format: 'channels_last', keepdims: false }, [4, 3]),
      k3Dense('out', 1, 'linear', [3]),
    ]),
    data: data(dir, 1115, 32, [4, 3]),
  });

  MAKERS.rnn_gru_reset_after = dir => fitCase({
    description: 'GRU with reset_after true (Keras 3\'s default form: the reset gate multiplies h U + b_rec after the recurrent matmul; bias [2, 3 units], input and recurrent rows). tfjs has only the reset_after false form: oracle-layers.patch ports Keras 3\'s GRUCell. x (5, 3) -> gru_a (GRU(4, return_sequences)) -> gru_b (GRU(2)) -> out (Dense 1); weights gru_a/gru_cell/{kernel [3, 12], recurrent_kernel [4, 12], bias [2, 12]}. Adam(0.01), mse, mae; 32 samples, validation_split 0.25, batch 8, 3 epochs.',
    seed: 1119,
    model: sequential('gru_reset_after', [5, 3], [
      rnn('GRU', 'gru_a', 4, [5, 3], { reset_after: true }),
      rnn('GRU', 'gru_b', 2, [5, 4], { reset_after: true, return_sequences: false }),
      k3Dense('out', 1, 'linear', [2]),
    ]),
    data: data(dir, 1119, 32, [5, 3]),
  });

  MAKERS.phase_rnn_dropout_predict = dir => inferenceCase('predict', {
    description: 'predict (mode predict, expected/predictions.npy) at w0: x (5, 3) -> lstm (LSTM(4, dropout 0.3, recurrent_dropout 0.4, return_sequences)) -> gru (GRU(3, dropout 0.2, recurrent_dropout 0.5, reset_after false)) -> out (Dense 1): both dropouts are off in inference. recurrent_activation sigmoid written out (tfjs defaults to hard_sigmoid). 30 samples, batch 8.',
    seed: 1112,
    model: sequential('rnn_dropout', [5, 3], [
      layer('LSTM', Object.assign({ name: 'lstm', units: 4, activation: 'tanh', recurrent_activation: 'sigmoid', use_bias: true, unit_forget_bias: true, dropout: 0.3, recurrent_dropout: 0.4, return_sequences: true }, rnnKeys), [5, 3]),
      layer('GRU', Object.assign({ name: 'gru', units: 3, activation: 'tanh', recurrent_activation: 'sigmoid', use_bias: true, dropout: 0.2, recurrent_dropout: 0.5, reset_after: false, return_sequences: false }, rnnKeys), [5, 4]),
      k3Dense('out', 1, 'linear', [3]),
    ]),
    data: data(dir, 1112, 30, [5, 3]),
  });
  MAKERS.phase_mha_dropout_predict = dir => inferenceCase('predict', {
    description: 'predict at w0: x (4, 3) -> mha (MultiHeadAttention(num_heads 2, key_dim 2, dropout 0.4) self-attention, dropout on the attention weights only in training) -> Flatten -> out (Dense 1). 30 samples, batch 8.',
    seed: 1113, model: mhaModel('mha_dropout', { dropout: 0.4 }, {}, 4, 3),
    data: data(dir, 1113, 30, [4, 3]),
  });
  // A frozen BatchNormalization (trainable false) runs in inference mode in
  // Keras 3, also during fit: moving statistics, no updates.
  MAKERS.norm_batchnorm_frozen = dir => {
    const c = JSON.parse(require('fs').readFileSync(require('path').join(__dirname, 'norm_batchnorm', 'case.json'), 'utf8'));
    const model = JSON.parse(JSON.stringify(c.model));
    model.config.name = 'norm_batchnorm_frozen';
    for (const l of model.config.layers) if (l.config.name === 'bn') l.config.trainable = false;
    return fitCase({
      description: 'norm_batchnorm with bn frozen (trainable false) and w0 = norm_batchnorm\'s final weights (moving mean and variance far from 0 and 1): Keras 3 runs a frozen BatchNormalization in inference mode during fit too (BatchNormalization.call: batch statistics only if training and self.trainable), so training uses the moving statistics, which stay as they are, and gamma, beta do not change; hidden and out train. The oracle pins training=false on a frozen BatchNormalization (oracle-layers.patch; tfjs would use batch statistics). Adam(0.01), mse, mae; norm_batchnorm\'s 45 samples, validation_split 0.2, batch 8, 3 epochs.',
      seed: c.seed, model, compile: c.compile, fit: c.fit,
      data: { x: '../norm_batchnorm/x.npy', y: '../norm_batchnorm/y.npy' },
      extra: { initial_weights: '../norm_batchnorm/expected/weights_final/weights.json' },
    });
  };

  // BatchNormalization in inference after training: norm_batchnorm's final
  // weights (moving statistics far from 0 and 1) as w0, its data.
  MAKERS.norm_batchnorm_evaluate = () => {
    const c = JSON.parse(require('fs').readFileSync(require('path').join(__dirname, 'norm_batchnorm', 'case.json'), 'utf8'));
    return {
      description: 'evaluate and predict with norm_batchnorm\'s final weights (the oracle\'s, after its 3 epochs: bn/moving_mean and moving_variance far from 0 and 1) on its 45 samples: BatchNormalization uses the moving statistics, not the batch\'s (which would differ for each batch of 8, and for the last batch of 5). Same model and data as norm_batchnorm.',
      seed: c.seed, model: c.model, compile: c.compile, fit: { batch_size: 8 },
      data: { x: '../norm_batchnorm/x.npy', y: '../norm_batchnorm/y.npy' }, mode: 'evaluate',
      initial_weights: '../norm_batchnorm/expected/weights_final/weights.json',
    };
  };
};
