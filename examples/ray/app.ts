// A team's own CDK app using the Ray constructs by reference (type-checked with the repository: `npx tsc --noEmit`).
// Run it with `npx cdk synth --app "npx tsx examples/ray/app.ts"`.
import { App, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import {
  DataLake, OnnxRayService, PlatformNetwork, RayCronJob, RayJob, RayJobGateway, RayServiceAccount, TrainingCluster,
} from '../../lib';

const app = new App();
const stack = new Stack(app, 'RayTeam', { env: { account: '111111111111', region: 'us-east-1' } });
const { vpc } = new PlatformNetwork(stack, 'Network', { availabilityZones: ['us-east-1a', 'us-east-1b'] });
const lake = new DataLake(stack, 'Lake');

const training = new TrainingCluster(stack, 'Training', {
  vpc,
  adminRoles: [iam.Role.fromRoleArn(stack, 'Admin', 'arn:aws:iam::111111111111:role/platform-admin')],
  gpuNodeGroups: [{ name: 'gpu-g5', instanceTypes: ['g5.xlarge', 'g5.2xlarge'], minSize: 0, maxSize: 4 }],
  workerNodeGroup: { instanceTypes: ['m6i.xlarge', 'm6a.xlarge'], spot: true },
  rayCronJobs: true,
});
const ray = new RayServiceAccount(stack, 'Ray', { trainingCluster: training, namespace: 'ray' });
lake.grantReadData(ray);
lake.grantWriteArtifacts(ray);
training.grantAccess('Scientist', iam.Role.fromRoleArn(stack, 'Scientist', 'arn:aws:iam::111111111111:role/data-scientist'), {
  viewNamespaces: [ray.namespace], kubernetesGroups: [ray.rayUsersGroup],
});

// Pods run as the service account's role (`serviceAccount` below sets it and the namespace).
const clusterSpec = {
  head: { cpu: '1', memory: '4Gi', nodeSelector: training.systemNodeSelector },
  workerGroups: [
    { groupName: 'cpu', maxReplicas: 4, cpu: '2', memory: '8Gi', nodeSelector: training.workerNodeSelector },
    { groupName: 'gpu', maxReplicas: 2, cpu: '3', memory: '12Gi', gpus: 1, gpuCapacity: training.gpuCapacityOf('gpu-g5') },
  ],
  podEnv: { TRAIN_DATA_URI: `s3://${lake.processedBucket.bucketName}/training/`, OUTPUT_URI: `s3://${lake.artifactsBucket.bucketName}/ray-jobs/train/` },
};

// A one-off RayJob reading the lake on a cluster of its own (GPU workers from zero, deleted after the job). Wired by
// reference: it runs in the service account's namespace as its role, after the KubeRay operator and the namespace.
new RayJob(stack, 'Train', {
  trainingCluster: training, serviceAccount: ray, name: 'train', entrypoint: 'python train.py',
  runtimeEnv: { working_dir: `s3://${lake.artifactsBucket.bucketName}/code/train.zip`, pip: ['onnx==1.17.0'] },
  rayClusterSpec: clusterSpec,
});
// The same job every night.
new RayCronJob(stack, 'Nightly', {
  trainingCluster: training, serviceAccount: ray, name: 'nightly', schedule: '0 3 * * *',
  job: { entrypoint: 'python train.py', rayClusterSpec: clusterSpec },
});
// The reference ONNX model served by Ray Serve behind an internal NLB reachable from the VPC.
new OnnxRayService(stack, 'Serve', {
  trainingCluster: training, name: 'reference-model', serviceAccount: ray, modelBucket: lake.artifactsBucket,
  head: clusterSpec.head,
  workers: { groupName: 'serve', minReplicas: 1, maxReplicas: 4, cpu: '2', memory: '4Gi', nodeSelector: training.workerNodeSelector },
  internalLoadBalancer: { sourceCidrs: [vpc.vpcCidrBlock] },
});
// For automation: submit RayJobs and smoke-test Ray Serve from inside the VPC.
new RayJobGateway(stack, 'Gateway', { trainingCluster: training, serviceAccount: ray, artifactsBucket: lake.artifactsBucket });
