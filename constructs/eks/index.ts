export * from './instance-types';
export * from './addons';
export * from './training-cluster';
export * from './image-cache';
export * from './ray';
export * from './image-pre-puller';
