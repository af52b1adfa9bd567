export * from './model-delivery-pipeline';
export * from './image-scan-gate';
export * from './training-workflow';
export * from './model-promotion';
export * from './infrastructure-pipeline';
export * from './github-deploy-role';
export * from './ray-training-step';
