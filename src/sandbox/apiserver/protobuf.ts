import type { Json, JsonObject } from './json.js';
import { PROTO_KINDS, PROTO_MESSAGES, type ProtoField } from './protobuf-schema.js';
import { ApiStatusError, badRequest, unsupportedMediaType } from './status.js';

/**
 * Reads the Kubernetes protobuf wire form (`application/vnd.kubernetes.protobuf`) of the built-in
 * kinds kubectl's typed clients send (create namespace/deployment/configmap/secret/service, auth
 * can-i) into the JSON form the rest of the server works on. kubectl does not fall back to JSON
 * after a 415, so without this `kubectl create namespace` cannot work. Responses stay JSON: kubectl
 * accepts either.
 */
export const PROTOBUF = 'application/vnd.kubernetes.protobuf';
const MAGIC = Buffer.from([0x6b, 0x38, 0x73, 0x00]); // "k8s\0"
const ACCEPTED = ['application/json', 'application/yaml', PROTOBUF];
const TIME = 'k8s.io.apimachinery.pkg.apis.meta.v1.Time';
const MICRO_TIME = 'k8s.io.apimachinery.pkg.apis.meta.v1.MicroTime';
const QUANTITY = 'k8s.io.apimachinery.pkg.api.resource.Quantity';
const INT_OR_STRING = 'k8s.io.apimachinery.pkg.util.intstr.IntOrString';
const RAW_EXTENSION = 'k8s.io.apimachinery.pkg.runtime.RawExtension';
/** Go's zero time.Time, which the generated marshallers write for an unset non-pointer Time. */
const GO_ZERO_SECONDS = -62135596800;

export function isProtobuf(contentType: string): boolean {
  return contentType.split(';')[0]?.trim() === PROTOBUF;
}

interface Raw {
  num: number;
  wire: number;
  /** varint as bigint; length-delimited as bytes; fixed64/32 as the raw bytes. */
  value: bigint | Buffer;
}

class Reader {
  pos = 0;
  constructor(private readonly buf: Buffer) {}

  done(): boolean {
    return this.pos >= this.buf.length;
  }

  varint(): bigint {
    let result = 0n;
    let shift = 0n;
    for (;;) {
      if (this.pos >= this.buf.length) throw new ProtobufError('truncated varint');
      const b = this.buf[this.pos++] as number;
      result |= BigInt(b & 0x7f) << shift;
      if ((b & 0x80) === 0) return result;
      shift += 7n;
      if (shift > 70n) throw new ProtobufError('varint too long');
    }
  }

