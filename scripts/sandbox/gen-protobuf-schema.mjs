#!/usr/bin/env node
// Generates src/sandbox/apiserver/protobuf-schema.ts: the protobuf field tables of the built-in
// kinds the stand-in serves (kubectl sends them as protobuf; their JSON field names also tell which
// fields are unknown), read from the generated.proto and types.go files of k8s.io/api and
// k8s.io/apimachinery in the Go module cache (the control plane build downloads them).
// Usage: node scripts/sandbox/gen-protobuf-schema.mjs [k8s.io/api version] (default v0.36.3)
import { readFileSync, writeFileSync, readdirSync, existsSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const version = process.argv[2] ?? 'v0.36.3';
const gomod = (() => {
  try {
    return execFileSync('go', ['env', 'GOMODCACHE'], { encoding: 'utf8' }).trim();
  } catch {
    return join(process.env.HOME ?? '/root', 'go/pkg/mod');
  }
})();
const roots = { 'k8s.io/api': join(gomod, `k8s.io/api@${version}`), 'k8s.io/apimachinery': join(gomod, `k8s.io/apimachinery@${version}`) };
for (const r of Object.values(roots)) if (!existsSync(r)) throw new Error(`missing ${r}: run scripts/controlplane/build.sh first (it downloads the modules)`);

const ROOTS = [
  ['k8s.io.api.core.v1.Namespace', 'v1', 'Namespace'],
  ['k8s.io.api.core.v1.ConfigMap', 'v1', 'ConfigMap'],
  ['k8s.io.api.core.v1.Secret', 'v1', 'Secret'],
  ['k8s.io.api.core.v1.Service', 'v1', 'Service'],
  ['k8s.io.api.core.v1.Pod', 'v1', 'Pod'],
  ['k8s.io.api.core.v1.ServiceAccount', 'v1', 'ServiceAccount'],
  ['k8s.io.api.core.v1.Endpoints', 'v1', 'Endpoints'],
  ['k8s.io.api.core.v1.Event', 'v1', 'Event'],
  ['k8s.io.api.events.v1.Event', 'events.k8s.io/v1', 'Event'],
  ['k8s.io.api.apps.v1.Deployment', 'apps/v1', 'Deployment'],
  ['k8s.io.api.coordination.v1.Lease', 'coordination.k8s.io/v1', 'Lease'],
  ['k8s.io.api.discovery.v1.EndpointSlice', 'discovery.k8s.io/v1', 'EndpointSlice'],
  ['k8s.io.api.policy.v1.PodDisruptionBudget', 'policy/v1', 'PodDisruptionBudget'],
  ['k8s.io.api.rbac.v1.Role', 'rbac.authorization.k8s.io/v1', 'Role'],
  ['k8s.io.api.rbac.v1.RoleBinding', 'rbac.authorization.k8s.io/v1', 'RoleBinding'],
  ['k8s.io.api.rbac.v1.ClusterRole', 'rbac.authorization.k8s.io/v1', 'ClusterRole'],
  ['k8s.io.api.rbac.v1.ClusterRoleBinding', 'rbac.authorization.k8s.io/v1', 'ClusterRoleBinding'],
  ['k8s.io.api.authorization.v1.SelfSubjectAccessReview', 'authorization.k8s.io/v1', 'SelfSubjectAccessReview'],
  ['k8s.io.api.authorization.v1.SelfSubjectRulesReview', 'authorization.k8s.io/v1', 'SelfSubjectRulesReview'],
];

function walk(dir, out = []) {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) walk(p, out);
    else if (e.name === 'generated.proto' || e.name === 'types.go') out.push(p);
  }
  return out;
}

