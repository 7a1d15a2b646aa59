import { RouteshiftError } from '../../core/errors.js';
import type { JsonObject } from './json.js';

export interface StatusCause {
  reason: string;
  message: string;
  field?: string;
}

export interface StatusDetails {
  name?: string;
  group?: string;
  kind?: string;
  causes?: StatusCause[];
  retryAfterSeconds?: number;
}

/**
 * A failed request, carried as the meta/v1 Status the real API server answers with. Clients
 * (client-node, kubectl) switch on `code` and `reason`, so both follow the real server exactly.
 */
export class ApiStatusError extends RouteshiftError {
  readonly status: number;
  readonly reason: string;
  readonly details: StatusDetails | undefined;

  constructor(status: number, reason: string, message: string, details?: StatusDetails) {
    super(`ApiServer${reason}`, message);
    this.status = status;
    this.reason = reason;
    this.details = details;
  }

  body(): JsonObject {
    return statusBody(this.status, this.reason, this.message, this.details);
  }
}

export function statusBody(code: number, reason: string, message: string, details?: StatusDetails): JsonObject {
  const body: JsonObject = { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason };
  if (details) body['details'] = details as unknown as JsonObject;
  body['code'] = code;
  return body;
}

export function successStatus(details?: StatusDetails): JsonObject {
  const body: JsonObject = { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success' };
  if (details) body['details'] = details as unknown as JsonObject;
  return body;
}

/** `canaries.routeshift.io` or `services` (core group), as the real server names a resource in messages. */
export function qualifiedResource(group: string, resource: string): string {
  return group ? `${resource}.${group}` : resource;
}

export function notFound(group: string, resource: string, name: string): ApiStatusError {
  return new ApiStatusError(404, 'NotFound', `${qualifiedResource(group, resource)} "${name}" not found`, {
    name,
    ...(group ? { group } : {}),
    kind: resource,
  });
}

export function alreadyExists(group: string, resource: string, name: string): ApiStatusError {
  return new ApiStatusError(409, 'AlreadyExists', `${qualifiedResource(group, resource)} "${name}" already exists`, {
    name,
    ...(group ? { group } : {}),
    kind: resource,
  });
}

export function conflict(group: string, resource: string, name: string, why?: string): ApiStatusError {
  const reason = why ?? 'the object has been modified; please apply your changes to the latest version and try again';
  return new ApiStatusError(
    409,
    'Conflict',
    `Operation cannot be fulfilled on ${qualifiedResource(group, resource)} "${name}": ${reason}`,
    { name, ...(group ? { group } : {}), kind: resource },
  );
}

export function badRequest(message: string): ApiStatusError {
  return new ApiStatusError(400, 'BadRequest', message);
}

export function methodNotAllowed(message = 'the server does not allow this method on the requested resource'): ApiStatusError {
  return new ApiStatusError(405, 'MethodNotAllowed', message, {});
}

export function unsupportedMediaType(accepted: readonly string[]): ApiStatusError {
  return new ApiStatusError(
    415,
    'UnsupportedMediaType',
    `the body of the request was in an unknown format - accepted media types include: ${accepted.join(', ')}`,
    {},
  );
}

export interface FieldError {
  /** e.g. FieldValueInvalid, FieldValueRequired, FieldValueNotSupported, FieldValueTypeInvalid, FieldValueTooLong. */
  reason: string;
  field: string;
  /** The detail after "<field>: ", e.g. `Invalid value: 5: spec.x in body should be ...`. */
  message: string;
}

/** 422 Invalid, with the message layout of k8s.io/apimachinery's NewInvalid. */
export function invalid(kind: string, group: string, name: string, errors: FieldError[]): ApiStatusError {
  const qualifiedKind = group ? `${kind}.${group}` : kind;
  const parts = errors.map((e) => (e.field ? `${e.field}: ${e.message}` : e.message));
  const joined = parts.length === 1 ? parts[0] : `[${parts.join(', ')}]`;
  return new ApiStatusError(422, 'Invalid', `${qualifiedKind} "${name}" is invalid: ${joined}`, {
    name,
    ...(group ? { group } : {}),
    kind,
    causes: errors.map((e) => ({ reason: e.reason, message: e.message, field: e.field })),
  });
}
