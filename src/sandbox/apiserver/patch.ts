import { applyJsonPatch, JsonPatchError, type JsonPatchOp } from '../../routing/json-patch.js';
import { clone, deepEqual, isObject, type Json, type JsonObject } from './json.js';
import { ApiStatusError, badRequest } from './status.js';

export const PATCH_TYPES = {
  json: 'application/json-patch+json',
  merge: 'application/merge-patch+json',
  strategic: 'application/strategic-merge-patch+json',
  apply: 'application/apply-patch+yaml',
} as const;

/** A JSON Patch that parsed but cannot apply: answered 422 like the real server's NewGenericServerResponse. */
function patchApplyError(message: string): ApiStatusError {
  return new ApiStatusError(422, 'Invalid', 'the server rejected our request due to an error in our request', {
    causes: [{ reason: 'UnexpectedServerResponse', message }],
  });
}

// ---------------------------------------------------------------- RFC 7386

export function mergePatch(target: Json | undefined, patch: Json): Json {
  if (!isObject(patch)) return clone(patch);
  const out: JsonObject = isObject(target) ? clone(target) : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === undefined) continue;
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}

// ---------------------------------------------------------------- RFC 6902

/**
 * The API server's JSON Patch, on routeshift's own applier (src/routing/json-patch.ts, which the route
 * client's tests use too): the same ops, with the API server's answers. A malformed patch is 400; one that
 * parsed but does not apply is 422 with the generic message (NewGenericServerResponse), the json-patch
 * text in its causes.
 */
export function jsonPatch(doc: Json, patch: unknown): Json {
  const ops = parseOps(patch);
  let out = doc;
  for (const op of ops) {
    try {
      out = applyJsonPatch(out, [op]);
    } catch (err) {
      if (!(err instanceof JsonPatchError)) throw err;
      // evanphx/json-patch v4 (the API server's): `test` of a missing path passes when the value is null.
      if (op.op === 'test' && op.value === null && err.code === 'PatchPathMissing') continue;
      throw patchApplyError(apiServerWording(op, err));
    }
  }
  // applyJsonPatch copies: `doc` is untouched, whatever op failed.
  return out === doc ? clone(doc) : out;
}

function apiServerWording(op: JsonPatchOp, err: JsonPatchError): string {
  if (err.code === 'PatchTestFailed') return `testing value ${op.path} failed: test failed`;
  if (err.code === 'PatchPathMissing' && /index/.test(err.message)) return `Unable to access invalid index: ${op.path}: invalid index referenced`;
  if (err.code === 'PatchPathMissing') return `${op.op} operation does not apply: doc is missing path: "${op.path}": missing value`;
  return `${op.op} operation does not apply: ${err.message}`;
}

function parseOps(patch: unknown): JsonPatchOp[] {
  if (!Array.isArray(patch)) throw badRequest('json: cannot unmarshal object into Go value of type jsonpatch.Patch');
  return patch.map((raw): JsonPatchOp => {
    if (!isObject(raw) || typeof raw['op'] !== 'string') throw badRequest('Unexpected kind: unknown');
    const op = raw['op'];
    const path = raw['path'];
    if (typeof path !== 'string') throw badRequest(`${op} operation missing path`);
    const value = 'value' in raw ? (raw['value'] ?? null) : undefined;
    const from = typeof raw['from'] === 'string' ? raw['from'] : undefined;
    switch (op) {
      case 'add':
      case 'replace':
        if (value === undefined) throw badRequest(`${op} operation missing value`);
        return { op, path, value };
      case 'test':
        return { op, path, value: value ?? null };
      case 'remove':
        return { op, path };
      case 'move':
      case 'copy':
        if (from === undefined) throw badRequest(`${op} operation missing from`);
        return { op, path, from };
      default:
        throw badRequest(`Unexpected kind: ${op}`);
    }
  });
}

// ---------------------------------------------------------------- strategic merge (approximate)

