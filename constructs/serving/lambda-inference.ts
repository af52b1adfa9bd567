import { Arn, CustomResource, Duration, Fn, RemovalPolicy, Size, Stack, Token } from 'aws-cdk-lib';
import { AccessLogFormat } from 'aws-cdk-lib/aws-apigateway';
import * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import * as authorizers from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import * as integrations from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cwActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as codedeploy from 'aws-cdk-lib/aws-codedeploy';
import type * as ecr from 'aws-cdk-lib/aws-ecr';
import { Platform } from 'aws-cdk-lib/aws-ecr-assets';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import type * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import { encryptedLogGroup, logsServicePrincipal, platformKey } from '../core/defaults';
import { acknowledge, acknowledgeCheck, acknowledgeControls, acknowledgeResourceWildcards } from '../core/nag';
import { isModelPackageArn } from '../../lambda/model-server/src/capture-format';
import { lambdaPath } from '../core/paths';
import { propsError, PropsValidator } from '../core/validation';

/** How clients reach the inference function. */
export enum InferenceFrontDoor {
  /** API Gateway HTTP API (IAM or JWT authorization, throttling, access logs). 30 s request limit. */
  HTTP_API = 'httpApi',
  /** A Lambda function URL on the alias with `AWS_IAM` auth (SigV4), for requests up to the function timeout. */
  FUNCTION_URL = 'functionUrl',
  /** No HTTP endpoint: callers use `lambda:InvokeFunction` on the alias. */
  NONE = 'none',
}

/** Authorization of the HTTP API front door. Unauthenticated access is not offered. */
export interface InferenceAuthorization {
  /** `iam` (SigV4-signed callers with `execute-api:Invoke`) or `jwt` (tokens of `issuer` for `audience`). */
  readonly type: 'iam' | 'jwt';
  /**
   * JWT only: token issuer URL, e.g. a Cognito user pool `https://cognito-idp.<region>.amazonaws.com/<pool id>`.
   * @default - required with `type: 'jwt'`
   */
  readonly issuer?: string;
  /** JWT only: accepted `aud` (or `client_id`) values. @default - required with `type: 'jwt'` */
  readonly audience?: string[];
}

/** Where a serving path writes sampled traffic: `<prefix><source>/<model>/YYYY/MM/DD/HH/`. */
export interface TrafficCaptureLocation {
  readonly bucket: s3.IBucket;
  readonly prefix: string;
  /** Serving path folder under the prefix (e.g. `lambda`). */
  readonly source: string;
  /** Key of the captured objects. @default - the bucket's key */
  readonly encryptionKey?: kms.IKey;
}

/** The model the function serves, read from S3 at start-up. */
export interface InferenceModelLocation {
  readonly bucket: s3.IBucket;
  /** Object key of the `.onnx` file. */
  readonly key: string;
}

