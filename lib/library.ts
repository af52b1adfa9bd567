/**
 * The construct library: every construct with its props and interfaces, grouped by domain as in the README's
 * construct table. It is the entry jsii compiles (`npm run jsii`), so everything exported here is usable from
 * Python; `lib/index.ts` re-exports it with the platform app (stage, stacks, config loader).
 */

// Network
export type * from '../constructs/network/platform-network';
export { PlatformNetwork } from '../constructs/network/platform-network';

// Data and artifacts
export type * from '../constructs/storage/data-lake';
export { DataLake } from '../constructs/storage/data-lake';
export type * from '../constructs/registry/image-registry';
export { ImageRegistry } from '../constructs/registry/image-registry';

// Training compute: GPU boxes
export type * from '../constructs/compute/gpu-instance';
export { GpuInstance } from '../constructs/compute/gpu-instance';

// Training compute: EKS, add-ons and Ray
export type * from '../constructs/eks/training-cluster';
export { TrainingCluster } from '../constructs/eks/training-cluster';
export type * from '../constructs/eks/image-cache';
export { DockerHubCache } from '../constructs/eks/image-cache';
export type * from '../constructs/eks/addons/add-on';
export { ClusterCapabilities } from '../constructs/eks/addons/cluster-capabilities';
export type * from '../constructs/eks/addons/helm-add-on';
export { HelmAddOn } from '../constructs/eks/addons/helm-add-on';
export type * from '../constructs/eks/addons/cluster-autoscaler';
export { ClusterAutoscaler } from '../constructs/eks/addons/cluster-autoscaler';
export type * from '../constructs/eks/addons/container-insights';
export { ContainerInsights } from '../constructs/eks/addons/container-insights';
export type * from '../constructs/eks/addons/karpenter';
export { Karpenter } from '../constructs/eks/addons/karpenter';
export type * from '../constructs/eks/image-pre-puller';
export { ImagePrePuller } from '../constructs/eks/image-pre-puller';
export type * from '../constructs/eks/addons/kuberay-operator';
export { KubeRayOperator } from '../constructs/eks/addons/kuberay-operator';
export type * from '../constructs/eks/addons/nvidia-device-plugin';
export { NvidiaDevicePlugin } from '../constructs/eks/addons/nvidia-device-plugin';
export type * from '../constructs/eks/addons/ray-observability';
export { RayObservability } from '../constructs/eks/addons/ray-observability';
export type * from '../constructs/eks/addons/volcano-scheduler';
export { VolcanoScheduler } from '../constructs/eks/addons/volcano-scheduler';
export type * from '../constructs/eks/ray/ray-manifest-base';
export type * from '../constructs/eks/ray/ray-cluster-spec';
export type * from '../constructs/eks/ray/ray-cluster';
export { RayCluster } from '../constructs/eks/ray/ray-cluster';
export type * from '../constructs/eks/ray/ray-job';
export { RayJob } from '../constructs/eks/ray/ray-job';
export type * from '../constructs/eks/ray/ray-cron-job';
export { RayCronJob } from '../constructs/eks/ray/ray-cron-job';
export type * from '../constructs/eks/ray/ray-service';
export { RayService } from '../constructs/eks/ray/ray-service';
export type * from '../constructs/eks/ray/onnx-ray-service';
export { OnnxRayService } from '../constructs/eks/ray/onnx-ray-service';
export type * from '../constructs/eks/ray/ray-service-account';
export { RayServiceAccount } from '../constructs/eks/ray/ray-service-account';
export type * from '../constructs/eks/ray/ray-job-gateway';
export { RayJobGateway } from '../constructs/eks/ray/ray-job-gateway';

// Serving
export type * from '../constructs/serving/model-image';
export { ModelImage } from '../constructs/serving/model-image';
export type * from '../constructs/serving/sagemaker-endpoint';
export { SageMakerEndpoint } from '../constructs/serving/sagemaker-endpoint';
export type * from '../constructs/serving/model-registry';
export { ModelRegistry } from '../constructs/serving/model-registry';
export type * from '../constructs/serving/lambda-inference';
export { LambdaInference } from '../constructs/serving/lambda-inference';
export type * from '../constructs/serving/lambda-model-deployment';
export { LambdaModelDeployment } from '../constructs/serving/lambda-model-deployment';
export type * from '../constructs/serving/data-quality-monitor';
export { DataQualityMonitor } from '../constructs/serving/data-quality-monitor';

// Operations: alerts, monitoring, drift
export type * from '../constructs/monitoring/alerts-topic';
export { AlertsTopic } from '../constructs/monitoring/alerts-topic';
export type * from '../constructs/monitoring/platform-monitoring';
export { PlatformMonitoring } from '../constructs/monitoring/platform-monitoring';
export type * from '../constructs/monitoring/drift-detection';
export { DriftDetection, DriftTargets } from '../constructs/monitoring/drift-detection';
export type * from '../constructs/monitoring/retrain-on-drift';
export { RetrainOnDrift } from '../constructs/monitoring/retrain-on-drift';
export type * from '../constructs/monitoring/retraining-request-forwarder';
export { RetrainingRequestForwarder } from '../constructs/monitoring/retraining-request-forwarder';
export type * from '../constructs/monitoring/retraining-trigger';
export { RetrainingTrigger } from '../constructs/monitoring/retraining-trigger';

// Experiments and features
export type * from '../constructs/experiments/mlflow-tracking-server';
export { MlflowTrackingServer } from '../constructs/experiments/mlflow-tracking-server';
export type * from '../constructs/features/feature-group';
export { FeatureGroup } from '../constructs/features/feature-group';
export type * from '../constructs/features/offline-store-workgroup';
export { OfflineStoreWorkgroup } from '../constructs/features/offline-store-workgroup';

// Delivery
export type * from '../pipelines/model-delivery-pipeline';
export { ModelDeliveryPipeline } from '../pipelines/model-delivery-pipeline';
export type * from '../pipelines/training-workflow';
export { TrainingWorkflow } from '../pipelines/training-workflow';
export type * from '../pipelines/ray-training-step';
export { RayTrainingStep } from '../pipelines/ray-training-step';
export type * from '../pipelines/image-scan-gate';
export { ImageScanGate } from '../pipelines/image-scan-gate';
export type * from '../pipelines/model-promotion';
export { ModelPromotion } from '../pipelines/model-promotion';
export type * from '../pipelines/infrastructure-pipeline';
export { InfrastructurePipeline } from '../pipelines/infrastructure-pipeline';
export type * from '../pipelines/github-deploy-role';
export { GitHubDeployRole } from '../pipelines/github-deploy-role';

// Errors every construct throws for bad props
export { PropsValidationError } from '../constructs/core/validation';
