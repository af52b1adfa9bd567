/** Process exit codes of the CLI; documented in lib/cli/README.md. */
export const ExitCode = {
  /** Healthy, or the action succeeded. */
  Ok: 0,
  /** Something is unhealthy, a smoke test failed, or an action was declined or could not be done. */
  Failed: 1,
  /** Bad command line. */
  Usage: 2,
  /** The stage or a resource the command needs is not deployed. */
  NotDeployed: 3,
  /** AWS refused: no credentials or region, access denied, or still throttled after retries. */
  Aws: 4,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

export type ErrorKind = 'usage' | 'not-deployed' | 'not-found' | 'no-credentials' | 'no-region' | 'access-denied' | 'throttled' | 'aws' | 'failed' | 'declined';

const EXIT_BY_KIND: Record<ErrorKind, ExitCode> = {
  usage: ExitCode.Usage,
  'not-deployed': ExitCode.NotDeployed,
  'not-found': ExitCode.NotDeployed,
  'no-credentials': ExitCode.Aws,
  'no-region': ExitCode.Aws,
  'access-denied': ExitCode.Aws,
  throttled: ExitCode.Aws,
  aws: ExitCode.Aws,
  failed: ExitCode.Failed,
  declined: ExitCode.Failed,
};

/** An error the CLI explains to the user in one message (no stack trace) and maps to an exit code. */
export class CliError extends Error {
  public readonly exitCode: ExitCode;

  constructor(
    public readonly kind: ErrorKind,
    message: string,
    /** The IAM action involved, when AWS refused one. */
    public readonly action?: string,
  ) {
    super(message);
    this.name = 'CliError';
    this.exitCode = EXIT_BY_KIND[kind];
  }
}

interface AwsLikeError {
  name?: string;
  message?: string;
  Code?: string;
  code?: string;
  $metadata?: { httpStatusCode?: number };
  $retryable?: { throttling?: boolean };
}

const THROTTLING = new Set([
  'Throttling', 'ThrottlingException', 'ThrottledException', 'TooManyRequestsException', 'RequestLimitExceeded',
  'RequestThrottled', 'RequestThrottledException', 'SlowDown', 'ProvisionedThroughputExceededException',
  'TransactionInProgressException', 'EC2ThrottledException', 'PriorRequestNotComplete', 'BandwidthLimitExceeded',
]);
const ACCESS_DENIED = new Set(['AccessDenied', 'AccessDeniedException', 'UnauthorizedOperation', 'AuthorizationError', 'UnauthorizedException', 'Forbidden']);
const BAD_CREDENTIALS = new Set(['ExpiredToken', 'ExpiredTokenException', 'InvalidClientTokenId', 'UnrecognizedClientException', 'InvalidSignatureException', 'SignatureDoesNotMatch', 'IncompleteSignature']);

const codeOf = (e: AwsLikeError): string => e.name ?? e.Code ?? e.code ?? 'Error';

/** Whether AWS asked us to slow down. */
export function isThrottling(err: unknown): boolean {
  if (typeof err !== 'object' || err === null) return false;
  const e = err as AwsLikeError;
  return THROTTLING.has(codeOf(e)) || e.$retryable?.throttling === true || e.$metadata?.httpStatusCode === 429;
}

/** Whether this is AWS saying the named resource does not exist. */
export function isNotFound(err: unknown): boolean {
  if (typeof err !== 'object' || err === null) return false;
  const e = err as AwsLikeError;
  const code = codeOf(e);
  return /NotFound/.test(code) || ((code === 'ValidationException' || code === 'ValidationError') && /not found|does not exist|could not find/i.test(e.message ?? ''));
}

/**
 * Turns an SDK error into a CliError with a message an operator can act on. `action` is the IAM action of
 * the call (e.g. `eks:DescribeCluster`); access-denied messages name the action AWS reported, else this one.
 */
export function explainAwsError(err: unknown, action: string, retries: number): CliError {
  if (err instanceof CliError) return err;
  const e = (typeof err === 'object' && err !== null ? err : { message: String(err) }) as AwsLikeError;
  const code = codeOf(e);
  const message = (e.message ?? '').trim();
  if (code === 'CredentialsProviderError' || /could not load credentials|credential.*not (found|provided)/i.test(message)) {
    return new CliError('no-credentials',
      'No AWS credentials found. Pass --profile <name> (or set AWS_PROFILE), run `aws sso login`, or set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY; in GitHub Actions configure aws-actions/configure-aws-credentials first.', action);
  }
  if (/region is missing/i.test(message)) {
    return new CliError('no-region', 'No AWS region set. Pass --region <name> or set AWS_REGION.', action);
  }
  if (BAD_CREDENTIALS.has(code)) {
    return new CliError('no-credentials', `AWS rejected the credentials (${code}): ${message || 'they are invalid or expired'}. Refresh them (e.g. \`aws sso login\`) and retry.`, action);
  }
  if (ACCESS_DENIED.has(code) || e.$metadata?.httpStatusCode === 403) {
    // AWS names the denied action in most messages: "... is not authorized to perform: eks:DescribeCluster on resource: ..."
    const reported = /perform:?\s+([a-z0-9-]+:[A-Za-z0-9*]+)/.exec(message)?.[1];
    const denied = reported ?? action;
    return new CliError('access-denied', `Access denied: the caller is missing permission ${denied}${message ? ` (AWS said: ${message})` : ''}. See lib/cli/README.md for the permissions the CLI needs.`, denied);
  }
  if (isThrottling(e)) {
    return new CliError('throttled', `AWS is throttling ${action} (${code}) and it still failed after ${retries} retries with backoff. Wait a minute and retry, or ask for a higher quota.`, action);
  }
  if (isNotFound(e)) {
    return new CliError('not-found', `${action}: ${message || code}`, action);
  }
  return new CliError('aws', `${action} failed: ${code}${message && message !== code ? `: ${message}` : ''}`, action);
}
