import { isObject, type Json, type JsonObject } from './json.js';
import { badRequest } from './status.js';

type LabelOp = 'exists' | '!exists' | '=' | '!=' | 'in' | 'notin' | 'gt' | 'lt';

interface LabelRequirement {
  key: string;
  op: LabelOp;
  values: string[];
}

export type LabelSelector = (labels: Record<string, string>) => boolean;

/** Splits on commas outside parentheses: `a in (x,y),b` → [`a in (x,y)`, `b`]. */
function splitTopLevel(s: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let cur = '';
  for (const ch of s) {
    if (ch === '(') depth++;
    if (ch === ')') depth--;
    if (ch === ',' && depth === 0) {
      parts.push(cur);
      cur = '';
    } else cur += ch;
  }
  parts.push(cur);
  return parts.map((p) => p.trim()).filter((p) => p !== '');
}

function parseRequirement(raw: string): LabelRequirement {
  let m = /^!\s*([^\s!=<>(),]+)$/.exec(raw);
  if (m) return { key: m[1] as string, op: '!exists', values: [] };
  m = /^([^\s!=<>(),]+)\s+(in|notin)\s*\(([^)]*)\)$/.exec(raw);
  if (m) {
    const values = (m[3] as string).split(',').map((v) => v.trim());
    return { key: m[1] as string, op: m[2] as 'in' | 'notin', values };
  }
  m = /^([^\s!=<>(),]+)\s*(==|=|!=|>|<)\s*([^\s!=<>(),]*)$/.exec(raw);
  if (m) {
    const sym = m[2] as string;
    const op: LabelOp = sym === '!=' ? '!=' : sym === '>' ? 'gt' : sym === '<' ? 'lt' : '=';
    return { key: m[1] as string, op, values: [m[3] as string] };
  }
  m = /^([^\s!=<>(),]+)$/.exec(raw);
  if (m) return { key: m[1] as string, op: 'exists', values: [] };
  throw badRequest(`unable to parse requirement: found '${raw}', expected: identifier`);
}

export function parseLabelSelector(selector: string | null | undefined): LabelSelector {
  if (!selector || selector.trim() === '') return () => true;
  const reqs = splitTopLevel(selector).map(parseRequirement);
  return (labels) =>
    reqs.every((r) => {
      const has = Object.prototype.hasOwnProperty.call(labels, r.key);
      const v = labels[r.key];
      switch (r.op) {
        case 'exists':
          return has;
        case '!exists':
          return !has;
        case '=':
        case 'in':
          return has && r.values.includes(v as string);
        case '!=':
        case 'notin':
          return !has || !r.values.includes(v as string);
        case 'gt':
          return has && Number(v) > Number(r.values[0]);
        case 'lt':
          return has && Number(v) < Number(r.values[0]);
        default:
          return false;
      }
    });
}

/** Turns a metav1.LabelSelector object (matchLabels/matchExpressions) into the string form. */
export function labelSelectorString(sel: Json | undefined): string {
  if (!isObject(sel)) return '';
  const parts: string[] = [];
  const ml = sel['matchLabels'];
  if (isObject(ml)) for (const [k, v] of Object.entries(ml)) parts.push(`${k}=${String(v)}`);
  const me = sel['matchExpressions'];
  if (Array.isArray(me)) {
    for (const e of me) {
      if (!isObject(e)) continue;
      const vals = Array.isArray(e['values']) ? e['values'].map(String).join(',') : '';
      const op = String(e['operator'] ?? '');
      if (op === 'In') parts.push(`${String(e['key'])} in (${vals})`);
      else if (op === 'NotIn') parts.push(`${String(e['key'])} notin (${vals})`);
      else if (op === 'Exists') parts.push(String(e['key']));
      else if (op === 'DoesNotExist') parts.push(`!${String(e['key'])}`);
    }
  }
  return parts.join(',');
}

interface FieldRequirement {
  path: string;
  equal: boolean;
  value: string;
}

export type FieldSelector = (obj: JsonObject) => boolean;

/** Field labels a field selector may name, per kind (as the real server's field label conversion). */
const EXTRA_FIELD_LABELS: Record<string, string[]> = {
  Event: [
    'involvedObject.kind',
    'involvedObject.namespace',
    'involvedObject.name',
    'involvedObject.uid',
    'involvedObject.apiVersion',
    'involvedObject.resourceVersion',
    'involvedObject.fieldPath',
    'reason',
    'reportingComponent',
    'source',
    'type',
  ],
  Pod: ['spec.nodeName', 'spec.restartPolicy', 'spec.schedulerName', 'spec.serviceAccountName', 'spec.hostNetwork', 'status.phase', 'status.podIP', 'status.nominatedNodeName'],
  Secret: ['type'],
  Namespace: ['status.phase'],
  Node: ['spec.unschedulable'],
};

function lookupField(obj: JsonObject, path: string): string {
  if (path === 'source') {
    const src = obj['source'];
    return isObject(src) && typeof src['component'] === 'string' ? src['component'] : '';
  }
  let cur: Json | undefined = obj;
  for (const part of path.split('.')) {
    if (!isObject(cur)) return '';
    cur = cur[part];
  }
  if (cur === undefined || cur === null) return '';
  return typeof cur === 'string' ? cur : String(cur);
}

export function parseFieldSelector(selector: string | null | undefined, kind: string): FieldSelector {
  if (!selector || selector.trim() === '') return () => true;
  const known = ['metadata.name', 'metadata.namespace', ...(EXTRA_FIELD_LABELS[kind] ?? [])];
  const allowed = new Set(known);
  const reqs: FieldRequirement[] = selector
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '')
    .map((raw) => {
      const m = /^([^!=]+?)\s*(==|=|!=)\s*(.*)$/.exec(raw);
      if (!m) throw badRequest(`invalid selector: '${selector}'; can't understand '${raw}'`);
      const path = m[1] as string;
      // kube-apiserver 1.36's wording (1.32 said `field label not supported: <path>`).
      if (!allowed.has(path)) throw badRequest(`${JSON.stringify(path)} is not a known field selector: only ${known.map((k) => JSON.stringify(k)).join(', ')}`);
      return { path, equal: m[2] !== '!=', value: m[3] as string };
    });
  return (obj) => reqs.every((r) => (lookupField(obj, r.path) === r.value) === r.equal);
}
