// The benchmark anchor (not part of cdk-mlops): one cdk-eks-blueprints 1.19 EKS cluster with Karpenter, the NVIDIA
// GPU operator and KubeRay, the slice of a platform our whole synth is compared against. `npm run bench:synth`
// copies this folder to a scratch directory, installs it there from the npm registry and synthesizes it beside ours.
const blueprints = require('@aws-quickstart/eks-blueprints');
const { App } = require('aws-cdk-lib');
const { KubernetesVersion } = require('aws-cdk-lib/aws-eks');

const app = new App();
blueprints.EksBlueprint.builder()
  .account('123456789012')
  .region('us-east-1')
  .version(KubernetesVersion.V1_33)
  .addOns(
    new blueprints.addons.KarpenterV1AddOn(),
    new blueprints.addons.GpuOperatorAddon(),
    new blueprints.addons.KubeRayAddOn(),
  )
  .build(app, 'anchor-eks-kuberay');