export interface LambdaInferenceProps {
  /**
   * Run the image from this ECR repository instead of building the bundled model server. Give `imageTag`.
   * @default - the model server in `lambda/model-server` built with `Dockerfile.lambda` as an image asset
   */
  readonly repository?: ecr.IRepository;
  /** Tag (or `sha256:` digest) of the image in `repository`. Required with `repository`. @default - none */
  readonly imageTag?: string;
  /**
   * Docker build context for the image asset; must contain `dockerfile`.
   * @default - the package's `lambda/model-server` directory
   */
  readonly assetDirectory?: string;
  /** @default 'Dockerfile.lambda' */
  readonly dockerfile?: string;
  /** The model to serve from S3; the function gets read access and `MODEL_S3_BUCKET`/`MODEL_S3_KEY`. @default - the reference model baked into the image */
  readonly model?: InferenceModelLocation;
  /** Name reported in metadata, logs and the metrics dimension `model`. @default 'reference-classifier' */
  readonly modelName?: string;
  /**
   * CPU architecture of the function and its image. arm64 (Graviton) costs less per inference, but the image is
   * built wherever the assets are published: GitHub's `ubuntu-latest` runners and CDK Pipelines' CodeBuild are
   * x86_64, and building an arm64 image there without QEMU fails with "exec format error" (aws/aws-cdk#28863).
   * Choose ARM_64 when the image is built on arm64 hosts (or with QEMU/buildx set up).
   * @default lambda.Architecture.X86_64
   */
  readonly architecture?: lambda.Architecture;
  /** Memory in MiB, 128-10240 (CPU scales with memory). @default 2048 */
  readonly memorySize?: number;
  /** 1 s to 15 min; at most 30 s with the HTTP API front door. @default Duration.seconds(30) */
  readonly timeout?: Duration;
  /** /tmp size, 512-10240 MiB. @default Size.mebibytes(512) */
  readonly ephemeralStorageSize?: Size;
  /** Concurrency reserved for (and capping) the function, 1-10000. @default - unreserved, account pool */
  readonly reservedConcurrentExecutions?: number;
  /** Pre-initialized environments on the alias, 1-10000 and at most the reserved concurrency. @default - none (scales to zero) */
  readonly provisionedConcurrentExecutions?: number;
  /** Largest accepted batch. @default 256 */
  readonly maxBatchSize?: number;
  /** Extra environment variables for the model server. @default - none */
  readonly environment?: Record<string, string>;
  /** @default 'live' */
  readonly aliasName?: string;
  /**
   * Physical name of the function. Give one when something must name the function without a reference to it (another
   * account, or a {@link LambdaModelDeployment}, whose answer the function's environment depends on).
   * @default - a name CloudFormation generates
   */
  readonly functionName?: string;
  /** Name of the CodeDeploy application of the canary deployments (fixed for the same reasons). @default - generated */
  readonly deploymentApplicationName?: string;
  /** Name of the CodeDeploy deployment group of the canary deployments. @default - generated */
  readonly deploymentGroupName?: string;
  /** Shift traffic to new versions through CodeDeploy with automatic rollback on the construct's alarms. @default true */
  readonly canaryDeployments?: boolean;
  /** @default codedeploy.LambdaDeploymentConfig.CANARY_10PERCENT_5MINUTES */
  readonly deploymentConfig?: codedeploy.ILambdaDeploymentConfig;
  /** p99 duration above which the latency alarm fires (and a canary rolls back). @default Duration.seconds(2) */
  readonly latencyAlarmThreshold?: Duration;
  /** Topic notified when an alarm changes state. @default - none */
  readonly alarmTopic?: sns.ITopic;
  /** @default InferenceFrontDoor.HTTP_API */
  readonly frontDoor?: InferenceFrontDoor;
  /** HTTP API authorization. Function URLs always use IAM. @default { type: 'iam' } */
  readonly authorization?: InferenceAuthorization;
  /** Steady-state requests per second allowed through the HTTP API. @default 100 */
  readonly throttleRateLimit?: number;
  /** Burst of requests allowed through the HTTP API. @default 200 */
  readonly throttleBurstLimit?: number;
  /** Key for the function's and the API's log groups. @default - a new customer-managed key with rotation */
  readonly encryptionKey?: kms.IKey;
  /** @default logs.RetentionDays.THREE_MONTHS */
  readonly logRetention?: logs.RetentionDays;
  /** Removal policy of the log groups and the key the construct creates. @default RemovalPolicy.RETAIN */
  readonly removalPolicy?: RemovalPolicy;
  /** Execution role. @default - a role allowed to write its own log group, traces and read the model object */
  readonly role?: iam.IRole;
  /** Sample requests and responses to the lake for drift detection (see `lambda/model-server/src/capture-format.ts`). @default - no capture */
  readonly capture?: InferenceCaptureOptions;
}

/** Traffic capture of the Lambda model server. */
export interface InferenceCaptureOptions {
  /** The data lake bucket captures go to. */
  readonly bucket: s3.IBucket;
  /** @default 'capture/lambda/' */
  readonly prefix?: string;
  /** Share of successful predictions captured, 1-100. */
  readonly samplingPercentage: number;
  /** Key the objects are encrypted with. @default - the bucket's key */
  readonly encryptionKey?: kms.IKey;
  /** The model package served, for the partition and the baseline. @default - none: captures are partitioned by model name */
  readonly modelPackageArn?: string;
}

const API_GATEWAY_MAX_TIMEOUT_SECONDS = 30;

/**
 * Serves an ONNX model from a Lambda container image: the repository's model server (or your image),
 * published as versions behind an alias, rolled out by CodeDeploy canaries that roll back on the error and
 * p99-latency alarms the construct creates, with optional provisioned concurrency, X-Ray tracing, an
 * encrypted log group, and an authenticated front door (HTTP API with IAM/JWT, or an IAM function URL).
 */