/** Merge keys of well-known lists in built-in kinds, by field name (what the Go struct tags say). */
function mergeKeyFor(field: string, items: Json[]): string | undefined {
  switch (field) {
    case 'containers':
    case 'initContainers':
    case 'ephemeralContainers':
    case 'env':
    case 'volumes':
    case 'imagePullSecrets':
    case 'resourceClaims':
      return 'name';
    case 'volumeMounts':
    case 'volumeDevices':
      return field === 'volumeMounts' ? 'mountPath' : 'devicePath';
    case 'ports': {
      const first = items.find(isObject);
      return first && 'containerPort' in first ? 'containerPort' : 'port';
    }
    case 'ownerReferences':
      return 'uid';
    case 'conditions':
      return 'type';
    case 'hostAliases':
      return 'ip';
    case 'topologySpreadConstraints':
      return 'topologyKey';
    default:
      return undefined;
  }
}

/** Primitive lists whose patch strategy is merge (union), not replace. */
const MERGED_PRIMITIVE_LISTS = new Set(['finalizers']);

export function strategicMergePatch(target: Json | undefined, patch: Json): Json {
  if (!isObject(patch)) return clone(patch);
  return smpObject(isObject(target) ? target : {}, patch);
}

function smpObject(target: JsonObject, patch: JsonObject): Json {
  const directive = patch['$patch'];
  if (directive === 'replace') {
    const out = clone(patch);
    delete out['$patch'];
    return out;
  }
  const out = clone(target);
  const retain = patch['$retainKeys'];
  for (const [k, v] of Object.entries(patch)) {
    if (v === undefined || k === '$patch' || k === '$retainKeys' || k.startsWith('$setElementOrder/')) continue;
    if (k.startsWith('$deleteFromPrimitiveList/')) {
      const field = k.slice('$deleteFromPrimitiveList/'.length);
      const cur = out[field];
      if (Array.isArray(cur) && Array.isArray(v)) out[field] = cur.filter((x) => !v.some((d) => deepEqual(d, x)));
      continue;
    }
    if (v === null) {
      delete out[k];
      continue;
    }
    if (isObject(v)) {
      if (v['$patch'] === 'delete') {
        delete out[k];
        continue;
      }
      out[k] = smpObject(isObject(out[k]) ? (out[k] as JsonObject) : {}, v);
      continue;
    }
    if (Array.isArray(v)) {
      out[k] = smpList(k, Array.isArray(out[k]) ? (out[k] as Json[]) : [], v);
      continue;
    }
    out[k] = v;
  }
  if (Array.isArray(retain)) {
    for (const k of Object.keys(out)) if (!retain.includes(k)) delete out[k];
  }
  return out;
}

function smpList(field: string, target: Json[], patch: Json[]): Json[] {
  if (patch.some((p) => isObject(p) && p['$patch'] === 'replace')) {
    return clone(patch.filter((p) => !(isObject(p) && p['$patch'] === 'replace')));
  }
  if (patch.every((p) => !isObject(p))) {
    if (!MERGED_PRIMITIVE_LISTS.has(field)) return clone(patch);
    const out = clone(target);
    for (const p of patch) if (!out.some((x) => deepEqual(x, p))) out.push(clone(p));
    return out;
  }
  const key = mergeKeyFor(field, [...patch, ...target]);
  if (!key) return clone(patch.filter((p) => !(isObject(p) && p['$patch'] === 'delete')));
  const out = clone(target);
  for (const p of patch) {
    if (!isObject(p)) continue;
    const idx = out.findIndex((x) => isObject(x) && deepEqual(x[key], p[key]));
    if (p['$patch'] === 'delete') {
      if (idx >= 0) out.splice(idx, 1);
      continue;
    }
    if (idx >= 0) out[idx] = smpObject(out[idx] as JsonObject, p);
    else out.push(smpObject({}, p));
  }
  return out;
}
