// Jest's node environment, plus one rule for how a worker process ends.
//
// When a run ends, jest sends each worker an END message and waits 500 ms (jest-worker's fixed
// FORCE_EXIT_DELAY) for the process to leave by itself; a worker that needs longer is killed and the run prints
// "A worker process has failed to exit gracefully". Our workers hold what a whole platform's synths leave behind:
// heaps of several GB and onnxruntime's native thread pools, whose teardown at a natural exit can take longer
// than the grace period on a loaded two-core machine, although no test leaked anything. So a worker exits at END
// directly (process.exit skips the heap and thread-pool teardown). It first names any handle a test left
// open (a timer, server, socket or child process), so a real leak is still reported, by name, instead of hidden.
const { TestEnvironment } = require('jest-environment-node');

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
