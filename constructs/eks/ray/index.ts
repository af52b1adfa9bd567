export * from './ray-cluster-spec';
export * from './ray-manifest-base';
export * from './ray-cluster';
export * from './ray-job';
export * from './ray-cron-job';
export * from './ray-service';
export * from './ray-service-account';
export * from './onnx-ray-service';
