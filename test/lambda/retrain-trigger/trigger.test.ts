import { ListPipelineExecutionsCommand, StartPipelineExecutionCommand } from '@aws-sdk/client-codepipeline';
import { DeleteItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { codepipeline, dynamodb, handler } from '../../../lambda/retrain-trigger';

describe('retrain trigger', () => {
  const cp = mockClient(codepipeline);
  const ddb = mockClient(dynamodb);
  let spies: jest.SpyInstance[];
  beforeAll(() => Object.assign(process.env, { PIPELINE_NAME: 'model-pipeline', TABLE_NAME: 'cooldowns', COOLDOWN_SECONDS: '3600' }));
  beforeEach(() => {
    cp.reset();
    ddb.reset();
    cp.on(ListPipelineExecutionsCommand).resolves({ pipelineExecutionSummaries: [{ pipelineExecutionId: 'old', status: 'Succeeded' }] });
    ddb.on(PutItemCommand).resolves({});
    spies = [jest.spyOn(process.stdout, 'write').mockImplementation(() => true), jest.spyOn(process.stderr, 'write').mockImplementation(() => true)];
  });
  afterEach(() => spies.forEach((s) => s.mockRestore()));

  test.each([[null], [{}], [{ detail: { reason: 'no model' } }], [{ detail: { model: 42 } }]])('an event naming no model (%j) is rejected, nothing starts', async (event) => {
    expect(await handler(event as never)).toMatchObject({ outcome: 'rejected' });
    expect(cp.commandCalls(StartPipelineExecutionCommand)).toHaveLength(0);
  });

  test('Model Monitor\'s request (detail.source) starts a run; the reason is cut to the variable limit', async () => {
    cp.on(StartPipelineExecutionCommand).resolves({ pipelineExecutionId: 'e1' });
    const res = await handler({ id: 'ev-1', time: '2026-12-01T22:00:00Z', detail: { source: 'churn', reason: 'x'.repeat(5000) } });
    expect(res).toMatchObject({ outcome: 'started', model: 'churn', pipelineExecutionId: 'e1' });
    const input = cp.commandCalls(StartPipelineExecutionCommand)[0].args[0].input;
    expect(input.variables![0].value!.length).toBe(1000);
    expect(input.clientRequestToken).toBe('ev-1');
    expect(ddb.commandCalls(PutItemCommand)[0].args[0].input.Item!.cooldownUntil.N).toBe(String(Date.parse('2026-12-01T22:00:00Z') / 1000 + 3600));
  });

  test('a failed start releases the cooldown so a retry can start the run', async () => {
    cp.on(StartPipelineExecutionCommand).rejects(Object.assign(new Error('throttled'), { name: 'ThrottlingException' }));
    ddb.on(DeleteItemCommand).resolves({});
    await expect(handler({ detail: { model: 'churn' } })).rejects.toThrow('throttled');
    expect(ddb.commandCalls(DeleteItemCommand)[0].args[0].input.Key).toEqual({ model: { S: 'churn' } });
  });
});
