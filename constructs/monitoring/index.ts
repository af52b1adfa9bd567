export * from './alerts-topic';
export * from './platform-monitoring';
