import type * as eks from 'aws-cdk-lib/aws-eks-v2';
import { type Construct } from 'constructs';

/**
 * The add-on contract (in the style of cdk-eks-blueprints' ClusterAddOn): an add-on knows its name and
 * installs itself into a cluster, creating its resources under the given scope. The cluster construct calls
 * `install` once per add-on, in order, and makes later add-ons depend on earlier ones.
 */
export interface IClusterAddOn {
  /** Unique name of the add-on in the cluster; also the id of its scope. */
  readonly name: string;
  /**
   * Creates the add-on's resources.
   * @param scope - a construct dedicated to this add-on (create children in it)
   * @param cluster - the cluster to install into
   * @returns the construct other resources should depend on (e.g. the Helm release)
   */
  install(scope: Construct, cluster: eks.ICluster): Construct;
}
