export * from './platform-stack';
export * from './network-stack';
export * from './data-stack';
export * from './alerts-stack';
