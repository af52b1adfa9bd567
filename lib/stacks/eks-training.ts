import { CfnOutput, RemovalPolicy } from 'aws-cdk-lib';
import type * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { Stack } from 'aws-cdk-lib';
import {
  DockerHubCache, ImagePrePuller, OnnxRayService, RAY_GPU_IMAGE, RAY_IMAGE, RayCluster, rayDashboardPublisher, RayJobGateway, type RayClusterSpecOptions, RayCronJob, RayJob, RayObservability, type RayWorkerGroupOptions, RayServiceAccount, TrainingCluster,
} from '../../constructs/eks';
import { type DataLake } from '../../constructs/storage';
import { type StageConfig } from '../config';

export interface EksTrainingProps {
  readonly config: StageConfig;
  readonly vpc: ec2.IVpc;
  readonly workloadSubnets: ec2.SubnetSelection;
  /** Ray pods read the data lake and write model artifacts. */
  readonly dataLake: DataLake;
  /** Environment of every pod of the default RayCluster, e.g. `MLFLOW_TRACKING_URI`. @default - none */
  readonly rayPodEnv?: Readonly<Record<string, string>>;
}

/**
 * The EKS part of a stage's training stack, from `config.eks`: the cluster with its node groups and add-ons,
 * the Ray namespace and service account (S3 access through Pod Identity), and the default RayCluster with
 * GPU workers at zero. Outputs `ClusterName` (the operations CLI discovers the cluster from it).
 */
export class EksTraining extends Construct {
  public readonly trainingCluster: TrainingCluster;
  public readonly rayServiceAccount?: RayServiceAccount;
  public readonly rayCluster?: RayCluster;
  /** Worker groups of the default RayCluster (CPU on the worker group, GPU on the first GPU group): the shapes jobs reuse. */
  public readonly rayWorkerGroups?: readonly RayWorkerGroupOptions[];
  /** RayJobs (`eks.ray.jobs` without schedule) by name. */
  public readonly rayJobs: Readonly<Record<string, RayJob>> = {};
  /** RayCronJobs (`eks.ray.jobs` with schedule) by name. */
  public readonly rayCronJobs: Readonly<Record<string, RayCronJob>> = {};
  /** In-VPC bridge to the private API for the pipeline's Ray training step and `cdk-mlops smoke` (with Ray on). */
  public readonly rayJobGateway?: RayJobGateway;
  /** Docker Hub pull-through cache the Ray images come from (`eks.dockerHubCacheCredentialArn`). */
  public readonly dockerHubCache?: DockerHubCache;
  /** Ray images every Ray object here uses: Docker Hub's, or their pull-through-cache form. */
  public readonly rayImages: { readonly image: string; readonly gpuImage: string } = { image: RAY_IMAGE, gpuImage: RAY_GPU_IMAGE };
  /** DaemonSet pulling the Ray GPU image onto GPU nodes as they join (`eks.ray.prePullGpuImage`). */
  public readonly gpuImagePrePuller?: ImagePrePuller;
  /** ONNX RayServices (`eks.ray.services`) by name. */
  public readonly rayServices: Readonly<Record<string, OnnxRayService>> = {};

