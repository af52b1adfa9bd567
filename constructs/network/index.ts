export * from './platform-network';
