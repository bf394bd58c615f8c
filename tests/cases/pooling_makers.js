'use strict';
// The issue 8 pooling and resampling cases: layers without weights between
// Dense layers (a Dense on the last axis of an image is a per-pixel 1x1
// projection, so the gradient reaches weights through every pooling op).
// Used by make_cases.js; needs only the oracle-functional and -training
// patches. tfjs-layers has MaxPooling1D/2D/3D, AveragePooling1D/2D/3D,
// GlobalMax/AveragePooling1D/2D, ZeroPadding2D, Cropping2D and UpSampling2D
// (nearest); the cases use those only (README.md).
module.exports = function addPoolingMakers(MAKERS, h) {
  const { mulberry32, gauss, gaussArray, saveNpy, k3Input, k3Dense, POLICY } = h;
  const shapeOf = s => [null, ...s];
  // A weight-free Keras 3 layer: Layer's {name, trainable, dtype} and its own keys.
  const k3Layer = (cls, name, extra, inShape) => ({
    module: 'keras.layers', class_name: cls,
    config: Object.assign({ name, trainable: true, dtype: POLICY }, extra),
    registered_name: null, build_config: { input_shape: shapeOf(inShape) },
  });
  const sequential = (name, inShape, layers) => ({
    module: 'keras', class_name: 'Sequential', registered_name: null,
    config: { name, trainable: true, dtype: POLICY, layers: [k3Input('input_layer', inShape), ...layers] },
    build_config: { input_shape: shapeOf(inShape) },
  });
  // targets: a fixed smooth function of a few inputs plus noise
  function targets(r, x, n, per) {
    const y = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      const s = x.subarray(i * per, (i + 1) * per);
      y[i] = 0.5 * Math.tanh(s[0] + s[per - 1]) - 0.3 * s[Math.floor(per / 2)] + 0.2 * s[3] * s[per - 4] + 0.05 * gauss(r);
    }
    return y;
  }

  // Input(8,8,2) -> per-pixel Dense 3 tanh -> MaxPooling2D(3, strides 2, same)
  // -> Flatten -> Dense 1: windows cut by the 'same' border, overlapping
  // windows (stride < pool), the max's gradient to one entry per window.
  MAKERS.pool_max2d_same = dir => {
    const r = mulberry32(801);
    const N = 36, H = 8, W = 8, C = 2;
    const x = gaussArray(r, N * H * W * C);
    saveNpy(dir, 'x.npy', x, [N, H, W, C]);
    saveNpy(dir, 'y.npy', targets(r, x, N, H * W * C), [N, 1]);
    const model = sequential('pool_max2d', [H, W, C], [
      k3Dense('pixel', 3, 'tanh', [H, W, C]),
      k3Layer('MaxPooling2D', 'pool', { pool_size: [3, 3], padding: 'same', strides: [2, 2], data_format: 'channels_last' }, [H, W, 3]),
      k3Layer('Flatten', 'flatten', { data_format: 'channels_last' }, [4, 4, 3]),
      k3Dense('out', 1, 'linear', [48]),
    ]);
    return {
      description: 'Input(8,8,2) -> pixel (Dense 3 tanh on the last axis) -> MaxPooling2D(pool 3x3, strides 2, same: 4x4, pads 0 before / 1 after) -> Flatten (48) -> out (Dense 1). mse, Adam(0.01), mae; validation_split 0.25 of 36 (27 + 9), batch 8 (last 3), 3 epochs.',
      seed: 801, model,
      compile: { optimizer: { class_name: 'Adam', config: { learning_rate: 0.01 } }, loss: 'mse', metrics: ['mae'] },
      fit: { epochs: 3, batch_size: 8, shuffle: false, validation_split: 0.25 },
      data: { x: 'x.npy', y: 'y.npy' }, mode: 'fit', trace: true,
    };
  };

  // Input(7,6,2) -> Dense 4 relu -> AveragePooling2D(2, strides 1, valid) ->
  // ZeroPadding2D([[1,0],[0,2]]) -> Cropping2D([[0,1],[2,1]]) ->
  // GlobalAveragePooling2D -> Dense 1: overlapping average windows;
  // padding and cropping move gradients by position. No UpSampling2D: tfjs
  // 4.22's gradient of it is wrong for a 7x6 input enlarged (2, 1) (README.md). (An average cut by
  // a 'same' border is not here: tfjs's gradient of it divides by the whole
  // window, not by the entries inside as its forward and TF do; README.md.)
  MAKERS.pool_avg2d_pad_crop = dir => {
    const r = mulberry32(802);
    const N = 32, H = 7, W = 6, C = 2;
    const x = gaussArray(r, N * H * W * C);
    saveNpy(dir, 'x.npy', x, [N, H, W, C]);
    saveNpy(dir, 'y.npy', targets(r, x, N, H * W * C), [N, 1]);
    const model = sequential('pool_avg2d', [H, W, C], [
      k3Dense('pixel', 4, 'relu', [H, W, C]),
      k3Layer('AveragePooling2D', 'avg', { pool_size: [2, 2], padding: 'valid', strides: [1, 1], data_format: 'channels_last' }, [H, W, 4]),
      k3Layer('ZeroPadding2D', 'pad', { padding: [[1, 0], [0, 2]], data_format: 'channels_last' }, [H - 1, W - 1, 4]),
      k3Layer('Cropping2D', 'crop', { cropping: [[0, 1], [2, 1]], data_format: 'channels_last' }, [H, W + 1, 4]),
      k3Layer('GlobalAveragePooling2D', 'gavg', { data_format: 'channels_last', keepdims: false }, [H - 1, W - 2, 4]),
      k3Dense('out', 1, 'linear', [4]),
    ]);
    return {
      description: 'Input(7,6,2) -> pixel (Dense 4 relu) -> AveragePooling2D(2x2, strides 1, valid) (6x5) -> ZeroPadding2D([[1,0],[0,2]]) (7x7) -> Cropping2D([[0,1],[2,1]]) (6x4) -> GlobalAveragePooling2D (4) -> out. mse, RMSprop(0.005), mae; validation_split 0.25 of 32 (24 + 8), batch 8, 3 epochs.',
      seed: 802, model,
      compile: { optimizer: { class_name: 'RMSprop', config: { learning_rate: 0.005 } }, loss: 'mse', metrics: ['mae'] },
      fit: { epochs: 3, batch_size: 8, shuffle: false, validation_split: 0.25 },
      data: { x: 'x.npy', y: 'y.npy' }, mode: 'fit', trace: true,
    };
  };

  // Sequences: Input(11,3) -> Dense 4 tanh -> MaxPooling1D(3, strides 2, same)
  // (6 steps, the padding 1 before and after) -> AveragePooling1D(2, strides 2,
  // same) (3 steps, no padding needed) -> GlobalAveragePooling1D -> Dense 1.
  MAKERS.pool_1d = dir => {
    const r = mulberry32(803);
    const N = 40, T = 11, F = 3;
    const x = gaussArray(r, N * T * F);
    saveNpy(dir, 'x.npy', x, [N, T, F]);
    saveNpy(dir, 'y.npy', targets(r, x, N, T * F), [N, 1]);
    const model = sequential('pool_1d', [T, F], [
      k3Dense('step', 4, 'tanh', [T, F]),
      k3Layer('MaxPooling1D', 'max1d', { pool_size: [3], padding: 'same', strides: [2], data_format: 'channels_last' }, [T, 4]),
      k3Layer('AveragePooling1D', 'avg1d', { pool_size: [2], padding: 'same', strides: [2], data_format: 'channels_last' }, [6, 4]),
      k3Layer('GlobalAveragePooling1D', 'gavg', { data_format: 'channels_last', keepdims: false }, [3, 4]),
      k3Dense('out', 1, 'linear', [4]),
    ]);
    return {
      description: 'Input(11,3) -> step (Dense 4 tanh per step) -> MaxPooling1D(3, strides 2, same) (6 steps; pads 1 before, 1 after) -> AveragePooling1D(2, strides 2, same) (3 steps; no padding) -> GlobalAveragePooling1D -> out. mse, Adam(0.02), mae; validation_split 0.2 of 40 (32 + 8), batch 10 (last 2), 4 epochs.',
      seed: 803, model,
      compile: { optimizer: { class_name: 'Adam', config: { learning_rate: 0.02 } }, loss: 'mse', metrics: ['mae'] },
      fit: { epochs: 4, batch_size: 10, shuffle: false, validation_split: 0.2 },
      data: { x: 'x.npy', y: 'y.npy' }, mode: 'fit', trace: true,
    };
  };

  // Volumes: Input(5,4,6,1) -> Dense 3 tanh -> MaxPooling3D(2, valid) (2,2,3)
  // -> AveragePooling3D((1,2,2), strides 1, valid) (2,1,2) -> Flatten -> Dense 1.
  MAKERS.pool_3d = dir => {
    const r = mulberry32(804);
    const N = 30, D = 5, H = 4, W = 6;
    const x = gaussArray(r, N * D * H * W);
    saveNpy(dir, 'x.npy', x, [N, D, H, W, 1]);
    saveNpy(dir, 'y.npy', targets(r, x, N, D * H * W), [N, 1]);
    const model = sequential('pool_3d', [D, H, W, 1], [
      k3Dense('voxel', 3, 'tanh', [D, H, W, 1]),
      k3Layer('MaxPooling3D', 'max3d', { pool_size: [2, 2, 2], padding: 'valid', strides: [2, 2, 2], data_format: 'channels_last' }, [D, H, W, 3]),
      k3Layer('AveragePooling3D', 'avg3d', { pool_size: [1, 2, 2], padding: 'valid', strides: [1, 1, 1], data_format: 'channels_last' }, [2, 2, 3, 3]),
      k3Layer('Flatten', 'flatten', { data_format: 'channels_last' }, [2, 1, 2, 3]),
      k3Dense('out', 1, 'linear', [12]),
    ]);
    return {
      description: 'Input(5,4,6,1) -> voxel (Dense 3 tanh) -> MaxPooling3D(2, valid) (2,2,3; the fifth depth slice is dropped) -> AveragePooling3D((1,2,2), strides 1, valid) (2,1,2) -> Flatten (12) -> out. mse, SGD(0.05, momentum 0.9), mae; validation_split 0.2 of 30 (24 + 6), batch 8, 3 epochs.',
      seed: 804, model,
      compile: { optimizer: { class_name: 'SGD', config: { learning_rate: 0.05, momentum: 0.9 } }, loss: 'mse', metrics: ['mae'] },
      fit: { epochs: 3, batch_size: 8, shuffle: false, validation_split: 0.2 },
      data: { x: 'x.npy', y: 'y.npy' }, mode: 'fit', trace: true,
    };
  };
};
