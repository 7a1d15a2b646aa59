import { randomBytes, randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { parse as parseYaml } from 'yaml';
import { builtinMessage, pruneBuiltin } from './builtin-fields.js';
import { decodeProtobufBody, isProtobuf } from './protobuf.js';
import { goValue } from './go-format.js';
import { answerSelfSubjectAccessReview, answerSelfSubjectRulesReview } from './reviews.js';
import { scaleReplicas, toScale } from './scale.js';
import { CelValidator } from './cel.js';
import { crdStatus, crdToResourceType, defaultCrd, validateCrd } from './crd.js';
import { clone, deepEqual, isObject, meta, type Json, type JsonObject } from './json.js';
import { PATCH_TYPES, jsonPatch, mergePatch, strategicMergePatch } from './patch.js';
import { apiVersionOf, type AdmitContext, type Registry, type ResourceType } from './registry.js';
import { pruneAndDefault, validateSchema, type Schema } from './schema.js';
import { parseFieldSelector, parseLabelSelector } from './selectors.js';
import {
  ApiStatusError,
  alreadyExists,
  badRequest,
  conflict,
  invalid,
  notFound,
  unsupportedMediaType,
  type FieldError,
} from './status.js';
import type { Store } from './store.js';
import { toTable, type TableOptions } from './table.js';
import { nameRuleFor, validateMetadataMaps, validateName } from './validation.js';

export interface ResourceRequest {
  type: ResourceType;
  version: string;
  namespace: string | undefined;
  name: string | undefined;
  subresource: string | undefined;
  query: URLSearchParams;
  accept: string;
  contentType: string;
  body: Buffer;
  /** Already-decoded body (requests the server makes to itself). */
  object?: JsonObject;
}

export interface Reply {
  status: number;
  body: JsonObject;
  warnings?: string[];
}

type FieldValidation = 'Ignore' | 'Warn' | 'Strict';
type Verb = 'create' | 'update' | 'patch';

const CRD_GROUP = 'apiextensions.k8s.io';

function fieldValidation(q: URLSearchParams): FieldValidation {
  const v = q.get('fieldValidation');
  if (v === null || v === '') return 'Warn';
  if (v === 'Ignore' || v === 'Warn' || v === 'Strict') return v;
  throw badRequest(`fieldValidation parameter unsupported: ${v}`);
}

function isDryRun(q: URLSearchParams): boolean {
  const v = q.getAll('dryRun');
  if (v.length === 0) return false;
  if (v.every((x) => x === 'All')) return true;
  throw badRequest(`Invalid dryRun: ${v.join(',')}`);
}

/** Name suffix alphabet of the real generateName (no vowels, no confusable characters). */
const GENERATE_ALPHABET = 'bcdfghjklmnpqrstvwxz2456789';
function randomSuffix(): string {
  const bytes = randomBytes(5);
  return [...bytes].map((b) => GENERATE_ALPHABET[b % GENERATE_ALPHABET.length]).join('');
}

function stripVolatile(obj: JsonObject): JsonObject {
  const c = clone(obj);
  const m = meta(c);
  delete m['resourceVersion'];
  delete m['managedFields'];
  return c;
}

function withoutKeys(obj: JsonObject, keys: string[]): JsonObject {
  const c: JsonObject = {};
  for (const [k, v] of Object.entries(obj)) if (!keys.includes(k)) c[k] = v;
  return c;
}

export interface ResourceHandlerDeps {
  store: Store;
  registry: Registry;
  logger?: Logger;
  now(): number;
  admit: AdmitContext;
  /** Runs `fn` later (timers the server cancels on stop). */
  schedule(fn: () => void, ms: number): void;
  namespaceDeletionDelayMs: number;
}

/** The REST semantics of one resource request: CRUD, patch, selectors, status, CRD lifecycle. */
export class ResourceHandler {
  private readonly cel: CelValidator;

  constructor(private readonly deps: ResourceHandlerDeps) {
    this.cel = new CelValidator(deps.logger);
  }

  // ------------------------------------------------------------ conversion

  /** Storage form → the requested version's form (with read-time defaults for custom resources). */
  external(t: ResourceType, version: string, obj: JsonObject): JsonObject {
    const base = t.toExternal ? t.toExternal(obj, version) : obj;
    const out: JsonObject = { apiVersion: apiVersionOf(t.group, version), kind: t.kind };
    for (const [k, v] of Object.entries(base)) if (k !== 'apiVersion' && k !== 'kind') out[k] = clone(v);
    const schema = t.schemas.get(version);
    if (schema) pruneAndDefault(out, schema, '', [], true);
    return out;
  }

  private internal(t: ResourceType, obj: JsonObject): JsonObject {
    const base = t.toInternal ? t.toInternal(obj) : obj;
    return { ...base, apiVersion: apiVersionOf(t.group, t.storageVersion), kind: t.kind };
  }

  private now(): string {
    return new Date(this.deps.now()).toISOString().replace(/\.\d{3}Z$/, 'Z');
  }

  // ------------------------------------------------------------ request parsing

  parseBody(req: ResourceRequest): Json {
    if (isProtobuf(req.contentType)) return decodeProtobufBody(req.body);
    const text = req.body.toString('utf8');
    if (text.trim() === '') throw badRequest('the body of the request is empty');
    const ct = req.contentType;
    try {
      if (ct.includes('yaml')) return (parseYaml(text) ?? null) as Json;
      return JSON.parse(text) as Json;
    } catch (err) {
      throw badRequest(`error decoding request body: ${err instanceof Error ? err.message : String(err)}`);
    }
  }

  private objectBody(req: ResourceRequest): JsonObject {
    const body = req.object ?? this.parseBody(req);
    if (!isObject(body)) throw badRequest(`Object 'Kind' is missing in '${JSON.stringify(body)}'`);
    this.checkTypeMeta(req, body);
    return body;
  }

  private checkTypeMeta(req: ResourceRequest, body: JsonObject): void {
    const t = req.type;
    const expected = apiVersionOf(t.group, req.version);
    const kind = body['kind'];
    const av = body['apiVersion'];
    if (kind !== undefined && kind !== t.kind && !(req.subresource === 'status' && kind === t.kind)) {
      throw badRequest(`the kind in the data (${String(kind)}) does not match the expected kind (${t.kind})`);
    }
    if (av !== undefined && av !== expected && !(t.toInternal === undefined && typeof av === 'string' && t.versions.some((v) => apiVersionOf(t.group, v) === av))) {
      throw badRequest(`the API version in the data (${String(av)}) does not match the expected API version (${expected})`);
    }
  }

  private wantsTable(accept: string): boolean {
    return /as=Table/.test(accept);
  }

  private tableOptions(q: URLSearchParams): TableOptions {
    const inc = q.get('includeObject');
    return { includeObject: inc === 'None' || inc === 'Object' ? inc : 'Metadata' };
  }

  private namespaceExists(ns: string): boolean {
    return this.deps.store.get('/namespaces', '', ns) !== undefined;
  }

  private rv(obj: JsonObject): string | undefined {
    const v = meta(obj)['resourceVersion'];
    return typeof v === 'string' && v !== '' ? v : undefined;
  }

  // ------------------------------------------------------------ reads

  get(req: ResourceRequest): Reply {
    const t = req.type;
    const obj = this.deps.store.get(t.storageKey, req.namespace ?? '', req.name as string);
    if (!obj) throw notFound(t.group, t.resource, req.name as string);
    const ext = this.external(t, req.version, obj);
    if (this.wantsTable(req.accept)) {
      return { status: 200, body: toTable(t, req.version, [ext], this.rv(obj) ?? '', this.deps.now(), this.tableOptions(req.query)) };
    }
    if (/as=PartialObjectMetadata(;|,|$)/.test(req.accept)) {
      return { status: 200, body: { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: ext['metadata'] ?? {} } };
    }
    return { status: 200, body: ext };
  }

  /** Storage-form objects of a list/watch scope that pass the request's selectors. */
  matcher(req: ResourceRequest): (obj: JsonObject) => boolean {
    const labels = parseLabelSelector(req.query.get('labelSelector'));
    const fields = parseFieldSelector(req.query.get('fieldSelector'), req.type.kind);
    return (obj) => {
      const m = isObject(obj['metadata']) ? obj['metadata'] : {};
      const l: Record<string, string> = {};
      if (isObject(m['labels'])) for (const [k, v] of Object.entries(m['labels'])) if (typeof v === 'string') l[k] = v;
      return labels(l) && fields(obj);
    };
  }

  list(req: ResourceRequest): Reply {
    const t = req.type;
    const match = this.matcher(req);
    const items = this.deps.store.list(t.storageKey, req.namespace).filter(match);
    const rv = String(this.deps.store.currentRv());
    const ext = items.map((o) => this.external(t, req.version, o));
    if (this.wantsTable(req.accept)) {
      return { status: 200, body: toTable(t, req.version, ext, rv, this.deps.now(), this.tableOptions(req.query)) };
    }
    if (/as=PartialObjectMetadataList/.test(req.accept)) {
      return {
        status: 200,
        body: {
          kind: 'PartialObjectMetadataList',
          apiVersion: 'meta.k8s.io/v1',
          metadata: { resourceVersion: rv },
          items: ext.map((o) => ({ kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: o['metadata'] ?? {} })),
        },
      };
    }
    // Built-in lists carry no per-item apiVersion/kind on the wire; custom resource lists do.
    const wireItems = t.builtin ? ext.map((o) => withoutKeys(o, ['apiVersion', 'kind'])) : ext;
    return {
      status: 200,
      body: { apiVersion: apiVersionOf(t.group, req.version), kind: t.listKind, metadata: { resourceVersion: rv }, items: wireItems },
    };
  }

  // ------------------------------------------------------------ writes

  create(req: ResourceRequest): Reply {
    if (req.subresource) throw new ApiStatusError(405, 'MethodNotAllowed', `the server does not allow this method on the requested resource`, {});
    const body = this.objectBody(req);
    return this.createObject(req, body, 'create');
  }

  private createObject(req: ResourceRequest, body: JsonObject, verb: Verb): Reply {
    const t = req.type;
    const obj = this.internal(t, clone(body));
    const md = meta(obj);
    this.settleNamespace(req, md);
    if ((md['name'] === undefined || md['name'] === '') && typeof md['generateName'] === 'string' && md['generateName'] !== '') {
      md['name'] = `${md['generateName']}${randomSuffix()}`;
    }
    const name = typeof md['name'] === 'string' ? md['name'] : '';
    if (!name) {
      throw invalid(t.kind, t.group, '', [{ reason: 'FieldValueRequired', field: 'metadata.name', message: 'Required value: name or generateName is required' }]);
    }
    const nameErrors = validateName(name, nameRuleFor(t.group, t.resource));
    if (nameErrors.length > 0) throw invalid(t.kind, t.group, name, nameErrors);
    const metaErrors = validateMetadataMaps(md);
    if (metaErrors.length > 0) throw invalid(t.kind, t.group, name, metaErrors);
    if (t.namespaced && !this.namespaceExists(md['namespace'] as string)) throw notFound('', 'namespaces', md['namespace'] as string);
    if (this.deps.store.get(t.storageKey, (md['namespace'] as string | undefined) ?? '', name)) throw alreadyExists(t.group, t.resource, name);
    if (t.namespaced) {
      const ns = this.deps.store.get('/namespaces', '', md['namespace'] as string);
      if (ns && isObject(ns['metadata']) && ns['metadata']['deletionTimestamp']) {
        throw new ApiStatusError(403, 'Forbidden', `${t.resource} "${name}" is forbidden: unable to create new content in namespace ${String(md['namespace'])} because it is being terminated`, {
          name,
          kind: t.resource,
        });
      }
    }
    if (t.hasStatus && (!t.builtin || t.resource === 'deployments')) delete obj['status'];
    md['uid'] = randomUUID();
    md['creationTimestamp'] = this.now();
    // Only kinds whose strategy tracks spec changes carry a generation (not ConfigMaps, Services, Namespaces...).
    if (this.tracksGeneration(t)) md['generation'] = 1;
    else delete md['generation'];
    for (const k of ['resourceVersion', 'deletionTimestamp', 'deletionGracePeriodSeconds', 'selfLink', 'managedFields']) delete md[k];
    t.admit?.(obj, undefined, this.deps.admit);
    if (this.isCrdType(t)) this.prepareCrd(obj, undefined);
    const warnings = this.admitSchema(req, obj, undefined, verb);
    if (isDryRun(req.query)) return { status: 201, body: this.external(t, req.version, obj), warnings };
    this.deps.store.put(t.storageKey, obj);
    if (this.isCrdType(t)) this.afterCrdWrite(obj);
    return { status: 201, body: this.external(t, req.version, obj), warnings };
  }

  private settleNamespace(req: ResourceRequest, md: JsonObject): void {
    const t = req.type;
    if (!t.namespaced) {
      delete md['namespace'];
      return;
    }
    const ns = req.namespace;
    if (ns === undefined) throw badRequest('the server could not find the requested resource');
    if (md['namespace'] !== undefined && md['namespace'] !== '' && md['namespace'] !== ns) {
      throw badRequest('the namespace of the provided object does not match the namespace sent on the request');
    }
    md['namespace'] = ns;
  }

  update(req: ResourceRequest): Reply {
    const t = req.type;
    const body = this.objectBody(req);
    const obj = this.internal(t, clone(body));
    const md = meta(obj);
    const name = req.name as string;
    if (md['name'] !== undefined && md['name'] !== name) {
      throw badRequest(`the name of the object (${String(md['name'])}) does not match the name on the URL (${name})`);
    }
    md['name'] = name;
    this.settleNamespace(req, md);
    const existing = this.deps.store.get(t.storageKey, req.namespace ?? '', name);
    if (!existing) throw notFound(t.group, t.resource, name);
    const want = this.rv(obj);
    if (want !== undefined && want !== this.rv(existing)) throw conflict(t.group, t.resource, name);
    return this.commitUpdate(req, existing, obj, 'update');
  }

  patch(req: ResourceRequest): Reply {
    const t = req.type;
    const ct = req.contentType.split(';')[0]?.trim() ?? '';
    const name = req.name as string;
    const accepted = [PATCH_TYPES.json, PATCH_TYPES.merge, PATCH_TYPES.apply, ...(t.builtin ? [PATCH_TYPES.strategic] : [])];
    if (!accepted.includes(ct as (typeof accepted)[number])) throw unsupportedMediaType(accepted);
    const existing = this.deps.store.get(t.storageKey, req.namespace ?? '', name);
    const patchBody = this.parseBody(req);
    if (!existing) {
      if (ct !== PATCH_TYPES.apply || req.subresource) throw notFound(t.group, t.resource, name);
      if (!isObject(patchBody)) throw badRequest('invalid object: not a map');
      this.checkTypeMeta(req, patchBody);
      const body = clone(patchBody);
      const md = meta(body);
      if (md['name'] !== undefined && md['name'] !== name) {
        throw badRequest(`the name of the object (${String(md['name'])}) does not match the name on the URL (${name})`);
      }
      md['name'] = name;
      return this.createObject(req, body, 'patch');
    }
    const current = this.external(t, req.version, existing);
    let patched: Json;
    switch (ct) {
      case PATCH_TYPES.json:
        patched = jsonPatch(current, patchBody);
        break;
      case PATCH_TYPES.merge:
        if (!isObject(patchBody)) throw badRequest('invalid JSON merge patch: not an object');
        patched = mergePatch(current, patchBody);
        break;
      case PATCH_TYPES.strategic:
        if (!isObject(patchBody)) throw badRequest('invalid strategic merge patch: not an object');
        patched = strategicMergePatch(current, patchBody);
        break;
      default: {
        if (!isObject(patchBody)) throw badRequest('invalid object: not a map');
        this.checkTypeMeta(req, patchBody);
        const applied = clone(patchBody);
        const am = meta(applied);
        delete am['resourceVersion'];
        if (am['name'] !== undefined && am['name'] !== name) {
          throw badRequest(`the name of the object (${String(am['name'])}) does not match the name on the URL (${name})`);
        }
        patched = t.builtin ? strategicMergePatch(current, applied) : mergePatch(current, applied);
      }
    }
    if (!isObject(patched)) throw badRequest('the patched object is not an object');
    const pm = meta(patched);
    if (pm['name'] !== name) throw invalid(t.kind, t.group, name, [{ reason: 'FieldValueInvalid', field: 'metadata.name', message: `Invalid value: ${JSON.stringify(pm['name'] ?? '')}: field is immutable` }]);
    const want = this.rv(patched);
    if (want !== undefined && want !== this.rv(existing)) throw conflict(t.group, t.resource, name);
    const obj = this.internal(t, patched);
    this.settleNamespace(req, meta(obj));
    return this.commitUpdate(req, existing, obj, 'patch');
  }

  /**
   * `<resource>/scale`: GET shows the Scale view; PUT and PATCH (JSON, merge, strategic) write a
   * Scale whose spec.replicas becomes the owner's, through the owner's update path.
   */
  scale(req: ResourceRequest, method: string): Reply {
    const t = req.type;
    const name = req.name as string;
    const existing = this.deps.store.get(t.storageKey, req.namespace ?? '', name);
    if (!existing) throw notFound(t.group, `${t.resource}`, name);
    const owner = this.external(t, req.version, existing);
    const current = toScale(owner);
    if (method === 'GET') return { status: 200, body: current };
    let next: Json;
    if (method === 'PUT') {
      next = this.parseBody(req);
      if (isObject(next) && next['kind'] !== undefined && next['kind'] !== 'Scale') {
        throw badRequest(`the kind in the data (${String(next['kind'])}) does not match the expected kind (Scale)`);
      }
    } else if (method === 'PATCH') {
      const ct = req.contentType.split(';')[0]?.trim() ?? '';
      const patchBody = this.parseBody(req);
      if (ct === PATCH_TYPES.json) next = jsonPatch(current, patchBody);
      else if ((ct === PATCH_TYPES.merge || ct === PATCH_TYPES.strategic) && isObject(patchBody)) {
        next = ct === PATCH_TYPES.merge ? mergePatch(current, patchBody) : strategicMergePatch(current, patchBody);
      } else throw unsupportedMediaType([PATCH_TYPES.json, PATCH_TYPES.merge, PATCH_TYPES.strategic]);
    } else throw new ApiStatusError(405, 'MethodNotAllowed', 'the server does not allow this method on the requested resource', {});
    if (!isObject(next)) throw badRequest('the patched object is not an object');
    const want = this.rv(next);
    if (want !== undefined && want !== this.rv(existing)) throw conflict(t.group, t.resource, name);
    const updated = clone(owner);
    (meta(updated) as JsonObject)['resourceVersion'] = this.rv(existing) ?? null;
    const spec = isObject(updated['spec']) ? updated['spec'] : (updated['spec'] = {});
    spec['replicas'] = scaleReplicas(next, name);
    const reply = this.commitUpdate({ ...req, subresource: undefined }, existing, this.internal(t, updated), method === 'PUT' ? 'update' : 'patch');
    return { status: 200, body: toScale(reply.body), ...(reply.warnings ? { warnings: reply.warnings } : {}) };
  }

  /** Reviews (SelfSubjectAccessReview) are answered, never stored. */
  review(req: ResourceRequest): Reply {
    const body = this.objectBody(req);
    const answer = req.type.kind === 'SelfSubjectRulesReview' ? answerSelfSubjectRulesReview(body) : answerSelfSubjectAccessReview(body);
    return { status: 201, body: answer };
  }

  /** Shared tail of update and patch: status split, system metadata, admission, validation, generation, finalizers. */
  private commitUpdate(req: ResourceRequest, existing: JsonObject, incoming: JsonObject, verb: Verb): Reply {
    const t = req.type;
    const name = req.name as string;
    let result: JsonObject;
    if (req.subresource === 'status') {
      result = clone(existing);
      if (incoming['status'] === undefined) delete result['status'];
      else result['status'] = clone(incoming['status']);
    } else if (req.subresource) {
      throw notFound(t.group, `${t.resource}/${req.subresource}`, name);
    } else {
      result = clone(incoming);
      if (t.hasStatus) {
        if (existing['status'] === undefined) delete result['status'];
        else result['status'] = clone(existing['status']);
      }
    }
    const rm = meta(result);
    const em = meta(existing);
    for (const k of ['uid', 'creationTimestamp', 'generation', 'deletionTimestamp', 'deletionGracePeriodSeconds', 'namespace', 'name']) {
      if (em[k] === undefined) delete rm[k];
      else rm[k] = clone(em[k]);
    }
    delete rm['resourceVersion'];
    delete rm['managedFields'];
    delete rm['selfLink'];
    const metaErrors = validateMetadataMaps(rm);
    if (metaErrors.length > 0) throw invalid(t.kind, t.group, name, metaErrors);
    if (req.subresource !== 'status') t.admit?.(result, existing, this.deps.admit);
    if (this.isCrdType(t)) this.prepareCrd(result, existing);
    const warnings = this.admitSchema(req, result, existing, verb);
    if (this.tracksGeneration(t) && this.specChanged(t, existing, result)) rm['generation'] = (typeof em['generation'] === 'number' ? em['generation'] : 0) + 1;
    if (deepEqual(stripVolatile(result), stripVolatile(existing))) {
      return { status: 200, body: this.external(t, req.version, existing), warnings };
    }
    if (isDryRun(req.query)) {
      rm['resourceVersion'] = em['resourceVersion'] ?? null;
      return { status: 200, body: this.external(t, req.version, result), warnings };
    }
    const finalizers = Array.isArray(rm['finalizers']) ? rm['finalizers'] : [];
    if (rm['deletionTimestamp'] && finalizers.length === 0) {
      this.deps.store.put(t.storageKey, result);
      const ev = this.removeObject(t, req.namespace ?? '', name);
      return { status: 200, body: this.external(t, req.version, ev ?? result), warnings };
    }
    this.deps.store.put(t.storageKey, result);
    if (this.isCrdType(t)) this.afterCrdWrite(result);
    return { status: 200, body: this.external(t, req.version, result), warnings };
  }

  private tracksGeneration(t: ResourceType): boolean {
    return !t.builtin || t.hasGeneration === true;
  }

  /** Generation moves on spec changes: for kinds with a status subresource, anything but metadata and status. */
  private specChanged(t: ResourceType, before: JsonObject, after: JsonObject): boolean {
    const skip = t.hasStatus ? ['metadata', 'status', 'apiVersion', 'kind'] : ['metadata', 'apiVersion', 'kind'];
    return !deepEqual(withoutKeys(before, skip), withoutKeys(after, skip));
  }

  delete(req: ResourceRequest): Reply {
    const t = req.type;
    const name = req.name as string;
    if (req.subresource) throw new ApiStatusError(405, 'MethodNotAllowed', 'the server does not allow this method on the requested resource', {});
    const existing = this.deps.store.get(t.storageKey, req.namespace ?? '', name);
    if (!existing) throw notFound(t.group, t.resource, name);
    const opts = this.deleteOptions(req);
    const pre = isObject(opts['preconditions']) ? opts['preconditions'] : {};
    const em = meta(existing);
    if (typeof pre['resourceVersion'] === 'string' && pre['resourceVersion'] !== em['resourceVersion']) {
      throw conflict(t.group, t.resource, name, `Precondition failed: ResourceVersion in precondition: ${pre['resourceVersion']}, ResourceVersion in object meta: ${String(em['resourceVersion'])}`);
    }
    if (typeof pre['uid'] === 'string' && pre['uid'] !== em['uid']) {
      throw conflict(t.group, t.resource, name, `Precondition failed: UID in precondition: ${pre['uid']}, UID in object meta: ${String(em['uid'])}`);
    }
    const dry = isDryRun(req.query) || (Array.isArray(opts['dryRun']) && opts['dryRun'].includes('All'));
    if (t.group === '' && t.resource === 'namespaces' && !dry) return { status: 200, body: this.external(t, req.version, this.terminateNamespace(existing)) };
    const finalizers = Array.isArray(em['finalizers']) ? em['finalizers'] : [];
    if (finalizers.length > 0) {
      if (em['deletionTimestamp'] || dry) return { status: 200, body: this.external(t, req.version, existing) };
      const marked = clone(existing);
      const mm = meta(marked);
      mm['deletionTimestamp'] = this.now();
      mm['deletionGracePeriodSeconds'] = 0;
      this.deps.store.put(t.storageKey, marked);
      return { status: 200, body: this.external(t, req.version, marked) };
    }
    if (dry) return { status: 200, body: this.external(t, req.version, existing) };
    const policy = req.query.get('propagationPolicy') ?? (typeof opts['propagationPolicy'] === 'string' ? opts['propagationPolicy'] : undefined);
    const orphan = policy === 'Orphan' || opts['orphanDependents'] === true;
    const gone = this.removeObject(t, req.namespace ?? '', name, orphan);
    return { status: 200, body: this.external(t, req.version, gone ?? existing) };
  }

  deleteCollection(req: ResourceRequest): Reply {
    const t = req.type;
    const match = this.matcher(req);
    const items = this.deps.store.list(t.storageKey, req.namespace).filter(match);
    const deleted: JsonObject[] = [];
    for (const obj of items) {
      const m = meta(obj);
      const r = this.delete({ ...req, namespace: (m['namespace'] as string | undefined) ?? req.namespace, name: m['name'] as string });
      deleted.push(withoutKeys(r.body, t.builtin ? ['apiVersion', 'kind'] : []));
    }
    return {
      status: 200,
      body: { apiVersion: apiVersionOf(t.group, req.version), kind: t.listKind, metadata: { resourceVersion: String(this.deps.store.currentRv()) }, items: deleted },
    };
  }

  /**
   * Namespaces terminate asynchronously, as with the real namespace controller: the namespace
   * turns Terminating (no new content), its content and then itself go after a short delay, so
   * `kubectl delete -f dir/` can still delete the objects listed after the namespace.
   */
  /** After a restart from a data file: namespaces left Terminating finish going. */
  resumeTerminatingNamespaces(): void {
    for (const ns of this.deps.store.list('/namespaces')) {
      if (meta(ns)['deletionTimestamp']) this.scheduleNamespaceRemoval(ns);
    }
  }

  private scheduleNamespaceRemoval(ns: JsonObject): void {
    const name = String(meta(ns)['name']);
    const uid = meta(ns)['uid'];
    this.deps.schedule(() => {
      const current = this.deps.store.get('/namespaces', '', name);
      const nsType = this.deps.registry.get('', 'namespaces');
      if (!current || meta(current)['uid'] !== uid || !nsType) return;
      this.removeObject(nsType, '', name);
    }, this.deps.namespaceDeletionDelayMs);
  }

  private terminateNamespace(existing: JsonObject): JsonObject {
    const em = meta(existing);
    if (em['deletionTimestamp']) return existing;
    const marked = clone(existing);
    const mm = meta(marked);
    mm['deletionTimestamp'] = this.now();
    mm['deletionGracePeriodSeconds'] = 0;
    const status = isObject(marked['status']) ? marked['status'] : (marked['status'] = {});
    status['phase'] = 'Terminating';
    this.deps.store.put('/namespaces', marked);
    this.scheduleNamespaceRemoval(marked);
    return marked;
  }

  private deleteOptions(req: ResourceRequest): JsonObject {
    const text = req.body.toString('utf8').trim();
    const opts: JsonObject = {};
    if (text) {
      try {
        const parsed = JSON.parse(text) as Json;
        if (isObject(parsed)) Object.assign(opts, parsed);
      } catch {
        throw badRequest('error decoding DeleteOptions');
      }
    }
    return opts;
  }

  /** Deletes one object, cascading for namespaces (their content) and CRDs (their custom resources). */
  private removeObject(t: ResourceType, namespace: string, name: string, orphan?: boolean): JsonObject | undefined {
    const store = this.deps.store;
    if (t.group === '' && t.resource === 'namespaces') {
      for (const key of store.storageKeys()) {
        for (const obj of store.list(key, name)) store.remove(key, name, meta(obj)['name'] as string);
      }
    }
    const ev = store.remove(t.storageKey, namespace, name);
    if (ev && this.isCrdType(t)) this.afterCrdDelete(ev.previous ?? ev.object);
    if (ev && orphan !== true) this.collectDependents(namespace, String(meta(ev.object)['uid'] ?? ''));
    return ev?.object;
  }

  /**
   * Background cascading deletion, as the garbage collector does it: objects whose owners
   * (ownerReferences) are all gone are deleted too, recursively.
   */
  private collectDependents(namespace: string, ownerUid: string): void {
    if (!ownerUid) return;
    const store = this.deps.store;
    const exists = (uid: string): boolean => this.uidExists(uid);
    for (const key of store.storageKeys()) {
      const candidates = namespace === '' ? store.list(key) : store.list(key, namespace);
      for (const obj of candidates) {
        const m = meta(obj);
        const owners = Array.isArray(m['ownerReferences']) ? m['ownerReferences'].filter(isObject) : [];
        if (!owners.some((o) => o['uid'] === ownerUid)) continue;
        if (owners.some((o) => typeof o['uid'] === 'string' && o['uid'] !== ownerUid && exists(o['uid']))) continue;
        const type = this.deps.registry.all().find((rt) => rt.storageKey === key);
        if (!type) continue;
        this.removeObject(type, (m['namespace'] as string | undefined) ?? '', m['name'] as string);
      }
    }
  }

  private uidExists(uid: string): boolean {
    for (const key of this.deps.store.storageKeys()) {
      if (this.deps.store.list(key).some((o) => meta(o)['uid'] === uid)) return true;
    }
    return false;
  }

  // ------------------------------------------------------------ schema

  private isCrdType(t: ResourceType): boolean {
    return t.group === CRD_GROUP && t.resource === 'customresourcedefinitions';
  }

  private prepareCrd(obj: JsonObject, existing: JsonObject | undefined): void {
    defaultCrd(obj);
    const errors = validateCrd(obj);
    const name = String(meta(obj)['name'] ?? '');
    if (errors.length > 0) throw invalid('CustomResourceDefinition', CRD_GROUP, name, errors);
    const spec = obj['spec'] as JsonObject;
    const group = String(spec['group']);
    const plural = String((spec['names'] as JsonObject)['plural']);
    const clash = this.deps.registry.get(group, plural);
    if (clash && clash.builtin) {
      throw invalid('CustomResourceDefinition', CRD_GROUP, name, [{ reason: 'FieldValueInvalid', field: 'spec.group', message: `Invalid value: "${group}": conflicts with a built-in API group` }]);
    }
    obj['status'] = crdStatus(obj, this.now(), existing?.['status']);
  }

  private afterCrdWrite(crd: JsonObject): void {
    this.deps.registry.register(crdToResourceType(crd));
  }

  private afterCrdDelete(crd: JsonObject): void {
    const spec = isObject(crd['spec']) ? crd['spec'] : {};
    const names = isObject(spec['names']) ? spec['names'] : {};
    const t = this.deps.registry.unregister(String(spec['group']), String(names['plural']));
    if (!t || t.builtin) return;
    for (const obj of this.deps.store.list(t.storageKey)) {
      const m = meta(obj);
      this.deps.store.remove(t.storageKey, (m['namespace'] as string | undefined) ?? '', m['name'] as string);
    }
  }

  /**
   * Prunes unknown fields (strict: 400, warn: warnings), applies defaults, validates against the
   * version's schema and CEL rules. Status writes validate the whole object like the real server.
   */
  private admitSchema(req: ResourceRequest, obj: JsonObject, old: JsonObject | undefined, verb: Verb): string[] {
    const t = req.type;
    const schema: Schema | undefined = t.schemas.get(req.version);
    // Built-in kinds have no schema here, but their field tables tell unknown fields (not across the events.k8s.io rename).
    const message = t.builtin && !t.toInternal ? builtinMessage(apiVersionOf(t.group, req.version), t.kind) : undefined;
    if (!schema && !message) return [];
    const mode = fieldValidation(req.query);
    const unknown: string[] = [];
    const asSent = message && verb === 'patch' ? JSON.stringify(obj) : '';
    if (schema) pruneAndDefault(obj, schema, '', unknown, true);
    else if (message) pruneBuiltin(obj, message, unknown);
    const warnings: string[] = [];
    if (unknown.length > 0 && mode === 'Strict') {
      const list = unknown.map((u) => `unknown field "${u}"`).join(', ');
      if (verb === 'patch' && message) {
        // kube-apiserver's patch handler: 422 on the field "patch", showing the strategic patch as Go prints
        // a map, or the patched object's JSON for merge and JSON patches (Go orders its keys by struct field).
        const strategic = req.contentType.split(';')[0]?.trim() === PATCH_TYPES.strategic;
        const shown = strategic ? goValue(this.parseBody(req)) : asSent;
        throw invalid('', '', '', [{ reason: 'FieldValueInvalid', field: 'patch', message: `Invalid value: ${JSON.stringify(shown)}: strict decoding error: ${list}` }]);
      }
      if (verb === 'patch') throw badRequest(`strict decoding error: ${list}`);
      throw badRequest(`${t.kind} in version "${req.version}" cannot be handled as a ${t.kind}: strict decoding error: ${list}`);
    }
    if (mode === 'Warn') for (const u of unknown) warnings.push(`unknown field "${u}"`);
    if (!schema) return warnings;
    const errors: FieldError[] = [];
    validateSchema(obj, schema, '', errors, true);
    if (errors.some((e) => e.reason === 'FieldValueTypeInvalid')) {
      errors.push({
        reason: 'FieldValueInvalid',
        field: '<nil>',
        message: 'Invalid value: "null": some validation rules were not checked because the object was invalid; correct the existing errors to complete validation',
      });
    } else {
      const oldExt = old ? this.external(t, req.version, old) : undefined;
      this.cel.validate(obj, oldExt, schema, '', errors);
    }
    if (errors.length > 0) throw invalid(t.kind, t.group, String(meta(obj)['name'] ?? ''), errors);
    return warnings;
  }
}
