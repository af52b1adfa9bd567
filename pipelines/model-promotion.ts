import { ArnFormat, Duration, type RemovalPolicy, Stack, Token } from 'aws-cdk-lib';
import * as cpactions from 'aws-cdk-lib/aws-codepipeline-actions';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as lambdaFn from 'aws-cdk-lib/aws-lambda';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { Construct } from 'constructs';
import { platformKey } from '../constructs/core/defaults';
import { acknowledgeResourceWildcards } from '../constructs/core/nag';
import { propsError, PropsValidator } from '../constructs/core/validation';
import { gateFunction, loggedStateMachine, pollUntilDecided } from './step-function-parts';

const GROUP = /^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$/;

/** A stage an approved model is promoted to. */
/** The CodeDeploy application and deployment group that shift a Lambda target's alias. */
export interface PromotionDeploymentGroup {
  readonly application: string;
  readonly deploymentGroup: string;
}

export interface PromotionTarget {
  /** Name of the target, e.g. the stage (`staging`); used in action names. */
  readonly name: string;
  /** Model package group of the target's registry; its approval handler deploys Approved packages. */
  readonly modelPackageGroupName: string;
  /** SageMaker endpoint the smoke test invokes (it waits until the endpoint serves the promoted package). @default - none */
  readonly endpointName?: string;
  /**
   * Lambda inference function (`name:alias`) the smoke test invokes instead: the group's deployment handler
   * (`LambdaModelDeployment`) publishes a version serving each approved package and shifts this alias to it; the smoke
   * test waits until the alias serves the promoted package. @default - none
   */
  readonly functionName?: string;
  /**
   * The CodeDeploy application and deployment group that shift `functionName`'s alias: the smoke test fails as soon as
   * the shift to the promoted package is stopped or rolled back (instead of waiting for its timeout). @default - none
   */
  readonly deployment?: PromotionDeploymentGroup;
  /** Account of the target stage, when it is not the pipeline's: its group is addressed by ARN. @default - the pipeline's account */
  readonly account?: string;
  /** @default - the pipeline's region */
  readonly region?: string;
  /**
   * Smoke test function the target stage runs for its endpoint (same `lambda/smoke-test` handler), which the pipeline
   * invokes until it decides: for an endpoint in another account (the pipeline cannot reach it) or an asynchronous one
   * (asked through the target's bucket). Required for a target in another account.
   * @default - the pipeline's own smoke test handler
   */
  readonly smokeTestFunctionName?: string;
}

