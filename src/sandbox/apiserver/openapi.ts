import { createHash } from 'node:crypto';
import { clone, type Json, type JsonObject } from './json.js';
import { SERVER_VERSION } from './discovery.js';
import type { Registry, ResourceType } from './registry.js';

/** `routeshift.io` → `io.routeshift` (the reversed-domain prefix of OpenAPI definition names). */
function reverseGroup(group: string): string {
  return group.split('.').reverse().join('.');
}

export function definitionName(t: ResourceType, version: string): string {
  if (t.group === '') return `io.k8s.api.core.${version}.${t.kind}`;
  if (!t.builtin) return `${reverseGroup(t.group)}.${version}.${t.kind}`;
  const short = t.group.replace(/\.k8s\.io$/, '').replace(/\.authorization$/, '');
  return `io.k8s.api.${short}.${version}.${t.kind}`;
}

function gvPath(group: string, version: string): string {
  return group ? `apis/${group}/${version}` : `api/${version}`;
}

function queryParam(name: string, description: string, type = 'string'): JsonObject {
  return { name, in: 'query', description, schema: { type, uniqueItems: true } };
}

const PATH_NAME: JsonObject = { name: 'name', in: 'path', description: 'name of the resource', required: true, schema: { type: 'string', uniqueItems: true } };
const PATH_NAMESPACE: JsonObject = {
  name: 'namespace',
  in: 'path',
  description: 'object name and auth scope, such as for teams and projects',
  required: true,
  schema: { type: 'string', uniqueItems: true },
};

const WRITE_PARAMS = [
  queryParam('dryRun', 'When present, indicates that modifications should not be persisted.'),
  queryParam('fieldManager', 'fieldManager is a name associated with the actor or entity that is making these changes.'),
  queryParam('fieldValidation', 'fieldValidation instructs the server on how to handle objects in the request (POST/PUT/PATCH) containing unknown or duplicate fields. Valid values are: Ignore, Warn, Strict.'),
];

function operation(action: string, opId: string, t: ResourceType, version: string, ref: string, extra: JsonObject[] = []): JsonObject {
  const op: JsonObject = {
    tags: [t.group ? `${t.group}_${version}` : `core_${version}`],
    operationId: opId,
    responses: { '200': { description: 'OK', content: { 'application/json': { schema: { $ref: ref } } } } },
    'x-kubernetes-action': action,
    'x-kubernetes-group-version-kind': { group: t.group, version, kind: t.kind },
  };
  if (extra.length > 0) op['parameters'] = extra;
  return op;
}

function pascal(s: string): string {
  return s
    .split(/[.-]/)
    .map((p) => (p ? p[0]?.toUpperCase() + p.slice(1) : ''))
    .join('');
}

function pathsFor(t: ResourceType, version: string): Record<string, JsonObject> {
  const ref = `#/components/schemas/${definitionName(t, version)}`;
  const prefix = `/${gvPath(t.group, version)}`;
  const g = pascal(t.group || 'core') + pascal(version);
  const scope = t.namespaced ? 'Namespaced' : '';
  const base = t.namespaced ? `${prefix}/namespaces/{namespace}/${t.resource}` : `${prefix}/${t.resource}`;
  const pathParams = t.namespaced ? [PATH_NAMESPACE] : [];
  const patchBody: JsonObject = {
    content: Object.fromEntries(
      ['application/json-patch+json', 'application/merge-patch+json', 'application/apply-patch+yaml', ...(t.builtin ? ['application/strategic-merge-patch+json'] : [])].map((ct) => [
        ct,
        { schema: { $ref: '#/components/schemas/io.k8s.apimachinery.pkg.apis.meta.v1.Patch' } },
      ]),
    ),
    required: true,
  };
  const patch = (sub: string): JsonObject => {
    const op = operation('patch', `patch${g}${scope}${t.kind}${sub}`, t, version, ref, [...WRITE_PARAMS, queryParam('force', 'Force is going to "force" Apply requests.', 'boolean')]);
    op['requestBody'] = patchBody;
    return op;
  };
  const put = (sub: string): JsonObject => {
    const op = operation('put', `replace${g}${scope}${t.kind}${sub}`, t, version, ref, WRITE_PARAMS);
    op['requestBody'] = { content: { '*/*': { schema: { $ref: ref } } }, required: true };
    return op;
  };
  const paths: Record<string, JsonObject> = {
    [base]: {
      get: operation('list', `list${g}${scope}${t.kind}`, t, version, ref),
      post: { ...operation('post', `create${g}${scope}${t.kind}`, t, version, ref, WRITE_PARAMS), requestBody: { content: { '*/*': { schema: { $ref: ref } } }, required: true } },
      delete: operation('deletecollection', `deletecollection${g}${scope}${t.kind}`, t, version, ref),
      parameters: pathParams,
    },
    [`${base}/{name}`]: {
      get: operation('get', `read${g}${scope}${t.kind}`, t, version, ref),
      put: put(''),
      patch: patch(''),
      delete: operation('delete', `delete${g}${scope}${t.kind}`, t, version, ref),
      parameters: [PATH_NAME, ...pathParams],
    },
  };
  if (t.hasStatus) {
    paths[`${base}/{name}/status`] = {
      get: operation('get', `read${g}${scope}${t.kind}Status`, t, version, ref),
      put: put('Status'),
      patch: patch('Status'),
      parameters: [PATH_NAME, ...pathParams],
    };
  }
  if (t.namespaced) paths[`${prefix}/${t.resource}`] = { get: operation('list', `list${g}${t.kind}ForAllNamespaces`, t, version, ref) };
  return paths;
}

