/**
 * A small RFC 6902 (JSON Patch) applier with RFC 6901 pointers. routeshift sends JSON Patch to the API
 * server; this applier lets tests (and dry runs) apply exactly the same document locally, with the
 * same all-or-nothing semantics: the input is never modified, and any failing op (a `test` that does
 * not match, a missing path) rejects the whole patch.
 */
import { RouteshiftError } from '../core/errors.js';

export type JsonPatchOp =
  | { op: 'test'; path: string; value: unknown }
  | { op: 'add'; path: string; value: unknown }
  | { op: 'replace'; path: string; value: unknown }
  | { op: 'remove'; path: string }
  | { op: 'move'; from: string; path: string }
  | { op: 'copy'; from: string; path: string };

export type JsonPatchErrorCode = 'PatchTestFailed' | 'PatchPathMissing' | 'PatchInvalid';

export class JsonPatchError extends RouteshiftError {
  declare readonly code: JsonPatchErrorCode;
  /** Index of the failing op in the patch. */
  readonly opIndex: number;
  constructor(code: JsonPatchErrorCode, opIndex: number, message: string) {
    super(code, `op ${opIndex}: ${message}`);
    this.opIndex = opIndex;
  }
}

/** RFC 6901: "/a/b~1c" → ["a", "b/c"]. */
export function parsePointer(pointer: string): string[] {
  if (pointer === '') return [];
  if (!pointer.startsWith('/')) throw new Error(`JSON pointer must start with "/": ${JSON.stringify(pointer)}`);
  return pointer
    .slice(1)
    .split('/')
    .map((t) => t.replace(/~1/g, '/').replace(/~0/g, '~'));
}

export function formatPointer(tokens: ReadonlyArray<string | number>): string {
  return tokens.map((t) => '/' + String(t).replace(/~/g, '~0').replace(/\//g, '~1')).join('');
}

/** JSON value equality (RFC 6902 §4.6): key order does not matter, array order does. */
export function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== typeof b || a === null || b === null || typeof a !== 'object') return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a)) {
    const bb = b as unknown[];
    return a.length === bb.length && a.every((v, i) => jsonEqual(v, bb[i]));
  }
  const ao = a as Record<string, unknown>;
  const bo = b as Record<string, unknown>;
  const ak = Object.keys(ao);
  if (ak.length !== Object.keys(bo).length) return false;
  return ak.every((k) => Object.prototype.hasOwnProperty.call(bo, k) && jsonEqual(ao[k], bo[k]));
}

function clone<T>(v: T): T {
  return v === undefined ? v : (JSON.parse(JSON.stringify(v)) as T);
}

type Container = Record<string, unknown> | unknown[];

function isContainer(v: unknown): v is Container {
  return typeof v === 'object' && v !== null;
}

function arrayIndex(token: string, length: number, allowEnd: boolean, i: number, path: string): number {
  if (allowEnd && token === '-') return length;
  if (!/^(0|[1-9][0-9]*)$/.test(token)) throw new JsonPatchError('PatchPathMissing', i, `bad array index in ${path}`);
  const n = Number(token);
  if (n > length || (!allowEnd && n === length)) throw new JsonPatchError('PatchPathMissing', i, `index out of range in ${path}`);
  return n;
}

/** Walks to the parent of the pointer's last token. */
function parentOf(doc: unknown, path: string, i: number): { parent: Container; key: string } {
  const tokens = parsePointerOrThrow(path, i);
  if (tokens.length === 0) throw new JsonPatchError('PatchInvalid', i, 'the whole document cannot be the target here');
  let cur: unknown = doc;
  for (const t of tokens.slice(0, -1)) {
    cur = child(cur, t, i, path);
  }
  if (!isContainer(cur)) throw new JsonPatchError('PatchPathMissing', i, `no container at ${path}`);
  return { parent: cur, key: tokens[tokens.length - 1] as string };
}

function parsePointerOrThrow(path: string, i: number): string[] {
  try {
    return parsePointer(path);
  } catch (err) {
    throw new JsonPatchError('PatchInvalid', i, (err as Error).message);
  }
}

function child(cur: unknown, token: string, i: number, path: string): unknown {
  if (Array.isArray(cur)) return cur[arrayIndex(token, cur.length, false, i, path)];
  if (isContainer(cur) && Object.prototype.hasOwnProperty.call(cur, token)) return (cur as Record<string, unknown>)[token];
  throw new JsonPatchError('PatchPathMissing', i, `path ${path} does not exist`);
}

function get(doc: unknown, path: string, i: number): unknown {
  let cur = doc;
  for (const t of parsePointerOrThrow(path, i)) cur = child(cur, t, i, path);
  return cur;
}

function add(doc: unknown, path: string, value: unknown, i: number): unknown {
  if (path === '') return value;
  const { parent, key } = parentOf(doc, path, i);
  if (Array.isArray(parent)) parent.splice(arrayIndex(key, parent.length, true, i, path), 0, value);
  else parent[key] = value;
  return doc;
}

function remove(doc: unknown, path: string, i: number): unknown {
  const { parent, key } = parentOf(doc, path, i);
  if (Array.isArray(parent)) parent.splice(arrayIndex(key, parent.length, false, i, path), 1);
  else if (Object.prototype.hasOwnProperty.call(parent, key)) delete parent[key];
  else throw new JsonPatchError('PatchPathMissing', i, `path ${path} does not exist`);
  return doc;
}

/** In place, so an object's key order (and so its serialized bytes) stays as it was. */
function replace(doc: unknown, path: string, value: unknown, i: number): unknown {
  if (path === '') return value;
  const { parent, key } = parentOf(doc, path, i);
  if (Array.isArray(parent)) parent[arrayIndex(key, parent.length, false, i, path)] = value;
  else if (Object.prototype.hasOwnProperty.call(parent, key)) parent[key] = value;
  else throw new JsonPatchError('PatchPathMissing', i, `path ${path} does not exist`);
  return doc;
}

/** Applies `ops` to a deep copy of `doc` and returns it; throws JsonPatchError and leaves `doc` alone on failure. */
export function applyJsonPatch<T>(doc: T, ops: ReadonlyArray<JsonPatchOp>): T {
  let out: unknown = clone(doc);
  ops.forEach((op, i) => {
    switch (op.op) {
      case 'test': {
        const actual = get(out, op.path, i);
        if (!jsonEqual(actual, op.value)) {
          throw new JsonPatchError(
            'PatchTestFailed',
            i,
            `test ${op.path} failed: expected ${JSON.stringify(op.value)}, found ${JSON.stringify(actual)}`,
          );
        }
        break;
      }
      case 'add':
        out = add(out, op.path, clone(op.value), i);
        break;
      case 'replace':
        out = replace(out, op.path, clone(op.value), i);
        break;
      case 'remove':
        out = remove(out, op.path, i);
        break;
      case 'copy':
        out = add(out, op.path, clone(get(out, op.from, i)), i);
        break;
      case 'move': {
        if (op.path.startsWith(op.from + '/')) throw new JsonPatchError('PatchInvalid', i, 'cannot move a value into itself');
        const v = get(out, op.from, i);
        out = add(remove(out, op.from, i), op.path, v, i);
        break;
      }
      default:
        throw new JsonPatchError('PatchInvalid', i, `unknown op ${JSON.stringify((op as { op: unknown }).op)}`);
    }
  });
  return out as T;
}
