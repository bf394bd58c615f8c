'use strict';
// TF.js side of tests/cli/test_tfjs12.sh: TensorFlow.js 4.22 (cpu backend) from
// ../shared/oracle/node_modules reads and writes layers models on disk.
//   node tfjs_oracle.js ORACLE_DIR predict MODEL_DIR X.npy OUT.npy
//     tf.loadLayersModel over MODEL_DIR/model.json and its shards, predict X.
//   node tfjs_oracle.js ORACLE_DIR train MODEL_DIR X.npy Y.npy OUT.npy
//     build a small Sequential (Dense relu, Dense sigmoid), train one epoch,
//     save it as tfjs-node's file:// handler does (model.json + ./weights.bin),
//     predict X with it.
// tfjs-node (the file:// scheme) is not installed with the oracle, so the
// IO handlers below read and write the same files with fs.
const fs = require('fs');
const path = require('path');

const [oracleDir, mode, modelDir, ...files] = process.argv.slice(2);
const quiet = (orig) => (...a) => {
  if (typeof a[0] === 'string' && /tfjs-node|={10}|Hi, looks like/.test(a[0])) return;
  orig(...a);
};
console.log = quiet(console.log);
console.warn = quiet(console.warn);
const tf = require(path.join(oracleDir, 'node_modules/@tensorflow/tfjs'));
const { readNpy, writeNpy } = require(path.join(oracleDir, 'npy.js'));

// A load handler over model.json and the shards its manifest names.
function fileLoader(dir) {
  return {
    load: async () => {
      const json = JSON.parse(fs.readFileSync(path.join(dir, 'model.json'), 'utf8'));
      return tf.io.getModelArtifactsForJSON(json, async (manifest) => {
        const specs = [], buffers = [];
        for (const group of manifest) {
          specs.push(...group.weights);
          for (const p of group.paths) {
            const b = fs.readFileSync(path.join(dir, p));
            buffers.push(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
          }
        }
        return [specs, tf.io.concatenateArrayBuffers(buffers)];
      });
    },
  };
}

// What tfjs-node's file:// save writes: model.json with one group whose
// path is "./weights.bin", and weights.bin.
function fileSaver(dir) {
  return tf.io.withSaveHandler(async (artifacts) => {
    fs.mkdirSync(dir, { recursive: true });
    const json = {
      modelTopology: artifacts.modelTopology,
      format: artifacts.format,
      generatedBy: artifacts.generatedBy,
      convertedBy: artifacts.convertedBy,
      weightsManifest: [{ paths: ['./weights.bin'], weights: artifacts.weightSpecs }],
    };
    if (artifacts.trainingConfig != null) json.trainingConfig = artifacts.trainingConfig;
    const data = tf.io.CompositeArrayBuffer.join(artifacts.weightData);
    fs.writeFileSync(path.join(dir, 'weights.bin'), Buffer.from(data));
    fs.writeFileSync(path.join(dir, 'model.json'), JSON.stringify(json));
    return { modelArtifactsInfo: tf.io.getModelArtifactsInfoForJSON(artifacts) };
  });
}

function tensorOf(file) {
  const a = readNpy(file);
  return tf.tensor(Float32Array.from(a.data), a.shape, 'float32');
}

async function predictTo(model, xFile, outFile) {
  const y = model.predict(tensorOf(xFile));
  writeNpy(outFile, new Float32Array(await y.data()), y.shape);
}

async function main() {
  await tf.setBackend('cpu');
  if (mode === 'predict') {
    const model = await tf.loadLayersModel(fileLoader(modelDir));
    await predictTo(model, files[0], files[1]);
  } else if (mode === 'train') {
    const [xFile, yFile, outFile] = files;
    const x = tensorOf(xFile), y = tensorOf(yFile);
    const model = tf.sequential();
    model.add(tf.layers.dense({ units: 8, activation: 'relu', inputShape: [x.shape[1]] }));
    model.add(tf.layers.dense({ units: 1, activation: 'sigmoid' }));
    model.compile({ optimizer: tf.train.sgd(0.1), loss: 'binaryCrossentropy' });
    await model.fit(x, y, { epochs: 1, batchSize: 8, shuffle: false, verbose: 0 });
    await model.save(fileSaver(modelDir));
    await predictTo(model, xFile, outFile);
  } else {
    throw new Error(`unknown mode ${mode}`);
  }
}

main().catch((e) => {
  console.error(`tfjs_oracle.js: ${e.message}`);
  process.exit(1);
});
