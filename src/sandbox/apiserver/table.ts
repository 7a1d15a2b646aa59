import { isObject, type Json, type JsonObject } from './json.js';
import type { ColumnDefinition, PrinterColumn, ResourceType } from './registry.js';

export const NAME_COLUMN: PrinterColumn = {
  name: 'Name',
  type: 'string',
  format: 'name',
  description: 'Name must be unique within a namespace. Is required when creating resources, although some resources may allow a client to request the generation of an appropriate name automatically. Name is primarily intended for creation idempotence and configuration definition. Cannot be updated. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names',
  priority: 0,
};

export const AGE_COLUMN: PrinterColumn = {
  name: 'Age',
  type: 'date',
  format: '',
  description: 'CreationTimestamp is a timestamp representing the server time when this object was created.',
  priority: 0,
  jsonPath: '.metadata.creationTimestamp',
};

/** k8s.io/apimachinery/pkg/util/duration.HumanDuration, which kubectl's AGE column shows. */
export function humanDuration(ms: number): string {
  const seconds = Math.floor(ms / 1000);
  if (seconds < -1) return '<invalid>';
  if (seconds < 0) return '0s';
  if (seconds < 120) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 10) {
    const s = seconds % 60;
    return s === 0 ? `${minutes}m` : `${minutes}m${s}s`;
  }
  if (minutes < 180) return `${minutes}m`;
  const hours = Math.floor(minutes / 60);
  if (hours < 8) {
    const m = minutes % 60;
    return m === 0 ? `${hours}h` : `${hours}h${m}m`;
  }
  if (hours < 48) return `${hours}h`;
  if (hours < 24 * 8) {
    const h = hours % 24;
    return h === 0 ? `${Math.floor(hours / 24)}d` : `${Math.floor(hours / 24)}d${h}h`;
  }
  if (hours < 24 * 365 * 2) return `${Math.floor(hours / 24)}d`;
  if (hours < 24 * 365 * 8) {
    const dy = Math.floor(hours / 24) % 365;
    const y = Math.floor(hours / 24 / 365);
    return dy === 0 ? `${y}y` : `${y}y${dy}d`;
  }
  return `${Math.floor(hours / 24 / 365)}y`;
}

export function age(timestamp: Json | undefined, now: number): string {
  if (typeof timestamp !== 'string') return '<unknown>';
  const t = Date.parse(timestamp);
  return Number.isNaN(t) ? '<unknown>' : humanDuration(now - t);
}

/**
 * Simple JSONPath as CRD printer columns use it: `.a.b`, `.a[0].b`, `.a[*].b`, `.a['x.y']`.
 * Returns every match (several for wildcards).
 */
export function evalJsonPath(obj: Json, path: string): Json[] {
  let p = path.trim();
  if (p.startsWith('{') && p.endsWith('}')) p = p.slice(1, -1);
  const tokens: Array<string | number | '*'> = [];
  const re = /\.([^.[\]]+)|\[(\d+|\*|'[^']*'|"[^"]*")\]/g;
  let m: RegExpExecArray | null;
  let consumed = 0;
  while ((m = re.exec(p)) !== null) {
    if (m.index !== consumed) return [];
    consumed = re.lastIndex;
    if (m[1] !== undefined) tokens.push(m[1] === '*' ? '*' : m[1]);
    else {
      const b = m[2] as string;
      if (b === '*') tokens.push('*');
      else if (/^\d+$/.test(b)) tokens.push(Number(b));
      else tokens.push(b.slice(1, -1));
    }
  }
  if (consumed !== p.length) return [];
  let cur: Json[] = [obj];
  for (const t of tokens) {
    const next: Json[] = [];
    for (const c of cur) {
      if (t === '*') {
        if (Array.isArray(c)) next.push(...c);
        else if (isObject(c)) for (const v of Object.values(c)) if (v !== undefined) next.push(v);
      } else if (typeof t === 'number') {
        if (Array.isArray(c) && c[t] !== undefined) next.push(c[t] as Json);
      } else if (isObject(c) && c[t] !== undefined) next.push(c[t] as Json);
    }
    cur = next;
  }
  return cur;
}

/** The apiextensions table convertor's cell rules (string columns print JSON for non-strings). */
export function crdCell(column: PrinterColumn, obj: JsonObject, now: number): Json {
  const results = evalJsonPath(obj, column.jsonPath ?? '');
  if (results.length === 0) return null;
  const value = results[0] as Json;
  switch (column.type) {
    case 'string':
      if (typeof value === 'string') return value;
      return JSON.stringify(value);
    case 'integer':
      return typeof value === 'number' && Number.isInteger(value) ? value : null;
    case 'number':
      return typeof value === 'number' ? value : null;
    case 'boolean':
      return typeof value === 'boolean' ? value : null;
    case 'date':
      return typeof value === 'string' ? age(value, now) : null;
    default:
      return null;
  }
}

export function columnDefinition(c: PrinterColumn): ColumnDefinition {
  return { name: c.name, type: c.type, format: c.format, description: c.description, priority: c.priority };
}

export interface TableOptions {
  includeObject: 'None' | 'Metadata' | 'Object';
  noHeaders?: boolean;
}

function rowObject(obj: JsonObject, opts: TableOptions): JsonObject | undefined {
  if (opts.includeObject === 'None') return undefined;
  if (opts.includeObject === 'Object') return obj;
  return { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: obj['metadata'] ?? {} };
}

export function tableColumns(t: ResourceType, version: string): PrinterColumn[] {
  if (t.table) return t.table.columns;
  const cols = t.columns.get(version);
  return [NAME_COLUMN, ...(cols && cols.length > 0 ? cols : [AGE_COLUMN])];
}

export function tableRow(t: ResourceType, version: string, obj: JsonObject, now: number): Json[] {
  if (t.table) return t.table.cells(obj, now);
  const m = isObject(obj['metadata']) ? obj['metadata'] : {};
  return tableColumns(t, version).map((c) => (c === NAME_COLUMN ? (m['name'] ?? '') : crdCell(c, obj, now)));
}

/** A meta.k8s.io/v1 Table for `objects` (already in the requested version's form). */
export function toTable(t: ResourceType, version: string, objects: JsonObject[], resourceVersion: string, now: number, opts: TableOptions): JsonObject {
  const rows = objects.map((obj) => {
    const row: JsonObject = { cells: tableRow(t, version, obj, now) };
    const o = rowObject(obj, opts);
    if (o) row['object'] = o;
    return row;
  });
  const table: JsonObject = { kind: 'Table', apiVersion: 'meta.k8s.io/v1', metadata: { resourceVersion } };
  table['columnDefinitions'] = opts.noHeaders ? null : (tableColumns(t, version).map(columnDefinition) as unknown as Json);
  table['rows'] = rows;
  return table;
}
