import type { APIGatewayProxyEventV2, Context } from 'aws-lambda';
import { Model } from '../../../lambda/model-server/src/model';
import { buildReferenceModel, type ReferenceModelOptions } from '../../../lambda/model-server/scripts/reference-model';

process.env.ONNXRUNTIME_NODE_INSTALL = 'skip';

/** The test classifier: 4 features → 3 classes, weights chosen so each class wins somewhere. */
export const CLASSIFIER: ReferenceModelOptions = {
  weights: [
    [1, 0, -1],
    [0, 2, 0],
    [-0.5, 0.5, 1.5],
    [0.25, -0.25, 0],
  ],
  bias: [0.5, -0.5, 0],
};

/** Same weights with a second input `offset` [batch, 3] added to the logits. */
export const TWO_INPUT: ReferenceModelOptions = { ...CLASSIFIER, offsetInput: 'offset' };

/** Builds the ONNX model with onnx-proto and loads it into onnxruntime (real inference, no files). */
const loaded: Model[] = [];
// Every session a test file loads is released when the file ends: onnxruntime keeps native threads per session,
// and a jest worker that still holds them can be slow to exit.
afterAll(async () => {
  await Promise.all(loaded.splice(0).map((m) => m.release()));
});

export async function loadTestModel(options: ReferenceModelOptions = CLASSIFIER): Promise<Model> {
  const model = await Model.fromBytes(buildReferenceModel(options), 'test-model');
  loaded.push(model);
  return model;
}

export const ROWS = [
  [1, 2, 3, 4],
  [0, 0, 0, 0],
  [-1, 0.5, 2, 10],
];

export function lambdaContext(requestId = 'req-1'): Context {
  return {
    awsRequestId: requestId,
    functionName: 'model-server',
    functionVersion: '1',
    invokedFunctionArn: 'arn:aws:lambda:eu-west-1:111111111111:function:model-server:live',
    memoryLimitInMB: '2048',
    logGroupName: '/aws/lambda/model-server',
    logStreamName: 'stream',
    callbackWaitsForEmptyEventLoop: false,
    getRemainingTimeInMillis: () => 30_000,
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}

/** An API Gateway HTTP API (payload 2.0) event, as the $default stage delivers it. */
export function httpApiEvent(method: string, path: string, body?: string, headers: Record<string, string> = { 'content-type': 'application/json' }): APIGatewayProxyEventV2 {
  return {
    version: '2.0',
    routeKey: `${method} ${path}`,
    rawPath: path,
    rawQueryString: '',
    headers,
    body,
    isBase64Encoded: false,
    requestContext: {
      accountId: '111111111111',
      apiId: 'abc123',
      domainName: 'abc123.execute-api.eu-west-1.amazonaws.com',
      domainPrefix: 'abc123',
      http: { method, path, protocol: 'HTTP/1.1', sourceIp: '10.0.0.1', userAgent: 'jest' },
      requestId: 'api-req',
      routeKey: `${method} ${path}`,
      stage: '$default',
      time: '23/Nov/2026:09:00:00 +0000',
      timeEpoch: 1795424400000,
    },
  };
}

/** A Lambda Function URL event: payload 2.0 with `$default` route key and base64 bodies for some clients. */
export function functionUrlEvent(method: string, path: string, body?: string, headers: Record<string, string> = { 'content-type': 'application/json' }): APIGatewayProxyEventV2 {
  const event = httpApiEvent(method, path, body === undefined ? undefined : Buffer.from(body).toString('base64'), headers);
  return {
    ...event,
    routeKey: '$default',
    isBase64Encoded: body !== undefined,
    requestContext: { ...event.requestContext, routeKey: '$default', domainName: 'xyz.lambda-url.eu-west-1.on.aws', apiId: 'xyz' },
  };
}
