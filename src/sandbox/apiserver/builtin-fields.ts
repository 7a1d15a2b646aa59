import { isObject, type Json, type JsonObject } from './json.js';
import { PROTO_KINDS, PROTO_MESSAGES } from './protobuf-schema.js';

/**
 * Unknown fields of built-in kinds, found with the field tables generated from k8s.io/api (their
 * protobuf field names are the JSON names). kube-apiserver's decoder drops them, and with
 * `fieldValidation=Strict` (kubectl's default) refuses the request naming them.
 */
export function builtinMessage(apiVersion: string, kind: string): string | undefined {
  return PROTO_KINDS[`${apiVersion}/${kind}`];
}

/** Removes the fields `message` does not have from `obj`, pushing their paths (`spec.template.spec.containers[0].x`) to `unknown`. */
export function pruneBuiltin(obj: JsonObject, message: string, unknown: string[], path = ''): void {
  const fields = PROTO_MESSAGES[message];
  if (!fields) return;
  for (const key of Object.keys(obj)) {
    if (path === '' && (key === 'apiVersion' || key === 'kind')) continue;
    const f = fields.find((x) => x[1] === key);
    const p = path ? `${path}.${key}` : key;
    if (!f) {
      unknown.push(p);
      delete obj[key];
      continue;
    }
    const [, , type, flags] = f;
    if (!PROTO_MESSAGES[type]) continue; // scalars and the special types (Time, Quantity, IntOrString, RawExtension)
    const v: Json | undefined = obj[key];
    if (flags & 2) {
      if (isObject(v)) for (const [k, item] of Object.entries(v)) if (isObject(item)) pruneBuiltin(item, type, unknown, `${p}.${k}`);
    } else if (flags & 1) {
      if (Array.isArray(v)) v.forEach((item, i) => isObject(item) && pruneBuiltin(item, type, unknown, `${p}[${i}]`));
    } else if (isObject(v)) pruneBuiltin(v, type, unknown, p);
  }
}
