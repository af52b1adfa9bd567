#!/usr/bin/env node
// The operations CLI (`npx cdk-mlops`). Free of CDK imports so it starts fast; the commands are in lib/cli.
import { createInterface } from 'node:readline/promises';
import { run } from '../lib/cli/main';
import { type Io } from '../lib/cli/output';

const io: Io = {
  out: (text) => process.stdout.write(`${text}\n`),
  err: (text) => process.stderr.write(`${text}\n`),
  interactive: process.stdin.isTTY === true,
  color: process.stdout.isTTY === true && !process.env.NO_COLOR,
  async confirm(question) {
    const rl = createInterface({ input: process.stdin, output: process.stderr });
    try {
      return /^y(es)?$/i.test((await rl.question(`${question} [y/N] `)).trim());
    } finally {
      rl.close();
    }
  },
};

run(process.argv.slice(2), { io }).then((code) => {
  process.exitCode = code;
});
