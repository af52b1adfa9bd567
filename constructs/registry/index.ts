export * from './image-registry';