export interface ModelPromotionProps {
  /** Group the pipeline registers new versions in (the source of promotions). */
  readonly sourceModelPackageGroupName: string;
  /** Stages to promote to; each needs endpointName or functionName for its smoke test. */
  readonly targets: PromotionTarget[];
  /** Instances of the smoke test request `{"instances": ...}`. @default [[0, 0, 0, 0]] */
  readonly smokeTestInstances?: number[][];
  /** How long a smoke test may wait for the deployment to finish. @default Duration.minutes(60) */
  readonly smokeTestTimeout?: Duration;
  /** @default Duration.minutes(1) */
  readonly pollInterval?: Duration;
  /** @default - a new customer-managed key */
  readonly encryptionKey?: kms.IKey;
  /** @default logs.RetentionDays.ONE_YEAR */
  readonly logRetention?: logs.RetentionDays;
  /** @default RemovalPolicy.RETAIN */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * Promotion of a registered model version through stages. The deploy state machine marks the registered version
 * Approved and copies it as an Approved version into the target stage's model package group, which starts that
 * registry's deployment handler (an endpoint update with its guardrails, or for a Lambda target a new function version
 * shifted in by CodeDeploy, `LambdaModelDeployment`). The smoke test state machine then runs the `lambda/smoke-test`
 * handler until the endpoint (or the function's alias) serves the new version and answers a sample request correctly.
 */
export class ModelPromotion extends Construct {
  public readonly deployStateMachine: sfn.StateMachine;
  /** Smoke tests the pipeline runs itself (with {@link ModelPromotion.smokeTestHandler}); absent when every target runs its own. */
  public readonly smokeTestStateMachine?: sfn.StateMachine;
  public readonly smokeTestHandler?: lambda.IFunction;
  /** Smoke tests of targets that run their own (`smokeTestFunctionName`), by target name: each invokes that function. */
  public readonly remoteSmokeTestStateMachines: Readonly<Record<string, sfn.StateMachine>>;
  public readonly encryptionKey: kms.IKey;
  private readonly instances: number[][];
  private readonly targets = new Map<string, PromotionTarget>();

  constructor(scope: Construct, id: string, props: ModelPromotionProps) {
    super(scope, id);
    this.instances = props.smokeTestInstances ?? [[0, 0, 0, 0]];
    const timeout = props.smokeTestTimeout ?? Duration.minutes(60);
    const interval = props.pollInterval ?? Duration.minutes(1);
    const v = new PropsValidator(this, 'ModelPromotion')
      .check(Token.isUnresolved(props.sourceModelPackageGroupName) || GROUP.test(props.sourceModelPackageGroupName), 'sourceModelPackageGroupName', props.sourceModelPackageGroupName, 'must be 1-63 letters, digits and hyphens')
      .check(props.targets.length > 0, 'targets', props.targets, 'must hold at least one target')
      .check(this.instances.length > 0 && this.instances.every((r) => r.length > 0 && r.every(Number.isFinite)), 'smokeTestInstances', this.instances, 'must be a non-empty list of non-empty lists of finite numbers')
      .intRange('smokeTestTimeout', timeout.toMinutes({ integral: false }), 5, 720, 'minutes')
      .intRange('pollInterval', interval.toSeconds(), 10, 900, 'seconds');
    props.targets.forEach((t, i) => {
      v.check(/^[A-Za-z0-9_-]{1,40}$/.test(t.name) && !this.targets.has(t.name), `targets[${i}].name`, t.name, 'must be 1-40 letters, digits, "-" or "_", unique among targets');
      v.check(GROUP.test(t.modelPackageGroupName), `targets[${i}].modelPackageGroupName`, t.modelPackageGroupName, 'must be 1-63 letters, digits and hyphens');
      v.check(t.modelPackageGroupName !== props.sourceModelPackageGroupName, `targets[${i}].modelPackageGroupName`, t.modelPackageGroupName, 'must differ from sourceModelPackageGroupName (a copy into the same group would deploy twice)');
      v.check((t.endpointName === undefined) !== (t.functionName === undefined), `targets[${i}]`, { endpointName: t.endpointName, functionName: t.functionName }, 'give exactly one of endpointName and functionName');
      if (t.endpointName !== undefined) v.check(GROUP.test(t.endpointName), `targets[${i}].endpointName`, t.endpointName, 'must be a SageMaker endpoint name');
      if (t.functionName !== undefined) {
        v.check(/^[a-zA-Z0-9-_]{1,64}:(?!\d+$)[a-zA-Z0-9-_]{1,128}$/.test(t.functionName), `targets[${i}].functionName`, t.functionName,
          'must be "<function>:<alias>": the alias the group\'s deployment handler shifts (e.g. a LambdaModelDeployment\'s function and its live alias)');
      }
      if (t.account !== undefined) {
        v.check(Token.isUnresolved(t.account) || /^\d{12}$/.test(t.account), `targets[${i}].account`, t.account, 'must be a 12-digit account id');
        v.check(t.smokeTestFunctionName !== undefined, `targets[${i}].smokeTestFunctionName`, undefined, 'a target in another account runs its own smoke test (the pipeline cannot reach its endpoint); name that function');
      }
      this.targets.set(t.name, t);
    });
    v.throwIfInvalid();

    const stack = Stack.of(this);
    this.encryptionKey = props.encryptionKey ?? platformKey(this, 'Key', { description: 'Model promotion logs and state', removalPolicy: props.removalPolicy });
    const parts = { encryptionKey: this.encryptionKey, logRetention: props.logRetention ?? logs.RetentionDays.ONE_YEAR, removalPolicy: props.removalPolicy };
    const sm = (resource: string, resourceName: string, t?: PromotionTarget) => stack.formatArn({ service: 'sagemaker', resource, resourceName, account: t?.account, region: t?.region });
    const sourcePackages = sm('model-package', `${props.sourceModelPackageGroupName.toLowerCase()}/*`);
    // Targets in other accounts: the group and its versions there (their group policy lets this account add versions).
    const targetGroups = props.targets.map((t) => sm('model-package-group', t.modelPackageGroupName.toLowerCase(), t));
    const targetPackages = props.targets.map((t) => sm('model-package', `${t.modelPackageGroupName.toLowerCase()}/*`, t));

    // Deploy: approve the registered version, then copy it (Approved) into the target stage's group.
    const describe = new tasks.CallAwsService(this, 'DescribeSource', {
      service: 'sagemaker', action: 'describeModelPackage', iamResources: [sourcePackages],
      parameters: { 'ModelPackageName.$': '$.sourceModelPackageArn' },
      resultSelector: { 'InferenceSpecification.$': '$.InferenceSpecification' },
      resultPath: '$.source',
    });
    const approve = new tasks.CallAwsService(this, 'ApproveSource', {
      service: 'sagemaker', action: 'updateModelPackage', iamResources: [sourcePackages],
      parameters: { 'ModelPackageArn.$': '$.sourceModelPackageArn', ModelApprovalStatus: 'Approved', 'ApprovalDescription.$': '$.approvalDescription' },
      resultPath: sfn.JsonPath.DISCARD,
    });
    const copy = new tasks.CallAwsService(this, 'CopyToTarget', {
      service: 'sagemaker', action: 'createModelPackage', iamResources: [...targetGroups, ...targetPackages],
      parameters: {
        'ModelPackageGroupName.$': '$.targetModelPackageGroupName',
        'ModelPackageDescription.$': "States.Format('Promoted from {}', $.sourceModelPackageArn)",
        'InferenceSpecification.$': '$.source.InferenceSpecification',
        ModelApprovalStatus: 'Approved',
        'CustomerMetadataProperties': { 'SourceModelPackageArn.$': '$.sourceModelPackageArn' },
      },
      resultSelector: { 'modelPackageArn.$': '$.ModelPackageArn' },
      resultPath: '$.promoted',
    });
    this.deployStateMachine = loggedStateMachine(this, 'DeployStateMachine', describe.next(approve).next(copy), Duration.minutes(10), {
      ...parts, comment: `Promotes approved ${props.sourceModelPackageGroupName} versions to ${props.targets.map((t) => t.name).join(', ')}`,
    });
    acknowledgeResourceWildcards(this.deployStateMachine.role, [sourcePackages, ...targetPackages],
      'Model package versions are numbered as they are created; the statements name the source and target groups\' versions only.');

    // Smoke test: wait for the deployment, then check the model's answer.
    const local = props.targets.filter((t) => t.smokeTestFunctionName === undefined);
    if (local.length > 0) {
      const fn = gateFunction(this, 'SmokeTestHandler', 'smoke-test', 'Smoke test: invokes a deployed model with a sample request', { ...parts, timeout: Duration.minutes(1) });
      this.smokeTestHandler = fn;
      const endpoints = local.filter((t) => t.endpointName).map((t) => t.endpointName!.toLowerCase());
      const localPackages = local.map((t) => sm('model-package', `${t.modelPackageGroupName.toLowerCase()}/*`));
      if (endpoints.length > 0) {
        fn.addToRolePolicy(new iam.PolicyStatement({
          actions: ['sagemaker:DescribeEndpoint', 'sagemaker:InvokeEndpoint', 'sagemaker:InvokeEndpointAsync'], resources: endpoints.map((e) => sm('endpoint', e)),
        }));
        // The approval handler names endpoint configs and models after the endpoint and the package version.
        const generated = endpoints.flatMap((e) => [sm('endpoint-config', `${e}*`), sm('model', `${e}*`)]);
        fn.addToRolePolicy(new iam.PolicyStatement({ actions: ['sagemaker:DescribeEndpointConfig', 'sagemaker:DescribeModel'], resources: generated }));
        fn.addToRolePolicy(new iam.PolicyStatement({ actions: ['sagemaker:DescribeModelPackage'], resources: localPackages }));
        acknowledgeResourceWildcards(fn.role, [...generated, ...localPackages],
          'Endpoint configs, models and package versions are created per deployment with names derived from the endpoint and group; read-only Describe actions.');
      }
      // A Lambda target: which version the alias serves (and which package that version names), then the alias itself.
      for (const t of local.filter((x) => x.functionName)) {
        const name = t.functionName!.split(':')[0];
        const arn = (q: string) => stack.formatArn({ service: 'lambda', resource: 'function', resourceName: `${name}:${q}`, arnFormat: ArnFormat.COLON_RESOURCE_NAME });
        const packages = sm('model-package', `${t.modelPackageGroupName.toLowerCase()}/*`);
        fn.addToRolePolicy(new iam.PolicyStatement({ actions: ['lambda:GetAlias', 'lambda:InvokeFunction'], resources: [arn(t.functionName!.split(':')[1])] }));
        fn.addToRolePolicy(new iam.PolicyStatement({ actions: ['lambda:GetFunctionConfiguration'], resources: [arn('*')] }));
        fn.addToRolePolicy(new iam.PolicyStatement({ actions: ['sagemaker:DescribeModelPackage'], resources: [packages] }));
        acknowledgeResourceWildcards(fn.role, [arn('*'), packages], 'Function and package versions are numbered at run time; read-only, on one function and one group.');
        if (t.deployment) {
          // Whether the shift to the promoted package was rolled back: the function's versions and the group's deployments.
          fn.addToRolePolicy(new iam.PolicyStatement({ actions: ['lambda:ListVersionsByFunction'], resources: [stack.formatArn({ service: 'lambda', resource: 'function', resourceName: name, arnFormat: ArnFormat.COLON_RESOURCE_NAME })] }));
          fn.addToRolePolicy(new iam.PolicyStatement({
            actions: ['codedeploy:ListDeployments', 'codedeploy:GetDeployment'],
            resources: [stack.formatArn({ service: 'codedeploy', resource: 'deploymentgroup', resourceName: `${t.deployment.application}/${t.deployment.deploymentGroup}`, arnFormat: ArnFormat.COLON_RESOURCE_NAME })],
          }));
        }
      }
      const smoke = pollUntilDecided(this, 'Smoke', fn, sfn.TaskInput.fromJsonPathAt('$.request'), interval, 'SmokeTestFailed');
      this.smokeTestStateMachine = loggedStateMachine(this, 'SmokeTestStateMachine', smoke, timeout, { ...parts, comment: 'Waits for a promoted model to serve and checks its answer' });
    }
    // Another account's target tests its own endpoint: the pipeline invokes that stage's function until it decides.
    const remote: Record<string, sfn.StateMachine> = {};
    for (const t of props.targets.filter((x) => x.smokeTestFunctionName !== undefined)) {
      const arn = stack.formatArn({ service: 'lambda', resource: 'function', resourceName: t.smokeTestFunctionName!, arnFormat: ArnFormat.COLON_RESOURCE_NAME, account: t.account, region: t.region });
      const fn = lambdaFn.Function.fromFunctionAttributes(this, `SmokeTest-${t.name}`, { functionArn: arn, sameEnvironment: false, skipPermissions: true });
      const smoke = pollUntilDecided(this, `Smoke-${t.name}`, fn, sfn.TaskInput.fromJsonPathAt('$.request'), interval, 'SmokeTestFailed');
      remote[t.name] = loggedStateMachine(this, `SmokeTestStateMachine-${t.name}`, smoke, timeout, { ...parts, comment: `Waits until ${t.name}${t.account ? ` (account ${t.account})` : ''} serves the promoted model and its own smoke test passes` });
    }
    this.remoteSmokeTestStateMachines = remote;
  }

  /** Pipeline action that promotes `sourceModelPackageArn` (e.g. `#{Register.MODEL_PACKAGE_ARN}`) to a target. */
  public deployAction(targetName: string, sourceModelPackageArn: string, runOrder?: number): cpactions.StepFunctionInvokeAction {
    const t = this.target(targetName);
    return new cpactions.StepFunctionInvokeAction({
      actionName: 'Deploy',
      runOrder,
      stateMachine: this.deployStateMachine,
      stateMachineInput: cpactions.StateMachineInput.literal({
        sourceModelPackageArn,
        // Another account's group is named by ARN (CreateModelPackage then adds the version there).
        targetModelPackageGroupName: t.account !== undefined
          ? Stack.of(this).formatArn({ service: 'sagemaker', resource: 'model-package-group', resourceName: t.modelPackageGroupName.toLowerCase(), account: t.account, region: t.region })
          : t.modelPackageGroupName,
        approvalDescription: `Promoted to ${t.name} by the model delivery pipeline`,
      }),
    });
  }

  /** Pipeline action that smoke-tests a target after {@link ModelPromotion.deployAction}. */
  public smokeTestAction(targetName: string, sourceModelPackageArn: string, runOrder?: number): cpactions.StepFunctionInvokeAction {
    const t = this.target(targetName);
    const request = t.endpointName
      ? { endpointName: t.endpointName, sourceModelPackageArn, instances: this.instances }
      : { functionName: t.functionName, sourceModelPackageArn, instances: this.instances, ...(t.deployment ? { deployment: t.deployment } : {}) };
    return new cpactions.StepFunctionInvokeAction({
      actionName: 'SmokeTest',
      runOrder,
      stateMachine: this.remoteSmokeTestStateMachines[t.name] ?? this.smokeTestStateMachine!,
      stateMachineInput: cpactions.StateMachineInput.literal({ request }),
    });
  }

  private target(name: string): PromotionTarget {
    const t = this.targets.get(name);
    if (!t) throw propsError(`ModelPromotion at "${this.node.path}": no target named "${name}"; targets: ${[...this.targets.keys()].join(', ')}`);
    return t;
  }
}
