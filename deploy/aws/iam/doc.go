// Package iam holds the least-privilege IAM policy documents of the AWS adapters —
// keys.json (KMS), blobs.json (S3, and the KMS use of SSE-KMS), meetings.json (Chime
// SDK Meetings), notifications.json (SES v2) — and trust-irsa.json, the trust policy that lets one service's
// Kubernetes ServiceAccount assume its role (IRSA). The documents carry placeholders
// substituted before upload (envsubst, Terraform templatefile, CloudFormation Sub):
// ${AccountId}, ${Region}, ${KmsKeyArn}, ${SseKmsKeyArn}, ${BucketName},
// ${BucketPrefix}, ${SesIdentity}, ${SesConfigurationSet}, ${SesFromAddress},
// ${OidcProvider}, ${Namespace} and ${ServiceName}.
//
// Its test derives the AWS operations each adapter's code calls and fails when a
// policy allows one action more or one less, or on another resource.
package iam