  constructor(scope: Construct, id: string, props: EksTrainingProps) {
    super(scope, id);
    const { config, dataLake } = props;
    const { eks, prefix, stage } = config;
    const removalPolicy = config.data.retainOnDelete ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY;

    this.trainingCluster = new TrainingCluster(this, 'Cluster', {
      vpc: props.vpc,
      vpcSubnets: props.workloadSubnets,
      clusterName: `${prefix}-${stage}-training`,
      publicAccessCidrs: eks.endpointAccess === 'public-and-private' ? eks.publicAccessCidrs : [],
      adminRoles: eks.adminRoleArns.map((arn, i) => iam.Role.fromRoleArn(this, `AdminRole${i}`, arn, { mutable: false })),
      deployRoleAdmin: eks.deployRoleAdmin,
      viewerRoles: eks.viewerRoleArns.map((arn, i) => iam.Role.fromRoleArn(this, `ViewerRole${i}`, arn, { mutable: false })),
      systemNodeGroup: eks.systemNodeGroup,
      gpuNodeGroups: eks.gpuNodeGroups,
      workerNodeGroup: eks.workerNodeGroup.enabled ? eks.workerNodeGroup : undefined,
      scaleDownUnneededMinutes: eks.scaleDownUnneededMinutes,
      nodeProvisioner: eks.nodeProvisioner,
      karpenter: eks.nodeProvisioner === 'karpenter' ? eks.karpenter : undefined,
      kubeRay: eks.ray.enabled,
      rayCronJobs: eks.ray.enabled && eks.ray.jobs.some((j) => j.schedule !== undefined),
      gangScheduling: eks.ray.enabled && eks.ray.gangScheduling,
      removalPolicy,
      // prod keeps the control-plane audit trail a year (Control Tower CT.CLOUDWATCH.PR.2); other stages the default.
      logRetention: stage === 'prod' ? logs.RetentionDays.ONE_YEAR : undefined,
    });
    const cluster = this.trainingCluster.cluster;
    new CfnOutput(this, 'ClusterName', { key: 'ClusterName', value: cluster.clusterName, description: 'EKS cluster: aws eks update-kubeconfig --name <ClusterName>' });

    if (!eks.ray.enabled) return;
    const ray = eks.ray;
    if (eks.dockerHubCacheCredentialArn) {
      this.dockerHubCache = new DockerHubCache(this, 'DockerHubCache', { credentialArn: eks.dockerHubCacheCredentialArn });
      this.dockerHubCache.grantPull(this.trainingCluster.nodeRole);
      // Nodes Karpenter launches have a role of their own.
      const karpenterNodes = this.trainingCluster.karpenter?.nodeRole;
      if (karpenterNodes) this.dockerHubCache.grantPull(karpenterNodes);
      this.rayImages = { image: this.dockerHubCache.imageUri(RAY_IMAGE), gpuImage: this.dockerHubCache.imageUri(RAY_GPU_IMAGE) };
    }
    this.rayServiceAccount = new RayServiceAccount(this, 'RayServiceAccount', { trainingCluster: this.trainingCluster, namespace: ray.namespace, name: 'ray' });
    dataLake.grantReadData(this.rayServiceAccount);
    dataLake.grantWriteArtifacts(this.rayServiceAccount);
    // Data scientists: Ray objects, pods, logs and port-forwarding in the Ray namespace only.
    eks.rayUserRoleArns.forEach((arn, i) => this.trainingCluster.grantAccess(`RayUser${i}`, iam.Role.fromRoleArn(this, `RayUserRole${i}`, arn, { mutable: false }), {
      viewNamespaces: [ray.namespace], kubernetesGroups: [this.rayServiceAccount!.rayUsersGroup],
    }));

    const observed = config.monitoring.enabled && config.monitoring.rayObservability.enabled;
    const gpuGroup = eks.gpuNodeGroups[0];
    const workerGroups: RayWorkerGroupOptions[] = [{
      groupName: 'cpu',
      minReplicas: ray.cpuWorkers.minReplicas,
      maxReplicas: ray.cpuWorkers.maxReplicas,
      cpu: ray.cpuWorkers.cpu,
      memory: ray.cpuWorkers.memory,
      nodeSelector: this.trainingCluster.workerNodeSelector,
    }];
    if (gpuGroup && ray.gpuWorkers.maxReplicas > 0) {
      workerGroups.push({
        groupName: 'gpu',
        minReplicas: ray.gpuWorkers.minReplicas,
        maxReplicas: ray.gpuWorkers.maxReplicas,
        cpu: ray.gpuWorkers.cpu,
        memory: ray.gpuWorkers.memory,
        gpus: ray.gpuWorkers.gpus,
        gpuCapacity: this.trainingCluster.gpuCapacityOf(gpuGroup.name),
      });
    }
    this.rayWorkerGroups = workerGroups;
    if (ray.prePullGpuImage && workerGroups.some((g) => g.gpus)) {
      this.gpuImagePrePuller = new ImagePrePuller(this, 'GpuImagePrePuller', {
        cluster,
        name: 'ray-gpu-image',
        namespace: ray.namespace,
        images: [this.rayImages.gpuImage],
        dependsOn: [this.rayServiceAccount.namespaceManifest],
      });
    }
    this.rayCluster = new RayCluster(this, 'DefaultRayCluster', {
      trainingCluster: this.trainingCluster,
      name: 'default',
      // Its namespace and the pods' service account; ordered after them and the KubeRay operator.
      serviceAccount: this.rayServiceAccount,
      podEnv: props.rayPodEnv,
      head: {
        cpu: ray.head.cpu,
        memory: ray.head.memory,
        nodeSelector: this.trainingCluster.systemNodeSelector,
        // With Ray observability on, the dashboard queries the in-cluster Prometheus and embeds Grafana.
        env: observed ? new RayObservability({ rayNamespaces: [ray.namespace] }).rayHeadEnv : undefined,
      },
      workerGroups,
      idleTimeoutSeconds: ray.idleTimeoutSeconds,
      // One publisher is enough: every Ray cluster of a version generates the same dashboards.
      headSidecars: observed ? [rayDashboardPublisher(this.rayImages.image)] : undefined,
      ...this.rayImages,
    });
    this.rayJobGateway = new RayJobGateway(this, 'RayJobGateway', {
      trainingCluster: this.trainingCluster,
      serviceAccount: this.rayServiceAccount,
      artifactsBucket: dataLake.artifactsBucket,
      vpcSubnets: props.workloadSubnets,
      removalPolicy,
    });
    new CfnOutput(this, 'RayJobGatewayOutput', {
      key: 'RayJobGatewayFunction',
      value: this.rayJobGateway.function.functionName,
      description: 'In-VPC function that submits RayJobs and smoke-tests Ray Serve (cdk-mlops smoke)',
    });
    const workloads = this.addConfiguredWorkloads(config, props, workerGroups);
    this.rayJobs = workloads.jobs;
    this.rayCronJobs = workloads.cronJobs;
    this.rayServices = workloads.services;
    // `cdk-mlops smoke` reads these: each serve service and its route, reached through the gateway.
    new CfnOutput(this, 'RayServeServicesOutput', {
      key: 'RayServeServices',
      value: Object.values(workloads.services).map((svc) => `${svc.rayService.serveServiceName}=${svc.routePrefix}`).join(',') || 'none',
      description: 'Ray Serve apps as <service>=<route prefix> (cdk-mlops smoke --target ray)',
    });

    new CfnOutput(this, 'RayDashboard', {
      key: 'RayDashboardCommand',
      value: `kubectl -n ${ray.namespace} port-forward svc/${this.rayCluster.headServiceName} 8265:8265`,
      description: 'Opens the Ray dashboard of the default RayCluster on http://localhost:8265',
    });
  }

