// Journey test support: configs, the synthesized platform (cached across test files), intrinsics resolved to
// concrete names and ARNs, and IAM decisions simulated over the synthesized policies.
export * from './assembly';
export * from './configs';
export * from './iam';
export * from './resolve';
