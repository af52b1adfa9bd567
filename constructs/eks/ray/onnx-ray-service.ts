import * as fs from 'node:fs';
import { Stack, Token } from 'aws-cdk-lib';
import * as eks from 'aws-cdk-lib/aws-eks-v2';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct, type IDependable } from 'constructs';
import { acknowledgeResourceWildcards } from '../../core/nag';
import { isModelPackageArn } from '../../../lambda/model-server/src/capture-format';
import { lambdaPath } from '../../core/paths';
import { PropsValidator } from '../../core/validation';
import * as perms from '../../storage/perms';
import { checkK8sName } from '../addons/helm-add-on';
import { type GcsFaultToleranceOptions, type RayHeadOptions, type RayWorkerGroupOptions } from './ray-cluster-spec';
import { type InternalLoadBalancerOptions } from './ray-manifest-base';
import { RayService } from './ray-service';
import { type RayServiceAccount } from './ray-service-account';
import { type ITrainingCluster } from '../training-cluster';

/** Python packages the Serve app installs into its runtime environment (pinned; the Ray image has numpy and starlette). */
export const ONNX_SERVE_PIP = ['onnxruntime==1.22.0', 'boto3==1.40.0'];
/** Where the app's ConfigMap is mounted (also on PYTHONPATH). */
const APP_DIR = '/home/ray/serve-app';

/** Replica bounds of a Serve deployment. */
export interface ReplicaRange {
  readonly min: number;
  readonly max: number;
}

export interface OnnxRayServiceProps {
  /** The cluster the service runs on (the serviceAccount's). */
  readonly trainingCluster: ITrainingCluster;
  /** RayService name; the serve service is `<name>-serve-svc`. */
  readonly name: string;
  /** Namespace and service account of the pods (their IAM role reads the model); a RayServiceAccount of the trainingCluster. */
  readonly serviceAccount: RayServiceAccount;
  /** Bucket holding the model (e.g. the data lake's artifacts bucket). */
  readonly modelBucket: s3.IBucket;
  /** Key of the `.onnx` file. @default 'models/reference/model.onnx' */
  readonly modelKey?: string;
  /**
   * Upload the repository's reference model (4 features → 3 classes) to `modelKey` when nothing is there yet, so a
   * fresh platform serves from the bucket at once (the role then may also write that one key).
   * @default true
   */
  readonly seedReferenceModel?: boolean;
  /** Replicas of the model deployment (Serve autoscaling on ongoing requests). @default { min: 1, max: 4 } */
  readonly replicas?: ReplicaRange;
  readonly head: RayHeadOptions;
  /** CPU worker group of the replicas (e.g. on the CPU worker node group). */
  readonly workers: RayWorkerGroupOptions;
  /** Serve behind an internal NLB reachable from these CIDRs. @default - ClusterIP only */
  readonly internalLoadBalancer?: InternalLoadBalancerOptions;
  /** GCS fault tolerance through an external Redis (for prod). @default - none */
  readonly gcsFaultTolerance?: GcsFaultToleranceOptions;
  /** Ray image of head and workers (e.g. from a pull-through cache). @default RAY_IMAGE */
  readonly image?: string;
  /** Anything else that must exist first (the KubeRay CRDs, namespace and service account are waited for without it). @default - none */
  readonly dependsOn?: IDependable[];
  /** Sample requests and responses to the lake for drift detection (`lambda/ray-serve-onnx/capture.py`). @default - no capture */
  readonly capture?: RayServeCaptureOptions;
}

/** Traffic capture of the Ray Serve app, in the platform's capture format (as the Lambda model server's). */
export interface RayServeCaptureOptions {
  /** The data lake bucket captures go to. */
  readonly bucket: s3.IBucket;
  /** @default 'capture/ray/' */
  readonly prefix?: string;
  /** Share of successful predictions captured, 1-100. */
  readonly samplingPercentage: number;
  /** Key the objects are encrypted with. @default - the bucket's key */
  readonly encryptionKey?: kms.IKey;
  /** The model package served, for the partition and the baseline. @default - none: captures are partitioned by the service name */
  readonly modelPackageArn?: string;
}

