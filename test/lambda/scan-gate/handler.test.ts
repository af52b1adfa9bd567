import { DescribeImageScanFindingsCommand, ECRClient, ECRServiceException } from '@aws-sdk/client-ecr';
import { mockClient } from 'aws-sdk-client-mock';
import { blockingFindings, ecr, handler, metrics } from '../../../lambda/scan-gate';

const ecrMock = mockClient(ECRClient);
const request = { repositoryName: 'mlops-dev-training', imageTag: '3f2a9c1d0e4b', failOnSeverity: 'CRITICAL', maxFindings: 0 };
const serviceError = (name: string) => new ECRServiceException({ name, $fault: 'client', $metadata: {}, message: name });
const complete = (counts: Record<string, number>) => ({
  imageScanStatus: { status: 'COMPLETE' as const, description: 'The scan was completed successfully.' },
  imageScanFindings: { findingSeverityCounts: counts, findings: [] },
});

beforeAll(() => {
  jest.spyOn(metrics, 'publishStoredMetrics').mockImplementation(() => metrics);
});
beforeEach(() => ecrMock.reset());

describe('scan gate handler', () => {
  test('a clean image passes and the request names the repository and tag', async () => {
    ecrMock.on(DescribeImageScanFindingsCommand).resolves(complete({ LOW: 3, INFORMATIONAL: 7 }));
    const result = await handler(request);
    expect(result).toMatchObject({ statusCode: 200, status: 'PASSED', blocking: 0 });
    expect(ecrMock.commandCalls(DescribeImageScanFindingsCommand)[0].args[0].input).toMatchObject({
      repositoryName: 'mlops-dev-training', imageId: { imageTag: '3f2a9c1d0e4b' },
    });
  });

  test('a CRITICAL finding fails the gate with the count in the message', async () => {
    ecrMock.on(DescribeImageScanFindingsCommand).resolves(complete({ CRITICAL: 1, HIGH: 4 }));
    const result = await handler(request);
    expect(result.status).toBe('FAILED');
    expect(result.blocking).toBe(1);
    expect(result.message).toContain('1 finding(s) at CRITICAL or above exceed the 0 allowed');
  });

  test('the threshold counts its own severity and everything above it', async () => {
    ecrMock.on(DescribeImageScanFindingsCommand).resolves(complete({ CRITICAL: 1, HIGH: 2, MEDIUM: 5 }));
    expect(await handler({ ...request, failOnSeverity: 'HIGH', maxFindings: 3 })).toMatchObject({ status: 'PASSED', blocking: 3 });
    expect(await handler({ ...request, failOnSeverity: 'MEDIUM', maxFindings: 3 })).toMatchObject({ status: 'FAILED', blocking: 8 });
    expect(blockingFindings({ LOW: 2, CRITICAL: 1 }, 'LOW')).toBe(3);
  });

  test('a scan still running is PENDING', async () => {
    ecrMock.on(DescribeImageScanFindingsCommand).resolves({ imageScanStatus: { status: 'IN_PROGRESS' } });
    expect(await handler(request)).toMatchObject({ statusCode: 200, status: 'PENDING' });
  });

  test('a scan not started yet is PENDING', async () => {
    ecrMock.on(DescribeImageScanFindingsCommand).rejects(serviceError('ScanNotFoundException'));
    expect(await handler(request)).toMatchObject({ status: 'PENDING', message: expect.stringContaining('has not started') });
  });

  test('a failed scan fails the gate: an image nobody could scan does not pass', async () => {
    ecrMock.on(DescribeImageScanFindingsCommand).resolves({ imageScanStatus: { status: 'FAILED', description: 'UnsupportedImageError' } });
    const result = await handler(request);
    expect(result.status).toBe('FAILED');
    expect(result.message).toContain('ended FAILED: UnsupportedImageError');
  });

  test('enhanced scanning (ACTIVE) is judged on its severity counts', async () => {
    ecrMock.on(DescribeImageScanFindingsCommand).resolves({ imageScanStatus: { status: 'ACTIVE' }, imageScanFindings: { findingSeverityCounts: { CRITICAL: 2 } } });
    expect(await handler(request)).toMatchObject({ status: 'FAILED', blocking: 2 });
  });

  test('a missing image is a 404, not a crash', async () => {
    ecrMock.on(DescribeImageScanFindingsCommand).rejects(serviceError('ImageNotFoundException'));
    expect(await handler(request)).toMatchObject({ statusCode: 404, status: 'ERROR', message: 'Image mlops-dev-training:3f2a9c1d0e4b does not exist' });
  });

  test.each([
    [{ ...request, repositoryName: 'Bad Repo' }, 'repositoryName: "Bad Repo"'],
    [{ ...request, imageTag: '-leading-dash' }, 'imageTag: "-leading-dash"'],
    [{ ...request, failOnSeverity: 'SEVERE' }, 'failOnSeverity: "SEVERE" — must be one of CRITICAL, HIGH, MEDIUM, LOW'],
    [{ ...request, maxFindings: -1 }, 'maxFindings: -1'],
    [null, 'repositoryName: undefined'],
  ])('a bad request is a 400 naming the field: %j', async (event, expected) => {
    const result = await handler(event as never);
    expect(result).toMatchObject({ statusCode: 400, status: 'ERROR' });
    expect(result.message).toContain(expected);
    expect(ecrMock.calls()).toHaveLength(0);
  });

  test('unexpected ECR errors propagate (Step Functions retries and then fails the execution)', async () => {
    ecrMock.on(DescribeImageScanFindingsCommand).rejects(serviceError('AccessDeniedException'));
    await expect(handler(request)).rejects.toThrow('AccessDeniedException');
    expect(ecr).toBeInstanceOf(ECRClient);
  });
});
