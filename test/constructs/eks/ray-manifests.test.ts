import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { parse } from 'yaml';
import {
  OnnxRayService, PropsValidationError, RAY_GPU_IMAGE, RAY_IMAGE, RayCluster, type RayClusterSpecOptions, RayCronJob, RayJob, RayService,
  RayServiceAccount, TrainingCluster,
} from '../../../constructs';
import { newStack, template } from '../../helpers';
import {
  embedded, expectValid, schemas, validators, withoutDescriptions,
} from '../../kuberay-crds';

describe('Ray builders', () => {
  const stack = newStack();
  const vpc = new ec2.Vpc(stack, 'Vpc', { maxAzs: 2, natGateways: 1 });
  const tc = new TrainingCluster(stack, 'Training', {
    vpc,
    clusterName: 'ray-test',
    gpuNodeGroups: [{ name: 'gpu-a', instanceTypes: ['g5.12xlarge'], maxSize: 2 }, { name: 'gpu-empty', instanceTypes: ['g5.xlarge'], maxSize: 0 }],
    workerNodeGroup: { instanceTypes: ['m6i.xlarge'] },
  });
  const spec: RayClusterSpecOptions = {
    serviceAccountName: 'ray',
    head: { cpu: '2', memory: '8Gi', nodeSelector: tc.systemNodeSelector, env: { RAY_GRAFANA_HOST: 'http://grafana.monitoring.svc:80' } },
    workerGroups: [
      { groupName: 'cpu', maxReplicas: 4, cpu: '2', memory: '8Gi', nodeSelector: tc.workerNodeSelector },
      { groupName: 'gpu', minReplicas: 0, maxReplicas: 2, cpu: '8', memory: '64Gi', gpus: 4, gpuCapacity: tc.gpuCapacityOf('gpu-a') },
    ],
  };
  const rayCluster = new RayCluster(stack, 'RayCluster', { trainingCluster: tc, name: 'train', namespace: 'ray', ...spec, dependsOn: [tc.kubeRayOperator!] });
  const ownJob = new RayJob(stack, 'OwnJob', {
    trainingCluster: tc, name: 'tune', namespace: 'ray', entrypoint: 'python tune.py --trials 8',
    runtimeEnv: { working_dir: 's3://bucket/code.zip', pip: ['torch==2.9.0'], env_vars: { EPOCHS: '3' } },
    rayClusterSpec: spec, activeDeadlineSeconds: 7200,
  });
  const sharedJob = new RayJob(stack, 'SharedJob', { trainingCluster: tc, name: 'eval', namespace: 'ray', entrypoint: 'python eval.py', clusterSelector: 'train' });
  const service = new RayService(stack, 'Serve', {
    trainingCluster: tc, name: 'classifier', namespace: 'ray', rayClusterConfig: spec,
    applications: [{
      name: 'classifier', importPath: 'serve_app:app', routePrefix: '/classify',
      deployments: [{ name: 'Model', autoscaling: { minReplicas: 1, maxReplicas: 4 }, numGpus: 1 }, { name: 'Ingress', numReplicas: 2, numCpus: 0.5 }],
    }],
  });

  test('the embedded cluster specs of RayJob and RayService are the RayCluster spec schema', () => {
    const cluster = withoutDescriptions(schemas.RayCluster.properties.spec);
    expect(withoutDescriptions(embedded.job)).toBe(cluster);
    expect(withoutDescriptions(embedded.service)).toBe(cluster);
  });

  test('head environment (e.g. the Ray dashboard wiring to Grafana) is rendered on the head container only', () => {
    const s = rayCluster.manifest.spec as any;
    expect(s.headGroupSpec.template.spec.containers[0].env).toEqual([{ name: 'RAY_GRAFANA_HOST', value: 'http://grafana.monitoring.svc:80' }]);
    expect(s.workerGroupSpecs[0].template.spec.containers[0].env).toBeUndefined();
    expect(() => new RayCluster(newStack(), 'Bad', { trainingCluster: tc, name: 'bad', namespace: 'ray', head: { cpu: '1', memory: '1Gi', env: { '1BAD': 'x' } } }))
      .toThrow(/head\.env: "1BAD" — variable names must be letters, digits and underscores/);
  });

  const cron = new RayCronJob(stack, 'Nightly', {
    trainingCluster: tc, name: 'nightly', namespace: 'ray', schedule: '0 3 * * *', timeZone: 'Europe/Berlin',
    job: { entrypoint: 'python train.py', rayClusterSpec: spec, activeDeadlineSeconds: 3600 }, gangScheduling: { scheduler: 'volcano', queue: 'training' },
  });
  const sa = new RayServiceAccount(stack, 'Sa', { trainingCluster: tc, namespace: 'ray' });
  const bucket = new s3.Bucket(stack, 'Artifacts', { encryption: s3.BucketEncryption.KMS });
  const onnx = new OnnxRayService(stack, 'Onnx', {
    trainingCluster: tc, name: 'reference-model', serviceAccount: sa, modelBucket: bucket,
    head: { cpu: '1', memory: '4Gi', nodeSelector: tc.systemNodeSelector },
    workers: { groupName: 'serve', minReplicas: 1, maxReplicas: 2, cpu: '2', memory: '4Gi', nodeSelector: tc.workerNodeSelector },
    internalLoadBalancer: { sourceCidrs: ['10.10.0.0/16'] },
    gcsFaultTolerance: { redisAddress: 'rediss://master.ray-gcs.abc123.euw1.cache.amazonaws.com:6379', redisPasswordSecret: { name: 'ray-gcs', key: 'password' } },
    dependsOn: [tc.kubeRayOperator!],
  });

  test('every manifest is valid against the KubeRay v1.7.0 CRD schemas', () => {
    for (const m of [rayCluster.manifest, ownJob.manifest, sharedJob.manifest, service.manifest, cron.manifest, onnx.rayService.manifest]) expectValid(m);
  });

  test('the CRD check rejects a RayCronJob without schedule (negative control)', () => {
    const { schedule: _, ...rest } = cron.manifest.spec as Record<string, unknown>;
    expect(validators.RayCronJob({ ...cron.manifest, spec: rest })).toBe(false);
  });

  test('RayCronJob: schedule, time zone, the RayJob as template, gang-scheduling labels', () => {
    expect(cron.manifest).toMatchObject({
      kind: 'RayCronJob',
      metadata: { labels: { 'ray.io/scheduler-name': 'volcano', 'volcano.sh/queue-name': 'training' } },
      spec: { schedule: '0 3 * * *', timeZone: 'Europe/Berlin', jobTemplate: { entrypoint: 'python train.py', shutdownAfterJobFinishes: true, activeDeadlineSeconds: 3600 } },
    });
    expect(() => new RayCronJob(stack, 'BadCron', { trainingCluster: tc, name: 'c', schedule: 'daily', job: { entrypoint: 'x', clusterSelector: 'train' } }))
      .toThrow(/schedule: "daily" — must be a five-field cron expression/);
  });

  test('ONNX RayService: app and reference model from a ConfigMap, model from S3, internal NLB from the VPC only, GCS in Redis', () => {
    const s = onnx.rayService.manifest.spec as any;
    expect(s.serveService).toEqual({
      metadata: { name: 'reference-model-serve-svc', annotations: { 'service.beta.kubernetes.io/aws-load-balancer-type': 'nlb', 'service.beta.kubernetes.io/aws-load-balancer-internal': 'true' } },
      spec: { type: 'LoadBalancer', ports: [{ name: 'serve', port: 8000, targetPort: 8000, protocol: 'TCP' }], loadBalancerSourceRanges: ['10.10.0.0/16'] },
    });
    const app = parse(s.serveConfigV2).applications[0];
    expect(app).toMatchObject({ import_path: 'serve_onnx:app', route_prefix: '/reference-model', runtime_env: { pip: ['onnxruntime==1.22.0', 'boto3==1.40.0'], env_vars: { SEED_REFERENCE_MODEL: '1' } } });
    expect(JSON.stringify(stack.resolve(app.runtime_env.env_vars.MODEL_S3_URI))).toMatch(/"s3:\/\/".*"\/models\/reference\/model\.onnx"/);
    expect(s.rayClusterConfig.gcsFaultToleranceOptions).toEqual({
      redisAddress: 'rediss://master.ray-gcs.abc123.euw1.cache.amazonaws.com:6379', redisPassword: { valueFrom: { secretKeyRef: { name: 'ray-gcs', key: 'password' } } },
    });
    for (const pod of [s.rayClusterConfig.headGroupSpec.template.spec, s.rayClusterConfig.workerGroupSpecs[0].template.spec]) {
      expect(pod.volumes).toContainEqual({ name: 'code-0', configMap: { name: 'reference-model-serve-app' } });
      expect(pod.containers[0].volumeMounts).toContainEqual({ name: 'code-0', mountPath: '/home/ray/serve-app', readOnly: true });
      expect(pod.containers[0].env).toContainEqual({ name: 'PYTHONPATH', value: '/home/ray/serve-app' });
    }
    // The role may read and (for the seed) write exactly the model object.
    const policies = JSON.stringify(template(stack).findResources('AWS::IAM::Policy'));
    expect(policies).toContain('/models/reference/model.onnx');
    expect(() => new OnnxRayService(stack, 'BadOnnx', { trainingCluster: tc, name: 'x', serviceAccount: sa, modelBucket: bucket, modelKey: 'model.pt', head: { cpu: '1', memory: '1Gi' }, workers: { groupName: 'w', maxReplicas: 1, cpu: '1', memory: '1Gi' } }))
      .toThrow(/modelKey: "model.pt" — must be an S3 key ending in .onnx/);
    expect(() => new RayService(stack, 'OpenLb', { trainingCluster: tc, name: 'o', rayClusterConfig: { head: { cpu: '1', memory: '1Gi' } }, applications: [{ name: 'a', importPath: 'a:b' }], internalLoadBalancer: { sourceCidrs: ['0.0.0.0/0'] } }))
      .toThrow(/internalLoadBalancer\.sourceCidrs\[0\]: "0.0.0.0\/0" — must be an IPv4 CIDR narrower than \/0/);
  });

  test('the CRD check itself rejects a wrong field type', () => {
    const broken = { ...rayCluster.manifest, spec: { ...(rayCluster.manifest.spec as object), workerGroupSpecs: [{ groupName: 'x', minReplicas: '0', maxReplicas: 1, template: {} }] } };
    expect(validators.RayCluster(broken)).toBe(false);
    const brokenJob = { ...ownJob.manifest, spec: { ...(ownJob.manifest.spec as object), rayClusterSpec: { headGroupSpec: {} } } };
    expect(validators.RayJob(brokenJob)).toBe(false);
  });

  test('RayCluster: autoscaling on, ClusterIP head, pinned images, head on system nodes', () => {
    const s = rayCluster.manifest.spec as any;
    expect(rayCluster.manifest).toMatchObject({ apiVersion: 'ray.io/v1', kind: 'RayCluster', metadata: { name: 'train', namespace: 'ray' } });
    expect(s.enableInTreeAutoscaling).toBe(true);
    expect(s.rayVersion).toBe('2.57.0');
    expect(s.headGroupSpec.serviceType).toBe('ClusterIP');
    expect(s.headGroupSpec.rayStartParams).toEqual({ 'dashboard-host': '0.0.0.0', 'num-cpus': '0' });
    const head = s.headGroupSpec.template.spec;
    expect(head.containers[0].image).toBe(RAY_IMAGE);
    expect(head.nodeSelector).toEqual({ 'cdk-mlops/node-group': 'system' });
    expect(head.serviceAccountName).toBe('ray');
    expect(head.containers[0].resources).toEqual({ requests: { cpu: '2', memory: '8Gi' }, limits: { cpu: '2', memory: '8Gi' } });
    expect(rayCluster.headServiceName).toBe('train-head-svc');
  });

  test('GPU workers: num-gpus, nvidia.com/gpu limits, GPU taint toleration, GPU group selector, GPU image, from zero', () => {
    const gpu = (rayCluster.manifest.spec as any).workerGroupSpecs[1];
    expect(gpu).toMatchObject({ groupName: 'gpu', replicas: 0, minReplicas: 0, maxReplicas: 2, rayStartParams: { 'num-gpus': '4' } });
    const pod = gpu.template.spec;
    expect(pod.containers[0].image).toBe(RAY_GPU_IMAGE);
    expect(pod.containers[0].resources.limits).toEqual({ cpu: '8', memory: '64Gi', 'nvidia.com/gpu': '4' });
    expect(pod.tolerations).toEqual([{ key: 'nvidia.com/gpu', operator: 'Equal', value: 'true', effect: 'NoSchedule' }]);
    expect(pod.nodeSelector).toEqual({ 'cdk-mlops/node-group': 'gpu-a' });
    const cpu = (rayCluster.manifest.spec as any).workerGroupSpecs[0];
    expect(cpu.template.spec.nodeSelector).toEqual({ 'cdk-mlops/node-group': 'cpu-workers' });
    expect(cpu.template.spec.tolerations).toBeUndefined();
    expect(cpu.template.spec.containers[0].resources.limits['nvidia.com/gpu']).toBeUndefined();
  });

  test('RayJob with its own cluster shuts it down; with a selector it targets the RayCluster', () => {
    const own = ownJob.manifest.spec as any;
    expect(own).toMatchObject({ entrypoint: 'python tune.py --trials 8', shutdownAfterJobFinishes: true, ttlSecondsAfterFinished: 300, submissionMode: 'K8sJobMode' });
    expect(parse(own.runtimeEnvYAML)).toEqual({ working_dir: 's3://bucket/code.zip', pip: ['torch==2.9.0'], env_vars: { EPOCHS: '3' } });
    expect(own.rayClusterSpec.workerGroupSpecs).toHaveLength(2);
    const shared = sharedJob.manifest.spec as any;
    expect(shared.clusterSelector).toEqual({ 'ray.io/cluster': 'train' });
    expect(shared.rayClusterSpec).toBeUndefined();
  });

  test('RayService: serveConfigV2 in Serve\'s format, NewCluster zero-downtime upgrades', () => {
    const s = service.manifest.spec as any;
    expect(s.upgradeStrategy).toEqual({ type: 'NewCluster' });
    expect(s.rayClusterDeletionDelaySeconds).toBe(60);
    expect(parse(s.serveConfigV2)).toEqual({
      applications: [{
        name: 'classifier', import_path: 'serve_app:app', route_prefix: '/classify',
        deployments: [
          { name: 'Model', autoscaling_config: { min_replicas: 1, max_replicas: 4 }, ray_actor_options: { num_cpus: 1, num_gpus: 1 } },
          { name: 'Ingress', num_replicas: 2, ray_actor_options: { num_cpus: 0.5, num_gpus: 0 } },
        ],
      }],
    });
    expect(service.serveServiceName).toBe('classifier-serve-svc');
  });

  describe('validation errors name the field', () => {
    const base = { trainingCluster: tc, namespace: 'ray', head: { cpu: '1', memory: '4Gi' } };
    let n = 0;
    const build = (over: Record<string, unknown>) => () => new RayCluster(stack, `Bad${n++}`, { ...base, name: 'ok', ...over } as never);

    test('min > max replicas', () => {
      expect(build({ workerGroups: [{ groupName: 'w', minReplicas: 3, maxReplicas: 1, cpu: '1', memory: '1Gi' }] }))
        .toThrow(/spec\.workerGroups\[0\]\.minReplicas: 3 — must not exceed maxReplicas \(1\)/);
    });
    test('GPU worker group without GPU capacity', () => {
      expect(build({ workerGroups: [{ groupName: 'g', maxReplicas: 1, cpu: '1', memory: '1Gi', gpus: 1 }] }))
        .toThrow(/spec\.workerGroups\[0\]\.gpuCapacity: null — a GPU worker group needs GPU capacity/);
      expect(build({ workerGroups: [{ groupName: 'g', maxReplicas: 1, cpu: '1', memory: '1Gi', gpus: 1, gpuCapacity: tc.gpuCapacityOf('gpu-empty') }] }))
        .toThrow(/spec\.workerGroups\[0\]\.gpuCapacity: "gpu-empty" — a GPU worker group needs GPU capacity/);
    });
    test('more GPUs per worker than a node has', () => {
      expect(build({ workerGroups: [{ groupName: 'g', maxReplicas: 1, cpu: '1', memory: '1Gi', gpus: 8, gpuCapacity: tc.gpuCapacityOf('gpu-a') }] }))
        .toThrow(/spec\.workerGroups\[0\]\.gpus: 8 — must not exceed the 4 GPU\(s\) per node/);
    });
    test('invalid and over-long Kubernetes names', () => {
      expect(build({ name: 'Bad_Name' })).toThrow(/name: "Bad_Name" — must be a Kubernetes name/);
      expect(build({ name: 'a'.repeat(64) })).toThrow(/name: "a{64}" — must be a Kubernetes name: at most 63/);
      expect(build({ workerGroups: [{ groupName: 'GPU', maxReplicas: 1, cpu: '1', memory: '1Gi' }] })).toThrow(/spec\.workerGroups\[0\]\.groupName: "GPU"/);
    });
    test('negative resources', () => {
      expect(build({ head: { cpu: '-1', memory: '4Gi' } })).toThrow(/spec\.head\.cpu: "-1" — must be a positive CPU quantity/);
      expect(build({ workerGroups: [{ groupName: 'w', maxReplicas: 1, cpu: '1', memory: '-2Gi' }] })).toThrow(/spec\.workerGroups\[0\]\.memory: "-2Gi"/);
      expect(build({ workerGroups: [{ groupName: 'w', minReplicas: -1, maxReplicas: 1, cpu: '1', memory: '1Gi' }] })).toThrow(/spec\.workerGroups\[0\]\.minReplicas: -1/);
    });
    test('unpinned image', () => {
      expect(build({ image: 'rayproject/ray:latest' })).toThrow(/spec\.image: "rayproject\/ray:latest" — must be an image with a pinned tag/);
    });
    test('all problems are reported at once', () => {
      try {
        build({ name: 'X', head: { cpu: '-1', memory: '0' } })();
        throw new Error('expected a PropsValidationError');
      } catch (e) {
        expect(e).toBeInstanceOf(PropsValidationError);
        expect((e as PropsValidationError).problems).toHaveLength(3);
      }
    });
    test('RayJob needs exactly one of rayClusterSpec and clusterSelector, and an entrypoint', () => {
      expect(() => new RayJob(stack, 'BadJob1', { trainingCluster: tc, name: 'j', entrypoint: 'python x.py' }))
        .toThrow(/rayClusterSpec: "unset" — give exactly one of rayClusterSpec/);
      expect(() => new RayJob(stack, 'BadJob2', { trainingCluster: tc, name: 'j', entrypoint: ' ', clusterSelector: 'train' }))
        .toThrow(/entrypoint: " " — must be a non-empty command/);
    });
    test('RayService checks applications', () => {
      expect(() => new RayService(stack, 'BadServe', {
        trainingCluster: tc, name: 's', rayClusterConfig: { head: { cpu: '1', memory: '1Gi' } },
        applications: [{ name: 'a', importPath: 'no-colon', routePrefix: 'x' }],
      })).toThrow(/applications\[0\]\.importPath: "no-colon"[\s\S]*applications\[0\]\.routePrefix: "x"/);
    });
  });
});
