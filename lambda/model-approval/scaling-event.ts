/**
 * The event that records a deregistered scalable target until the endpoint update ends (no SDK imports: the
 * registry construct builds its EventBridge rule from the same names).
 */
export const SCALING_EVENT_SOURCE = 'cdk-mlops.model-approval';
export const SCALING_SUSPENDED = 'Endpoint Scaling Suspended';
/** Application Auto Scaling's names of a SageMaker variant's instance count. */
export const SAGEMAKER_NAMESPACE = 'sagemaker';
export const VARIANT_DIMENSION = 'sagemaker:variant:DesiredInstanceCount';
export const variantResourceId = (endpointName: string, variant: string): string => `endpoint/${endpointName}/variant/${variant}`;

/**
 * The handler's environment variable listing the alarms that run step scaling policies (JSON `ScalingAlarm[]`): when
 * the handler puts such a policy back, it points the alarm at the policy's new ARN.
 */
export const SCALING_ALARMS_ENV = 'SCALING_ALARMS';
/** An alarm whose actions run the step scaling policy `PolicyName` of variant `VariantName`. */
export interface ScalingAlarm {
  VariantName: string;
  PolicyName: string;
  AlarmName: string;
}
