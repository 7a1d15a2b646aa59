import { isObject, type Json, type JsonObject } from './json.js';
import { STANDARD_VERBS, compareKubeVersions, type PrinterColumn, type ResourceType } from './registry.js';
import type { Schema } from './schema.js';
import type { FieldError } from './status.js';

function strings(v: Json | undefined): string[] {
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
}

/** Fills what the real server defaults in a CRD's spec (names.singular/listKind, conversion). */
export function defaultCrd(crd: JsonObject): void {
  const spec = isObject(crd['spec']) ? crd['spec'] : (crd['spec'] = {});
  const names = isObject(spec['names']) ? spec['names'] : (spec['names'] = {});
  if (typeof names['kind'] === 'string') {
    if (names['singular'] === undefined) names['singular'] = names['kind'].toLowerCase();
    if (names['listKind'] === undefined) names['listKind'] = `${names['kind']}List`;
  }
  if (spec['conversion'] === undefined) spec['conversion'] = { strategy: 'None' };
}

export function validateCrd(crd: JsonObject): FieldError[] {
  const errors: FieldError[] = [];
  const spec = isObject(crd['spec']) ? crd['spec'] : {};
  const names = isObject(spec['names']) ? spec['names'] : {};
  const group = spec['group'];
  const plural = names['plural'];
  const name = isObject(crd['metadata']) ? crd['metadata']['name'] : undefined;
  if (typeof group !== 'string' || group === '') errors.push({ reason: 'FieldValueRequired', field: 'spec.group', message: 'Required value' });
  else if (!group.includes('.')) {
    errors.push({ reason: 'FieldValueInvalid', field: 'spec.group', message: `Invalid value: "${group}": should be a domain with at least one dot` });
  }
  if (typeof plural !== 'string' || plural === '') errors.push({ reason: 'FieldValueRequired', field: 'spec.names.plural', message: 'Required value' });
  if (typeof names['kind'] !== 'string' || names['kind'] === '') errors.push({ reason: 'FieldValueRequired', field: 'spec.names.kind', message: 'Required value' });
  if (spec['scope'] !== 'Namespaced' && spec['scope'] !== 'Cluster') {
    errors.push({ reason: 'FieldValueNotSupported', field: 'spec.scope', message: `Unsupported value: ${JSON.stringify(spec['scope'] ?? '')}: supported values: "Cluster", "Namespaced"` });
  }
  if (typeof group === 'string' && typeof plural === 'string' && name !== `${plural}.${group}`) {
    errors.push({ reason: 'FieldValueInvalid', field: 'metadata.name', message: `Invalid value: ${JSON.stringify(name ?? '')}: must be spec.names.plural+"."+spec.group` });
  }
  const versions = Array.isArray(spec['versions']) ? spec['versions'].filter(isObject) : [];
  if (versions.length === 0) errors.push({ reason: 'FieldValueInvalid', field: 'spec.versions', message: 'Invalid value: "null": must have exactly one version marked as storage version' });
  else if (versions.filter((v) => v['storage'] === true).length !== 1) {
    errors.push({ reason: 'FieldValueInvalid', field: 'spec.versions', message: `Invalid value: ${JSON.stringify(versions)}: must have exactly one version marked as storage version` });
  }
  return errors;
}

/** The status the real apiextensions controllers converge to for a CRD whose names do not conflict. */
export function crdStatus(crd: JsonObject, now: string, previous: Json | undefined): JsonObject {
  const spec = isObject(crd['spec']) ? crd['spec'] : {};
  const names = isObject(spec['names']) ? spec['names'] : {};
  const versions = Array.isArray(spec['versions']) ? spec['versions'].filter(isObject) : [];
  const storage = versions.find((v) => v['storage'] === true)?.['name'];
  const prevStatus = isObject(previous) ? previous : {};
  const stored = new Set(strings(prevStatus['storedVersions']));
  if (typeof storage === 'string') stored.add(storage);
  const prevConds = Array.isArray(prevStatus['conditions']) ? prevStatus['conditions'].filter(isObject) : [];
  const since = (type: string): string => {
    const c = prevConds.find((x) => x['type'] === type);
    return typeof c?.['lastTransitionTime'] === 'string' ? c['lastTransitionTime'] : now;
  };
  return {
    acceptedNames: { ...names },
    conditions: [
      { type: 'NamesAccepted', status: 'True', lastTransitionTime: since('NamesAccepted'), reason: 'NoConflicts', message: 'no conflicts found' },
      { type: 'Established', status: 'True', lastTransitionTime: since('Established'), reason: 'InitialNamesAccepted', message: 'the initial names have been accepted' },
    ],
    storedVersions: [...stored],
  };
}

export function crdToResourceType(crd: JsonObject): ResourceType {
  const spec = isObject(crd['spec']) ? crd['spec'] : {};
  const names = isObject(spec['names']) ? spec['names'] : {};
  const group = String(spec['group']);
  const plural = String(names['plural']);
  const kind = String(names['kind']);
  const versions = (Array.isArray(spec['versions']) ? spec['versions'].filter(isObject) : []).filter((v) => v['served'] !== false);
  const storage = (Array.isArray(spec['versions']) ? spec['versions'].filter(isObject) : []).find((v) => v['storage'] === true);
  const schemas = new Map<string, Schema>();
  const columns = new Map<string, PrinterColumn[]>();
  let hasStatus = false;
  for (const v of versions) {
    const name = String(v['name']);
    const schema = isObject(v['schema']) ? v['schema']['openAPIV3Schema'] : undefined;
    if (isObject(schema)) schemas.set(name, schema as unknown as Schema);
    if (isObject(v['subresources']) && v['subresources']['status'] !== undefined) hasStatus = true;
    const cols = Array.isArray(v['additionalPrinterColumns']) ? v['additionalPrinterColumns'].filter(isObject) : [];
    columns.set(
      name,
      cols.map((c) => ({
        name: String(c['name']),
        type: String(c['type'] ?? 'string'),
        format: typeof c['format'] === 'string' ? c['format'] : '',
        description: typeof c['description'] === 'string' ? c['description'] : '',
        priority: typeof c['priority'] === 'number' ? c['priority'] : 0,
        jsonPath: String(c['jsonPath'] ?? ''),
      })),
    );
  }
  const crdName = isObject(crd['metadata']) && typeof crd['metadata']['name'] === 'string' ? crd['metadata']['name'] : `${plural}.${group}`;
  return {
    group,
    versions: versions.map((v) => String(v['name'])).sort(compareKubeVersions),
    storageVersion: String(storage?.['name'] ?? versions[0]?.['name'] ?? 'v1'),
    resource: plural,
    kind,
    listKind: typeof names['listKind'] === 'string' ? names['listKind'] : `${kind}List`,
    singular: typeof names['singular'] === 'string' ? names['singular'] : kind.toLowerCase(),
    namespaced: spec['scope'] !== 'Cluster',
    shortNames: strings(names['shortNames']),
    categories: strings(names['categories']),
    verbs: STANDARD_VERBS,
    hasStatus,
    builtin: false,
    storageKey: `${group}/${plural}`,
    crdName,
    schemas,
    columns,
  };
}
