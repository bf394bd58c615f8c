'use strict';
// The issue 7 cases (training behaviours): every Keras 3 optimizer and its base
// options, learning-rate schedules, callbacks, losses, stateful metrics, sample
// and class weights, regularizers and constraints, fit options. Used by
// make_cases.js; the oracle must carry oracle-training.patch (README.md).
// Each case is small (tens of samples, one or two Dense layers), runs with
// shuffle off, and takes its initial weights from the oracle's seeded
// initializer (w0/).
module.exports = function addTrainingMakers(MAKERS, h) {
  const { mulberry32, gauss, gaussArray, saveNpy, k3Input, k3Dense, POLICY } = h;
  const shapeOf = s => [null, ...s];
  const kobj = (module, cls, config) => ({ module, class_name: cls, config, registered_name: null });

  // A Keras 3 Sequential of Dense layers (each {name, units, activation, extra
  // config keys}) on an input of shape `inShape`.
  function sequential(name, inShape, denses) {
    const layers = [k3Input('input_layer', inShape)];
    let shape = inShape;
    for (const d of denses) {
      const l = k3Dense(d.name, d.units, d.activation, shape);
      Object.assign(l.config, d.extra || {});
      layers.push(l);
      shape = [...shape.slice(0, -1), d.units];
    }
    return {
      module: 'keras', class_name: 'Sequential', registered_name: null,
      config: { name, trainable: true, dtype: POLICY, layers },
      build_config: { input_shape: shapeOf(inShape) },
    };
  }
  const mlp = (F, H, outUnits, outAct, extraHidden = {}, extraOut = {}) => [
    { name: 'hidden', units: H, activation: 'tanh', extra: extraHidden },
    { name: 'out', units: outUnits, activation: outAct, extra: extraOut },
  ];

  // Regression data: x ~ N(0, 1)^F, y = a smooth function + noise, (N, K)
  function regression(dir, seed, N, F, K = 1, positive = false) {
    const r = mulberry32(seed);
    const x = gaussArray(r, N * F), y = new Float32Array(N * K);
    for (let i = 0; i < N; i++) {
      const v = x.subarray(i * F, i * F + F);
      for (let k = 0; k < K; k++) {
        const t = Math.tanh(v[k % F] - 0.5 * v[(k + 1) % F]) + 0.3 * v[(k + 2) % F] + 0.1 * gauss(r);
        y[i * K + k] = positive ? Math.exp(0.7 * t) : t;
      }
    }
    saveNpy(dir, 'x.npy', x, [N, F]);
    saveNpy(dir, 'y.npy', y, [N, K]);
    return { x: 'x.npy', y: 'y.npy' };
  }
  // Classification data: K classes (K = 1: binary 0/1 targets (N, 1));
  // `target`: 'onehot' (N, K), 'sparse' (N, 1), 'binary'
  function classification(dir, seed, N, F, K, target) {
    const r = mulberry32(seed);
    const x = gaussArray(r, N * F);
    const classes = Math.max(K, 2);
    const lab = new Int32Array(N);
    for (let i = 0; i < N; i++) {
      const v = x.subarray(i * F, i * F + F);
      const s = [];
      for (let c = 0; c < classes; c++) s.push(v[c % F] - 0.4 * v[(c + 1) % F] + 0.6 * gauss(r));
      lab[i] = s.indexOf(Math.max(...s));
    }
    saveNpy(dir, 'x.npy', x, [N, F]);
    if (target === 'onehot') {
      const y = new Float32Array(N * K);
      for (let i = 0; i < N; i++) y[i * K + lab[i]] = 1;
      saveNpy(dir, 'y.npy', y, [N, K]);
    } else {
      saveNpy(dir, 'y.npy', Float32Array.from(lab), [N, 1]);
    }
    return { x: 'x.npy', y: 'y.npy' };
  }

  function fitCase(o) {
    return {
      description: o.description,
      seed: o.seed,
      model: o.model,
      compile: o.compile,
      fit: Object.assign({ epochs: 3, batch_size: 8, shuffle: false }, o.fit || {}),
      data: o.data,
      mode: 'fit', trace: true,
    };
  }

  // ---- 1. optimizers: one case each, on a 5 -> 8 (tanh) -> 1 regression -------
  const optCases = {
    opt_adagrad: ['Adagrad', { learning_rate: 0.1 }, 'Adagrad: accumulator starts at initial_accumulator_value 0.1; w -= lr g / sqrt(acc + eps).'],
    opt_adadelta: ['Adadelta', { learning_rate: 1.0, rho: 0.9 }, 'Adadelta: delta = -sqrt(acc_delta + eps) g / sqrt(acc_grad + eps); w += lr delta (Keras 3 keeps a learning rate, default 0.001; here 1.0).'],
    opt_adamax: ['Adamax', { learning_rate: 0.02 }, 'Adamax: u = max(beta_2 u, |g|); w -= lr m / ((1 - beta_1^t)(u + eps)).'],
    opt_nadam: ['Nadam', { learning_rate: 0.02 }, 'Nadam: the momentum schedule u_t = beta_1 (1 - 0.5 * 0.96^t) and its running product (a float32 variable updated once per step before the variables).'],
    opt_ftrl: ['Ftrl', { learning_rate: 0.1, l1_regularization_strength: 0.001, l2_regularization_strength: 0.01, l2_shrinkage_regularization_strength: 0.01, beta: 0.1 },
      'Ftrl with every strength set: the l1 clip of the linear slot, l2 + beta / (2 lr), the shrinkage term in the gradient.'],
    opt_lion: ['Lion', { learning_rate: 0.003 }, 'Lion: w -= lr sign(beta_1 m + (1 - beta_1) g); then m = beta_2 m + (1 - beta_2) g (beta_2 default 0.99).'],
    opt_adafactor: ['Adafactor', { learning_rate: 0.05 }, 'Adafactor: factored second moments (row r and column c of the kernel, a full velocity for the biases), relative step min(lr, 1/sqrt(t)), the update scaled by max(epsilon_2, rms(w)) and clipped by rms(u)/clip_threshold.'],
    opt_adamw: ['AdamW', { learning_rate: 0.01, weight_decay: 0.05 }, 'AdamW: w -= w * weight_decay * lr before the Adam update.'],
    opt_rmsprop_centered: ['RMSprop', { learning_rate: 0.005, centered: true, momentum: 0.5 }, 'RMSprop centered with momentum: denominator sqrt(v - mean_grad^2 + eps).'],
    // base options (base_optimizer.py)
    opt_sgd_weight_decay: ['SGD', { learning_rate: 0.05, momentum: 0.9, weight_decay: 0.1 }, 'weight_decay on SGD with momentum: w -= w * wd * lr, then the momentum step, on every trainable variable (biases too).'],
    opt_adam_clipnorm: ['Adam', { learning_rate: 0.01, clipnorm: 0.05 }, 'clipnorm: each gradient tensor scaled to norm <= 0.05 (tf.clip_by_norm) before the update.'],
    opt_sgd_clipvalue: ['SGD', { learning_rate: 0.1, clipvalue: 0.02 }, 'clipvalue: each gradient element clipped to [-0.02, 0.02].'],
    opt_rmsprop_global_clipnorm: ['RMSprop', { learning_rate: 0.01, global_clipnorm: 0.1 }, 'global_clipnorm: all gradients scaled by clip / max(global norm, clip) (clip_by_global_norm).'],
    opt_adam_ema: ['Adam', { learning_rate: 0.02, use_ema: true, ema_momentum: 0.9 }, 'use_ema without overwrite frequency: the moving average (momentum 0 at the first step, 0.9 after) replaces the weights once, at the end of fit (finalize_variable_values): the final weights are the average, the history is of the raw weights.'],
    opt_sgd_ema_overwrite: ['SGD', { learning_rate: 0.1, momentum: 0.5, use_ema: true, ema_momentum: 0.8, ema_overwrite_frequency: 3 }, 'use_ema with ema_overwrite_frequency 3: the weights are overwritten by their average after every 3rd step ((iterations + 1) % 3 == 0, iterations before the increment), and at the end of fit.'],
    opt_adam_grad_accum: ['Adam', { learning_rate: 0.02, gradient_accumulation_steps: 2 }, 'gradient_accumulation_steps 2: odd steps only accumulate; even steps update with the mean of the two gradients; Adam\'s t counts updates (iterations // 2).'],
  };
  let seed = 700;
  for (const [name, [cls, cfg, what]] of Object.entries(optCases)) {
    const s = seed++;
    MAKERS[name] = dir => fitCase({
      description: `${what} ${cls}(${JSON.stringify(cfg)}), mse, metrics mae; 5 -> hidden (Dense 8 tanh) -> out; 40 samples, validation_split 0.25 (30 + 10), batch 8 (last 6), 3 epochs.`,
      seed: s,
      model: sequential(name, [5], mlp(5, 8, 1, 'linear')),
      compile: { optimizer: { class_name: cls, config: cfg }, loss: 'mse', metrics: ['mae'] },
      fit: { validation_split: 0.25 },
      data: regression(dir, s, 40, 5),
    });
  }

  // ---- 1b. learning-rate schedules, evaluated per step (at the real iteration count)
  const sched = (cls, config) => kobj('keras.optimizers.schedules', cls, Object.assign({ name: cls }, config));
  const schedCases = {
    sched_exponential: sched('ExponentialDecay', { initial_learning_rate: 0.1, decay_steps: 3, decay_rate: 0.5, staircase: false }),
    sched_exponential_staircase: sched('ExponentialDecay', { initial_learning_rate: 0.1, decay_steps: 4, decay_rate: 0.5, staircase: true }),
    sched_piecewise: sched('PiecewiseConstantDecay', { boundaries: [3, 7], values: [0.1, 0.03, 0.01] }),
    sched_inverse_time: sched('InverseTimeDecay', { initial_learning_rate: 0.1, decay_steps: 2, decay_rate: 0.5, staircase: true }),
    sched_polynomial_cycle: sched('PolynomialDecay', { initial_learning_rate: 0.1, decay_steps: 5, end_learning_rate: 0.01, power: 2.0, cycle: true }),
    sched_cosine_warmup: sched('CosineDecay', { initial_learning_rate: 0.0, decay_steps: 8, alpha: 0.1, warmup_target: 0.1, warmup_steps: 4 }),
    sched_cosine_restarts: sched('CosineDecayRestarts', { initial_learning_rate: 0.1, first_decay_steps: 3, t_mul: 2.0, m_mul: 0.5, alpha: 0.05 }),
  };
  for (const [name, lr] of Object.entries(schedCases)) {
    const s = seed++;
    MAKERS[name] = dir => fitCase({
      description: `SGD(momentum 0.5) with learning_rate = ${lr.class_name}(${JSON.stringify(lr.config)}), evaluated per step at the optimizer's iteration count (0 for the first step); mse, mae; 40 samples, validation_split 0.25, batch 8 (4 steps per epoch), 3 epochs.`,
      seed: s,
      model: sequential(name, [5], mlp(5, 8, 1, 'linear')),
      compile: { optimizer: { class_name: 'SGD', config: { learning_rate: lr, momentum: 0.5 } }, loss: 'mse', metrics: ['mae'] },
      fit: { validation_split: 0.25 },
      data: regression(dir, s, 40, 5),
    });
  }

  // ---- 2. callbacks ----------------------------------------------------------
  const overfit = (name, s, callbacks, what, epochs = 12, extra = {}) => dir => fitCase({
    description: `${what} Adam(0.03) on 24 noisy samples, 6 -> 16 (tanh) -> 1, mse, mae; validation data 16 samples; batch 8; up to ${epochs} epochs.`,
    seed: s,
    model: sequential(name, [6], mlp(6, 16, 1, 'linear')),
    compile: Object.assign({ optimizer: { class_name: 'Adam', config: { learning_rate: 0.03 } }, loss: 'mse', metrics: ['mae'] }, extra.compile || {}),
    fit: { epochs, validation_data: true, callbacks },
    data: (() => {
      const d = regression(dir, s, 40, 6);
      // first 24 train, last 16 validation (two files each)
      const { readNpy, writeNpy } = h;
      const x = readNpy(`${dir}/x.npy`), y = readNpy(`${dir}/y.npy`);
      writeNpy(`${dir}/x.npy`, x.data.slice(0, 24 * 6), [24, 6]);
      writeNpy(`${dir}/y.npy`, y.data.slice(0, 24), [24, 1]);
      writeNpy(`${dir}/x_val.npy`, x.data.slice(24 * 6), [16, 6]);
      writeNpy(`${dir}/y_val.npy`, y.data.slice(24), [16, 1]);
      return Object.assign(d, { x_val: 'x_val.npy', y_val: 'y_val.npy' });
    })(),
  });
  const cb = (cls, config) => ({ class_name: cls, config });
  MAKERS.cb_early_stopping_baseline = overfit('cb_early_stopping_baseline', seed++,
    [cb('EarlyStopping', { monitor: 'val_loss', patience: 2, baseline: 0.02, restore_best_weights: true })],
    'EarlyStopping(patience 2, baseline 0.02, restore_best_weights): wait counts every epoch and is reset only by an epoch that beats both the best and the baseline; val_loss never goes below 0.02, so the first epoch without improvement (epoch 4, wait 5) stops training, one epoch before the same callback without a baseline would; the weights of the best epoch (3) are restored.');
  MAKERS.cb_early_stopping_start_from_epoch = overfit('cb_early_stopping_start_from_epoch', seed++,
    [cb('EarlyStopping', { monitor: 'val_mae', min_delta: 0.01, patience: 1, start_from_epoch: 3, restore_best_weights: true })],
    'EarlyStopping(val_mae, min_delta 0.01, patience 1, start_from_epoch 3, restore_best_weights): epochs 0-2 are ignored (not even a best), mode auto gives min for mae; an epoch must improve by more than 0.01.');
  MAKERS.cb_early_stopping_max = overfit('cb_early_stopping_max', seed++,
    [cb('EarlyStopping', { monitor: 'val_loss', mode: 'max', patience: 1 })],
    'EarlyStopping(val_loss, mode max, patience 1): the sign of min_delta and the comparison follow the mode; val_loss falling counts as no improvement, so it stops at epoch 1 (epoch > 0 is required).');
  MAKERS.cb_reduce_lr_cooldown = overfit('cb_reduce_lr_cooldown', seed++,
    [cb('ReduceLROnPlateau', { monitor: 'val_loss', factor: 0.5, patience: 1, cooldown: 2, min_lr: 0.01, min_delta: 0.001 })],
    'ReduceLROnPlateau(factor 0.5, patience 1, cooldown 2, min_lr 0.01, min_delta 0.001): learning_rate (the rate of the epoch, before any reduction) is in the logs; after a reduction, 2 epochs of cooldown reset wait; the rate never goes below 0.01.');
  MAKERS.cb_lr_scheduler = overfit('cb_lr_scheduler', seed++,
    [cb('LearningRateScheduler', { schedule: sched('ExponentialDecay', { initial_learning_rate: 0.05, decay_steps: 2, decay_rate: 0.3, staircase: false }) })],
    'LearningRateScheduler with a schedule object (ExponentialDecay 0.05 * 0.3^(epoch / 2)) evaluated at the epoch index in on_epoch_begin; learning_rate in the logs.', 5);
  MAKERS.cb_reduce_lr_and_early_stopping = overfit('cb_reduce_lr_and_early_stopping', seed++,
    [cb('ReduceLROnPlateau', { monitor: 'val_loss', factor: 0.2, patience: 1 }), cb('EarlyStopping', { monitor: 'val_loss', patience: 3, restore_best_weights: true })],
    'ReduceLROnPlateau(factor 0.2, patience 1) then EarlyStopping(patience 3, restore_best_weights): the callbacks in list order; learning_rate in the logs.');

  // ---- 3. losses -------------------------------------------------------------
  const lossCase = (name, loss, o) => {
    const s = seed++;
    MAKERS[name] = dir => fitCase({
      description: `${o.what} ${JSON.stringify(loss)}; ${o.F} -> hidden (Dense 8 tanh) -> out (${o.K} ${o.act}); metrics ${JSON.stringify(o.metrics || [])}; 36 samples, validation_split 0.25 (27 + 9), batch 8, 3 epochs, ${o.opt || 'Adam(0.02)'}.`,
      seed: s,
      model: sequential(name, [o.F], mlp(o.F, 8, o.K, o.act)),
      compile: { optimizer: { class_name: 'Adam', config: { learning_rate: 0.02 } }, loss, metrics: o.metrics || [] },
      fit: { validation_split: 0.25 },
      data: o.data(dir, s),
    });
  };
  const L = (cls, config) => ({ class_name: cls, config });
  const reg1 = (dir, s) => regression(dir, s, 36, 5);
  const regPos = K => (dir, s) => regression(dir, s, 36, 5, K, true);
  const bin = (dir, s) => classification(dir, s, 36, 5, 1, 'binary');
  const onehot = K => (dir, s) => classification(dir, s, 36, 5, K, 'onehot');
  lossCase('loss_huber', L('Huber', { delta: 0.3 }), { what: 'Huber(delta 0.3): quadratic below delta, linear above.', F: 5, K: 1, act: 'linear', data: reg1, metrics: ['mae'] });
  lossCase('loss_log_cosh', 'log_cosh', { what: 'LogCosh: x + softplus(-2x) - log 2.', F: 5, K: 1, act: 'linear', data: reg1 });
  lossCase('loss_hinge', 'hinge', { what: 'Hinge with 0/1 labels (converted to -1/1), tanh output.', F: 5, K: 1, act: 'tanh', data: bin });
  lossCase('loss_squared_hinge', 'squared_hinge', { what: 'SquaredHinge with 0/1 labels, tanh output.', F: 5, K: 1, act: 'tanh', data: bin });
  lossCase('loss_categorical_hinge', 'categorical_hinge', { what: 'CategoricalHinge on one-hot targets, linear output.', F: 5, K: 3, act: 'linear', data: onehot(3) });
  lossCase('loss_kl_divergence', 'kl_divergence', { what: 'KLDivergence of one-hot targets (clipped to [eps, 1]) and a softmax output.', F: 5, K: 3, act: 'softmax', data: onehot(3) });
  lossCase('loss_poisson', 'poisson', { what: 'Poisson on positive targets, softplus output.', F: 5, K: 2, act: 'softplus', data: regPos(2) });
  lossCase('loss_cosine_similarity', L('CosineSimilarity', { axis: -1 }), { what: 'CosineSimilarity over the last axis (3 targets): -sum(l2norm(y) l2norm(p)).', F: 5, K: 3, act: 'linear', data: (dir, s) => regression(dir, s, 36, 5, 3) });
  lossCase('loss_mape', 'mape', { what: 'MeanAbsolutePercentageError on positive targets.', F: 5, K: 1, act: 'softplus', data: regPos(1) });
  lossCase('loss_msle', 'msle', { what: 'MeanSquaredLogarithmicError on positive targets.', F: 5, K: 1, act: 'softplus', data: regPos(1) });
  lossCase('loss_binary_focal', L('BinaryFocalCrossentropy', { apply_class_balancing: true, alpha: 0.3, gamma: 1.5 }), { what: 'BinaryFocalCrossentropy(apply_class_balancing, alpha 0.3, gamma 1.5) on a sigmoid output (the bce term from the logits, TF backend).', F: 5, K: 1, act: 'sigmoid', data: bin, metrics: ['accuracy'] });
  lossCase('loss_binary_focal_logits_smoothing', L('BinaryFocalCrossentropy', { from_logits: true, label_smoothing: 0.1 }), { what: 'BinaryFocalCrossentropy(from_logits, label_smoothing 0.1) on a linear output.', F: 5, K: 1, act: 'linear', data: bin });
  lossCase('loss_categorical_focal', L('CategoricalFocalCrossentropy', { alpha: 0.5, gamma: 2.0, label_smoothing: 0.05 }), { what: 'CategoricalFocalCrossentropy(alpha 0.5, gamma 2, label_smoothing 0.05) on a softmax output (probabilities, renormalized and clipped).', F: 5, K: 3, act: 'softmax', data: onehot(3) });
  lossCase('loss_dice', 'dice', { what: 'Dice (axis None: one value for the whole batch, 1 - 2 sum(y p) / (sum y + sum p + eps)) on a sigmoid output.', F: 5, K: 1, act: 'sigmoid', data: bin });
  lossCase('loss_tversky', L('Tversky', { alpha: 0.7, beta: 0.3 }), { what: 'Tversky(alpha 0.7, beta 0.3) over the whole batch, sigmoid output.', F: 5, K: 1, act: 'sigmoid', data: bin });
  lossCase('loss_bce_label_smoothing', L('BinaryCrossentropy', { label_smoothing: 0.2 }), { what: 'BinaryCrossentropy(label_smoothing 0.2): y (1 - 0.2) + 0.1, from the logits of the sigmoid output.', F: 5, K: 1, act: 'sigmoid', data: bin, metrics: ['accuracy'] });
  lossCase('loss_cce_label_smoothing', L('CategoricalCrossentropy', { label_smoothing: 0.1 }), { what: 'CategoricalCrossentropy(label_smoothing 0.1): y (1 - 0.1) + 0.1 / 3, from the logits of the softmax output.', F: 5, K: 3, act: 'softmax', data: onehot(3), metrics: ['accuracy'] });
  lossCase('loss_reduction_sum', L('MeanSquaredError', { reduction: 'sum' }), { what: 'MeanSquaredError(reduction "sum"): the batch loss is the sum over samples (the epoch value is still the batch-size weighted mean of batch sums).', F: 5, K: 1, act: 'linear', data: reg1 });

  // ---- 4. stateful metrics ------------------------------------------------------
  const M = (cls, config) => ({ class_name: cls, config });
  const metricCase = (name, o) => {
    const s = seed++;
    MAKERS[name] = dir => fitCase({
      description: `${o.what} ${o.F} -> hidden (Dense 8 tanh) -> out (${o.K} ${o.act}), ${o.loss}; 48 samples, validation_split 0.25 (36 + 12), batch 10 (last 6); 3 epochs. Every metric is accumulated over the epoch (the global value), not a mean of batch values.`,
      seed: s,
      model: sequential(name, [o.F], mlp(o.F, 8, o.K, o.act)),
      compile: { optimizer: { class_name: 'Adam', config: { learning_rate: 0.02 } }, loss: o.loss, metrics: o.metrics },
      fit: { validation_split: 0.25, batch_size: 10 },
      data: o.data(dir, s),
    });
  };
  metricCase('metrics_binary_confusion', {
    what: 'Binary confusion metrics: TruePositives, FalsePositives, TrueNegatives, FalseNegatives (threshold 0.5), Precision(thresholds [0.3]), Recall(thresholds 0.7), AUC (ROC, 200 thresholds), AUC(curve PR, 50 thresholds, interpolation: Davis-Goadrich), AUC(ROC, summation_method majoring), PrecisionAtRecall(0.5), RecallAtPrecision(0.6), SensitivityAtSpecificity(0.5), SpecificityAtSensitivity(0.5, 20 thresholds).',
    F: 5, K: 1, act: 'sigmoid', loss: 'binary_crossentropy',
    data: (dir, s) => classification(dir, s, 48, 5, 1, 'binary'),
    metrics: [
      M('TruePositives', { name: 'tp' }), M('FalsePositives', { name: 'fp' }), M('TrueNegatives', { name: 'tn' }), M('FalseNegatives', { name: 'fn' }),
      M('Precision', { name: 'precision_03', thresholds: [0.3] }), M('Recall', { name: 'recall_07', thresholds: 0.7 }),
      M('AUC', { name: 'auc' }), M('AUC', { name: 'pr_auc', curve: 'PR', num_thresholds: 50 }), M('AUC', { name: 'auc_majoring', summation_method: 'majoring' }),
      M('PrecisionAtRecall', { name: 'p_at_r', recall: 0.5 }), M('RecallAtPrecision', { name: 'r_at_p', precision: 0.6 }),
      M('SensitivityAtSpecificity', { name: 'sens_at_spec', specificity: 0.5 }), M('SpecificityAtSensitivity', { name: 'spec_at_sens', sensitivity: 0.5, num_thresholds: 20 }),
    ],
  });
  metricCase('metrics_multiclass', {
    what: 'Multi-class metrics on one-hot targets (4 classes): Precision(top_k 2), Recall(class_id 1), Precision(class_id 2, thresholds 0.4), TopKCategoricalAccuracy(k 2), F1Score(average macro), FBetaScore(beta 2, average micro, threshold 0.4), F1Score(average weighted), MeanIoU(4 classes of the argmax, sparse_y_true/pred false).',
    F: 6, K: 4, act: 'softmax', loss: 'categorical_crossentropy',
    data: (dir, s) => classification(dir, s, 48, 6, 4, 'onehot'),
    metrics: [
      M('Precision', { name: 'precision_top2', top_k: 2 }), M('Recall', { name: 'recall_class1', class_id: 1 }), M('Precision', { name: 'precision_class2', class_id: 2, thresholds: 0.4 }),
      M('TopKCategoricalAccuracy', { name: 'top2', k: 2 }), M('F1Score', { name: 'f1_macro', average: 'macro' }),
      M('FBetaScore', { name: 'f2_micro', beta: 2.0, average: 'micro', threshold: 0.4 }), M('F1Score', { name: 'f1_weighted', average: 'weighted' }),
      M('MeanIoU', { name: 'mean_iou', num_classes: 4, sparse_y_true: false, sparse_y_pred: false }),
    ],
  });
  metricCase('metrics_sparse_top_k', {
    what: 'SparseTopKCategoricalAccuracy(k 2) and sparse_categorical_accuracy on integer targets (5 classes).',
    F: 6, K: 5, act: 'softmax', loss: 'sparse_categorical_crossentropy',
    data: (dir, s) => classification(dir, s, 48, 6, 5, 'sparse'),
    metrics: [M('SparseTopKCategoricalAccuracy', { name: 'top2', k: 2 }), 'sparse_categorical_accuracy'],
  });
  metricCase('metrics_regression', {
    what: 'Regression metrics on 2 targets: RootMeanSquaredError (sqrt of the global mean, not a mean of batch roots), R2Score (uniform_average), R2Score(variance_weighted_average), MeanAbsolutePercentageError, CosineSimilarity, LogCoshError, and mae.',
    F: 5, K: 2, act: 'linear', loss: 'mse',
    data: (dir, s) => regression(dir, s, 48, 5, 2),
    metrics: [M('RootMeanSquaredError', { name: 'rmse' }), M('R2Score', { name: 'r2' }), M('R2Score', { name: 'r2_vw', class_aggregation: 'variance_weighted_average' }),
      M('MeanAbsolutePercentageError', { name: 'mape' }), M('CosineSimilarity', { name: 'cos' }), M('LogCoshError', { name: 'logcosh' }), 'mae'],
  });

  // ---- 5. sample and class weights, regularizers, constraints ---------------------
  const weights = (dir, r, n, lo = 0.2, hi = 2.0) => {
    const w = new Float32Array(n);
    for (let i = 0; i < n; i++) w[i] = lo + (hi - lo) * r();
    return w;
  };
  {
    const s = seed++;
    MAKERS.sw_sample_weight = dir => {
      const d = regression(dir, s, 52, 5);
      const { readNpy, writeNpy } = h;
      const x = readNpy(`${dir}/x.npy`), y = readNpy(`${dir}/y.npy`);
      writeNpy(`${dir}/x.npy`, x.data.slice(0, 40 * 5), [40, 5]);
      writeNpy(`${dir}/y.npy`, y.data.slice(0, 40), [40, 1]);
      writeNpy(`${dir}/x_val.npy`, x.data.slice(40 * 5), [12, 5]);
      writeNpy(`${dir}/y_val.npy`, y.data.slice(40), [12, 1]);
      const r = mulberry32(s + 1);
      saveNpy(dir, 'sw.npy', weights(dir, r, 40), [40]);
      saveNpy(dir, 'sw_val.npy', weights(dir, r, 12), [12]);
      return fitCase({
        description: 'fit(sample_weight=sw) with validation_data=(x_val, y_val, sw_val): the loss is sum(w l) / batch size (sum_over_batch_size divides by the element count, not by the weight sum); metrics (mse) are unweighted, weighted_metrics (mae) use sum(w v) / sum(w); the epoch loss is the batch-size weighted mean of batch losses. 5 -> 8 tanh -> 1, SGD(0.05), 40 samples, batch 8, validation 12 (weighted), 3 epochs.',
        seed: s,
        model: sequential('sw_sample_weight', [5], mlp(5, 8, 1, 'linear')),
        compile: { optimizer: { class_name: 'SGD', config: { learning_rate: 0.05 } }, loss: 'mse', metrics: ['mse'], weighted_metrics: ['mae'] },
        fit: { validation_data: true },
        data: Object.assign(d, { x_val: 'x_val.npy', y_val: 'y_val.npy', sample_weight: 'sw.npy', sample_weight_val: 'sw_val.npy' }),
      });
    };
  }
  {
    const s = seed++;
    MAKERS.sw_mean_with_sample_weight = dir => {
      const d = regression(dir, s, 40, 5);
      saveNpy(dir, 'sw.npy', weights(dir, mulberry32(s + 1), 40, 0.0, 3.0), [40]);
      return fitCase({
        description: 'MeanSquaredError(reduction "mean_with_sample_weight"): the weighted batch loss divided by the sum of the weights (not the batch size), with sample weights in [0, 3); validation_split 0.25 slices the weights too (the validation loss is weighted). Adam(0.01), 40 samples, batch 8, 3 epochs.',
        seed: s,
        model: sequential('sw_mean_with_sample_weight', [5], mlp(5, 8, 1, 'linear')),
        compile: { optimizer: { class_name: 'Adam', config: { learning_rate: 0.01 } }, loss: L('MeanSquaredError', { reduction: 'mean_with_sample_weight' }), weighted_metrics: ['mse'] },
        fit: { validation_split: 0.25 },
        data: Object.assign(d, { sample_weight: 'sw.npy' }),
      });
    };
  }
  {
    const s = seed++;
    MAKERS.sw_class_weight = dir => fitCase({
      description: 'fit(class_weight={0: 1.0, 1: 3.0}) on binary targets: each training sample weighs its class\'s weight (data adapter rule: the rounded label of a (N, 1) target); validation_split 0.25: the validation part is not weighted. BCE from the logits of the sigmoid output; metrics accuracy (unweighted), weighted_metrics binary_accuracy and Precision. Adam(0.02), 48 samples, batch 8, 3 epochs.',
      seed: s,
      model: sequential('sw_class_weight', [5], mlp(5, 8, 1, 'sigmoid')),
      compile: { optimizer: { class_name: 'Adam', config: { learning_rate: 0.02 } }, loss: 'binary_crossentropy', metrics: ['accuracy'],
        weighted_metrics: ['binary_accuracy', M('Precision', { name: 'weighted_precision' })] },
      fit: { validation_split: 0.25, class_weight: { 0: 1.0, 1: 3.0 } },
      data: classification(dir, s, 48, 5, 1, 'binary'),
    });
  }
  {
    const s = seed++;
    MAKERS.sw_class_weight_onehot = dir => fitCase({
      description: 'fit(class_weight={0: 0.5, 2: 4.0}) on one-hot targets (the class is the argmax; class 1 is absent from the dict and weighs 1). CCE from the logits of the softmax output, weighted_metrics categorical_accuracy. Adam(0.02), 40 samples, batch 8, no validation, 3 epochs.',
      seed: s,
      model: sequential('sw_class_weight_onehot', [5], mlp(5, 8, 3, 'softmax')),
      compile: { optimizer: { class_name: 'Adam', config: { learning_rate: 0.02 } }, loss: 'categorical_crossentropy', weighted_metrics: ['categorical_accuracy'] },
      fit: { class_weight: { 0: 0.5, 2: 4.0 } },
      data: classification(dir, s, 40, 5, 3, 'onehot'),
    });
  }
  {
    const s = seed++;
    MAKERS.sw_timestep = dir => {
      const r = mulberry32(s);
      const N = 30, T = 4, F = 3;
      const x = gaussArray(r, N * T * F), y = new Float32Array(N * T), w = new Float32Array(N * T);
      for (let i = 0; i < N * T; i++) {
        const v = x.subarray(i * F, i * F + F);
        y[i] = Math.tanh(v[0] - v[1]) + 0.2 * v[2] + 0.05 * gauss(r);
        w[i] = (i % T) === T - 1 ? 0 : 0.5 + r();
      }
      saveNpy(dir, 'x.npy', x, [N, T, F]);
      saveNpy(dir, 'y.npy', y, [N, T, 1]);
      saveNpy(dir, 'sw.npy', w, [N, T]);
      return fitCase({
        description: 'Per-timestep sample weights (N, T) = (30, 4) for a sequence output (batch, 4, 1) (Dense on the last axis): the loss per (sample, step) times its weight, summed and divided by batch x 4 (the last step of every sample weighs 0); weighted_metrics mae over every element. Adam(0.02), validation_split 0.2 (24 + 6), batch 8, 3 epochs.',
        seed: s,
        model: sequential('sw_timestep', [T, F], [{ name: 'hidden', units: 6, activation: 'tanh' }, { name: 'out', units: 1, activation: 'linear' }]),
        compile: { optimizer: { class_name: 'Adam', config: { learning_rate: 0.02 } }, loss: 'mse', weighted_metrics: ['mae'] },
        fit: { validation_split: 0.2 },
        data: { x: 'x.npy', y: 'y.npy', sample_weight: 'sw.npy' },
      });
    };
  }
  const R = (cls, config) => kobj('keras.regularizers', cls, config);
  const Cn = (cls, config) => kobj('keras.constraints', cls, config);
  {
    const s = seed++;
    MAKERS.reg_l1_l2 = dir => fitCase({
      description: 'Regularizers added to the loss as Keras 3 adds them (Trainer.compute_loss: compiled loss + sum(model.losses)), in the training and in the validation loss: hidden kernel L2(0.01), hidden bias L1(0.02), out kernel L1L2(l1 0.005, l2 0.01), out activity L2(0.05) (its sum over the batch divided by the batch size). SGD(0.05, momentum 0.5), mse, mae; 40 samples, validation_split 0.25, batch 8, 3 epochs.',
      seed: s,
      model: sequential('reg_l1_l2', [5], mlp(5, 8, 1, 'linear',
        { kernel_regularizer: R('L2', { l2: 0.01 }), bias_regularizer: R('L1', { l1: 0.02 }) },
        { kernel_regularizer: R('L1L2', { l1: 0.005, l2: 0.01 }), activity_regularizer: R('L2', { l2: 0.05 }) })),
      compile: { optimizer: { class_name: 'SGD', config: { learning_rate: 0.05, momentum: 0.5 } }, loss: 'mse', metrics: ['mae'] },
      fit: { validation_split: 0.25 },
      data: regression(dir, s, 40, 5),
    });
  }
  {
    const s = seed++;
    MAKERS.constraints = dir => fitCase({
      description: 'Constraints applied after each update (base_optimizer.apply): hidden kernel MaxNorm(0.6, axis 0), hidden bias NonNeg, out kernel UnitNorm(axis 0), out bias MinMaxNorm(0.1, 0.3, rate 0.5, axis 0). Adam(0.05), mse, mae; 40 samples, validation_split 0.25, batch 8, 3 epochs.',
      seed: s,
      model: sequential('constraints', [5], mlp(5, 8, 1, 'linear',
        { kernel_constraint: Cn('MaxNorm', { max_value: 0.6, axis: 0 }), bias_constraint: Cn('NonNeg', {}) },
        { kernel_constraint: Cn('UnitNorm', { axis: 0 }), bias_constraint: Cn('MinMaxNorm', { min_value: 0.1, max_value: 0.3, rate: 0.5, axis: 0 }) })),
      compile: { optimizer: { class_name: 'Adam', config: { learning_rate: 0.05 } }, loss: 'mse', metrics: ['mae'] },
      fit: { validation_split: 0.25 },
      data: regression(dir, s, 40, 5),
    });
  }

  // ---- fit options --------------------------------------------------------------
  {
    const s = seed++;
    MAKERS.fit_validation_freq = dir => fitCase({
      description: 'validation_freq 2: validation after epochs 2 and 4 only ((epoch + 1) % 2 == 0); History\'s val_* lists have 2 entries for 5 epochs (meta.json validated_epochs: [1, 3], 0-based). Adam(0.02), mse, mae, validation_split 0.25 of 40, batch 8.',
      seed: s,
      model: sequential('fit_validation_freq', [5], mlp(5, 8, 1, 'linear')),
      compile: { optimizer: { class_name: 'Adam', config: { learning_rate: 0.02 } }, loss: 'mse', metrics: ['mae'] },
      fit: { epochs: 5, validation_split: 0.25, validation_freq: 2 },
      data: regression(dir, s, 40, 5),
    });
  }
  {
    const s = seed++;
    MAKERS.fit_validation_batch_size = dir => fitCase({
      description: 'validation_batch_size 5 (training batch 8) with validation_split 0.3 of 40 (28 + 12): validation batches 5, 5, 2; the validation loss is the batch-size weighted mean of the batch losses, and stateful metrics (RootMeanSquaredError) are global. Adam(0.02), mse.',
      seed: s,
      model: sequential('fit_validation_batch_size', [5], mlp(5, 8, 1, 'linear')),
      compile: { optimizer: { class_name: 'Adam', config: { learning_rate: 0.02 } }, loss: 'mse', metrics: [M('RootMeanSquaredError', { name: 'rmse' })] },
      fit: { epochs: 3, validation_split: 0.3, validation_batch_size: 5 },
      data: regression(dir, s, 40, 5),
    });
  }
  {
    const s = seed++;
    MAKERS.fit_initial_epoch = dir => fitCase({
      description: 'initial_epoch 2, epochs 5: three epochs run (indices 2, 3, 4), History has 3 entries; a LearningRateScheduler sees the epoch indices 2, 3, 4 (PiecewiseConstantDecay on the epoch: 0.05 up to 2, 0.02 up to 3, then 0.01). SGD, mse, mae, validation_split 0.25 of 40, batch 8.',
      seed: s,
      model: sequential('fit_initial_epoch', [5], mlp(5, 8, 1, 'linear')),
      compile: { optimizer: { class_name: 'SGD', config: { learning_rate: 0.1 } }, loss: 'mse', metrics: ['mae'] },
      fit: { epochs: 5, initial_epoch: 2, validation_split: 0.25,
        callbacks: [cb('LearningRateScheduler', { schedule: sched('PiecewiseConstantDecay', { boundaries: [2, 3], values: [0.05, 0.02, 0.01] }) })] },
      data: regression(dir, s, 40, 5),
    });
  }

  // (added last, so the seeds of the cases above stay as they were)
  lossCase('loss_sparse_ignore_class', L('SparseCategoricalCrossentropy', { ignore_class: -1 }), {
    what: 'SparseCategoricalCrossentropy(ignore_class -1): every 4th target is -1; those samples get loss 0 and the Keras mask, so sum_over_batch_size divides by the valid samples only; y_pred * mask is no longer the softmax op, so the TF backend computes from the clipped probabilities, not the logits. The last validation batch (1 sample, ignored) has loss 0 (divide_no_nan) and still weighs 1 in val_loss.',
    F: 5, K: 3, act: 'softmax', metrics: ['sparse_categorical_accuracy'],
    data: (dir, s) => {
      const d = classification(dir, s, 36, 5, 3, 'sparse');
      const y = h.readNpy(`${dir}/y.npy`);
      const lab = Float32Array.from(y.data, (v, i) => (i % 4 === 3 ? -1 : v));
      h.writeNpy(`${dir}/y.npy`, lab, [36, 1]);
      return d;
    },
  });
  MAKERS.cb_early_stopping_with_ema = overfit('cb_early_stopping_with_ema', seed++,
    [cb('EarlyStopping', { monitor: 'val_loss', patience: 2, restore_best_weights: true })],
    'Adam(0.03, use_ema, ema_momentum 0.8) with EarlyStopping(patience 2, restore_best_weights): at the end of fit Keras first overwrites the weights with their moving average (finalize_variable_values), then runs on_train_end, where EarlyStopping restores the best epoch\'s raw weights: the final weights are the restored ones, not the average.',
    12, { compile: { optimizer: { class_name: 'Adam', config: { learning_rate: 0.03, use_ema: true, ema_momentum: 0.8 } } } });

  // ---- losses as metrics (oracle-loss-metrics.patch on top of the training patch) ----
  const F = name => ({ module: 'keras.losses', class_name: 'function', config: name, registered_name: name });
  metricCase('metrics_loss_classes', {
    what: 'Losses as metrics on one-hot targets (3 classes, softmax): the metric classes Hinge (labels 0/1 -> -1/1), SquaredHinge (as a string), CategoricalHinge, KLDivergence, Poisson, CategoricalCrossentropy(label_smoothing 0.1), and the loss functions huber and log_cosh as serialized functions (MeanMetricWrapper, keys "huber", "log_cosh").',
    F: 5, K: 3, act: 'softmax', loss: 'categorical_crossentropy',
    data: (dir, s) => classification(dir, s, 48, 5, 3, 'onehot'),
    metrics: [M('Hinge', {}), 'squared_hinge', M('CategoricalHinge', { name: 'cat_hinge' }), M('KLDivergence', { name: 'kld_metric' }), M('Poisson', { name: 'pois' }),
      M('CategoricalCrossentropy', { name: 'cce_ls', label_smoothing: 0.1 }), F('huber'), F('log_cosh')],
  });
  {
    const s = seed++;
    MAKERS.metrics_loss_weighted = dir => {
      const d = classification(dir, s, 40, 5, 1, 'binary');
      saveNpy(dir, 'sw.npy', weights(dir, mulberry32(s + 1), 40), [40]);
      return fitCase({
        description: 'Losses as weighted metrics with fit(sample_weight): weighted_metrics Hinge (named w_hinge), poisson, kl_divergence use sum(w v) / sum(w); metrics hinge and BinaryCrossentropy(label_smoothing 0.2) are unweighted. 5 -> 8 tanh -> 1 sigmoid, binary_crossentropy, Adam(0.02); 40 samples, validation_split 0.25 (30 + 10, the validation part weighted too), batch 8 (last 6), 3 epochs.',
        seed: s,
        model: sequential('metrics_loss_weighted', [5], mlp(5, 8, 1, 'sigmoid')),
        compile: { optimizer: { class_name: 'Adam', config: { learning_rate: 0.02 } }, loss: 'binary_crossentropy',
          metrics: ['hinge', M('BinaryCrossentropy', { name: 'bce_ls', label_smoothing: 0.2 })],
          weighted_metrics: [M('Hinge', { name: 'w_hinge' }), 'poisson', 'kl_divergence'] },
        fit: { validation_split: 0.25 },
        data: Object.assign(d, { sample_weight: 'sw.npy' }),
      });
    };
  }
  {
    const s = seed++;
    MAKERS.sw_class_weight_sparse = dir => fitCase({
      description: 'fit(class_weight={0: 0.5, 2: 3.0, 3: 1.5}) on sparse (N, 1) integer targets of a 4-class softmax: "accuracy" resolves from the target\'s shape (last axis 1, output 4: sparse categorical accuracy), unweighted, so val_accuracy equals the unweighted sparse accuracy of the validation part; weighted_metrics sparse_categorical_accuracy; SparseTopKCategoricalAccuracy(k 2) named top2. validation_split 0.2 (not weighted). Adam(0.03, clipnorm 0.5), 60 samples, batch 11 (last 4), 4 epochs. (The oracle patch resolved "accuracy" from the targets with the weight column appended, 2 wide, until session 24.)',
      seed: s,
      model: sequential('sw_class_weight_sparse', [5], mlp(5, 8, 4, 'softmax')),
      compile: { optimizer: { class_name: 'Adam', config: { learning_rate: 0.03, clipnorm: 0.5 } }, loss: 'sparse_categorical_crossentropy',
        metrics: ['accuracy', M('SparseTopKCategoricalAccuracy', { name: 'top2', k: 2 })], weighted_metrics: ['sparse_categorical_accuracy'] },
      fit: { epochs: 4, validation_split: 0.2, batch_size: 11, class_weight: { 0: 0.5, 2: 3.0, 3: 1.5 } },
      data: classification(dir, s, 60, 5, 4, 'sparse'),
    });
  }
};
