import { execFileSync, spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { captureLine, decodeCaptureLine } from '../../../lambda/model-server/src/capture-format';
import { classify, rows, sageMakerCaptureLines } from '../drift-detection/support';

const SCRIPT_DIR = path.join(__dirname, '..', '..', '..', 'lambda', 'model-monitor');
const hasPython = spawnSync('python3', ['--version']).status === 0;

/**
 * Runs Model Monitor's entry point of `record_preprocessor.py` on captured lines, each wrapped as the analyzer wraps
 * it (an inference record with `endpoint_input`/`endpoint_output` holding `data`, `encoding`, `observed_content_type`
 * and `mode`, and `event_metadata`). Returns what the handler returned per line and what it logged.
 */
function preprocess(lines: string[], env: Record<string, string> = {}): { records: Record<string, unknown>[][]; warnings: string[] } {
  const program = `
import json, sys
from types import SimpleNamespace
sys.path.insert(0, ${JSON.stringify(SCRIPT_DIR)})
from record_preprocessor import preprocess_handler
class Logger:
    def __init__(self): self.warnings = []
    def warning(self, msg): self.warnings.append(msg)
    info = debug = warning
def payload(p):
    return SimpleNamespace(data=p["data"], encoding=p["encoding"], observed_content_type=p["observedContentType"], mode=p["mode"]) if p else None
log = Logger()
out = []
for line in sys.stdin:
    line = json.loads(line)
    record = SimpleNamespace(endpoint_input=payload(line["captureData"]["endpointInput"]), endpoint_output=payload(line["captureData"].get("endpointOutput")),
                             event_metadata=line.get("eventMetadata"), event_version=line.get("eventVersion"))
    out.append(preprocess_handler(record, log))
print(json.dumps({"records": out, "warnings": log.warnings}))
`;
  return JSON.parse(execFileSync('python3', ['-B', '-c', program], { input: lines.join('\n'), env: { PATH: process.env.PATH, ...env } }).toString());
}

const meta = { eventId: 'e', inferenceTime: '2026-12-01T21:00:00.000Z' };
const input = (data: string, encoding: 'JSON' | 'CSV' | 'BASE64' = 'JSON', contentType = 'application/json') => JSON.stringify({
  captureData: { endpointInput: { observedContentType: contentType, mode: 'INPUT', data, encoding } }, eventMetadata: meta, eventVersion: '0',
});

(hasPython ? describe : describe.skip)('Model Monitor record preprocessor', () => {
  test('SageMaker data capture of {"instances": [[…]]}: one flat record per instance, keyed like a headerless CSV baseline', () => {
    const instances = rows(3, 71);
    const { records, warnings } = preprocess(sageMakerCaptureLines(instances, new Date('2026-12-01T21:00:00Z'), classify));
    expect(records).toEqual(instances.map((r) => [{ _c0: r[0], _c1: r[1], _c2: r[2], _c3: r[3] }]));
    expect(warnings).toEqual([]);
  });

  test('a batch request (the Lambda and Ray paths\' format) becomes one record per row, the same rows the drift job reads', () => {
    const batch = rows(4, 72);
    const line = captureLine(JSON.stringify({ instances: batch }), JSON.stringify({ predictions: batch.map(classify) }), { ...meta, servingPath: 'lambda' });
    const { records } = preprocess([line]);
    expect(records[0]).toHaveLength(4);
    expect(records[0].map((r) => Object.values(r))).toEqual(decodeCaptureLine(line).rows);
  });

  test('nested values, objects, booleans, named inputs, bare arrays, CSV and base64 bodies flatten as the drift job flattens them', () => {
    const bodies: [string, 'JSON' | 'CSV' | 'BASE64', string?][] = [
      [JSON.stringify({ instances: [[[1, 2], [3, 4]], { b: 2, a: true }] }), 'JSON'],
      [JSON.stringify({ inputs: { features: [[5, 6]] } }), 'JSON'],
      [JSON.stringify([[7, 8]]), 'JSON'],
      ['1.5,red\n2.5,blue\n', 'CSV', 'text/csv'],
      [Buffer.from(JSON.stringify({ instances: [[9, 10]] })).toString('base64'), 'BASE64'],
    ];
    const lines = bodies.map(([data, enc, type]) => input(data, enc, type));
    const { records } = preprocess(lines);
    expect(records).toEqual([
      [{ _c0: 1, _c1: 2, _c2: 3, _c3: 4 }, { _c0: 1, _c1: 2 }],
      [{ _c0: 5, _c1: 6 }],
      [{ _c0: 7, _c1: 8 }],
      [{ _c0: 1.5, _c1: 'red' }, { _c0: 2.5, _c1: 'blue' }],
      [{ _c0: 9, _c1: 10 }],
    ]);
    // The same rows the drift job's parser reads from those lines.
    expect(records.map((rs) => rs.map((r) => Object.values(r)))).toEqual(lines.map((l) => decodeCaptureLine(l).rows));
  });

  test('FEATURE_NAMES names the columns as the baseline does', () => {
    const { records } = preprocess([input(JSON.stringify({ instances: [[1, 2, 3]] }))], { FEATURE_NAMES: 'tenure, spend' });
    expect(records).toEqual([[{ tenure: 1, spend: 2, _c2: 3 }]]);
  });

  test('a record that is no request with instances is skipped and logged, never raised', () => {
    const { records, warnings } = preprocess([input('{"instances": []}'), input('not json'), input('{"rows": [[1]]}'), input(JSON.stringify({ instances: [[1]] }))]);
    expect(records).toEqual([[], [], [], [{ _c0: 1 }]]);
    expect(warnings).toHaveLength(3);
    expect(warnings[0]).toMatch(/skipped a captured record that is not a request with instances/);
  });
});
