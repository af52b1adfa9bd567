export * from './gpu-instance';
