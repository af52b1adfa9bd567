import * as ec2 from 'aws-cdk-lib/aws-ec2';
import { parse } from 'yaml';
import { OnnxRayService, type OnnxRayServiceProps, PropsValidationError, RayServiceAccount, TrainingCluster } from '../../../constructs';
import { DriftDetection, DriftTargets } from '../../../constructs/monitoring';
import { DataLake } from '../../../constructs/storage';
import { nagFindings, newStack, template } from '../../helpers';

const PACKAGE = 'arn:aws:sagemaker:eu-west-1:111111111111:model-package/acme-ml-dev-churn/4';

/** The Ray Serve path's capture: what the app is told, what its role may do, and the drift job reading the same folder. */
describe('OnnxRayService capture', () => {
  const stack = newStack('RayCapture', 'eu-west-1');
  const vpc = new ec2.Vpc(stack, 'Vpc', { maxAzs: 2, natGateways: 1 });
  const tc = new TrainingCluster(stack, 'Training', { vpc, clusterName: 'ray-capture', workerNodeGroup: { instanceTypes: ['m6i.xlarge'] } });
  const lake = new DataLake(stack, 'Lake');
  const sa = new RayServiceAccount(stack, 'Sa', { trainingCluster: tc, namespace: 'ray' });
  const base: OnnxRayServiceProps = {
    trainingCluster: tc, name: 'churn', serviceAccount: sa, modelBucket: lake.artifactsBucket,
    head: { cpu: '1', memory: '4Gi' }, workers: { groupName: 'serve', maxReplicas: 2, cpu: '2', memory: '4Gi' }, dependsOn: [tc.kubeRayOperator!],
  };
  const svc = new OnnxRayService(stack, 'Churn', { ...base, capture: { bucket: lake.artifactsBucket, samplingPercentage: 15, modelPackageArn: PACKAGE } });
  const drift = new DriftDetection(stack, 'Drift', {
    targets: [DriftTargets.fromRayService('ray-churn', svc)], reportBucket: lake.artifactsBucket, requestSource: 'cdk-mlops.monitoring', requestDetailType: 'Model Drift Detected',
  });
  const t = template(stack);
  const app = parse((svc.rayService.manifest.spec as { serveConfigV2: string }).serveConfigV2).applications[0];
  const env = stack.resolve(app.runtime_env.env_vars) as Record<string, unknown>;
  const bucketRef = stack.resolve(lake.artifactsBucket.bucketName);

  test('the app gets the capture settings: lake bucket, prefix, percent, KMS key, source, model package', () => {
    expect(env).toMatchObject({
      CAPTURE_BUCKET: bucketRef, CAPTURE_PREFIX: 'capture/ray/', CAPTURE_SAMPLING_PERCENT: '15', CAPTURE_SOURCE: 'churn', MODEL_NAME: 'churn', MODEL_PACKAGE_ARN: PACKAGE,
      CAPTURE_KMS_KEY_ID: stack.resolve(lake.artifactsBucket.encryptionKey!.keyArn),
    });
    // capture.py ships beside the app in its ConfigMap.
    const manifests = Object.values(t.findResources('Custom::AWSCDK-EKS-KubernetesResource')).map((r) => JSON.stringify(r.Properties.Manifest));
    const configMap = manifests.find((m) => m.includes('churn-serve-app'))!;
    expect(configMap).toContain('capture.py');
    expect(configMap).toContain('class TrafficCapture');
  });

  test('the service account may only put objects under the service\'s capture folder, and encrypt with the lake key', () => {
    const statements = Object.values(t.findResources('AWS::IAM::Policy')).flatMap((p) => p.Properties.PolicyDocument.Statement as { Action: string | string[]; Resource: unknown }[]);
    const puts = statements.filter((s) => [s.Action].flat().some((a) => /Put/.test(a)) && JSON.stringify(s.Resource).includes('/capture/ray/'));
    expect(puts).toHaveLength(1);
    expect(puts[0].Action).toBe('s3:PutObject');
    expect(JSON.stringify(puts[0].Resource)).toMatch(/"\/capture\/ray\/churn\/\*"/);
  });

  test('the drift job watches exactly that folder', () => {
    expect(drift.targets[0]).toMatchObject({ name: 'ray-churn', servingPath: 'ray', prefix: 'capture/ray/churn/' });
    const fn = Object.values(t.findResources('AWS::Lambda::Function')).find((f) => f.Properties.Environment?.Variables?.DRIFT_TARGETS)!;
    expect(JSON.stringify(fn.Properties.Environment.Variables.DRIFT_TARGETS)).toContain('\\"prefix\\":\\"capture/ray/churn/\\"');
  });

  test('without capture: no capture settings, no write grant; fromRayService refuses it', () => {
    const plain = new OnnxRayService(stack, 'Plain', { ...base, name: 'plain' });
    const vars = parse((plain.rayService.manifest.spec as { serveConfigV2: string }).serveConfigV2).applications[0].runtime_env.env_vars;
    expect(Object.keys(vars).filter((k) => k.startsWith('CAPTURE_'))).toEqual([]);
    expect(() => DriftTargets.fromRayService('plain', plain)).toThrow(/has no capture/);
    expect(() => DriftTargets.fromRayService('plain', plain)).toThrow(PropsValidationError);
  });

  test('bad capture settings name the prop', () => {
    let n = 0;
    const bad = () => new OnnxRayService(stack, `Bad${++n}`, { ...base, name: 'bad', capture: { bucket: lake.artifactsBucket, samplingPercentage: 0, prefix: 'no-slash', modelPackageArn: 'churn:4' } });
    expect(bad).toThrow(PropsValidationError);
    expect(bad).toThrow(/capture\.samplingPercentage: 0 — must be a whole number between 1 and 100 percent/);
    expect(bad).toThrow(/capture\.prefix: "no-slash" — must be an S3 key prefix ending in "\/"/);
    expect(bad).toThrow(/capture\.modelPackageArn: "churn:4" — must be a versioned model package ARN/);
  });

  test('cdk-nag finds nothing on the capture grants', () => {
    expect(nagFindings(stack).filter((f) => /Sa|Churn|Drift/.test(f))).toEqual([]);
  });
});
