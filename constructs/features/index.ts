export * from './feature-group';