export class LambdaInference extends Construct {
  public readonly function: lambda.DockerImageFunction;
  /** The alias clients and the front door invoke; CodeDeploy shifts it between versions. */
  public readonly alias: lambda.Alias;
  public readonly role: iam.IRole;
  public readonly logGroup: logs.ILogGroup;
  public readonly encryptionKey: kms.IKey;
  /** The HTTP API, when the front door is `HTTP_API`. */
  public readonly httpApi?: apigwv2.HttpApi;
  /** The function URL, when the front door is `FUNCTION_URL`. */
  public readonly functionUrl?: lambda.FunctionUrl;
  /** The URL clients call (HTTP API endpoint or function URL), if there is a front door. */
  public readonly url?: string;
  public readonly deploymentGroup?: codedeploy.LambdaDeploymentGroup;
  /** Alarms on the alias: function errors, model-server 5xx, p99 duration. */
  public readonly errorsAlarm: cloudwatch.Alarm;
  public readonly serverErrorsAlarm: cloudwatch.Alarm;
  public readonly latencyAlarm: cloudwatch.Alarm;
  public readonly frontDoor: InferenceFrontDoor;
  /** Where sampled traffic goes: `<prefix><source>/<model>/YYYY/MM/DD/HH/`, when capture is on. */
  public readonly capture?: TrafficCaptureLocation;
  public readonly modelName: string;
  /** The alias's name (`live` by default). */
  public readonly aliasName: string;
  /** The model the template names (`model`), if any, and the package it came from (`capture.modelPackageArn`). */
  public readonly templateModel?: InferenceModelLocation & { readonly modelPackageArn?: string };
  /** The physical names given in the props (`functionName`, `deploymentApplicationName`, `deploymentGroupName`), literal strings. */
  public readonly physicalNames: { readonly functionName?: string; readonly deploymentApplicationName?: string; readonly deploymentGroupName?: string };
  private served?: CustomResource;