/** Where a Ray Serve app's sampled traffic lands (the lake's raw bucket, a prefix and the service's name). */
export interface RayServeCaptureLocation {
  /** Bucket the capture files are written to. */
  readonly bucket: s3.IBucket;
  /** Key prefix of the capture files. */
  readonly prefix: string;
  /** The serving path's name in the keys (the service name). */
  readonly source: string;
  /** Key the bucket encrypts with. @default - the bucket's default encryption */
  readonly encryptionKey?: kms.IKey;
}

/**
 * A RayService serving an ONNX model from S3 with the same JSON contract as the platform's model server
 * (`POST /invocations {"instances": [...]}` → `{"predictions": [...]}`, `GET /metadata`, `GET /ping`), so the same
 * smoke test checks it. The Serve app (`lambda/ray-serve-onnx/serve_onnx.py`) and the reference model come from a
 * ConfigMap; `onnxruntime` and `boto3` are pinned in its runtime environment. Upgrades change the cluster spec and
 * go through KubeRay's NewCluster strategy: traffic moves only once the new cluster's app is healthy.
 */
export class OnnxRayService extends Construct {
  public readonly rayService: RayService;
  public readonly appConfigMap: eks.KubernetesManifest;
  /** `s3://bucket/key` the app serves. */
  public readonly modelUri: string;
  /** Route prefix of the app. */
  public readonly routePrefix: string;
  /** Where sampled traffic goes: `<prefix><source>/<model>/YYYY/MM/DD/HH/`, when capture is on (`source` is the service name). */
  public readonly capture?: RayServeCaptureLocation;

