export * from './add-on';
export * from './helm-add-on';
export * from './cluster-autoscaler';
export * from './nvidia-device-plugin';
export * from './kuberay-operator';
export * from './ray-observability';
export * from './container-insights';
export * from './volcano-scheduler';
