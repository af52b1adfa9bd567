// The bare baseline: node:http + onnxruntime-node serving the same model with no validation, routing,
// logging or metrics. The model server's overhead is measured against this.
import { createServer } from 'node:http';
import ort from 'onnxruntime-node';

const session = await ort.InferenceSession.create(process.env.MODEL_PATH);
const input = session.inputNames[0];
const output = session.outputNames[0];

const server = createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', async () => {
    const { instances } = JSON.parse(Buffer.concat(chunks).toString());
    const width = instances[0].length;
    const tensor = new ort.Tensor('float32', Float32Array.from(instances.flat()), [instances.length, width]);
    const result = (await session.run({ [input]: tensor }))[output];
    const cols = result.dims[1];
    const predictions = [];
    for (let i = 0; i < result.dims[0]; i++) predictions.push(Array.from(result.data.subarray(i * cols, (i + 1) * cols)));
    const body = JSON.stringify({ predictions });
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  });
});
server.keepAliveTimeout = 65_000;
server.listen(0, '127.0.0.1', () => process.stdout.write(`${JSON.stringify({ port: server.address().port })}\n`));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
