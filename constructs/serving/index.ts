export * from './model-image';
export * from './sagemaker-endpoint';
export * from './lambda-inference';
export * from './lambda-model-deployment';
export * from './model-registry';
export * from './data-quality-monitor';
export * from './hosting-instance-types';
