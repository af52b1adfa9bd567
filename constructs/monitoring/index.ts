export * from './alerts-topic';
export * from './platform-monitoring';
export * from './retrain-on-drift';
