// Jest's node environment, plus two rules for how a worker process ends and one for stack traces nobody reads.
//
// When a run ends, jest sends each worker an END message and waits 500 ms (jest-worker's fixed
// FORCE_EXIT_DELAY) for the process to leave by itself; a worker that needs longer is killed and the run prints
// "A worker process has failed to exit gracefully". So a worker exits at END directly, without waiting for its heap
// (up to 0.7 GB used, 1.5 GB resident, measured) and onnxruntime's thread pools to be torn down. It first names
// any handle a test left open (a timer, server, socket or child process), so a real leak is still reported, by
// name, instead of hidden.
//
// And no WebAssembly tier-up in test workers. aws-cdk-lib's built-in validation runs a 9 MB WebAssembly engine;
// after it is used, V8 keeps optimizing that module on background threads for a while, and even process.exit
// waits for them: measured, process.exit 550 ms after a validation against 30 ms with Liftoff only. A worker whose
// last file switched the validation on (all-stages, README examples; likely in a first run, which has no file
// timings to order by) missed the grace period. Measured over whole runs: worker exits 120-420 ms and the
// warning in 1 of 4 runs without, 84-177 ms with, and the suite's time the same (88/90 s against 85/95 s).
//
// Stack traces: aws-cdk-lib records one for every CloudFormation element it creates and every validation rule a
// construct acknowledges (`Error.captureStackTrace` on a plain object, kept as construct metadata, and rendered into
// its validation errors). Jest maps every frame of every stack, 100 frames deep, through source-map-support, most of
// them aws-cdk-lib's own, which have no source map: that was a fifth of a synth's time under jest. In those records only
// the project's own frames are mapped (measured: the every-component config without the pipeline, 2.45 s → 1.75 s
// per synth); an Error's stack (a failing test, a thrown synth error) is mapped whole, as before.
const { isNativeError } = require('node:util').types;
const v8 = require('node:v8');
const { TestEnvironment } = require('jest-environment-node');

v8.setFlagsFromString('--liftoff-only');

const CHILD_MESSAGE_END = 2; // jest-worker's protocol (build/types.js)
// Handles every worker has: its IPC channel and stdio, and the END message's own bookkeeping.
const EXPECTED = new Set(['PipeWrap', 'TTYWrap', 'FSReqCallback', 'FSReqPromise', 'Immediate', 'CloseReq']);

const INSTALLED = Symbol.for('cdk-mlops.test.exitOnEnd');
if (!process[INSTALLED] && typeof process.send === 'function') {
  process[INSTALLED] = true;
  process.on('message', (message) => {
    if (!Array.isArray(message) || message[0] !== CHILD_MESSAGE_END) return;
    const open = process.getActiveResourcesInfo().filter((r) => !EXPECTED.has(r));
    if (open.length > 0) process.stderr.write(`jest worker ${process.pid}: tests left open handles at the end of the run: ${open.join(', ')}\n`);
    process.exit(0);
  });
}

class Environment extends TestEnvironment {
  async setup() {
    await super.setup();
    // jest-runner installed source-map-support in the test context before this runs.
    const ContextError = this.global.Error;
    const mapped = ContextError.prepareStackTrace;
    if (typeof mapped !== 'function') return;
    const ownFrames = new Map();
    ContextError.prepareStackTrace = (target, callSites) => {
      if (isNativeError(target)) return mapped(target, callSites);
      let stack = 'Error';
      for (const site of callSites) {
        const frame = `\n    at ${site}`;
        const file = site.getFileName() ?? '';
        if (file === '' || file.startsWith('node:') || file.includes('/node_modules/')) {
          stack += frame;
          continue;
        }
        // The project's own frames are mapped (aws-cdk-lib shows them in its validation errors), each once.
        let own = ownFrames.get(frame);
        if (own === undefined) {
          own = mapped(target, [site]).slice(mapped(target, []).length);
          ownFrames.set(frame, own);
        }
        stack += own;
      }
      return stack;
    };
  }
}

module.exports = Environment;
