import * as eks from 'aws-cdk-lib/aws-eks-v2';
import type * as iam from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import { PropsValidator } from '../../core/validation';
import { checkK8sName } from '../addons/helm-add-on';
import { ClusterCapabilities } from '../addons/cluster-capabilities';
import { type ITrainingCluster } from '../training-cluster';

export interface RayServiceAccountProps {
  /** The cluster the namespace and service account are created in. */
  readonly trainingCluster: ITrainingCluster;
  /** Namespace of the Ray workloads; created here. @default 'ray' */
  readonly namespace?: string;
  /** Service account name. @default 'ray' */
  readonly name?: string;
  /**
   * How pods get the role. IRSA (web identity) by default: Ray Train and Ray Data use pyarrow's S3 filesystem,
   * whose AWS SDK for C++ has long read web-identity tokens but in older pyarrow builds not EKS Pod Identity's
   * container credentials (apache/arrow#45603); boto3 reads both. `pod-identity` needs no OIDC provider.
   * @default 'irsa'
   */
  readonly identity?: 'irsa' | 'pod-identity';
}

/** Verbs of people and pipelines that run Ray work in a namespace (no secrets, no RBAC changes). */
const RAY_OBJECT_VERBS = ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete'];

/**
 * The namespace of the Ray workloads and the service account their pods run as, with an IAM role through IRSA
 * (default, for pyarrow) or EKS Pod Identity. Grant it AWS access like any principal,
 * e.g. `dataLake.grantReadData(rayServiceAccount)`; Ray pods then read and write S3 with that role.
 */
export class RayServiceAccount extends Construct implements iam.IGrantable {
  /** The cluster it lives in (Ray objects given this service account must run there). */
  public readonly trainingCluster: ITrainingCluster;
  public readonly namespace: string;
  public readonly serviceAccountName: string;
  public readonly serviceAccount: eks.ServiceAccount;
  /** The namespace manifest: Ray objects in the namespace must depend on it. */
  public readonly namespaceManifest: eks.KubernetesManifest;
  public readonly grantPrincipal: iam.IPrincipal;
  /** Role the pods assume. */
  public readonly role: iam.IRole;
  /**
   * Kubernetes group bound to the namespace's `ray-user` Role: Ray objects (RayJob, RayCronJob, RayCluster,
   * RayService) read and write, pods, logs, services and events read, and port-forwarding (dashboards). Give it to
   * an IAM role with `TrainingCluster.grantAccess(id, role, { kubernetesGroups: [sa.rayUsersGroup] })`.
   */
  public readonly rayUsersGroup: string;
  /** The Role and RoleBinding of {@link rayUsersGroup}. */
  public readonly rbacManifest: eks.KubernetesManifest;

  constructor(scope: Construct, id: string, props: RayServiceAccountProps) {
    super(scope, id);
    this.trainingCluster = props.trainingCluster;
    const cluster = props.trainingCluster.cluster;
    this.namespace = props.namespace ?? 'ray';
    this.serviceAccountName = props.name ?? 'ray';
    const v = new PropsValidator(this, 'RayServiceAccount');
    checkK8sName(v, 'namespace', this.namespace);
    checkK8sName(v, 'name', this.serviceAccountName);
    v.throwIfInvalid();

    this.namespaceManifest = new eks.KubernetesManifest(this, 'Namespace', {
      cluster,
      manifest: [{
        apiVersion: 'v1',
        kind: 'Namespace',
        metadata: {
          name: this.namespace,
          // Ray pods run unprivileged: the Pod Security "baseline" profile rejects privileged pods in the namespace.
          labels: { 'pod-security.kubernetes.io/enforce': 'baseline' },
        },
      }],
    });
    this.serviceAccount = new eks.ServiceAccount(this, 'ServiceAccount', {
      cluster,
      name: this.serviceAccountName,
      namespace: this.namespace,
      identityType: (props.identity ?? 'irsa') === 'irsa' ? eks.IdentityType.IRSA : eks.IdentityType.POD_IDENTITY,
    });
    this.serviceAccount.node.addDependency(this.namespaceManifest);
    ClusterCapabilities.of(cluster).provide(ClusterCapabilities.namespace(this.namespace), this.namespaceManifest);
    this.rayUsersGroup = `cdk-mlops:ray-users:${this.namespace}`;
    const labels = { 'app.kubernetes.io/managed-by': 'cdk-mlops' };
    this.rbacManifest = new eks.KubernetesManifest(this, 'RayUserRbac', {
      cluster,
      manifest: [
        {
          apiVersion: 'rbac.authorization.k8s.io/v1',
          kind: 'Role',
          metadata: { name: 'ray-user', namespace: this.namespace, labels },
          rules: [
            { apiGroups: ['ray.io'], resources: ['rayjobs', 'raycronjobs', 'rayclusters', 'rayservices'], verbs: RAY_OBJECT_VERBS },
            { apiGroups: ['ray.io'], resources: ['rayjobs/status', 'raycronjobs/status', 'rayclusters/status', 'rayservices/status'], verbs: ['get'] },
            { apiGroups: [''], resources: ['pods', 'pods/log', 'services', 'endpoints', 'events', 'configmaps'], verbs: ['get', 'list', 'watch'] },
            // kubectl port-forward to the Ray dashboard (8265) and Serve (8000).
            { apiGroups: [''], resources: ['pods/portforward', 'services/portforward'], verbs: ['create', 'get'] },
            { apiGroups: ['batch'], resources: ['jobs'], verbs: ['get', 'list', 'watch'] },
          ],
        },
        {
          apiVersion: 'rbac.authorization.k8s.io/v1',
          kind: 'RoleBinding',
          metadata: { name: 'ray-user', namespace: this.namespace, labels },
          roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'ray-user' },
          subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'Group', name: this.rayUsersGroup }],
        },
      ],
    });
    this.rbacManifest.node.addDependency(this.namespaceManifest);
    this.grantPrincipal = this.serviceAccount.grantPrincipal;
    this.role = this.serviceAccount.role;
  }
}