  constructor(scope: Construct, id: string, props: LambdaInferenceProps = {}) {
    super(scope, id);
    const frontDoor = props.frontDoor ?? InferenceFrontDoor.HTTP_API;
    const authorization: InferenceAuthorization = props.authorization ?? { type: 'iam' };
    const memorySize = props.memorySize ?? 2048;
    const timeout = props.timeout ?? Duration.seconds(30);
    const ephemeral = props.ephemeralStorageSize ?? Size.mebibytes(512);
    const latencyThreshold = props.latencyAlarmThreshold ?? Duration.seconds(2);
    const aliasName = props.aliasName ?? 'live';
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;
    this.frontDoor = frontDoor;
    this.modelName = props.modelName ?? 'reference-classifier';
    this.aliasName = aliasName;
    this.templateModel = props.model ? { ...props.model, modelPackageArn: props.capture?.modelPackageArn } : undefined;
    this.physicalNames = { functionName: props.functionName, deploymentApplicationName: props.deploymentApplicationName, deploymentGroupName: props.deploymentGroupName };

    const v = new PropsValidator(this, 'LambdaInference');
    v.intRange('memorySize', memorySize, 128, 10240, 'MiB');
    const timeoutSeconds = timeout.toSeconds();
    v.intRange('timeout', timeoutSeconds, 1, 900, 'seconds');
    if (frontDoor === InferenceFrontDoor.HTTP_API) {
      v.check(Token.isUnresolved(timeoutSeconds) || timeoutSeconds <= API_GATEWAY_MAX_TIMEOUT_SECONDS, 'timeout', `${timeoutSeconds} seconds`,
        `must be at most ${API_GATEWAY_MAX_TIMEOUT_SECONDS} seconds with the HTTP API front door (API Gateway's integration limit); use frontDoor FUNCTION_URL or NONE for longer requests`);
    }
    v.intRange('ephemeralStorageSize', ephemeral.toMebibytes(), 512, 10240, 'MiB');
    v.intRange('reservedConcurrentExecutions', props.reservedConcurrentExecutions, 1, 10000);
    v.intRange('provisionedConcurrentExecutions', props.provisionedConcurrentExecutions, 1, 10000);
    if (props.provisionedConcurrentExecutions !== undefined && props.reservedConcurrentExecutions !== undefined) {
      v.check(props.provisionedConcurrentExecutions <= props.reservedConcurrentExecutions, 'provisionedConcurrentExecutions', props.provisionedConcurrentExecutions,
        `must not exceed reservedConcurrentExecutions (${props.reservedConcurrentExecutions})`);
    }
    v.intRange('maxBatchSize', props.maxBatchSize, 1, 100000);
    v.intRange('throttleRateLimit', props.throttleRateLimit, 1, 100000, 'requests per second');
    v.intRange('throttleBurstLimit', props.throttleBurstLimit, 1, 100000, 'requests');
    const latencyMs = latencyThreshold.toMilliseconds();
    v.check(Token.isUnresolved(latencyMs) || Token.isUnresolved(timeoutSeconds) || (latencyMs > 0 && latencyMs < timeoutSeconds * 1000), 'latencyAlarmThreshold', `${latencyMs} ms`,
      `must be above 0 and below the timeout (${timeoutSeconds * 1000} ms)`);
    v.check(!(props.repository && props.assetDirectory), 'assetDirectory', props.assetDirectory, 'must not be set together with repository (the image comes from one or the other)');
    v.check(!props.repository || props.imageTag !== undefined, 'imageTag', props.imageTag, 'is required with repository: give the image tag or sha256 digest to run');
    v.check(props.imageTag === undefined || Token.isUnresolved(props.imageTag) || /^([\w][\w.-]{0,127}|sha256:[a-f0-9]{64})$/.test(props.imageTag), 'imageTag', props.imageTag,
      'must be an image tag (1-128 letters, digits, "_", ".", "-") or sha256:<64 hex digits>');
    v.check(props.imageTag === undefined || props.repository !== undefined, 'imageTag', props.imageTag, 'is only used with repository');
    v.check(props.functionName === undefined || Token.isUnresolved(props.functionName) || /^[a-zA-Z0-9-_]{1,64}$/.test(props.functionName), 'functionName', props.functionName,
      'must be 1-64 letters, digits, "-" or "_"');
    v.check((props.deploymentApplicationName === undefined && props.deploymentGroupName === undefined) || (props.canaryDeployments ?? true), 'deploymentGroupName',
      props.deploymentGroupName ?? props.deploymentApplicationName, 'names the CodeDeploy deployment, which needs canaryDeployments');
    v.check(Token.isUnresolved(aliasName) || /^(?!^[0-9]+$)[a-zA-Z0-9-_]{1,128}$/.test(aliasName), 'aliasName', aliasName, 'must be 1-128 letters, digits, "-" or "_", and not only digits');
    v.check(!props.model || Token.isUnresolved(props.model.key) || (props.model.key.length > 0 && !props.model.key.startsWith('/')), 'model.key', props.model?.key,
      'must be a non-empty S3 object key without a leading "/"');
    if (authorization.type === 'jwt') {
      v.check(frontDoor === InferenceFrontDoor.HTTP_API, 'authorization', authorization.type, 'JWT authorization needs frontDoor HTTP_API (function URLs support only AWS_IAM)');
      v.check(authorization.issuer !== undefined && (Token.isUnresolved(authorization.issuer) || /^https:\/\/\S+$/.test(authorization.issuer)), 'authorization.issuer', authorization.issuer, 'must be an https:// issuer URL');
      v.check((authorization.audience ?? []).length > 0, 'authorization.audience', authorization.audience, 'must list at least one accepted audience');
    } else {
      v.check(authorization.issuer === undefined && authorization.audience === undefined, 'authorization', authorization, 'issuer and audience apply only to type "jwt"');
    }
    const capture = props.capture;
    const capturePrefix = capture?.prefix ?? 'capture/lambda/';
    if (capture) {
      v.intRange('capture.samplingPercentage', capture.samplingPercentage, 1, 100, 'percent');
      v.check(Token.isUnresolved(capturePrefix) || /^[A-Za-z0-9!_.*'()/-]{1,256}\/$/.test(capturePrefix), 'capture.prefix', capturePrefix, 'must be an S3 key prefix ending in "/"');
      v.check(capture.modelPackageArn === undefined || Token.isUnresolved(capture.modelPackageArn) || isModelPackageArn(capture.modelPackageArn), 'capture.modelPackageArn', capture.modelPackageArn,
        'must be a versioned model package ARN (arn:aws:sagemaker:<region>:<account>:model-package/<group>/<version>)');
    }
    v.throwIfInvalid();

    this.encryptionKey = props.encryptionKey
      ?? platformKey(this, 'Key', { description: `Logs of the ${this.modelName} inference function`, removalPolicy, servicePrincipals: [logsServicePrincipal(this)] });
    const retention = props.logRetention ?? logs.RetentionDays.THREE_MONTHS;
    this.logGroup = encryptedLogGroup(this, 'Logs', { encryptionKey: this.encryptionKey, retention, removalPolicy });

    // An own role instead of the default AWSLambdaBasicExecutionRole (logs:* on every log group).
    this.role = props.role ?? new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `Runs the ${this.modelName} inference function`,
    });
    this.logGroup.grantWrite(this.role);

    const architecture = props.architecture ?? lambda.Architecture.X86_64;
    const code = props.repository
      ? lambda.DockerImageCode.fromEcr(props.repository, { tagOrDigest: props.imageTag })
      : lambda.DockerImageCode.fromImageAsset(props.assetDirectory ?? lambdaPath('model-server'), {
        file: props.dockerfile ?? 'Dockerfile.lambda',
        platform: architecture === lambda.Architecture.ARM_64 ? Platform.LINUX_ARM64 : Platform.LINUX_AMD64,
      });

    const environment: Record<string, string> = {
      MODEL_NAME: this.modelName,
      METRICS_NAMESPACE: LambdaInference.METRICS_NAMESPACE,
      POWERTOOLS_SERVICE_NAME: 'model-server',
      ...(props.maxBatchSize !== undefined ? { MAX_BATCH_SIZE: String(props.maxBatchSize) } : {}),
      ...(props.model ? { MODEL_S3_BUCKET: props.model.bucket.bucketName, MODEL_S3_KEY: props.model.key } : {}),
      ...(capture ? {
        CAPTURE_BUCKET: capture.bucket.bucketName,
        CAPTURE_PREFIX: capturePrefix,
        CAPTURE_SAMPLING_PERCENT: String(capture.samplingPercentage),
        ...((capture.encryptionKey ?? capture.bucket.encryptionKey) ? { CAPTURE_KMS_KEY_ID: (capture.encryptionKey ?? capture.bucket.encryptionKey)!.keyArn } : {}),
        ...(capture.modelPackageArn ? { MODEL_PACKAGE_ARN: capture.modelPackageArn } : {}),
      } : {}),
      ...props.environment,
    };

    this.function = new lambda.DockerImageFunction(this, 'Function', {
      functionName: props.functionName,
      code,
      architecture,
      memorySize,
      timeout,
      ephemeralStorageSize: ephemeral,
      reservedConcurrentExecutions: props.reservedConcurrentExecutions,
      role: this.role,
      logGroup: this.logGroup,
      loggingFormat: lambda.LoggingFormat.JSON,
      tracing: lambda.Tracing.ACTIVE,
      environment,
      description: `ONNX inference: ${this.modelName}`,
      // Published versions stay when a deploy publishes the next one: rollbacks (CodeDeploy's and the CLI's) return to them.
      currentVersionOptions: { removalPolicy: RemovalPolicy.RETAIN },
    });
    acknowledgeCheck(this.function, 'lambdaInsideVpc',
      'The model server computes in memory and calls only AWS service APIs (S3 for the model object and captures, CloudWatch, X-Ray) with IAM-signed TLS requests; it reaches nothing inside a VPC, and a VPC would add ENI cold starts and NAT cost to every request path.');
    acknowledgeCheck(this.function, 'lambdaDlq',
      'Invoked synchronously (HTTP API, function URL or InvokeFunction): the caller gets every error back; a dead-letter queue only receives failed asynchronous invocations, which this function does not serve.');
    if (props.reservedConcurrentExecutions === undefined) {
      acknowledgeCheck(this.function, 'lambdaConcurrency',
        'No reservedConcurrentExecutions given: the function scales in the unreserved pool, limited by the HTTP API stage\'s throttle; reserving would fail the deploy in accounts at the minimum unreserved quota. Set it to reserve and cap capacity (prod does).');
    }
    if (props.model) {
      // Exactly the model object: bucket.grantRead would add s3:GetBucket*/List* on the whole bucket.
      iam.Grant.addToPrincipal({ grantee: this.role, actions: ['s3:GetObject'], resourceArns: [props.model.bucket.arnForObjects(props.model.key)] });
      props.model.bucket.encryptionKey?.grantDecrypt(this.role);
    }
    if (capture) {
      // Write-only, under the capture prefix: the server never reads what it captured.
      const objects = capture.bucket.arnForObjects(`${capturePrefix}*`);
      iam.Grant.addToPrincipal({ grantee: this.role, actions: ['s3:PutObject'], resourceArns: [objects] });
      (capture.encryptionKey ?? capture.bucket.encryptionKey)?.grant(this.role, 'kms:Encrypt', 'kms:GenerateDataKey');
      acknowledgeResourceWildcards(this.role, [objects], 'Captured traffic is written under generated keys (hour partitions, unique file ids); limited to the capture prefix, s3:PutObject only.');
      // The function's name is known only at deploy time; the runtime's AWS_LAMBDA_FUNCTION_NAME names the source folder.
      this.capture = { bucket: capture.bucket, prefix: capturePrefix, source: this.function.functionName, encryptionKey: capture.encryptionKey ?? capture.bucket.encryptionKey };
    }
    if (!props.role) {
      // X-Ray's PutTraceSegments/PutTelemetryRecords have no resource-level permissions.
      acknowledge(this.role.node.tryFindChild('DefaultPolicy') ?? this.role, ['AwsSolutions-IAM5[Resource::*]'],
        'X-Ray PutTraceSegments and PutTelemetryRecords (added by tracing: ACTIVE) support only Resource "*"; every other statement is scoped to this function\'s log group and model object.');
    }

    this.alias = new lambda.Alias(this, 'Alias', {
      aliasName,
      version: this.function.currentVersion,
      provisionedConcurrentExecutions: props.provisionedConcurrentExecutions,
      description: 'Traffic entry point; CodeDeploy shifts it between versions',
    });

    const alarm = (id: string, metric: cloudwatch.IMetric, threshold: number, description: string) => {
      const a = new cloudwatch.Alarm(this, id, {
        metric,
        threshold,
        evaluationPeriods: 2,
        datapointsToAlarm: 2,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
        alarmDescription: description,
      });
      if (props.alarmTopic) {
        a.addAlarmAction(new cwActions.SnsAction(props.alarmTopic));
        a.addOkAction(new cwActions.SnsAction(props.alarmTopic));
      }
      return a;
    };
    this.errorsAlarm = alarm('ErrorsAlarm', this.metricErrors(), 1, `${this.modelName}: the inference function failed (crash, timeout or out of memory) in 2 consecutive minutes`);
    this.serverErrorsAlarm = alarm('ServerErrorsAlarm', this.metricServerErrors(), 1, `${this.modelName}: the model server answered 5xx (failed inference or model load) in 2 consecutive minutes`);
    this.latencyAlarm = alarm('LatencyAlarm', this.metricDuration(), latencyMs, `${this.modelName}: p99 duration at or above ${latencyMs} ms for 2 consecutive minutes`);

    if (props.canaryDeployments ?? true) {
      this.deploymentGroup = new codedeploy.LambdaDeploymentGroup(this, 'Deployment', {
        alias: this.alias,
        application: props.deploymentApplicationName ? new codedeploy.LambdaApplication(this, 'Application', { applicationName: props.deploymentApplicationName }) : undefined,
        deploymentGroupName: props.deploymentGroupName,
        deploymentConfig: props.deploymentConfig ?? codedeploy.LambdaDeploymentConfig.CANARY_10PERCENT_5MINUTES,
        alarms: [this.errorsAlarm, this.serverErrorsAlarm, this.latencyAlarm],
        autoRollback: { failedDeployment: true, stoppedDeployment: true, deploymentInAlarm: true },
      });
      if (!props.alarmTopic) {
        for (const a of [this.errorsAlarm, this.serverErrorsAlarm, this.latencyAlarm]) {
          acknowledgeCheck(a, 'alarmAction',
            'CodeDeploy acts on this alarm: the deployment group rolls a canary back when it fires (the platform\'s monitoring alarms notify people). Give alarmTopic to be notified by it too.');
        }
      }
      acknowledge(this.deploymentGroup.role, ['AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSCodeDeployRoleForLambdaLimited]'],
        'aws-cdk-lib\'s LambdaDeploymentGroup always attaches this AWS-managed CodeDeploy service policy; AWS scopes it to alias updates, alarm reads and CodeDeploy-named hooks.');
    }

    if (frontDoor === InferenceFrontDoor.HTTP_API) {
      this.httpApi = this.createHttpApi(authorization, props, retention, removalPolicy);
      this.url = this.httpApi.apiEndpoint;
    } else if (frontDoor === InferenceFrontDoor.FUNCTION_URL) {
      this.functionUrl = this.alias.addFunctionUrl({ authType: lambda.FunctionUrlAuthType.AWS_IAM, invokeMode: lambda.InvokeMode.BUFFERED });
      this.url = this.functionUrl.url;
    }
  }

