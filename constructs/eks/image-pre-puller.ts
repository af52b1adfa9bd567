import * as eks from 'aws-cdk-lib/aws-eks-v2';
import { Construct, type IDependable } from 'constructs';
import { PropsValidator } from '../core/validation';
import { checkK8sName } from './addons/helm-add-on';
import { ACCELERATOR_LABEL, GPU_TAINT_KEY } from './addons/nvidia-device-plugin';

export interface ImagePrePullerProps {
  /** Cluster the DaemonSet runs in. */
  readonly cluster: eks.ICluster;
  /** Images to pull onto every selected node, e.g. `RAY_GPU_IMAGE` (or its pull-through-cache URI). Each needs `/bin/sleep`. */
  readonly images: string[];
  /** DaemonSet name. @default 'image-pre-puller' */
  readonly name?: string;
  /** Namespace (must exist). @default 'kube-system' */
  readonly namespace?: string;
  /** Node label that must exist on a node for the DaemonSet to run there. @default ACCELERATOR_LABEL (GPU nodes) */
  readonly nodeLabelKey?: string;
  /** Taint keys the pods tolerate (NoSchedule). @default [GPU_TAINT_KEY] */
  readonly tolerateTaints?: string[];
  /** What must exist first (e.g. the namespace manifest). @default - none */
  readonly dependsOn?: IDependable[];
}

/**
 * A DaemonSet that pulls large images onto nodes as soon as they join and keeps them there.
 *
 * On a GPU node scaled up from zero, the Ray GPU worker cannot be scheduled until the NVIDIA device plugin has
 * started and advertised `nvidia.com/gpu`; this DaemonSet needs no GPU, so its pod is bound when the node turns
 * Ready and the multi-GB image pull starts that much earlier (the worker's own pull then joins the one in flight).
 * Each image runs as a container that only sleeps, so kubelet image garbage collection never removes an image that
 * is "in use" and later workers on the same node start at once. Its pods are tiny (1m CPU, 16Mi per image) and,
 * being DaemonSet pods, keep neither the Cluster Autoscaler nor Karpenter from removing an idle node.
 */
export class ImagePrePuller extends Construct {
  /** The DaemonSet manifest. */
  public readonly manifest: eks.KubernetesManifest;
  public readonly name: string;
  public readonly namespace: string;

  constructor(scope: Construct, id: string, props: ImagePrePullerProps) {
    super(scope, id);
    this.name = props.name ?? 'image-pre-puller';
    this.namespace = props.namespace ?? 'kube-system';
    const labelKey = props.nodeLabelKey ?? ACCELERATOR_LABEL;
    const v = new PropsValidator(this, 'ImagePrePuller')
      .check(props.images.length > 0 && props.images.length <= 10, 'images', props.images, 'must list 1 to 10 images');
    props.images.forEach((image, i) => v.check(/^[a-z0-9][\w.\-/:@]*$/i.test(image) && !/:latest$/.test(image), `images[${i}]`, image,
      'must be an image reference with a pinned tag or digest (not :latest)'));
    checkK8sName(v, 'name', this.name);
    checkK8sName(v, 'namespace', this.namespace);
    v.throwIfInvalid();

    const labels = { 'app.kubernetes.io/name': this.name, 'app.kubernetes.io/managed-by': 'cdk-mlops' };
    this.manifest = new eks.KubernetesManifest(this, 'Resource', {
      cluster: props.cluster,
      skipValidation: false,
      manifest: [{
        apiVersion: 'apps/v1',
        kind: 'DaemonSet',
        metadata: { name: this.name, namespace: this.namespace, labels },
        spec: {
          selector: { matchLabels: { 'app.kubernetes.io/name': this.name } },
          // A new image version is pulled onto all nodes at once: the pods hold no state.
          updateStrategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: '100%' } },
          template: {
            metadata: { labels },
            spec: {
              automountServiceAccountToken: false,
              enableServiceLinks: false,
              // `sleep` ignores SIGTERM; nothing needs a grace period.
              terminationGracePeriodSeconds: 1,
              affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [{ key: labelKey, operator: 'Exists' }] }] } } },
              tolerations: (props.tolerateTaints ?? [GPU_TAINT_KEY]).map((key) => ({ key, operator: 'Exists', effect: 'NoSchedule' })),
              containers: props.images.map((image, i) => ({
                name: `image-${i}`,
                image,
                imagePullPolicy: 'IfNotPresent',
                command: ['/bin/sleep', 'infinity'],
                resources: { requests: { cpu: '1m', memory: '16Mi' }, limits: { cpu: '10m', memory: '16Mi' } },
                securityContext: {
                  runAsNonRoot: true, runAsUser: 1000, allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] },
                },
              })),
            },
          },
        },
      }],
    });
    for (const d of props.dependsOn ?? []) this.manifest.node.addDependency(d);
  }
}
