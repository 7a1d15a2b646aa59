import { isObject, type JsonObject } from './json.js';
import { invalid } from './status.js';

/**
 * A SelfSubjectAccessReview answered as the stand-in's missing authorizer decides: every request is
 * allowed (the stand-in checks no RBAC; the real control plane under the e2e suite does). The body
 * echoes the spec, as kube-apiserver's does.
 */
export function answerSelfSubjectAccessReview(body: JsonObject): JsonObject {
  const spec = isObject(body['spec']) ? body['spec'] : {};
  if (!isObject(spec['resourceAttributes']) && !isObject(spec['nonResourceAttributes'])) {
    throw invalid('SelfSubjectAccessReview', 'authorization.k8s.io', '', [
      { reason: 'FieldValueInvalid', field: 'spec.resourceAttributes', message: 'Invalid value: "null": exactly one of nonResourceAttributes or resourceAttributes must be specified' },
    ]);
  }
  const metadata = isObject(body['metadata']) ? { ...body['metadata'] } : {};
  return {
    kind: 'SelfSubjectAccessReview',
    apiVersion: 'authorization.k8s.io/v1',
    metadata: { ...metadata, creationTimestamp: null },
    spec,
    status: { allowed: true },
  };
}

/**
 * A SelfSubjectRulesReview (`kubectl auth can-i --list`): everything allowed, which is what the
 * stand-in enforces. The real server lists a system:masters user's rules from every role it holds.
 */
export function answerSelfSubjectRulesReview(body: JsonObject): JsonObject {
  const spec = isObject(body['spec']) ? body['spec'] : {};
  const metadata = isObject(body['metadata']) ? { ...body['metadata'] } : {};
  return {
    kind: 'SelfSubjectRulesReview',
    apiVersion: 'authorization.k8s.io/v1',
    metadata: { ...metadata, creationTimestamp: null },
    spec,
    status: {
      resourceRules: [{ verbs: ['*'], apiGroups: ['*'], resources: ['*'] }],
      nonResourceRules: [{ verbs: ['*'], nonResourceURLs: ['*'] }],
      incomplete: false,
    },
  };
}
