export * from './prices';
export * from './estimate';
export * from './assembly';
export * from './render';
export * from './budget';
export * from './summary';
