import { type Template } from 'aws-cdk-lib/assertions';
import { PropsValidationError, RetrainOnDrift, type RetrainOnDriftProps } from '../../../constructs';
import { nagFindings, newStack, template } from '../../helpers';

const VIOLATIONS = {
  source: ['aws.sagemaker'],
  detailType: ['SageMaker Processing Job State Change'],
  detail: { MonitoringScheduleArn: ['arn:aws:sagemaker:us-east-1:111111111111:monitoring-schedule/churn-dq'], ProcessingJobStatus: ['Completed'] },
};

describe('RetrainOnDrift', () => {
  const stack = newStack();
  const loop = new RetrainOnDrift(stack, 'Loop', {
    sources: [{ name: 'churn', violationEventPattern: VIOLATIONS }],
    requestSource: 'cdk-mlops.monitoring',
    requestDetailType: 'Model Drift Detected',
  });
  let t: Template;
  beforeAll(() => {
    t = template(stack);
  });

  test('the violation rule targets the state machine with the reason and the run as input', () => {
    const [rule] = Object.values(t.findResources('AWS::Events::Rule')).map((r) => r.Properties);
    expect(rule.EventPattern).toEqual({ 'source': ['aws.sagemaker'], 'detail-type': ['SageMaker Processing Job State Change'], 'detail': VIOLATIONS.detail });
    const [target] = rule.Targets;
    expect(target.Arn).toEqual({ Ref: stack.getLogicalId(loop.stateMachine.node.defaultChild as never) });
    expect(target.InputTransformer.InputPathsMap).toEqual({
      'detail-ExitMessage': '$.detail.ExitMessage', 'detail-MonitoringScheduleArn': '$.detail.MonitoringScheduleArn',
      'detail-ProcessingJobName': '$.detail.ProcessingJobName', 'time': '$.time',
    });
    const input = target.InputTransformer.InputTemplate as string;
    expect(input).toContain('"reason":"Drift detected: data-quality violations on churn (<detail-ExitMessage>)"');
    expect(input).toContain('"monitoringScheduleArn":<detail-MonitoringScheduleArn>');
    expect(target.RetryPolicy).toEqual({ MaximumRetryAttempts: 10, MaximumEventAgeInSeconds: 21600 });
  });

  test('the state machine publishes the retraining request with the reason on the default bus', () => {
    t.hasResourceProperties('AWS::StepFunctions::StateMachine', {
      StateMachineType: 'EXPRESS', TracingConfiguration: { Enabled: true },
      LoggingConfiguration: { Level: 'ALL', IncludeExecutionData: true },
      EncryptionConfiguration: { Type: 'CUSTOMER_MANAGED_KMS_KEY' },
    });
    // The definition is a Fn::Join around the partition: put "aws" in and read it as JSON.
    const joined = Object.values(t.findResources('AWS::StepFunctions::StateMachine'))[0].Properties.DefinitionString['Fn::Join'][1] as unknown[];
    const definition = JSON.parse(joined.map((p) => (typeof p === 'string' ? p : 'aws')).join(''));
    const state = definition.States.RequestRetraining;
    expect(state.Resource).toBe('arn:aws:states:::events:putEvents');
    expect(state.Parameters.Entries).toEqual([{
      Source: 'cdk-mlops.monitoring',
      DetailType: 'Model Drift Detected',
      Detail: {
        'reason.$': '$.reason', 'trigger': 'drift', 'source.$': '$.source', 'kind.$': '$.kind',
        'monitoringScheduleArn.$': '$.monitoringScheduleArn', 'processingJobName.$': '$.processingJobName', 'detectedAt.$': '$.detectedAt',
      },
    }]);
    const policy = JSON.stringify(t.findResources('AWS::IAM::Policy'));
    expect(policy).toContain('events:PutEvents');
    expect(policy).toMatch(/event-bus\/default/);
  });

  test('cdk-nag AwsSolutions finds nothing', () => {
    expect(nagFindings(stack)).toEqual([]);
  });
});

describe('RetrainOnDrift validation', () => {
  const make = (props: Partial<RetrainOnDriftProps>) => () => new RetrainOnDrift(newStack(), 'Loop', {
    sources: [{ name: 'churn', violationEventPattern: VIOLATIONS }], requestSource: 'cdk-mlops.monitoring', requestDetailType: 'Model Drift Detected', ...props,
  });
  test.each<[string, Partial<RetrainOnDriftProps>, RegExp]>([
    ['no sources', { sources: [] }, /sources: 0 — must list at least one drift source/],
    ['aws. source', { requestSource: 'aws.sagemaker' }, /requestSource: "aws.sagemaker" — must be an event source/],
    ['bad source name', { sources: [{ name: 'churn model', violationEventPattern: VIOLATIONS }] }, /sources\[0\]\.name: "churn model"/],
  ])('%s', (_name, props, message) => {
    expect(make(props)).toThrow(PropsValidationError);
    expect(make(props)).toThrow(message);
  });
});
