export * from './mlflow-tracking-server';
export * as mlflowPerms from './perms';
