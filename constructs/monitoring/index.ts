export * from './alerts-topic';
export * from './platform-monitoring';
export * from './retrain-on-drift';
export * from './drift-detection';
export * from './retraining-trigger';
export * from './retraining-request-forwarder';
