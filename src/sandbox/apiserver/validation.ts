import { isObject, type JsonObject } from './json.js';
import { badRequest, type FieldError } from './status.js';

const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS1035_LABEL = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;

export type NameRule = 'subdomain' | 'label' | 'dns1035';

/** Which name rule a resource's objects follow (most are subdomains). */
export function nameRuleFor(group: string, resource: string): NameRule {
  if (group === '' && resource === 'namespaces') return 'label';
  if (group === '' && resource === 'services') return 'dns1035';
  return 'subdomain';
}

export function validateName(name: string, rule: NameRule, field = 'metadata.name'): FieldError[] {
  const errs: FieldError[] = [];
  const invalid = (msg: string): void => {
    errs.push({ reason: 'FieldValueInvalid', field, message: `Invalid value: ${JSON.stringify(name)}: ${msg}` });
  };
  if (rule === 'subdomain') {
    if (name.length > 253) invalid('must be no more than 253 characters');
    if (!DNS1123_SUBDOMAIN.test(name)) {
      invalid(
        "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')",
      );
    }
  } else if (rule === 'label') {
    if (name.length > 63) invalid('must be no more than 63 characters');
    if (!DNS1123_LABEL.test(name)) {
      invalid(
        "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')",
      );
    }
  } else {
    if (name.length > 63) invalid('must be no more than 63 characters');
    if (!DNS1035_LABEL.test(name)) {
      invalid(
        "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')",
      );
    }
  }
  return errs;
}

const TOTAL_ANNOTATION_SIZE_LIMIT = 256 * 1024;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;
const QUALIFIED_NAME = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;

/**
 * Labels and annotations must be string maps (a decoding error, 400, like Go's unmarshal into
 * map[string]string); label keys and values are checked like the real ObjectMeta validation.
 */
export function validateMetadataMaps(metadata: JsonObject): FieldError[] {
  const errs: FieldError[] = [];
  for (const field of ['labels', 'annotations'] as const) {
    const m = metadata[field];
    if (m === undefined || m === null) continue;
    if (!isObject(m)) throw badRequest(`json: cannot unmarshal ${Array.isArray(m) ? 'array' : typeof m} into Go struct field ObjectMeta.metadata.${field} of type map[string]string`);
    for (const [k, v] of Object.entries(m)) {
      if (typeof v !== 'string') throw badRequest(`json: cannot unmarshal ${typeof v} into Go struct field ObjectMeta.metadata.${field} of type string`);
      if (field === 'labels') {
        if (!QUALIFIED_NAME.test(k) || (k.split('/').pop() ?? '').length > 63) {
          errs.push({ reason: 'FieldValueInvalid', field: `metadata.labels`, message: `Invalid value: ${JSON.stringify(k)}: name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character` });
        }
        if (v.length > 63 || !LABEL_VALUE.test(v)) {
          errs.push({
            reason: 'FieldValueInvalid',
            field: `metadata.labels`,
            message: `Invalid value: ${JSON.stringify(v)}: a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')`,
          });
        }
      }
    }
  }
  const annotations = metadata['annotations'];
  if (isObject(annotations)) {
    const size = Object.entries(annotations).reduce((n, [k, v]) => n + Buffer.byteLength(k) + Buffer.byteLength(String(v)), 0);
    if (size > TOTAL_ANNOTATION_SIZE_LIMIT) {
      // What makes client-side `kubectl apply` of big CRDs fail on real clusters too (use --server-side).
      errs.push({ reason: 'FieldValueTooLong', field: 'metadata.annotations', message: `Too long: may not be more than ${TOTAL_ANNOTATION_SIZE_LIMIT} bytes` });
    }
  }
  const fin = metadata['finalizers'];
  if (fin !== undefined && fin !== null && (!Array.isArray(fin) || fin.some((f) => typeof f !== 'string'))) {
    throw badRequest('json: cannot unmarshal into Go struct field ObjectMeta.metadata.finalizers of type []string');
  }
  return errs;
}