const messages = new Map(); // full name -> [{name, num, type, repeated, map?}]
const pointers = new Set(); // "pkgdir:Struct.jsonName" of scalar pointer fields
const jsonNames = new Map(); // "pkgdir:Struct.protoName" -> JSON name, where they differ
const SCALARS = new Set(['int32', 'int64', 'bool', 'string', 'bytes', 'double', 'float']);
const files = [...walk(join(roots['k8s.io/api'])), ...walk(join(roots['k8s.io/apimachinery'], 'pkg'))];
for (const f of files.filter((f) => f.endsWith('.proto'))) {
  const text = readFileSync(f, 'utf8');
  const pkg = /^package ([\w.]+);/m.exec(text)[1];
  const re = /^message (\w+) \{([\s\S]*?)^\}/gm;
  for (let m; (m = re.exec(text)); ) {
    const fields = [];
    for (const line of m[2].split('\n')) {
      const mm = /^\s+(optional|repeated)?\s*(map<(\w+), ([\w.]+)>|[\w.]+) (\w+) = (\d+);/.exec(line);
      if (!mm) continue;
      const resolve = (t) => (SCALARS.has(t) ? t : t.startsWith('.') ? t.slice(1) : `${pkg}.${t}`);
      fields.push({ name: mm[5], num: Number(mm[6]), repeated: mm[1] === 'repeated', ...(mm[3] ? { map: true, type: resolve(mm[4]) } : { type: resolve(mm[2]) }) });
    }
    messages.set(`${pkg}.${m[1]}`, { fields, pkg, dir: dirname(f) });
  }
}
for (const f of files.filter((f) => f.endsWith('types.go'))) {
  let struct = '';
  for (const line of readFileSync(f, 'utf8').split('\n')) {
    const s = /^type (\w+) struct/.exec(line);
    if (s) struct = s[1];
    const p = /^\s+\w+\s+\*(?:int32|int64|bool|string|float64|\w+)\s+`json:"(\w+)/.exec(line);
    if (p && struct) pointers.add(`${dirname(f)}:${struct}.${p[1]}`);
    // A few proto names are not the JSON name (`aPIGroup` for `apiGroup`): the JSON name wins.
    const tag = /`json:"(\w+)[^`]*protobuf:"[^"]*name=(\w+)/.exec(line);
    if (tag && struct && tag[1] !== tag[2]) jsonNames.set(`${dirname(f)}:${struct}.${tag[2]}`, tag[1]);
  }
}

const out = {};
const queue = ROOTS.map((r) => r[0]);
while (queue.length > 0) {
  const name = queue.shift();
  if (out[name]) continue;
  const msg = messages.get(name);
  if (!msg) throw new Error(`no message ${name}`);
  const short = name.slice(msg.pkg.length + 1);
  out[name] = msg.fields.map((f) => {
    if (!SCALARS.has(f.type)) queue.push(f.type);
    const json = jsonNames.get(`${msg.dir}:${short}.${f.name}`) ?? f.name;
    const keep = SCALARS.has(f.type) && pointers.has(`${msg.dir}:${short}.${json}`);
    return [f.num, json, f.type, (f.repeated ? 1 : 0) | (f.map ? 2 : 0) | (keep ? 4 : 0)];
  });
}
const here = dirname(fileURLToPath(import.meta.url));
const target = join(here, '../../src/sandbox/apiserver/protobuf-schema.ts');
const body = `// Generated by scripts/sandbox/gen-protobuf-schema.mjs from k8s.io/api ${version}; do not edit.
/** [field number, JSON name, type, flags: 1 repeated, 2 map<string, type>, 4 pointer (zero is kept)]. */
export type ProtoField = [number, string, string, number];

/** apiVersion/kind → message of the kinds kubectl sends as protobuf. */
export const PROTO_KINDS: Record<string, string> = ${JSON.stringify(Object.fromEntries(ROOTS.map(([m, av, k]) => [`${av}/${k}`, m])), null, 2)};

export const PROTO_MESSAGES: Record<string, ProtoField[]> = {
${Object.entries(out).map(([k, v]) => `  ${JSON.stringify(k)}: ${JSON.stringify(v)},`).join('\n')}
};
`;
writeFileSync(target, body);
console.log(`wrote ${target}: ${Object.keys(out).length} messages`);
