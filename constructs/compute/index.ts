export * from './gpu-instance';
export * from './grant-wildcards';