  /** The model server's routes the HTTP API exposes. */
  private static readonly ROUTES: ReadonlyArray<readonly [apigwv2.HttpMethod, string]> = [
    [apigwv2.HttpMethod.POST, '/predict'],
    [apigwv2.HttpMethod.POST, '/invocations'],
    [apigwv2.HttpMethod.GET, '/metadata'],
    [apigwv2.HttpMethod.GET, '/ping'],
  ];

  /** Namespace of the model server's own metrics (requests, examples, latency, client/server errors). */
  public static readonly METRICS_NAMESPACE = 'cdk-mlops/ModelServer';

  private createHttpApi(authorization: InferenceAuthorization, props: LambdaInferenceProps, retention: logs.RetentionDays, removalPolicy: RemovalPolicy): apigwv2.HttpApi {
    const defaultAuthorizer = authorization.type === 'jwt'
      ? new authorizers.HttpJwtAuthorizer('JwtAuthorizer', authorization.issuer!, { jwtAudience: authorization.audience! })
      : new authorizers.HttpIamAuthorizer();
    const api = new apigwv2.HttpApi(this, 'Api', {
      description: `Inference API for ${this.modelName}`,
      createDefaultStage: false,
      defaultAuthorizer,
    });
    const accessLogs = encryptedLogGroup(this, 'AccessLogs', { encryptionKey: this.encryptionKey, retention, removalPolicy });
    new apigwv2.HttpStage(this, 'Stage', {
      httpApi: api,
      stageName: '$default',
      autoDeploy: true,
      throttle: { rateLimit: props.throttleRateLimit ?? 100, burstLimit: props.throttleBurstLimit ?? 200 },
      detailedMetricsEnabled: true,
      accessLogSettings: {
        destination: new apigwv2.LogGroupLogDestination(accessLogs),
        format: AccessLogFormat.custom(JSON.stringify({
          requestId: '$context.requestId',
          ip: '$context.identity.sourceIp',
          caller: '$context.identity.caller',
          user: '$context.identity.user',
          principalOrgId: '$context.identity.principalOrgId',
          jwtSub: '$context.authorizer.claims.sub',
          requestTime: '$context.requestTime',
          httpMethod: '$context.httpMethod',
          routeKey: '$context.routeKey',
          status: '$context.status',
          protocol: '$context.protocol',
          responseLength: '$context.responseLength',
          integrationLatency: '$context.integrationLatency',
          integrationStatus: '$context.integrationStatus',
          errorMessage: '$context.error.message',
        })),
      },
    });
    const integration = new integrations.HttpLambdaIntegration('Model', this.alias, {
      payloadFormatVersion: apigwv2.PayloadFormatVersion.VERSION_2_0,
      // aws-cdk-lib accepts integration timeouts up to 29 s (API Gateway's 30 s hard limit minus headroom).
      timeout: Duration.seconds(Math.min(this.function.timeout?.toSeconds() ?? 29, 29)),
    });
    for (const [method, path] of LambdaInference.ROUTES) api.addRoutes({ path, methods: [method], integration });
    // The routes' invoke permissions name this API's route (SourceArn) and, explicitly, this account
    // (SourceAccount): Control Tower's CT.LAMBDA.PR.2 reads a literal account, not the joined ARN.
    const account = Stack.of(this).account;
    for (const permission of api.node.findAll().filter((c): c is lambda.CfnPermission => c instanceof lambda.CfnPermission)) {
      permission.sourceAccount = account;
      if (Token.isUnresolved(account)) {
        acknowledgeControls(permission, ['CT.LAMBDA.PR.2 lambda_function_public_access_prohibited_check'],
          'API Gateway may invoke only from this API\'s route (SourceArn) in the deploying account (SourceAccount = AWS::AccountId); the stack has no literal account, so the static rule cannot read either.');
      }
    }
    return api;
  }

