import type { JsonObject, Json } from './json.js';
import type { Schema } from './schema.js';

export const STANDARD_VERBS = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'];

export interface ColumnDefinition {
  name: string;
  type: string;
  format: string;
  description: string;
  priority: number;
}

/** A CRD's additionalPrinterColumn (or a built-in column computed by `cells`). */
export interface PrinterColumn extends ColumnDefinition {
  jsonPath?: string;
}

export interface BuiltinTable {
  columns: PrinterColumn[];
  cells(obj: JsonObject, now: number): Json[];
}

/**
 * One served resource. Several versions of it share one storage (`storageKey`); objects are stored
 * in `storageVersion` form and converted on the way in and out (CRDs: apiVersion only).
 */
export interface ResourceType {
  group: string;
  /** Served versions, the preferred one first. */
  versions: string[];
  storageVersion: string;
  resource: string;
  kind: string;
  listKind: string;
  singular: string;
  namespaced: boolean;
  shortNames: string[];
  categories: string[];
  verbs: string[];
  hasStatus: boolean;
  /** Built-in kinds whose strategy keeps metadata.generation (custom resources always do). */
  hasGeneration?: boolean;
  /** Serves `<resource>/scale` (autoscaling/v1 Scale over spec.replicas), as apps/v1 Deployments do. */
  hasScale?: boolean;
  /** Answered, never stored (SelfSubjectAccessReview): only `create` is served. */
  review?: boolean;
  builtin: boolean;
  /** Several resource types may share a storage (core/v1 and events.k8s.io/v1 events). */
  storageKey: string;
  crdName?: string;
  /** Per version (CRDs). */
  schemas: Map<string, Schema>;
  columns: Map<string, PrinterColumn[]>;
  table?: BuiltinTable;
  /** Storage form → this type at `version` (default: set apiVersion/kind). */
  toExternal?: (obj: JsonObject, version: string) => JsonObject;
  /** This type's form → storage form (default: set apiVersion to the storage version). */
  toInternal?: (obj: JsonObject) => JsonObject;
  /** Built-in defaulting and invariants on create (old undefined) and update, on the storage form. */
  admit?: (obj: JsonObject, old: JsonObject | undefined, ctx: AdmitContext) => void;
}

export interface AdmitContext {
  allocateClusterIP(): string;
}

export function apiVersionOf(group: string, version: string): string {
  return group ? `${group}/${version}` : version;
}

/** Kubernetes version priority: GA > beta > alpha, higher numbers first, non-matching names last. */
export function compareKubeVersions(a: string, b: string): number {
  const parse = (v: string): [number, number, number, string] => {
    const m = /^v(\d+)(?:(alpha|beta)(\d+))?$/.exec(v);
    if (!m) return [0, 0, 0, v];
    const stage = m[2] === 'alpha' ? 1 : m[2] === 'beta' ? 2 : 3;
    return [stage, Number(m[1]), Number(m[3] ?? 0), v];
  };
  const pa = parse(a);
  const pb = parse(b);
  if (pa[0] !== pb[0]) return pb[0] - pa[0];
  if (pa[0] === 0) return pa[3] < pb[3] ? -1 : pa[3] > pb[3] ? 1 : 0;
  if (pa[1] !== pb[1]) return pb[1] - pa[1];
  return pb[2] - pa[2];
}

export class Registry {
  private readonly types = new Map<string, ResourceType>();
  /** Bumped on every change so discovery/OpenAPI caches know to rebuild. */
  generation = 0;

  register(t: ResourceType): void {
    this.types.set(`${t.group}/${t.resource}`, t);
    this.generation++;
  }

  unregister(group: string, resource: string): ResourceType | undefined {
    const key = `${group}/${resource}`;
    const t = this.types.get(key);
    this.types.delete(key);
    this.generation++;
    return t;
  }

  get(group: string, resource: string): ResourceType | undefined {
    return this.types.get(`${group}/${resource}`);
  }

  lookup(group: string, version: string, resource: string): ResourceType | undefined {
    const t = this.types.get(`${group}/${resource}`);
    return t && t.versions.includes(version) ? t : undefined;
  }

  all(): ResourceType[] {
    return [...this.types.values()];
  }

  /** Types sharing a storage key (to fan watch events out to every served form). */
  byStorage(storageKey: string): ResourceType[] {
    return this.all().filter((t) => t.storageKey === storageKey);
  }

  /** Groups in discovery order: core first, then built-in groups in registration order, then the rest sorted. */
  groups(): Array<{ group: string; versions: string[] }> {
    const order: string[] = [];
    const versions = new Map<string, Set<string>>();
    const builtinGroups = new Set<string>();
    for (const t of this.types.values()) {
      if (!versions.has(t.group)) {
        versions.set(t.group, new Set());
        order.push(t.group);
      }
      if (t.builtin) builtinGroups.add(t.group);
      for (const v of t.versions) versions.get(t.group)?.add(v);
    }
    const builtin = order.filter((g) => builtinGroups.has(g));
    const custom = order.filter((g) => !builtinGroups.has(g)).sort();
    return [...builtin, ...custom].map((group) => ({
      group,
      versions: [...(versions.get(group) ?? [])].sort(compareKubeVersions),
    }));
  }

  typesIn(group: string, version: string): ResourceType[] {
    return this.all()
      .filter((t) => t.group === group && t.versions.includes(version))
      .sort((a, b) => (a.resource < b.resource ? -1 : 1));
  }
}
