/** Label naming the node group (or Karpenter node pool) a node belongs to; Ray pods select their group with it. */
export const NODE_GROUP_LABEL = 'cdk-mlops/node-group';
/** Label with the capacity type of a node: `on-demand` or `spot`. */
export const CAPACITY_LABEL = 'cdk-mlops/capacity';
