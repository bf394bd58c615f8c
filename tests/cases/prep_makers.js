'use strict';
// The issue 8 preprocessing cases (README.md "preprocessing layers"), made with
// the oracle patched by oracle-functional, -training and oracle-prep.patch
// (k3_prep.js: Keras 3's Normalization, Resizing, CenterCrop and the
// inference of the augmentation layers ported to tfjs ops).
// - prep_pipeline: Rescaling -> Normalization -> per-pixel Dense -> Resizing
//   -> CenterCrop -> Flatten -> Dense, trained (fit): the deterministic layers
//   in every phase, the resize's and crop's gradients into `pixel`.
// - prep_augment_evaluate / prep_augment_predict: every augmentation layer
//   (RandomFlip, RandomRotation, RandomZoom, RandomTranslation,
//   RandomContrast, RandomBrightness, RandomCrop) in inference: the identity,
//   RandomCrop the centred crop; evaluate (loss, mae) and predict with w0.
module.exports = function addPrepMakers(MAKERS, h) {
  const { mulberry32, gauss, gaussArray, saveNpy, k3Input, k3Dense, POLICY } = h;
  const shapeOf = s => [null, ...s];
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
  function targets(r, x, n, per) {
    const y = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      const s = x.subarray(i * per, (i + 1) * per);
      y[i] = 0.4 * Math.tanh(0.1 * (s[0] - s[per - 1])) + 0.02 * (s[Math.floor(per / 2)] - 2) + 0.05 * gauss(r);
    }
    return y;
  }
  // pixel values 0..8 like a small image, two channels of other ranges
  function image(r, n, hh, ww, c) {
    const x = new Float32Array(n * hh * ww * c);
    for (let i = 0; i < x.length; i++) x[i] = Math.fround(4 + 2.5 * gauss(r) + (i % c));
    return x;
  }

  MAKERS.prep_pipeline = dir => {
    const r = mulberry32(870);
    const N = 32, H = 7, W = 9, C = 2;
    const x = image(r, N, H, W, C);
    saveNpy(dir, 'x.npy', x, [N, H, W, C]);
    saveNpy(dir, 'y.npy', targets(r, x, N, H * W * C), [N, 1]);
    const model = sequential('prep_pipeline', [H, W, C], [
      k3Layer('Rescaling', 'rescale', { scale: 0.5, offset: -0.25 }, [H, W, C]),
      k3Layer('Normalization', 'norm', { axis: -1, invert: false, mean: [1.5, 2.0], variance: [2.25, 0.64] }, [H, W, C]),
      k3Dense('pixel', 3, 'tanh', [H, W, C]),
      k3Layer('Resizing', 'resize', { height: 5, width: 6, interpolation: 'bilinear', crop_to_aspect_ratio: false, pad_to_aspect_ratio: false, fill_mode: 'constant', fill_value: 0.0, antialias: false, data_format: 'channels_last' }, [H, W, 3]),
      k3Layer('CenterCrop', 'crop', { height: 3, width: 4, data_format: 'channels_last' }, [5, 6, 3]),
      k3Layer('Flatten', 'flatten', { data_format: 'channels_last' }, [3, 4, 3]),
      k3Dense('out', 1, 'linear', [36]),
    ]);
    return {
      description: 'Input(7,9,2) -> Rescaling(0.5, offset -0.25) -> Normalization(axis -1, mean [1.5, 2], variance [2.25, 0.64]) -> pixel (Dense 3 tanh) -> Resizing(5, 6, bilinear: both axes shrink, half-pixel centers) -> CenterCrop(3, 4) (from row 1, column 1) -> Flatten (36) -> out. mse, Adam(0.01), mae; validation_split 0.25 of 32 (24 + 8), batch 8, 3 epochs.',
      seed: 870, model,
      compile: { optimizer: { class_name: 'Adam', config: { learning_rate: 0.01 } }, loss: 'mse', metrics: ['mae'] },
      fit: { epochs: 3, batch_size: 8, shuffle: false, validation_split: 0.25 },
      data: { x: 'x.npy', y: 'y.npy' }, mode: 'fit', trace: true,
    };
  };

  // every augmentation layer, then a Dense on the 4 x 5 centre
  function augmentModel() {
    const H = 6, W = 7, C = 3;
    return sequential('prep_augment', [H, W, C], [
      k3Layer('RandomFlip', 'flip', { mode: 'horizontal_and_vertical', seed: 1, data_format: 'channels_last' }, [H, W, C]),
      k3Layer('RandomRotation', 'rotate', { factor: 0.2, fill_mode: 'reflect', interpolation: 'bilinear', seed: 2, fill_value: 0.0, data_format: 'channels_last' }, [H, W, C]),
      k3Layer('RandomZoom', 'zoom', { height_factor: 0.3, width_factor: null, fill_mode: 'reflect', interpolation: 'bilinear', seed: 3, fill_value: 0.0, data_format: 'channels_last' }, [H, W, C]),
      k3Layer('RandomTranslation', 'translate', { height_factor: 0.1, width_factor: 0.1, fill_mode: 'reflect', interpolation: 'bilinear', seed: 4, fill_value: 0.0, data_format: 'channels_last' }, [H, W, C]),
      k3Layer('RandomContrast', 'contrast', { factor: 0.5, value_range: [0, 255], seed: 5, data_format: 'channels_last' }, [H, W, C]),
      k3Layer('RandomBrightness', 'brightness', { factor: 0.2, value_range: [0, 255], seed: 6 }, [H, W, C]),
      k3Layer('RandomCrop', 'random_crop', { height: 4, width: 5, seed: 7, data_format: 'channels_last' }, [H, W, C]),
      k3Layer('Flatten', 'flatten', { data_format: 'channels_last' }, [4, 5, C]),
      k3Dense('out', 1, 'linear', [60]),
    ]);
  }
  function augmentData(dir) {
    const r = mulberry32(871);
    const N = 20, H = 6, W = 7, C = 3;
    const x = image(r, N, H, W, C);
    saveNpy(dir, 'x.npy', x, [N, H, W, C]);
    saveNpy(dir, 'y.npy', targets(r, x, N, H * W * C), [N, 1]);
  }
  const augmentDescription = 'Input(6,7,3) -> RandomFlip -> RandomRotation(0.2) -> RandomZoom(0.3) -> RandomTranslation(0.1, 0.1) -> RandomContrast(0.5) -> RandomBrightness(0.2) -> RandomCrop(4, 5) -> Flatten (60) -> out (Dense 1), w0 from the oracle, 20 samples. In inference every augmentation layer is the identity and RandomCrop the centred crop (rows 1..4, columns 1..5).';
  MAKERS.prep_augment_evaluate = dir => {
    augmentData(dir);
    return {
      description: `${augmentDescription} evaluate, batch 8 (last 4): loss and mae.`,
      seed: 871, model: augmentModel(),
      compile: { optimizer: 'sgd', loss: 'mse', metrics: ['mae'] },
      fit: { epochs: 1, batch_size: 8 }, // epochs: unused, read by oracle_case.c
      data: { x: 'x.npy', y: 'y.npy' }, mode: 'evaluate',
    };
  };
  MAKERS.prep_augment_predict = dir => {
    augmentData(dir);
    return {
      description: `${augmentDescription} predict, batch 8.`,
      seed: 871, model: augmentModel(),
      compile: { optimizer: 'sgd', loss: 'mse', metrics: ['mae'] },
      fit: { epochs: 1, batch_size: 8 }, // epochs: unused, read by oracle_case.c
      data: { x: 'x.npy', y: 'y.npy' }, mode: 'predict',
    };
  };
};
