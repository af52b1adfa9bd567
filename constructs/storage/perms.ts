/** S3 and KMS actions the data lake grants, listed explicitly so no grant carries an action wildcard. */
export const S3_READ_OBJECT_ACTIONS = ['s3:GetObject', 's3:GetObjectVersion', 's3:GetObjectTagging', 's3:GetObjectAttributes'];
export const S3_LIST_ACTIONS = ['s3:ListBucket', 's3:ListBucketVersions', 's3:GetBucketLocation'];
export const S3_WRITE_OBJECT_ACTIONS = ['s3:PutObject', 's3:PutObjectTagging', 's3:AbortMultipartUpload', 's3:ListMultipartUploadParts'];
export const S3_WRITE_BUCKET_ACTIONS = ['s3:ListBucketMultipartUploads'];
export const S3_DELETE_OBJECT_ACTIONS = ['s3:DeleteObject', 's3:DeleteObjectVersion'];
export const KMS_READ_ACTIONS = ['kms:Decrypt'];
export const KMS_WRITE_ACTIONS = ['kms:Decrypt', 'kms:Encrypt', 'kms:GenerateDataKey'];

export const OBJECT_WILDCARD_REASON =
  'S3 object ARNs need a key wildcard: the grant is limited to the objects of one data lake bucket, with explicit actions.';