  /**
   * Allow a principal to call the model through the front door: `execute-api:Invoke` on the HTTP API
   * (IAM authorization), `lambda:InvokeFunctionUrl` on the function URL, or `lambda:InvokeFunction` on the
   * alias when there is no front door. JWT-authorized APIs are reached with tokens, not IAM.
   */
  public grantInvoke(grantee: iam.IGrantable): iam.Grant {
    if (this.httpApi) {
      // One ARN per route (api/stage/METHOD/path): no wildcards.
      const resourceArns = LambdaInference.ROUTES.map(([method, path]) =>
        Arn.format({ service: 'execute-api', resource: this.httpApi!.apiId, resourceName: `$default/${method}${path}` }, Stack.of(this)));
      return iam.Grant.addToPrincipal({ grantee, actions: ['execute-api:Invoke'], resourceArns });
    }
    if (this.functionUrl) return this.alias.grantInvokeUrl(grantee);
    return this.alias.grantInvoke(grantee);
  }

  /**
   * Hands the choice of the served model to `owner` (the deployment handler of approved versions,
   * `lambda/lambda-model-approval`): a `Custom::ServedModel` it answers names the model object and package of the
   * function's environment (`MODEL_S3_BUCKET`, `MODEL_S3_KEY`, `MODEL_PACKAGE_ARN`). Every change of the function's
   * template asks again, so a stack deploy's new version keeps serving what the alias serves.
   */
  public chooseModelWith(owner: lambda.IFunction): CustomResource {
    if (this.served) throw propsError(`LambdaInference at "${this.node.path}": its model is already chosen by ${this.served.node.path}; one deployment handler per function`);
    const version = this.function.currentVersion.node.defaultChild as lambda.CfnVersion;
    const alias = this.alias.node.defaultChild as lambda.CfnAlias;
    const served = new CustomResource(this, 'ServedModel', {
      serviceToken: owner.functionArn,
      resourceType: 'Custom::ServedModel',
      properties: {
        BakedModel: this.templateModel
          ? { Bucket: this.templateModel.bucket.bucketName, Key: this.templateModel.key, ModelPackageArn: this.templateModel.modelPackageArn ?? '' }
          : { Bucket: '', Key: '', ModelPackageArn: '' },
        // The current version's logical id is a hash of the function's template: any change of it asks again.
        FunctionRevision: version.logicalId,
        // So does a change of the alias alone: CloudFormation's update of it names CloudFormation's version.
        AliasSettings: { ProvisionedConcurrencyConfig: alias.provisionedConcurrencyConfig ?? 'none' },
      },
    });
    // A changed answer replaces CloudFormation's version (a Version's properties cannot be updated), so the version the
    // alias shifts to is published from the environment that names the served model, never an older one.
    version.description = Fn.join('', ['Serves model package ', served.getAttString('ModelPackageArn'), ' (Custom::ServedModel)']);
    this.function.addEnvironment('MODEL_S3_BUCKET', served.getAttString('ModelS3Bucket'));
    this.function.addEnvironment('MODEL_S3_KEY', served.getAttString('ModelS3Key'));
    this.function.addEnvironment('MODEL_PACKAGE_ARN', served.getAttString('ModelPackageArn'));
    this.served = served;
    return served;
  }

