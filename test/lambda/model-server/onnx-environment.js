// onnxruntime-node's native binding creates output typed arrays in Node's main realm, while jest runs each
// test file in its own vm realm where `instanceof Float32Array` would fail. Sharing the main realm's typed
// array constructors lets real inference run inside jest (select with `@jest-environment`).
// Extends the project's node environment (test/node-environment.js), which ends the worker cleanly.
const TestEnvironment = require('../../node-environment');

const SHARED = [
  'ArrayBuffer', 'SharedArrayBuffer', 'DataView', 'Float32Array', 'Float64Array', 'Int8Array', 'Uint8Array', 'Uint8ClampedArray',
  'Int16Array', 'Uint16Array', 'Int32Array', 'Uint32Array', 'BigInt64Array', 'BigUint64Array',
];

class OnnxEnvironment extends TestEnvironment {
  constructor(config, context) {
    super(config, context);
    for (const name of SHARED) this.global[name] = globalThis[name];
    this.global.Buffer = Buffer;
    // These tests assert on the structured logs they capture (test/setup-env.js silences them elsewhere).
    this.global.process.env.CDK_MLOPS_TEST_KEEP_LOGS = '1';
  }
}

module.exports = OnnxEnvironment;
