import { Duration, type RemovalPolicy } from 'aws-cdk-lib';
import * as cpactions from 'aws-cdk-lib/aws-codepipeline-actions';
import type * as ecr from 'aws-cdk-lib/aws-ecr';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { platformKey } from '../constructs/core/defaults';
import { PropsValidator } from '../constructs/core/validation';
import { gateFunction, loggedStateMachine, pollUntilDecided } from './step-function-parts';

/** Severities the gate understands, most severe first. */
export const SCAN_SEVERITIES = ['CRITICAL', 'HIGH', 'MEDIUM', 'LOW'] as const;
export type ScanSeverity = (typeof SCAN_SEVERITIES)[number];

export interface ImageScanGateProps {
  /** Repository whose images are scanned (scan on push must be on, as the platform's ImageRegistry sets it). */
  readonly repository: ecr.IRepository;
  /** Lowest severity that fails the gate. @default 'CRITICAL' */
  readonly failOnSeverity?: ScanSeverity;
  /** Findings at or above failOnSeverity tolerated. @default 0 */
  readonly maxFindings?: number;
  /** How long to wait for the scan result before failing. @default Duration.minutes(20) */
  readonly timeout?: Duration;
  /** Wait between two looks at the scan. @default Duration.seconds(30) */
  readonly pollInterval?: Duration;
  /** Key of the logs and the state machine. @default - a new customer-managed key */
  readonly encryptionKey?: kms.IKey;
  /** @default logs.RetentionDays.ONE_YEAR */
  readonly logRetention?: logs.RetentionDays;
  /** @default RemovalPolicy.RETAIN */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * Image scan gate: a state machine that asks the `lambda/scan-gate` handler about the ECR scan of one image tag
 * until it has a result, then passes or fails (too many findings at or above the threshold, a failed scan, or no
 * result before the timeout). Run it from a pipeline with {@link ImageScanGate.action}.
 */
export class ImageScanGate extends Construct {
  public readonly handler: lambda.IFunction;
  public readonly stateMachine: sfn.StateMachine;
  public readonly encryptionKey: kms.IKey;

  constructor(scope: Construct, id: string, props: ImageScanGateProps) {
    super(scope, id);
    const failOnSeverity = props.failOnSeverity ?? 'CRITICAL';
    const maxFindings = props.maxFindings ?? 0;
    const timeout = props.timeout ?? Duration.minutes(20);
    const pollInterval = props.pollInterval ?? Duration.seconds(30);
    new PropsValidator(this, 'ImageScanGate')
      .check((SCAN_SEVERITIES as readonly string[]).includes(failOnSeverity), 'failOnSeverity', failOnSeverity, `must be one of ${SCAN_SEVERITIES.join(', ')}`)
      .intRange('maxFindings', maxFindings, 0, 1000, 'findings')
      .intRange('timeout', timeout.toMinutes({ integral: false }), 1, 60, 'minutes')
      .intRange('pollInterval', pollInterval.toSeconds(), 5, 600, 'seconds')
      .throwIfInvalid();

    this.encryptionKey = props.encryptionKey ?? platformKey(this, 'Key', { description: 'Image scan gate logs and state', removalPolicy: props.removalPolicy });
    const parts = { encryptionKey: this.encryptionKey, logRetention: props.logRetention ?? logs.RetentionDays.ONE_YEAR, removalPolicy: props.removalPolicy };
    const fn = gateFunction(this, 'Handler', 'scan-gate', 'Image scan gate: reads ECR scan findings of one image', parts);
    props.repository.grant(fn, 'ecr:DescribeImageScanFindings');
    this.handler = fn;

    const definition = pollUntilDecided(this, 'Scan', fn, sfn.TaskInput.fromObject({
      repositoryName: props.repository.repositoryName,
      'imageTag.$': '$.imageTag',
      failOnSeverity,
      maxFindings,
    }), pollInterval, 'ImageScanGateFailed');
    this.stateMachine = loggedStateMachine(this, 'StateMachine', definition, timeout, {
      ...parts,
      comment: `Fails on more than ${maxFindings} ${failOnSeverity}+ findings in ${props.repository.node.path}`,
    });
  }

  /** A pipeline action running the gate on `imageTag` (e.g. the CodePipeline variable `#{Image.IMAGE_TAG}`). */
  public action(actionName: string, imageTag: string, runOrder?: number): cpactions.StepFunctionInvokeAction {
    return new cpactions.StepFunctionInvokeAction({
      actionName,
      stateMachine: this.stateMachine,
      stateMachineInput: cpactions.StateMachineInput.literal({ imageTag }),
      runOrder,
    });
  }
}
