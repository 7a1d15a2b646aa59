/** Kubernetes API request paths and verbs, as the API server's request-info resolver reads them. */

export interface ParsedPath {
  group: string;
  version: string;
  namespace?: string;
  resource: string;
  name?: string;
  subresource?: string;
}

/** `/api/v1/namespaces/x/pods/y/status` → parts; undefined when not a resource path. */
export function parseResourcePath(segments: string[]): ParsedPath | undefined {
  let group: string;
  let version: string;
  let rest: string[];
  if (segments[0] === 'api' && segments.length >= 3) {
    group = '';
    version = segments[1] as string;
    rest = segments.slice(2);
  } else if (segments[0] === 'apis' && segments.length >= 4) {
    group = segments[1] as string;
    version = segments[2] as string;
    rest = segments.slice(3);
  } else return undefined;
  // `namespaces/<ns>/<resource>...` is namespace scoping, except the namespace object's own subresources.
  if (rest[0] === 'namespaces' && rest.length >= 3 && !(group === '' && rest.length === 3 && (rest[2] === 'status' || rest[2] === 'finalize'))) {
    const p: ParsedPath = { group, version, namespace: rest[1] as string, resource: rest[2] as string };
    if (rest[3] !== undefined) p.name = rest[3];
    if (rest[4] !== undefined) p.subresource = rest[4];
    return rest.length > 5 ? undefined : p;
  }
  const p: ParsedPath = { group, version, resource: rest[0] as string };
  if (rest[1] !== undefined) p.name = rest[1];
  if (rest[2] !== undefined) p.subresource = rest[2];
  return rest.length > 3 ? undefined : p;
}

export function k8sVerb(method: string, p: ParsedPath, watch: boolean): string {
  switch (method) {
    case 'GET':
    case 'HEAD':
      if (p.name === undefined) return watch ? 'watch' : 'list';
      return 'get';
    case 'POST':
      return 'create';
    case 'PUT':
      return 'update';
    case 'PATCH':
      return 'patch';
    case 'DELETE':
      return p.name === undefined ? 'deletecollection' : 'delete';
    default:
      return method.toLowerCase();
  }
}