  /** The named RayJobs, RayCronJobs and RayServices of `eks.ray`, each on its own cluster after the operator and namespace. */
  private addConfiguredWorkloads(config: StageConfig, props: EksTrainingProps, defaultWorkers: RayWorkerGroupOptions[]) {
    const ray = config.eks.ray;
    const tc = this.trainingCluster;
    const sa = this.rayServiceAccount!;
    const gang = ray.gangScheduling ? { scheduler: 'volcano' as const } : undefined;
    const region = Stack.of(this).region;
    const jobs: Record<string, RayJob> = {};
    const cronJobs: Record<string, RayCronJob> = {};
    for (const j of ray.jobs) {
      const spec: RayClusterSpecOptions = {
        head: { cpu: ray.head.cpu, memory: ray.head.memory, nodeSelector: tc.systemNodeSelector },
        workerGroups: defaultWorkers
          .map((g) => ({ ...g, maxReplicas: g.gpus ? j.maxGpuWorkers : j.maxCpuWorkers }))
          .filter((g) => g.maxReplicas > 0),
        idleTimeoutSeconds: ray.idleTimeoutSeconds,
        ...this.rayImages,
        podEnv: { ...props.rayPodEnv, AWS_REGION: region, DATA_LAKE_PROCESSED: `s3://${props.dataLake.processedBucket.bucketName}/`, ARTIFACTS: `s3://${props.dataLake.artifactsBucket.bucketName}/${this.rayJobGateway!.outputPrefix}${j.name}/` },
      };
      const job = {
        entrypoint: j.entrypoint,
        runtimeEnv: { ...(j.workingDir ? { working_dir: j.workingDir } : {}), ...(j.pip.length > 0 ? { pip: j.pip } : {}) },
        rayClusterSpec: spec,
        activeDeadlineSeconds: j.activeDeadlineSeconds,
      };
      if (j.schedule) {
        cronJobs[j.name] = new RayCronJob(this, `RayCronJob-${j.name}`, {
          trainingCluster: tc, serviceAccount: sa, name: j.name, schedule: j.schedule, timeZone: j.timeZone, job, gangScheduling: gang,
        });
      } else {
        jobs[j.name] = new RayJob(this, `RayJob-${j.name}`, { trainingCluster: tc, serviceAccount: sa, name: j.name, ...job, gangScheduling: gang });
      }
    }
    const services: Record<string, OnnxRayService> = {};
    for (const svc of ray.services) {
      const gcs = svc.gcsFaultTolerance;
      services[svc.name] = new OnnxRayService(this, `RayService-${svc.name}`, {
        trainingCluster: tc,
        name: svc.name,
        serviceAccount: sa,
        modelBucket: props.dataLake.artifactsBucket,
        modelKey: svc.modelS3Key,
        seedReferenceModel: svc.seedReferenceModel,
        replicas: { min: svc.minReplicas, max: svc.maxReplicas },
        head: { cpu: ray.head.cpu, memory: ray.head.memory, nodeSelector: tc.systemNodeSelector },
        // One replica needs one CPU; a 2-CPU worker per replica leaves room for Serve's proxy.
        workers: { groupName: 'serve', minReplicas: 1, maxReplicas: svc.maxReplicas, cpu: '2', memory: '4Gi', nodeSelector: tc.workerNodeSelector },
        // The platform's own VPC CIDR is known at synth time; an imported VPC's comes from its attribute.
        internalLoadBalancer: svc.internalLoadBalancer ? { sourceCidrs: [config.network.existingVpc ? props.vpc.vpcCidrBlock : config.network.cidr] } : undefined,
        gcsFaultTolerance: gcs ? {
          redisAddress: gcs.redisAddress,
          redisPasswordSecret: gcs.passwordSecretName ? { name: gcs.passwordSecretName, key: gcs.passwordSecretKey } : undefined,
        } : undefined,
        image: this.rayImages.image,
        // Sampled traffic to the lake for drift detection (the bucket SageMaker and Lambda capture to).
        capture: svc.captureSamplingPercent > 0
          ? { bucket: props.dataLake.artifactsBucket, samplingPercentage: svc.captureSamplingPercent, modelPackageArn: svc.modelPackageArn }
          : undefined,
      });
    }
    return { jobs, cronJobs, services };
  }
}
