// Writes the shipped reference model: `npx tsx lambda/model-server/scripts/generate-model.ts`.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildReferenceModel } from './reference-model';

const out = join(__dirname, '..', 'model', 'model.onnx');
const bytes = buildReferenceModel();
writeFileSync(out, bytes);
process.stdout.write(`wrote ${out} (${bytes.length} bytes)\n`);
