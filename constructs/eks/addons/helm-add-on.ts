import { Duration } from 'aws-cdk-lib';
import * as eks from 'aws-cdk-lib/aws-eks-v2';
import { type Construct } from 'constructs';
import { ClusterCapabilities } from './cluster-capabilities';
import { PropsValidator } from '../../core/validation';
import { type IClusterAddOn } from './add-on';

/** Kubernetes names (DNS-1123 labels): namespaces, releases, service accounts, RayCluster names. */
export const K8S_NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/** Checks a Kubernetes name: DNS-1123 label, at most 63 characters. */
export function checkK8sName(v: PropsValidator, prop: string, value: string): PropsValidator {
  return v.check(K8S_NAME.test(value) && value.length <= 63, prop, value,
    'must be a Kubernetes name: at most 63 lowercase letters, digits and hyphens, starting and ending with a letter or digit');
}

/** What a Helm add-on installs: a pinned chart from a repository into a namespace. */
export interface HelmAddOnProps {
  /** Add-on name (scope id). */
  readonly name: string;
  /** Chart name in the repository. */
  readonly chart: string;
  /** Chart repository: an `https://` repository URL, or the `oci://` reference of the chart (e.g. `oci://public.ecr.aws/karpenter/karpenter`). */
  readonly repository: string;
  /** Exact chart version (semver, no ranges): upgrades are deliberate code changes. */
  readonly version: string;
  /** Namespace of the release. */
  readonly namespace: string;
  /** Helm release name. @default - the add-on name */
  readonly release?: string;
  /** Create the namespace if it does not exist. @default true */
  readonly createNamespace?: boolean;
  /** Wait for the release's resources to be ready. @default true */
  readonly wait?: boolean;
  /** Install timeout. @default Duration.minutes(10) */
  readonly timeout?: Duration;
}

/**
 * Base of every Helm add-on: validates the pin, release and namespace once, and installs the chart with the
 * values the subclass renders from its typed props. Subclasses only declare defaults and `values()`.
 */
export abstract class HelmAddOn implements IClusterAddOn {
  public readonly name: string;
  public readonly props: HelmAddOnProps;

  protected constructor(props: HelmAddOnProps) {
    this.name = props.name;
    this.props = props;
  }

  /**
   * What the installed release provides to other resources in the cluster (see {@link ClusterCapabilities}): those
   * that need it are ordered after the release. @default - its namespace, when it creates it
   */
  protected get provides(): string[] {
    return [];
  }

  /** Chart values for this cluster. */
  protected abstract values(cluster: eks.ICluster): Record<string, unknown>;

  /**
   * Extra prop checks of a subclass, collected with the release checks and thrown once.
   * @internal
   */
  protected _validate(_v: PropsValidator): void {
    // Only the common release checks by default.
  }

  /** Validates every prop, then creates the add-on's resources with {@link installResources}. */
  public install(scope: Construct, cluster: eks.ICluster): Construct {
    const p = this.props;
    const v = new PropsValidator(scope, this.constructor.name)
      .check(/^\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?$/.test(p.version), 'version', p.version, 'must be an exact chart version such as 1.7.0 (no ranges)')
      .check(/^(https|oci):\/\//.test(p.repository), 'repository', p.repository, 'must be an https:// chart repository URL or an oci:// chart reference');
    checkK8sName(v, 'namespace', p.namespace);
    checkK8sName(v, 'release', p.release ?? p.name);
    this._validate(v);
    v.throwIfInvalid();
    const installed = this.installResources(scope, cluster);
    const capabilities = ClusterCapabilities.of(cluster);
    if (p.createNamespace ?? true) capabilities.provide(ClusterCapabilities.namespace(p.namespace), installed);
    for (const capability of this.provides) capabilities.provide(capability, installed);
    return installed;
  }

  /** Creates the add-on's resources once props are valid; by default just the Helm release. */
  protected installResources(scope: Construct, cluster: eks.ICluster): Construct {
    return this.installChart(scope, cluster);
  }

  /** Creates the Helm release; subclasses with extra resources call it from `installResources`. */
  protected installChart(scope: Construct, cluster: eks.ICluster): eks.HelmChart {
    const p = this.props;
    return new eks.HelmChart(scope, 'Release', {
      cluster,
      chart: p.chart,
      repository: p.repository,
      version: p.version,
      namespace: p.namespace,
      release: p.release ?? p.name,
      createNamespace: p.createNamespace ?? true,
      wait: p.wait ?? true,
      timeout: p.timeout ?? Duration.minutes(10),
      values: this.values(cluster),
    });
  }
}
