/**
 * IAM actions the MLflow tracking server grants, listed explicitly so no grant carries an action wildcard
 * (`sagemaker-mlflow:*` would also allow deleting experiments and registered models).
 */

/** Reading experiments, runs, metrics and registered models (MLflow 2 and 3). */
export const MLFLOW_READ_ACTIONS = [
  'sagemaker-mlflow:GetExperiment',
  'sagemaker-mlflow:GetExperimentByName',
  'sagemaker-mlflow:SearchExperiments',
  'sagemaker-mlflow:GetRun',
  'sagemaker-mlflow:SearchRuns',
  'sagemaker-mlflow:GetMetricHistory',
  'sagemaker-mlflow:ListArtifacts',
  'sagemaker-mlflow:GetRegisteredModel',
  'sagemaker-mlflow:SearchRegisteredModels',
  'sagemaker-mlflow:GetModelVersion',
  'sagemaker-mlflow:SearchModelVersions',
  'sagemaker-mlflow:GetLatestModelVersions',
  'sagemaker-mlflow:GetModelVersionByAlias',
  'sagemaker-mlflow:GetDownloadURIForModelVersionArtifacts',
] as const;

/** Logging runs from training code (creating experiments, runs, params, metrics, models, model versions). */
export const MLFLOW_LOG_ACTIONS = [
  'sagemaker-mlflow:CreateExperiment',
  'sagemaker-mlflow:UpdateExperiment',
  'sagemaker-mlflow:SetExperimentTag',
  'sagemaker-mlflow:CreateRun',
  'sagemaker-mlflow:UpdateRun',
  'sagemaker-mlflow:LogMetric',
  'sagemaker-mlflow:LogParam',
  'sagemaker-mlflow:LogBatch',
  'sagemaker-mlflow:LogModel',
  'sagemaker-mlflow:LogInputs',
  'sagemaker-mlflow:SetTag',
  'sagemaker-mlflow:DeleteTag',
  'sagemaker-mlflow:CreateRegisteredModel',
  'sagemaker-mlflow:SetRegisteredModelTag',
  'sagemaker-mlflow:CreateModelVersion',
  'sagemaker-mlflow:UpdateModelVersion',
  'sagemaker-mlflow:SetModelVersionTag',
] as const;

/**
 * MLflow 3 moved models out of runs: `mlflow.<flavor>.log_model` creates a logged model, logs its params and tags,
 * links it to the run (`LogOutputs`) and finalizes it; reading models goes through the logged-model APIs. The IAM
 * reference lists no separate action for `CreateLoggedModel`.
 */
export const MLFLOW_3_READ_ACTIONS = [
  'sagemaker-mlflow:GetLoggedModel',
  'sagemaker-mlflow:SearchLoggedModels',
  'sagemaker-mlflow:ListLoggedModelArtifacts',
] as const;
export const MLFLOW_3_LOG_ACTIONS = [
  'sagemaker-mlflow:LogOutputs',
  'sagemaker-mlflow:LogLoggedModelParams',
  'sagemaker-mlflow:SetLoggedModelTags',
  'sagemaker-mlflow:FinalizeLoggedModel',
] as const;

/** Opening the MLflow UI. The IAM reference gives `AccessUI` no resource type: it is granted on `*`. */
export const MLFLOW_UI_ACTIONS = ['sagemaker-mlflow:AccessUI'] as const;

/** Control-plane calls of the MLflow SDK plugin: resolve the server's URL, get a presigned UI URL. */
export const TRACKING_SERVER_DESCRIBE_ACTIONS = ['sagemaker:DescribeMlflowTrackingServer'] as const;
export const TRACKING_SERVER_UI_ACTIONS = ['sagemaker:CreatePresignedMlflowTrackingServerUrl'] as const;

/** What the server's own role needs to register logged models in the SageMaker model registry. */
export const MODEL_REGISTRATION_ACTIONS = [
  'sagemaker:AddTags',
  'sagemaker:CreateModelPackageGroup',
  'sagemaker:CreateModelPackage',
  'sagemaker:UpdateModelPackage',
  'sagemaker:DescribeModelPackageGroup',
] as const;

/** S3 object and bucket actions on the artifact store prefix (clients upload artifacts directly to S3). */
export const ARTIFACT_READ_OBJECT_ACTIONS = ['s3:GetObject', 's3:GetObjectVersion'] as const;
export const ARTIFACT_WRITE_OBJECT_ACTIONS = ['s3:PutObject', 's3:AbortMultipartUpload', 's3:ListMultipartUploadParts'] as const;
export const ARTIFACT_BUCKET_ACTIONS = ['s3:ListBucket', 's3:GetBucketLocation'] as const;
export const KMS_READ_ACTIONS = ['kms:Decrypt'] as const;
export const KMS_WRITE_ACTIONS = ['kms:Decrypt', 'kms:Encrypt', 'kms:GenerateDataKey'] as const;

export const ARTIFACT_WILDCARD_REASON =
  'MLflow artifacts are S3 objects under the tracking server\'s artifact prefix: object ARNs need a key wildcard, limited to that prefix of one bucket, with explicit actions.';
