export * from './model-image';
export * from './sagemaker-endpoint';
export * from './lambda-inference';