  bytes(n: number): Buffer {
    if (this.pos + n > this.buf.length) throw new ProtobufError('truncated field');
    const out = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  field(): Raw {
    const key = Number(this.varint());
    const num = key >>> 3;
    const wire = key & 7;
    switch (wire) {
      case 0:
        return { num, wire, value: this.varint() };
      case 1:
        return { num, wire, value: this.bytes(8) };
      case 2:
        return { num, wire, value: this.bytes(Number(this.varint())) };
      case 5:
        return { num, wire, value: this.bytes(4) };
      default:
        throw new ProtobufError(`unsupported wire type ${wire}`);
    }
  }
}

export class ProtobufError extends Error {
  readonly code = 'PROTOBUF_DECODE';
}

function fields(buf: Buffer): Raw[] {
  const r = new Reader(buf);
  const out: Raw[] = [];
  while (!r.done()) out.push(r.field());
  return out;
}

function str(v: bigint | Buffer): string {
  return Buffer.isBuffer(v) ? v.toString('utf8') : '';
}

function int(v: bigint | Buffer, bits: 32 | 64): number {
  if (Buffer.isBuffer(v)) return 0;
  return Number(bits === 32 ? BigInt.asIntN(32, v) : BigInt.asIntN(64, v));
}

function scalar(type: string, raw: Raw): Json {
  switch (type) {
    case 'string':
      return str(raw.value);
    case 'bytes':
      return Buffer.isBuffer(raw.value) ? raw.value.toString('base64') : '';
    case 'bool':
      return raw.value === 1n;
    case 'int32':
      return int(raw.value, 32);
    case 'int64':
      return int(raw.value, 64);
    case 'double':
      return Buffer.isBuffer(raw.value) ? raw.value.readDoubleLE(0) : 0;
    case 'float':
      return Buffer.isBuffer(raw.value) ? raw.value.readFloatLE(0) : 0;
    default:
      throw new ProtobufError(`unknown scalar ${type}`);
  }
}

/** Repeated scalars may come packed (one length-delimited run) or one per field. */
function repeatedScalars(type: string, raw: Raw): Json[] {
  if (raw.wire !== 2 || type === 'string' || type === 'bytes') return [scalar(type, raw)];
  const r = new Reader(raw.value as Buffer);
  const out: Json[] = [];
  while (!r.done()) {
    if (type === 'double') out.push(r.bytes(8).readDoubleLE(0));
    else if (type === 'float') out.push(r.bytes(4).readFloatLE(0));
    else out.push(scalar(type, { num: raw.num, wire: 0, value: r.varint() }));
  }
  return out;
}

function isZero(v: Json): boolean {
  return v === '' || v === 0 || v === false;
}

function rfc3339(seconds: number, nanos: number, micro: boolean): string {
  const d = new Date(seconds * 1000).toISOString().replace(/\.\d{3}Z$/, '');
  return micro ? `${d}.${String(Math.floor(nanos / 1000)).padStart(6, '0')}Z` : `${d}Z`;
}

/** A message as JSON; `undefined` for a message that stands for an unset value (zero Time). */
function message(type: string, buf: Buffer): Json | undefined {
  if (type === TIME || type === MICRO_TIME) {
    let seconds = 0;
    let nanos = 0;
    for (const f of fields(buf)) {
      if (f.num === 1) seconds = int(f.value, 64);
      if (f.num === 2) nanos = int(f.value, 32);
    }
    if (seconds <= GO_ZERO_SECONDS || (seconds === 0 && nanos === 0)) return undefined;
    return rfc3339(seconds, nanos, type === MICRO_TIME);
  }
  if (type === QUANTITY) return fields(buf).map((f) => str(f.value)).pop() ?? '0';
  if (type === INT_OR_STRING) {
    let kind = 0;
    let intVal = 0;
    let strVal = '';
    for (const f of fields(buf)) {
      if (f.num === 1) kind = int(f.value, 64);
      if (f.num === 2) intVal = int(f.value, 32);
      if (f.num === 3) strVal = str(f.value);
    }
    return kind === 1 ? strVal : intVal;
  }
  if (type === RAW_EXTENSION) {
    const raw = fields(buf).find((f) => f.num === 1);
    if (!raw || !Buffer.isBuffer(raw.value) || raw.value.length === 0) return undefined;
    try {
      return JSON.parse(raw.value.toString('utf8')) as Json;
    } catch {
      throw new ProtobufError('a RawExtension in a protobuf body is not JSON');
    }
  }
  const schema = PROTO_MESSAGES[type];
  if (!schema) throw new ProtobufError(`no protobuf schema for ${type}`);
  const byNum = new Map<number, ProtoField>(schema.map((f) => [f[0], f]));
  const out: JsonObject = {};
  for (const raw of fields(buf)) {
    const f = byNum.get(raw.num);
    if (!f) continue; // an unknown field: proto2 readers skip it
    const [, name, ftype, flags] = f;
    const isScalar = !PROTO_MESSAGES[ftype] && ![TIME, MICRO_TIME, QUANTITY, INT_OR_STRING, RAW_EXTENSION].includes(ftype);
    if (flags & 2) {
      const entry = fields(raw.value as Buffer);
      const key = entry.find((e) => e.num === 1);
      const val = entry.find((e) => e.num === 2);
      const map = (out[name] ??= {}) as JsonObject;
      const k = key ? str(key.value) : '';
      const v = val === undefined ? (ftype === 'string' ? '' : {}) : isScalar ? scalar(ftype, val) : message(ftype, val.value as Buffer);
      if (v !== undefined) map[k] = v;
      continue;
    }
    if (flags & 1) {
      const list = (out[name] ??= []) as Json[];
      if (isScalar) list.push(...repeatedScalars(ftype, raw));
      else {
        const v = message(ftype, raw.value as Buffer);
        list.push(v ?? {});
      }
      continue;
    }
    if (isScalar) {
      const v = scalar(ftype, raw);
      // Non-pointer Go fields are always written, zero or not; JSON leaves their zero out.
      if (isZero(v) && !(flags & 4)) delete out[name];
      else out[name] = v;
      continue;
    }
    const v = message(ftype, raw.value as Buffer);
    if (v === undefined) delete out[name];
    else out[name] = v;
  }
  return out;
}

/**
 * Decodes a protobuf request body into a JSON object with apiVersion and kind. A kind outside the
 * generated tables (custom resources never have a protobuf form) gets the real server's 415.
 */
export function decodeProtobufBody(body: Buffer): JsonObject {
  if (body.length < 4 || !body.subarray(0, 4).equals(MAGIC)) {
    throw badRequest('the body of the request does not start with the Kubernetes protobuf prefix');
  }
  let apiVersion = '';
  let kind = '';
  let raw: Buffer = Buffer.alloc(0);
  try {
    for (const f of fields(body.subarray(4))) {
      if (f.num === 1 && Buffer.isBuffer(f.value)) {
        for (const t of fields(f.value)) {
          if (t.num === 1) apiVersion = str(t.value);
          if (t.num === 2) kind = str(t.value);
        }
      }
      if (f.num === 2 && Buffer.isBuffer(f.value)) raw = f.value;
    }
    const type = PROTO_KINDS[`${apiVersion}/${kind}`];
    if (!type) throw unsupportedMediaType(ACCEPTED.filter((t) => t !== PROTOBUF));
    const obj = message(type, raw);
    return { apiVersion, kind, ...(obj !== undefined && typeof obj === 'object' && !Array.isArray(obj) && obj !== null ? obj : {}) };
  } catch (err) {
    if (err instanceof ApiStatusError) throw err;
    throw badRequest(`error decoding request body: ${err instanceof Error ? err.message : String(err)}`);
  }
}
