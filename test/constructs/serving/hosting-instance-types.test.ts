import { ProductionVariantInstanceType } from '@aws-sdk/client-sagemaker';
import * as ecrAssets from 'aws-cdk-lib/aws-ecr-assets';
import { instanceArchitecture, SAGEMAKER_HOSTING_INSTANCE_TYPES } from '../../../constructs/serving/hosting-instance-types';
import { ModelImage, SageMakerEndpoint, type SageMakerEndpointProps } from '../../../constructs/serving';
import { ConfigError, loadStageConfig } from '../../../lib/config';
import { newStack } from '../../helpers';

const URI = '123456789012.dkr.ecr.us-east-1.amazonaws.com/model:1';
const endpoint = (props: Partial<SageMakerEndpointProps>) => () => {
  new SageMakerEndpoint(newStack(), 'Ep', { image: ModelImage.fromImageUri(URI), ...props });
};
function configProblems(sagemaker: Record<string, unknown>): string[] {
  try {
    loadStageConfig({ stage: 'staging', overrides: { sagemaker } });
    return [];
  } catch (e) {
    if (e instanceof ConfigError) return [...e.problems];
    throw e;
  }
}

describe('hosting instance types come from the SageMaker API and must match the image\'s CPU', () => {
  test('the list is the SDK\'s ProductionVariantInstanceType enum, exactly', () => {
    expect([...SAGEMAKER_HOSTING_INSTANCE_TYPES].sort()).toEqual(Object.values(ProductionVariantInstanceType).sort());
  });

  test('Graviton and Grace families are arm64; Intel, AMD, GPU, Inferentia and Trainium hosts amd64', () => {
    for (const t of ['ml.m6g.large', 'ml.c6gn.xlarge', 'ml.c7g.large', 'ml.r7gd.medium', 'ml.r8g.large', 'ml.c6gd.large', 'ml.p6e-gb200.36xlarge']) expect([t, instanceArchitecture(t)]).toEqual([t, 'arm64']);
    for (const t of ['ml.m5.large', 'ml.c6i.xlarge', 'ml.g5.xlarge', 'ml.g6e.xlarge', 'ml.inf2.xlarge', 'ml.trn1.2xlarge', 'ml.p4d.24xlarge', 'ml.t2.medium']) expect([t, instanceArchitecture(t)]).toEqual([t, 'amd64']);
  });

  test('an amd64 image on a Graviton instance is refused naming the prop and both architectures', () => {
    expect(endpoint({ instanceType: 'ml.c7g.large' })).toThrow(/instanceType: "ml.c7g.large" — is an arm64 instance but the image \(image 1234.*\) is built for amd64/);
    expect(endpoint({ variants: [{ variantName: 'a' }, { variantName: 'b', instanceType: 'ml.m6g.large' }] })).toThrow(/variants\[b\]\.instanceType: "ml.m6g.large" — is an arm64 instance/);
  });

  test('an arm64 image runs on Graviton, and an arm64 asset is not allowed on x86', () => {
    expect(endpoint({ instanceType: 'ml.c7g.large', image: ModelImage.fromImageUri(URI, 'arm64') })).not.toThrow();
    const armAsset = ModelImage.fromAsset(__dirname, { platform: ecrAssets.Platform.LINUX_ARM64 });
    expect(armAsset.architecture).toBe('arm64');
    expect(endpoint({ image: armAsset })).toThrow(/instanceType: "ml.m5.large" — is an amd64 instance but the image .* is built for arm64/);
  });

  test('types outside the API list are refused (ml.t3 is not a hosting type)', () => {
    expect(endpoint({ instanceType: 'ml.t3.medium' })).toThrow(/instanceType: "ml.t3.medium" — must be a SageMaker hosting instance type/);
  });

  test('linear guardrail steps must be 10-50% (SageMaker rejects less)', () => {
    expect(endpoint({ deployment: { trafficShifting: 'linear', linearStepPercent: 5 } })).toThrow(/deployment.linearStepPercent: 5 — must be a whole number between 10 and 50/);
    expect(endpoint({ deployment: { trafficShifting: 'linear', linearStepPercent: 10 } })).not.toThrow();
  });

  test('config: Graviton for the platform model server, and a 5% linear step, name the key', () => {
    const problems = configProblems({
      enabled: true,
      endpoints: [{ name: 'default', mode: 'real-time', instanceType: 'ml.c7g.large', guardrails: { trafficShifting: 'linear', linearStepPercent: 5, bakeMinutes: 5, latencyAlarmMs: 1000, errorAlarmCount: 5 } }],
    });
    expect(problems).toEqual(expect.arrayContaining([
      expect.stringMatching(/^sagemaker\.endpoints\.0\.guardrails\.linearStepPercent: 5 — .*between 10 and 50/),
      expect.stringMatching(/^sagemaker\.endpoints\.0\.instanceType: "ml.c7g.large" — ml.c7g.large is an arm64 instance but the image is amd64 \(the platform's model server\)/),
    ]));
    expect(configProblems({ enabled: true, endpoints: [{ name: 'default', mode: 'real-time', instanceType: 'ml.c7g.large', image: { uri: URI, architecture: 'arm64' } }] })).toEqual([]);
  });
});
