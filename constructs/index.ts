export * from './core/validation';
export * from './core/defaults';
export * from './core/nag';
export * from './core/paths';
export * from './network';
export * from './storage';
export * from './registry';
export * from './monitoring';
