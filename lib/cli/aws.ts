import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { CodeDeployClient } from '@aws-sdk/client-codedeploy';
import { CodePipelineClient } from '@aws-sdk/client-codepipeline';
import { ECRClient } from '@aws-sdk/client-ecr';
import { EKSClient } from '@aws-sdk/client-eks';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { S3Client } from '@aws-sdk/client-s3';
import { SageMakerClient } from '@aws-sdk/client-sagemaker';
import { SageMakerRuntimeClient } from '@aws-sdk/client-sagemaker-runtime';
import { explainAwsError, isThrottling } from './errors';

export interface AwsOptions {
  /** @default the SDK's resolution (AWS_REGION, the profile's region) */
  readonly region?: string;
  /** Named profile from ~/.aws/config or credentials. @default the SDK's resolution (AWS_PROFILE, default) */
  readonly profile?: string;
  /** Retries of a call that is still throttled after the SDK's own adaptive retries. @default 3 */
  readonly throttleRetries?: number;
  /** @default real timers; tests pass a no-op */
  readonly sleep?: (ms: number) => Promise<void>;
}

/** Attempts per request inside the SDK, whose adaptive mode also rate-limits the client when AWS throttles. */
const SDK_MAX_ATTEMPTS = 5;

/**
 * The AWS clients of one CLI run (created on first use, shared by all calls) and `call`, which every request
 * goes through: it retries throttling with exponential backoff and jitter on top of the SDK's adaptive retry
 * mode, and turns failures into CliErrors that name the IAM action.
 */
export class Aws {
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly throttleRetries: number;
  private readonly clientConfig: { region?: string; retryMode: string; maxAttempts: number };
  private cache: Record<string, unknown> = {};

  constructor(options: AwsOptions = {}) {
    // The SDK's default credential chain reads AWS_PROFILE when it resolves credentials;
    // @aws-sdk/credential-providers (fromIni) is not a dependency of this package.
    if (options.profile) process.env.AWS_PROFILE = options.profile;
    this.clientConfig = { region: options.region, retryMode: 'adaptive', maxAttempts: SDK_MAX_ATTEMPTS };
    this.throttleRetries = options.throttleRetries ?? 3;
    this.sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
  }

  get cloudFormation(): CloudFormationClient {
    return this.client('cloudformation', () => new CloudFormationClient(this.clientConfig));
  }

  get codeDeploy(): CodeDeployClient {
    return this.client('codedeploy', () => new CodeDeployClient(this.clientConfig));
  }

  get codePipeline(): CodePipelineClient {
    return this.client('codepipeline', () => new CodePipelineClient(this.clientConfig));
  }

  get eks(): EKSClient {
    return this.client('eks', () => new EKSClient(this.clientConfig));
  }

  get ecr(): ECRClient {
    return this.client('ecr', () => new ECRClient(this.clientConfig));
  }

  get lambda(): LambdaClient {
    return this.client('lambda', () => new LambdaClient(this.clientConfig));
  }

  get sageMaker(): SageMakerClient {
    return this.client('sagemaker', () => new SageMakerClient(this.clientConfig));
  }

  get sageMakerRuntime(): SageMakerRuntimeClient {
    return this.client('sagemaker-runtime', () => new SageMakerRuntimeClient(this.clientConfig));
  }

  get s3(): S3Client {
    return this.client('s3', () => new S3Client(this.clientConfig));
  }

  /** Waits between polls (the injected sleep in tests). */
  public pause(ms: number): Promise<void> {
    return this.sleep(ms);
  }

  /** The region the clients use (after the SDK's resolution), or undefined when none is set. */
  async region(): Promise<string | undefined> {
    try {
      return await this.cloudFormation.config.region();
    } catch {
      return undefined;
    }
  }

  /**
   * Runs one AWS request. `action` is its IAM action (`eks:DescribeCluster`), used in error messages.
   * Throttling is retried `throttleRetries` times after 1 s, 2 s, 4 s (± 25 % jitter); other errors are not.
   */
  async call<T>(action: string, request: () => Promise<T>): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await request();
      } catch (err) {
        if (isThrottling(err) && attempt < this.throttleRetries) {
          await this.sleep(1000 * 2 ** attempt * (0.75 + Math.random() * 0.5));
          continue;
        }
        throw explainAwsError(err, action, attempt);
      }
    }
  }

  /** Follows `next` tokens until the last page; every page goes through `call`. */
  async paginate<P, I>(action: string, page: (token: string | undefined) => Promise<P>, items: (p: P) => I[] | undefined, next: (p: P) => string | undefined): Promise<I[]> {
    const all: I[] = [];
    let token: string | undefined;
    do {
      const p = await this.call(action, () => page(token));
      all.push(...(items(p) ?? []));
      token = next(p);
    } while (token);
    return all;
  }

  private client<C>(key: string, create: () => C): C {
    this.cache[key] ??= create();
    return this.cache[key] as C;
  }
}

/** Runs `fn` over `items` with at most `limit` in flight, keeping the order of results. */
export async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let nextIndex = 0;
  const worker = async (): Promise<void> => {
    while (nextIndex < items.length) {
      const i = nextIndex++;
      results[i] = await fn(items[i], i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}