  /** `Custom::ServedModel`, once {@link LambdaInference.chooseModelWith} handed the choice of model to an owner. */
  public get servedModel(): CustomResource | undefined {
    return this.served;
  }

  /** Allow a principal to invoke the alias directly (`lambda:InvokeFunction`), bypassing the front door. */
  public grantInvokeFunction(grantee: iam.IGrantable): iam.Grant {
    return this.alias.grantInvoke(grantee);
  }

  /** Invocations of the alias. @default sum over 1 minute */
  public metricInvocations(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.alias.metricInvocations({ period: Duration.minutes(1), ...props });
  }

  /** Function errors (crashes, timeouts, out of memory) of the alias. @default sum over 1 minute */
  public metricErrors(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.alias.metricErrors({ period: Duration.minutes(1), ...props });
  }

  /** Duration of the alias's invocations. @default p99 over 1 minute */
  public metricDuration(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.alias.metricDuration({ period: Duration.minutes(1), statistic: 'p99', ...props });
  }

  /** Throttled invocations of the alias. @default sum over 1 minute */
  public metricThrottles(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.alias.metricThrottles({ period: Duration.minutes(1), ...props });
  }

  /** A metric the model server publishes (EMF, dimensions service + model), e.g. `Examples` or `ClientErrors`. */
  public metricModelServer(metricName: 'Requests' | 'Examples' | 'Latency' | 'ClientErrors' | 'ServerErrors' | 'ModelLoadErrors', props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return new cloudwatch.Metric({
      namespace: LambdaInference.METRICS_NAMESPACE,
      metricName,
      dimensionsMap: { service: 'model-server', model: this.modelName },
      period: Duration.minutes(1),
      statistic: metricName === 'Latency' ? 'p99' : 'Sum',
      ...props,
    });
  }

  /** Responses with status 5xx from the model server (failed inference or model load). @default sum over 1 minute */
  public metricServerErrors(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metricModelServer('ServerErrors', props);
  }

  /** Requests the model server rejected as invalid (4xx). @default sum over 1 minute */
  public metricClientErrors(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metricModelServer('ClientErrors', props);
  }
}
