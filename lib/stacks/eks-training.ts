import { CfnOutput, RemovalPolicy } from 'aws-cdk-lib';
import type * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import {
  RayCluster, RayObservability, type RayWorkerGroupOptions, RayServiceAccount, TrainingCluster,
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
      systemNodeGroup: eks.systemNodeGroup,
      gpuNodeGroups: eks.gpuNodeGroups,
      spotNodeGroup: eks.spotNodeGroup.enabled ? eks.spotNodeGroup : undefined,
      scaleDownUnneededMinutes: eks.scaleDownUnneededMinutes,
      kubeRay: eks.ray.enabled,
      removalPolicy,
    });
    const cluster = this.trainingCluster.cluster;
    new CfnOutput(this, 'ClusterName', { key: 'ClusterName', value: cluster.clusterName, description: 'EKS cluster: aws eks update-kubeconfig --name <ClusterName>' });

    if (!eks.ray.enabled) return;
    const ray = eks.ray;
    this.rayServiceAccount = new RayServiceAccount(this, 'RayServiceAccount', { cluster, namespace: ray.namespace, name: 'ray' });
    dataLake.grantReadData(this.rayServiceAccount);
    dataLake.grantWriteArtifacts(this.rayServiceAccount);

    const gpuGroup = eks.gpuNodeGroups[0];
    const workerGroups: RayWorkerGroupOptions[] = [{
      groupName: 'cpu',
      minReplicas: ray.cpuWorkers.minReplicas,
      maxReplicas: ray.cpuWorkers.maxReplicas,
      cpu: ray.cpuWorkers.cpu,
      memory: ray.cpuWorkers.memory,
      nodeSelector: this.trainingCluster.spotNodeSelector,
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
    this.rayCluster = new RayCluster(this, 'DefaultRayCluster', {
      cluster,
      name: 'default',
      namespace: ray.namespace,
      serviceAccountName: this.rayServiceAccount.serviceAccountName,
      podEnv: props.rayPodEnv,
      head: {
        cpu: ray.head.cpu,
        memory: ray.head.memory,
        nodeSelector: this.trainingCluster.systemNodeSelector,
        // With Ray observability on, the dashboard queries the in-cluster Prometheus and embeds Grafana.
        env: config.monitoring.enabled && config.monitoring.rayObservability.enabled
          ? new RayObservability({ rayNamespaces: [ray.namespace] }).rayHeadEnv : undefined,
      },
      workerGroups,
      idleTimeoutSeconds: ray.idleTimeoutSeconds,
      dependsOn: [this.trainingCluster.kubeRayOperator!, this.rayServiceAccount.serviceAccount],
    });
    new CfnOutput(this, 'RayDashboard', {
      key: 'RayDashboardCommand',
      value: `kubectl -n ${ray.namespace} port-forward svc/${this.rayCluster.headServiceName} 8265:8265`,
      description: 'Opens the Ray dashboard of the default RayCluster on http://localhost:8265',
    });
  }
}