const META_SCHEMAS: Record<string, Json> = {
  'io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta': {
    description: 'ObjectMeta is metadata that all persisted resources must have, which includes all objects users must create.',
    type: 'object',
    properties: {
      name: { type: 'string' },
      generateName: { type: 'string' },
      namespace: { type: 'string' },
      uid: { type: 'string' },
      resourceVersion: { type: 'string' },
      generation: { type: 'integer', format: 'int64' },
      creationTimestamp: { type: 'string', format: 'date-time' },
      deletionTimestamp: { type: 'string', format: 'date-time' },
      labels: { type: 'object', additionalProperties: { type: 'string', default: '' } },
      annotations: { type: 'object', additionalProperties: { type: 'string', default: '' } },
      finalizers: { type: 'array', items: { type: 'string', default: '' }, 'x-kubernetes-list-type': 'set' },
      ownerReferences: { type: 'array', items: { type: 'object' }, 'x-kubernetes-patch-merge-key': 'uid', 'x-kubernetes-patch-strategy': 'merge' },
    },
  },
  'io.k8s.apimachinery.pkg.apis.meta.v1.Patch': {
    description: 'Patch is provided to give a concrete name and type to the Kubernetes PATCH request body.',
    type: 'object',
  },
};

function crdSchema(t: ResourceType, version: string): Json {
  const s = clone(t.schemas.get(version) as unknown as JsonObject | undefined) ?? { type: 'object', 'x-kubernetes-preserve-unknown-fields': true };
  const props = (s['properties'] as JsonObject | undefined) ?? {};
  props['apiVersion'] = { description: 'APIVersion defines the versioned schema of this representation of an object.', type: 'string' };
  props['kind'] = { description: 'Kind is a string value representing the REST resource this object represents.', type: 'string' };
  props['metadata'] = { description: "Standard object's metadata.", allOf: [{ $ref: '#/components/schemas/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta' }] };
  s['properties'] = props;
  s['x-kubernetes-group-version-kind'] = [{ group: t.group, kind: t.kind, version }];
  return s;
}

export interface OpenApiIndex {
  root: JsonObject;
  docs: Map<string, { body: string; hash: string }>;
}

/**
 * `/openapi/v3` and its per group-version documents. kubectl only needs, per kind, a PATCH
 * operation carrying `x-kubernetes-group-version-kind` and a `fieldValidation` parameter (so it
 * leaves validation to the server); CRD schemas are included as component schemas.
 */
export function buildOpenApi(registry: Registry): OpenApiIndex {
  const docs = new Map<string, { body: string; hash: string }>();
  const rootPaths: JsonObject = {};
  for (const g of registry.groups()) {
    for (const version of g.versions) {
      const types = registry.typesIn(g.group, version);
      const paths: Record<string, JsonObject> = {};
      const schemas: Record<string, Json> = { ...META_SCHEMAS };
      for (const t of types) {
        Object.assign(paths, pathsFor(t, version));
        if (!t.builtin) schemas[definitionName(t, version)] = crdSchema(t, version);
      }
      const doc = {
        openapi: '3.0.0',
        info: { title: 'Kubernetes', version: SERVER_VERSION.gitVersion },
        paths,
        components: { schemas },
      };
      const body = JSON.stringify(doc);
      const hash = createHash('sha512').update(body).digest('hex').toUpperCase();
      const key = gvPath(g.group, version);
      docs.set(key, { body, hash });
      rootPaths[key] = { serverRelativeURL: `/openapi/v3/${key}?hash=${hash}` };
    }
  }
  return { root: { paths: rootPaths }, docs };
}
