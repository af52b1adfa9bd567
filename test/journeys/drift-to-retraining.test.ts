import * as fs from 'node:fs';
import * as path from 'node:path';
import { ListPipelineExecutionsCommand, StartPipelineExecutionCommand, type PipelineExecutionSummary } from '@aws-sdk/client-codepipeline';
import { ConditionalCheckFailedException, DeleteItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { DescribeEndpointCommand, DescribeEndpointConfigCommand, DescribeModelCommand, DescribeModelPackageCommand } from '@aws-sdk/client-sagemaker';
import { mockClient } from 'aws-sdk-client-mock';
import { parse } from 'yaml';
import { buildBaseline } from '../../lambda/drift-detection/baseline';
import * as driftJob from '../../lambda/drift-detection';
import * as trigger from '../../lambda/retrain-trigger';
import { retrainingBusArn } from '../../lib/config/components/pipelines';
import { argmax, classify, rows, s3Store, sageMakerCaptureLines } from '../lambda/drift-detection/support';
import { driftJobRoleName } from '../../lib/naming';
import { ACCOUNTS, REGION, decide, expectAllowed, type FoundResource, identityPoliciesOf, synthesizedPlatform, type SynthesizedPlatform } from './support';

/**
 * Drift journey, everything on with one account per stage: traffic captured by the prod `realtime` endpoint drifts
 * → prod's drift job (the real handler, configured exactly as synthesized) emits the retraining request → prod's
 * forwarding rule sends it to the retraining bus in the pipeline's account (dev), whose policy accepts it → the
 * bus' rule invokes the retraining trigger (the real handler) → exactly one pipeline start, with the reason as the
 * pipeline variable; repeats within the cooldown and while the run is in progress start nothing.
 */

type Pattern = Record<string, unknown>;

/** EventBridge matching for the pattern features the platform uses: value lists and nested objects. */
function matches(pattern: Pattern, event: Record<string, unknown>): boolean {
  return Object.entries(pattern).every(([field, want]) => {
    const got = event[field];
    if (Array.isArray(want)) return want.some((w) => (Array.isArray(got) ? got.includes(w) : got === w));
    if (want && typeof want === 'object') return !!got && typeof got === 'object' && matches(want as Pattern, got as Record<string, unknown>);
    return false;
  });
}

const SAMPLE_EVENT = JSON.parse(fs.readFileSync(path.join(__dirname, 'fixtures', 'eventbridge-putevents-event.json'), 'utf8'));

/** The event EventBridge delivers for a PutEvents entry, in the shape of the AWS documentation's sample. */
function delivered(entry: { Source?: string; DetailType?: string; Detail?: string; Resources?: string[]; Time?: Date }, account: string, id: string) {
  return { ...SAMPLE_EVENT, id, 'source': entry.Source, 'detail-type': entry.DetailType, account, 'region': REGION, 'time': entry.Time!.toISOString(), 'resources': entry.Resources ?? [], 'detail': JSON.parse(entry.Detail!) };
}

const env = (fn: FoundResource) => fn.properties.Environment.Variables as Record<string, string>;

describe('drift journey: prod drift → retraining bus in the pipeline account → one pipeline start with the reason', () => {
  let platform: SynthesizedPlatform;
  let driftFn: FoundResource;
  let triggerFn: FoundResource;
  let bus: FoundResource;
  let pipeline: FoundResource;
  beforeAll(() => {
    platform = synthesizedPlatform('allOn');
    driftFn = platform.only('AWS::Lambda::Function', 'prod/Monitoring', (f) => !!f.properties.Environment?.Variables?.DRIFT_TARGETS);
    triggerFn = platform.only('AWS::Lambda::Function', 'dev/Delivery', (f) => !!f.properties.Environment?.Variables?.COOLDOWN_SECONDS);
    bus = platform.only('AWS::Events::EventBus', 'dev/Delivery');
    pipeline = platform.only('AWS::CodePipeline::Pipeline', 'dev/Delivery');
  });

  test('cdk-nag finds nothing in the drift loop of any stage', () => {
    expect(platform.validationFailures.filter((f) => /Drift|Retrain|ForwardRetraining/.test(f))).toEqual([]);
  });

  test('the bus name comes from the one function both sides use, in the pipeline account', () => {
    expect(bus.arn).toBe(retrainingBusArn({ partition: 'aws', region: REGION, account: ACCOUNTS.dev, prefix: 'acme-ml' }));
    for (const stage of ['staging', 'prod'] as const) {
      const forward = platform.only('AWS::Events::Rule', `${stage}/Monitoring`, (r) => (r.properties.Targets ?? []).some((t: { Arn: string }) => t.Arn.includes(':event-bus/')));
      expect(forward.properties.EventBusName).toBeUndefined(); // the default bus, where the drift job publishes
      expect(forward.properties.Targets.map((t: { Arn: string }) => t.Arn)).toEqual([bus.arn]);
    }
  });

  test('prod\'s drift job watches exactly where the prod endpoint captures', () => {
    const targets = JSON.parse(env(driftFn).DRIFT_TARGETS) as { name: string; bucket: string; prefix: string; endpointName: string }[];
    const endpointConfigs = platform.resources('AWS::SageMaker::EndpointConfig', { stack: 'prod/SageMaker', filter: (c) => !!c.properties.DataCaptureConfig });
    expect(endpointConfigs.length).toBe(2); // realtime and async; serverless cannot capture
    for (const cfg of endpointConfigs) {
      const endpoint = platform.only('AWS::SageMaker::Endpoint', 'prod/SageMaker', (e) => e.properties.EndpointConfigName === cfg.properties.EndpointConfigName || e.properties.EndpointConfigName === cfg.ref || e.raw.Properties?.EndpointConfigName?.['Fn::GetAtt']?.[0] === cfg.logicalId);
      const target = targets.find((t) => t.endpointName === endpoint.properties.EndpointName)!;
      // SageMaker writes <DestinationS3Uri>/<endpoint>/<variant>/YYYY/MM/DD/HH/.
      expect(`s3://${target.bucket}/${target.prefix}`).toBe(`${cfg.properties.DataCaptureConfig.DestinationS3Uri}/${endpoint.properties.EndpointName}/`);
    }
  });

  test('one retraining start for a burst of drift events, with the reason as the pipeline variable', async () => {
    // 1. prod's captured traffic, feature f2 shifted; the package's baseline was written by dev's pipeline.
    const vars = env(driftFn);
    const target = (JSON.parse(vars.DRIFT_TARGETS) as { name: string; bucket: string; prefix: string; endpointName: string }[]).find((t) => t.name === 'realtime')!;
    const store = s3Store(driftJob.s3);
    const sm = mockClient(driftJob.sagemaker);
    const eb = mockClient(driftJob.eventBridge);
    const pkg = `arn:aws:sagemaker:${REGION}:${ACCOUNTS.prod}:model-package/acme-ml-prod-realtime/4`;
    const baselineUri = `s3://acme-dev-artifacts/training-jobs/acme-ml-dev-e4/output/drift-baseline.json`;
    const training = rows(5000, 51);
    store.put('acme-dev-artifacts', 'training-jobs/acme-ml-dev-e4/output/drift-baseline.json', JSON.stringify(buildBaseline(training, { predictions: training.map((r) => argmax(classify(r))) })));
    store.put(target.bucket, `${target.prefix}AllTraffic/2026/12/01/21/21-05-00-000-abcd.jsonl`, sageMakerCaptureLines(rows(600, 52, [0, 0, 1.5, 0]), new Date('2026-12-01T21:05:00Z'), classify).join('\n'));
    sm.on(DescribeEndpointCommand).resolves({ EndpointConfigName: 'cfg' } as never);
    sm.on(DescribeEndpointConfigCommand).resolves({ ProductionVariants: [{ ModelName: 'm4' }] } as never);
    sm.on(DescribeModelCommand).resolves({ PrimaryContainer: { ModelPackageName: pkg } } as never);
    sm.on(DescribeModelPackageCommand).resolves({ DriftCheckBaselines: { ModelDataQuality: { Statistics: { S3Uri: baselineUri } } } } as never);
    eb.on(PutEventsCommand).resolves({ FailedEntryCount: 0, Entries: [{ EventId: 'e1' }] });
    const saved = { ...process.env };
    const spies = [jest.spyOn(process.stdout, 'write').mockImplementation(() => true), jest.spyOn(process.stderr, 'write').mockImplementation(() => true)];
    try {
      Object.assign(process.env, vars, { DRIFT_TARGETS: JSON.stringify([target]) });
      const { results } = await driftJob.handler({ time: '2026-12-01T22:00:00Z' });
      expect(results[0]).toMatchObject({ model: 'realtime', status: 'drift' });
      const entry = eb.commandCalls(PutEventsCommand)[0].args[0].input.Entries![0];
      expect(entry.EventBusName).toBe('default');
      const event = delivered(entry, ACCOUNTS.prod, 'drift-1');

      // 2. prod's forwarding rule matches it and may put it on dev's bus (identity policy + the bus' resource policy).
      const forward = platform.only('AWS::Events::Rule', 'prod/Monitoring', (r) => (r.properties.Targets ?? []).some((t: { Arn: string }) => t.Arn === bus.arn));
      expect(matches(forward.properties.EventPattern, event)).toBe(true);
      const forwarderRole = platform.byIdentifier(forward.properties.Targets[0].RoleArn)!;
      const put = { principal: forwarderRole.arn, action: 'events:PutEvents', resource: bus.arn, context: { 'events:source': [event.source], 'events:detail-type': [event['detail-type']] } };
      await expectAllowed(platform, put);
      // Negative controls: the bus takes only retraining requests, and not from an account it does not know.
      expect(await decide(platform, { ...put, context: { ...put.context, 'events:source': ['com.attacker.app'] } })).not.toBe('Allowed');
      expect(await decide(platform, { ...put, context: { ...put.context, 'events:source': [event.source, 'com.attacker.app'] } })).not.toBe('Allowed');
      expect(await decide(platform, { ...put, principal: 'arn:aws:iam::999999999999:role/other', identityPolicies: [{ name: 'all', policy: { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 'events:PutEvents', Resource: '*' }] } }] })).not.toBe('Allowed');

      // 3. dev's rule on the retraining bus matches the forwarded event (its account stays prod's) and invokes the trigger.
      const rule = platform.only('AWS::Events::Rule', 'dev/Delivery', (r) => r.properties.EventBusName === bus.ref);
      expect(matches(rule.properties.EventPattern, event)).toBe(true);
      expect(rule.properties.Targets.map((t: { Arn: string }) => t.Arn)).toEqual([triggerFn.arn]);

      // 4. The trigger, configured as synthesized, against stateful DynamoDB and CodePipeline stubs.
      const t = env(triggerFn);
      expect(t.PIPELINE_NAME).toBe(pipeline.ref);
      expect(pipeline.properties.Variables.map((v: { Name: string }) => v.Name)).toContain(t.REASON_VARIABLE);
      const items = new Map<string, Record<string, { S?: string; N?: string }>>();
      const ddb = mockClient(trigger.dynamodb);
      ddb.on(PutItemCommand).callsFake((input) => {
        const existing = items.get(input.Item.model.S);
        if (existing && Number(existing.cooldownUntil.N) >= Number(input.ExpressionAttributeValues[':now'].N)) throw new ConditionalCheckFailedException({ message: 'The conditional request failed', $metadata: {} });
        items.set(input.Item.model.S, input.Item);
        return {};
      });
      ddb.on(DeleteItemCommand).callsFake((input) => { items.delete(input.Key.model.S); return {}; });
      const executions: PipelineExecutionSummary[] = [];
      const cp = mockClient(trigger.codepipeline);
      cp.on(ListPipelineExecutionsCommand).callsFake(() => ({ pipelineExecutionSummaries: [...executions].reverse() }));
      cp.on(StartPipelineExecutionCommand).callsFake((input) => {
        const id = `exec-${executions.length + 1}`;
        executions.push({ pipelineExecutionId: id, status: 'InProgress' });
        return { pipelineExecutionId: id, input };
      });
      Object.assign(process.env, t);

      const burst = [event, { ...event, id: 'drift-2' }, { ...event, id: 'drift-3', account: ACCOUNTS.staging }];
      const outcomes = [];
      for (const e of burst) outcomes.push((await trigger.handler(e)).outcome);
      expect(outcomes).toEqual(['started', 'absorbed-in-progress', 'absorbed-in-progress']);
      const starts = cp.commandCalls(StartPipelineExecutionCommand);
      expect(starts).toHaveLength(1);
      expect(starts[0].args[0].input.name).toBe(pipeline.ref);
      const [variable] = starts[0].args[0].input.variables!;
      expect(variable.name).toBe('RetrainReason');
      expect(variable.value).toMatch(/^Drift on realtime: .*f2 \(PSI [\d.]+, KS [\d.]+\).* \[account 333333333333\]$/);

      // The run finishes; more drift within the cooldown starts nothing, after it a new run.
      executions[0].status = 'Succeeded';
      expect((await trigger.handler({ ...event, id: 'drift-4', time: '2026-12-02T10:00:00Z' })).outcome).toBe('absorbed-cooldown');
      expect(cp.commandCalls(StartPipelineExecutionCommand)).toHaveLength(1);
      expect((await trigger.handler({ ...event, id: 'drift-5', time: new Date(Date.parse(event.time) + Number(t.COOLDOWN_SECONDS) * 1000 + 60_000).toISOString() })).outcome).toBe('started');

      // 5. The trigger's role may do what it just did, on this pipeline only.
      const triggerRole = platform.byIdentifier(triggerFn.properties.Role)!;
      await expectAllowed(platform,
        { principal: triggerRole.arn, action: 'codepipeline:StartPipelineExecution', resource: pipeline.arn },
        { principal: triggerRole.arn, action: 'codepipeline:ListPipelineExecutions', resource: pipeline.arn });
      expect(await decide(platform, { principal: triggerRole.arn, action: 'codepipeline:StartPipelineExecution', resource: `arn:aws:codepipeline:${REGION}:${ACCOUNTS.dev}:other` })).toBe('ImplicitlyDenied');
    } finally {
      spies.forEach((s) => s.mockRestore());
      process.env = saved;
      sm.restore();
      eb.restore();
      store.mock.restore();
    }
  });

  test('the prod drift job reads the baseline dev\'s training wrote in dev\'s account: identity policy in prod, bucket and key policies in dev', async () => {
    const role = platform.byIdentifier(driftFn.properties.Role)!;
    // The name dev's policies use is the name prod's role has.
    expect(role.arn).toBe(`arn:aws:iam::${ACCOUNTS.prod}:role/${driftJobRoleName('acme-ml', 'prod')}`);
    const artifacts = platform.only('AWS::S3::Bucket', 'dev/Data', (b) => b.logicalId.includes('Artifacts'));
    const keyArn = artifacts.properties.BucketEncryption.ServerSideEncryptionConfiguration[0].ServerSideEncryptionByDefault.KMSMasterKeyID as string;
    const key = platform.byIdentifier(keyArn)!;
    expect(key.arn.split(':')[4]).toBe(ACCOUNTS.dev);
    // Where Register's baseline lives: beside the training job's model.tar.gz in dev's artifacts bucket.
    const baseline = `arn:aws:s3:::${artifacts.ref}/training-jobs/acme-ml-dev-e4/output/drift-baseline.json`;
    const read = { principal: role.arn, action: 's3:GetObject', resource: baseline, resourceAccount: ACCOUNTS.dev };
    const decrypt = { principal: role.arn, action: 'kms:Decrypt', resource: key.arn, context: { 'kms:ViaService': `s3.${REGION}.amazonaws.com` } };
    await expectAllowed(platform, read, decrypt);
    // Negative controls: only baselines, only through S3, only this role (same identity policy, another prod role).
    expect(await decide(platform, { ...read, resource: `arn:aws:s3:::${artifacts.ref}/training-jobs/acme-ml-dev-e4/output/model.tar.gz` })).not.toBe('Allowed');
    expect(await decide(platform, { ...decrypt, context: {} })).not.toBe('Allowed');
    const impostor = { principal: `arn:aws:iam::${ACCOUNTS.prod}:role/other`, identityPolicies: identityPoliciesOf(platform, role) };
    expect(await decide(platform, { ...read, ...impostor })).not.toBe('Allowed');
    expect(await decide(platform, { ...decrypt, ...impostor })).not.toBe('Allowed');
    // Staging's drift job routes to dev too and gets the same; prod's own bucket needs no such statement.
    const staging = `arn:aws:iam::${ACCOUNTS.staging}:role/${driftJobRoleName('acme-ml', 'staging')}`;
    await expectAllowed(platform, { ...read, principal: staging }, { ...decrypt, principal: staging });
  });

  test('dev\'s Ray Serve app captures where dev\'s drift job reads: the same bucket and folder, read-only for the job', async () => {
    const service = platform.resources('Custom::AWSCDK-EKS-KubernetesResource', { stack: 'dev/Training' })
      .flatMap((r) => (typeof r.properties.Manifest === 'string' ? JSON.parse(r.properties.Manifest) : []) as Record<string, any>[])
      .find((o) => o.kind === 'RayService' && o.metadata.name === 'reference-model')!;
    const vars = parse(service.spec.serveConfigV2).applications[0].runtime_env.env_vars as Record<string, string>;
    expect(vars).toMatchObject({ CAPTURE_SAMPLING_PERCENT: '10', CAPTURE_PREFIX: 'capture/ray/', CAPTURE_SOURCE: 'reference-model' });
    const devDrift = platform.only('AWS::Lambda::Function', 'dev/Monitoring', (f) => !!f.properties.Environment?.Variables?.DRIFT_TARGETS);
    const target = (JSON.parse(env(devDrift).DRIFT_TARGETS) as { name: string; servingPath: string; bucket: string; prefix: string }[]).find((x) => x.servingPath === 'ray')!;
    expect(target).toMatchObject({ name: 'reference-model', bucket: vars.CAPTURE_BUCKET, prefix: `${vars.CAPTURE_PREFIX}${vars.CAPTURE_SOURCE}/` });
    // An object as capture.py names it; the pod role may write it (encrypted with the lake key), the drift job read it.
    const key = `arn:aws:s3:::${vars.CAPTURE_BUCKET}/${target.prefix}reference-model/2026/12/01/21/1764622800000-0b7e.jsonl`;
    const sa = platform.resources('Custom::AWSCDK-EKS-KubernetesResource', { stack: 'dev/Training' })
      .flatMap((r) => (typeof r.properties.Manifest === 'string' ? JSON.parse(r.properties.Manifest) : []) as Record<string, any>[])
      .find((o) => o.kind === 'ServiceAccount' && o.metadata.name === 'ray')!;
    const podRole = sa.metadata.annotations['eks.amazonaws.com/role-arn'];
    await expectAllowed(platform,
      { principal: podRole, action: 's3:PutObject', resource: key },
      { principal: podRole, action: 'kms:GenerateDataKey', resource: vars.CAPTURE_KMS_KEY_ID, context: { 'kms:ViaService': `s3.${REGION}.amazonaws.com` } },
      { principal: platform.byIdentifier(devDrift.properties.Role)!.arn, action: 's3:GetObject', resource: key });
    // The drift job only reads what was captured (the pods' own role also writes Ray checkpoints to the artifacts bucket).
    expect(await decide(platform, { principal: platform.byIdentifier(devDrift.properties.Role)!.arn, action: 's3:PutObject', resource: key })).toBe('ImplicitlyDenied');
  });

  test('the prod drift job may read prod\'s captures and put its event on prod\'s default bus', async () => {
    const role = platform.byIdentifier(driftFn.properties.Role)!;
    const target = (JSON.parse(env(driftFn).DRIFT_TARGETS) as { name: string; bucket: string; prefix: string }[]).find((x) => x.name === 'realtime')!;
    await expectAllowed(platform,
      { principal: role.arn, action: 's3:GetObject', resource: `arn:aws:s3:::${target.bucket}/${target.prefix}AllTraffic/2026/12/01/21/f.jsonl` },
      { principal: role.arn, action: 'events:PutEvents', resource: `arn:aws:events:${REGION}:${ACCOUNTS.prod}:event-bus/default` });
    expect(await decide(platform, { principal: role.arn, action: 's3:GetObject', resource: `arn:aws:s3:::${target.bucket}/models/secret.tar.gz` })).toBe('ImplicitlyDenied');
  });
});
