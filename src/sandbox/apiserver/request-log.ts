export interface RequestLogEntry {
  /** Kubernetes verb: get, list, watch, create, update, patch, delete, deletecollection. */
  verb: string;
  group: string;
  version: string;
  resource: string;
  namespace?: string;
  name?: string;
  subresource?: string;
  userAgent?: string;
  /** The user the bearer token maps to ("anonymous" without one). */
  user: string;
  code: number;
}

/** Bounded log of resource requests (oldest dropped first), for benchmarks and RBAC tests. */
export class RequestLog {
  private readonly items: RequestLogEntry[] = [];

  constructor(private readonly limit = 10000) {}

  add(e: RequestLogEntry): void {
    this.items.push(e);
    if (this.items.length > this.limit) this.items.splice(0, this.items.length - this.limit);
  }

  entries(): readonly RequestLogEntry[] {
    return this.items;
  }

  get length(): number {
    return this.items.length;
  }

  [Symbol.iterator](): Iterator<RequestLogEntry> {
    return this.items[Symbol.iterator]();
  }

  /** How many logged requests match every given field. */
  count(filter: Partial<RequestLogEntry> = {}): number {
    return this.items.filter((e) => Object.entries(filter).every(([k, v]) => e[k as keyof RequestLogEntry] === v)).length;
  }

  /** Counts keyed `verb group/resource[/subresource]`. */
  summary(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const e of this.items) {
      const key = `${e.verb} ${e.group ? `${e.group}/` : ''}${e.resource}${e.subresource ? `/${e.subresource}` : ''}`;
      out[key] = (out[key] ?? 0) + 1;
    }
    return out;
  }

  clear(): void {
    this.items.length = 0;
  }
}