  constructor(scope: Construct, id: string, props: OnnxRayServiceProps) {
    super(scope, id);
    const modelKey = props.modelKey ?? 'models/reference/model.onnx';
    const replicas = props.replicas ?? { min: 1, max: 4 };
    const seed = props.seedReferenceModel ?? true;
    const v = new PropsValidator(this, 'OnnxRayService');
    checkK8sName(v, 'name', props.name);
    v.check(/^[\w!\-.*'()/]{1,1024}$/.test(modelKey) && modelKey.endsWith('.onnx'), 'modelKey', modelKey, 'must be an S3 key ending in .onnx, e.g. models/churn/v7/model.onnx');
    v.check(Number.isInteger(replicas.min) && Number.isInteger(replicas.max) && replicas.min >= 1 && replicas.min <= replicas.max, 'replicas', replicas,
      'must be whole numbers with 1 <= min <= max (min 1 keeps the service answering)');
    v.check(props.serviceAccount.trainingCluster.cluster === props.trainingCluster.cluster, 'serviceAccount', props.serviceAccount.node.path,
      `must be a RayServiceAccount of the trainingCluster ("${props.trainingCluster.node.path}"), not of "${props.serviceAccount.trainingCluster.node.path}"`);
    const capture = props.capture;
    const capturePrefix = capture?.prefix ?? 'capture/ray/';
    if (capture) {
      v.intRange('capture.samplingPercentage', capture.samplingPercentage, 1, 100, 'percent');
      v.check(Token.isUnresolved(capturePrefix) || /^[A-Za-z0-9!_.*'()/-]{1,256}\/$/.test(capturePrefix), 'capture.prefix', capturePrefix, 'must be an S3 key prefix ending in "/"');
      v.check(capture.modelPackageArn === undefined || Token.isUnresolved(capture.modelPackageArn) || isModelPackageArn(capture.modelPackageArn),
        'capture.modelPackageArn', capture.modelPackageArn, 'must be a versioned model package ARN (arn:aws:sagemaker:<region>:<account>:model-package/<group>/<version>)');
    }
    v.throwIfInvalid();

    const namespace = props.serviceAccount.namespace;
    this.modelUri = `s3://${props.modelBucket.bucketName}/${modelKey}`;
    this.routePrefix = `/${props.name}`;
    // Exactly the model object: read it, and write it once when seeding the reference model.
    props.serviceAccount.role.addToPrincipalPolicy(new iam.PolicyStatement({
      actions: [...perms.S3_READ_OBJECT_ACTIONS, ...(seed ? ['s3:PutObject'] : [])],
      resources: [props.modelBucket.arnForObjects(modelKey)],
    }));
    props.modelBucket.encryptionKey?.grant(props.serviceAccount, ...(seed ? perms.KMS_WRITE_ACTIONS : perms.KMS_READ_ACTIONS));
    const captureKey = capture ? capture.encryptionKey ?? capture.bucket.encryptionKey : undefined;
    if (capture) {
      // Write-only, under the capture prefix: the app never reads what it captured.
      const objects = capture.bucket.arnForObjects(`${capturePrefix}${props.name}/*`);
      props.serviceAccount.role.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['s3:PutObject'], resources: [objects] }));
      captureKey?.grant(props.serviceAccount, 'kms:Encrypt', 'kms:GenerateDataKey');
      acknowledgeResourceWildcards(props.serviceAccount.role, [objects], 'Captured traffic is written under generated keys (hour partitions, unique file ids); limited to this service\'s capture folder, s3:PutObject only.');
      this.capture = { bucket: capture.bucket, prefix: capturePrefix, source: props.name, encryptionKey: captureKey };
    }

    const configMapName = `${props.name}-serve-app`;
    this.appConfigMap = new eks.KubernetesManifest(this, 'App', {
      cluster: props.trainingCluster.cluster,
      manifest: [{
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: configMapName, namespace, labels: { 'app.kubernetes.io/managed-by': 'cdk-mlops' } },
        data: Object.fromEntries(['serve_onnx.py', 'capture.py'].map((f) => [f, fs.readFileSync(lambdaPath('ray-serve-onnx', f), 'utf8')])),
        binaryData: { 'reference.onnx': fs.readFileSync(lambdaPath('model-server', 'model', 'model.onnx')).toString('base64') },
      }],
    });
    this.appConfigMap.node.addDependency(props.serviceAccount.namespaceManifest);

    this.rayService = new RayService(this, 'Service', {
      trainingCluster: props.trainingCluster,
      name: props.name,
      serviceAccount: props.serviceAccount,
      internalLoadBalancer: props.internalLoadBalancer,
      applications: [{
        name: props.name,
        importPath: 'serve_onnx:app',
        routePrefix: this.routePrefix,
        runtimeEnv: {
          pip: ONNX_SERVE_PIP,
          env_vars: {
            MODEL_S3_URI: this.modelUri, SEED_REFERENCE_MODEL: seed ? '1' : '0', AWS_REGION: Stack.of(this).region,
            ...(capture ? {
              CAPTURE_BUCKET: capture.bucket.bucketName,
              CAPTURE_PREFIX: capturePrefix,
              CAPTURE_SAMPLING_PERCENT: String(capture.samplingPercentage),
              CAPTURE_SOURCE: props.name,
              MODEL_NAME: props.name,
              ...(captureKey ? { CAPTURE_KMS_KEY_ID: captureKey.keyArn } : {}),
              ...(capture.modelPackageArn ? { MODEL_PACKAGE_ARN: capture.modelPackageArn } : {}),
            } : {}),
          },
        },
        deployments: [{ name: 'OnnxModel', autoscaling: { minReplicas: replicas.min, maxReplicas: replicas.max, targetOngoingRequests: 4 }, numCpus: 1 }],
      }],
      rayClusterConfig: {
        serviceAccountName: props.serviceAccount.serviceAccountName,
        head: props.head,
        workerGroups: [props.workers],
        podEnv: { PYTHONPATH: APP_DIR },
        codeMounts: [{ configMapName, mountPath: APP_DIR }],
        gcsFaultTolerance: props.gcsFaultTolerance,
        image: props.image,
      },
      dependsOn: [this.appConfigMap, ...(props.dependsOn ?? [])],
    });
  }
}
