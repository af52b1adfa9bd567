// Jest's node environment, plus two rules for how a worker process ends.
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

module.exports = TestEnvironment;
