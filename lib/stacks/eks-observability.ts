import { CfnOutput, RemovalPolicy } from 'aws-cdk-lib';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { ContainerInsights, RayObservability, type RayServiceAccount, type TrainingCluster } from '../../constructs/eks';
import { type StageConfig } from '../config';

export interface EksObservabilityProps {
  readonly config: StageConfig;
  readonly trainingCluster: TrainingCluster;
  /** The Ray namespace and service account: the dashboard publisher's RBAC lives in that namespace. @default - none */
  readonly rayServiceAccount?: RayServiceAccount;
}

/**
 * Observability of the stage's EKS training cluster, from `config.monitoring`: Container Insights (node and pod
 * metrics for the platform dashboard) and, with `rayObservability.enabled`, Prometheus and Grafana with the Ray
 * monitors. Installed through the add-on contract after the cluster's own add-ons, on the system node group.
 * Lives in the Training stack, beside the cluster.
 */
export class EksObservability extends Construct {
  public readonly containerInsights: ContainerInsights;
  public readonly rayObservability?: RayObservability;

  constructor(scope: Construct, id: string, props: EksObservabilityProps) {
    super(scope, id);
    const { config, trainingCluster } = props;
    const { monitoring, data, eks } = config;
    const removalPolicy = data.retainOnDelete ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY;
    const cluster = trainingCluster.cluster;

    this.containerInsights = new ContainerInsights({
      removalPolicy,
      logRetention: config.stage === 'prod' ? logs.RetentionDays.ONE_YEAR : logs.RetentionDays.ONE_MONTH,
    });
    // Charts and the add-on's DaemonSet need nodes to run on: each add-on's scope waits for the system node group.
    const ciScope = new Construct(this, this.containerInsights.name);
    ciScope.node.addDependency(trainingCluster.systemNodegroup);
    this.containerInsights.install(ciScope, cluster);

    if (monitoring.rayObservability.enabled && eks.ray.enabled) {
      this.rayObservability = new RayObservability({
        retentionDays: monitoring.rayObservability.retentionDays,
        rayNamespaces: [eks.ray.namespace],
        nodeSelector: { ...trainingCluster.systemNodeSelector },
        rayServiceAccountName: props.rayServiceAccount?.serviceAccountName,
      });
      const rayScope = new Construct(this, this.rayObservability.name);
      // The Ray monitors select KubeRay's pods and services: install after the operator.
      rayScope.node.addDependency(trainingCluster.systemNodegroup, ...(trainingCluster.kubeRayOperator ? [trainingCluster.kubeRayOperator] : []),
        ...(props.rayServiceAccount ? [props.rayServiceAccount.namespaceManifest] : []));
      this.rayObservability.install(rayScope, cluster);
      new CfnOutput(this, 'GrafanaCommand', {
        key: 'GrafanaCommand',
        value: 'kubectl -n monitoring port-forward svc/grafana 3000:80',
        description: 'Opens Grafana (Ray and cluster dashboards) on http://localhost:3000',
      });
    }
  }
}
