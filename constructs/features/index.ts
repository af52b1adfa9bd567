export * from './feature-group';
export * from './offline-store-workgroup';
