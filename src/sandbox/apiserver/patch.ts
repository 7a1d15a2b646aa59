import { clone, deepEqual, isObject, type Json, type JsonObject } from './json.js';
import { ApiStatusError, badRequest } from './status.js';

export const PATCH_TYPES = {
  json: 'application/json-patch+json',
  merge: 'application/merge-patch+json',
  strategic: 'application/strategic-merge-patch+json',
  apply: 'application/apply-patch+yaml',
} as const;

/**
 * A JSON Patch that parsed but cannot apply: answered 422 with kube-apiserver 1.36's generic message
 * and empty details (1.32 carried the json-patch library's error as a cause). `detail` says why, for
 * the server's debug log only.
 */
export class PatchApplyError extends ApiStatusError {
  constructor(readonly detail: string) {
    super(422, 'Invalid', 'the server rejected our request due to an error in our request', {});
  }
}

function patchApplyError(detail: string): ApiStatusError {
  return new PatchApplyError(detail);
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

interface Op {
  op: string;
  path: string;
  from?: string;
  value?: Json;
}

function decodePointer(pointer: string): string[] {
  if (pointer === '') return [];
  if (!pointer.startsWith('/')) throw patchApplyError(`JSON pointer must be empty or start with a "/": ${pointer}`);
  return pointer
    .slice(1)
    .split('/')
    .map((t) => t.replace(/~1/g, '/').replace(/~0/g, '~'));
}

function parseOps(patch: unknown): Op[] {
  if (!Array.isArray(patch)) throw badRequest('json: cannot unmarshal object into Go value of type jsonpatch.Patch');
  return patch.map((raw) => {
    if (!isObject(raw) || typeof raw['op'] !== 'string') throw badRequest('Unexpected kind: unknown');
    if (typeof raw['path'] !== 'string') throw badRequest(`${raw['op']} operation missing path`);
    const op: Op = { op: raw['op'], path: raw['path'] };
    if (typeof raw['from'] === 'string') op.from = raw['from'];
    if ('value' in raw) op.value = raw['value'] ?? null;
    return op;
  });
}

interface Parent {
  container: Json[] | JsonObject;
  key: string;
}

function resolveParent(doc: Json, tokens: string[], opName: string, pointer: string): Parent {
  let cur: Json = doc;
  for (let i = 0; i < tokens.length - 1; i++) {
    const t = tokens[i] as string;
    let next: Json | undefined;
    if (Array.isArray(cur)) {
      const idx = /^\d+$/.test(t) ? Number(t) : NaN;
      next = Number.isNaN(idx) ? undefined : cur[idx];
    } else if (isObject(cur)) {
      next = cur[t];
    }
    if (next === undefined || next === null || typeof next !== 'object') {
      throw patchApplyError(`${opName} operation does not apply: doc is missing path: "${pointer}": missing value`);
    }
    cur = next;
  }
  if (!Array.isArray(cur) && !isObject(cur)) {
    throw patchApplyError(`${opName} operation does not apply: doc is missing path: "${pointer}": missing value`);
  }
  return { container: cur, key: tokens[tokens.length - 1] as string };
}

function arrayIndex(arr: Json[], key: string, allowEnd: boolean, opName: string, pointer: string): number {
  if (key === '-' && allowEnd) return arr.length;
  if (!/^\d+$/.test(key)) throw patchApplyError(`${opName} operation does not apply: doc is missing path: "${pointer}": missing value`);
  const idx = Number(key);
  if (idx > arr.length || (!allowEnd && idx >= arr.length)) {
    throw patchApplyError(`Unable to access invalid index: ${idx}: invalid index referenced`);
  }
  return idx;
}

function getAt(doc: Json, pointer: string, opName: string): Json {
  const tokens = decodePointer(pointer);
  if (tokens.length === 0) return doc;
  const { container, key } = resolveParent(doc, tokens, opName, pointer);
  const v = Array.isArray(container) ? container[arrayIndex(container, key, false, opName, pointer)] : container[key];
  if (v === undefined) throw patchApplyError(`${opName} operation does not apply: doc is missing key: ${pointer}: missing value`);
  return v;
}

function removeAt(doc: Json, pointer: string, opName: string): Json {
  const tokens = decodePointer(pointer);
  const { container, key } = resolveParent(doc, tokens, opName, pointer);
  if (Array.isArray(container)) {
    const idx = arrayIndex(container, key, false, opName, pointer);
    return container.splice(idx, 1)[0] as Json;
  }
  const v = container[key];
  if (v === undefined) throw patchApplyError(`${opName} operation does not apply: doc is missing path: "${pointer}": missing value`);
  delete container[key];
  return v;
}

function addAt(doc: Json, pointer: string, value: Json, opName: string): Json {
  const tokens = decodePointer(pointer);
  if (tokens.length === 0) return value;
  const { container, key } = resolveParent(doc, tokens, opName, pointer);
  if (Array.isArray(container)) container.splice(arrayIndex(container, key, true, opName, pointer), 0, value);
  else container[key] = value;
  return doc;
}

export function jsonPatch(doc: Json, patch: unknown): Json {
  let out = clone(doc);
  for (const op of parseOps(patch)) {
    switch (op.op) {
      case 'add':
        if (op.value === undefined) throw badRequest('add operation missing value');
        out = addAt(out, op.path, clone(op.value), 'add');
        break;
      case 'remove':
        removeAt(out, op.path, 'remove');
        break;
      case 'replace': {
        if (op.value === undefined) throw badRequest('replace operation missing value');
        const tokens = decodePointer(op.path);
        if (tokens.length === 0) {
          out = clone(op.value);
          break;
        }
        const { container, key } = resolveParent(out, tokens, 'replace', op.path);
        if (Array.isArray(container)) container[arrayIndex(container, key, false, 'replace', op.path)] = clone(op.value);
        else {
          // kube-apiserver 1.36 replaces a missing object member as if added (the RFC says fail).
          container[key] = clone(op.value);
        }
        break;
      }
      case 'move': {
        if (op.from === undefined) throw badRequest('move operation missing from');
        const v = removeAt(out, op.from, 'move');
        out = addAt(out, op.path, v, 'move');
        break;
      }
      case 'copy': {
        if (op.from === undefined) throw badRequest('copy operation missing from');
        const v = clone(getAt(out, op.from, 'copy'));
        out = addAt(out, op.path, v, 'copy');
        break;
      }
      case 'test': {
        let actual: Json | undefined;
        try {
          actual = getAt(out, op.path, 'test');
        } catch {
          actual = undefined;
        }
        const expected = op.value === undefined ? null : op.value;
        if (actual === undefined ? expected !== null : !deepEqual(actual, expected)) {
          throw patchApplyError(`testing value ${op.path} failed: test failed`);
        }
        break;
      }
      default:
        throw patchApplyError(`Unexpected kind: ${op.op}`);
    }
  }
  return out;
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
