import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Logger } from 'pino';
import type { JsonObject } from './json.js';
import type { Store } from './store.js';

interface DataFile {
  version: 1;
  resourceVersion: number;
  objects: Array<{ storageKey: string; object: JsonObject }>;
}

export async function loadDataFile(path: string): Promise<DataFile | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  const data = JSON.parse(text) as DataFile;
  if (data.version !== 1 || !Array.isArray(data.objects)) throw new Error(`${path}: not a sandbox API server data file`);
  return data;
}

/** Writes the store to `path` shortly after changes (debounced), by write-then-rename so a crash never leaves half a file. */
export class Persister {
  private timer: NodeJS.Timeout | undefined;
  private writing: Promise<void> = Promise.resolve();
  private dirty = false;

  constructor(
    private readonly path: string,
    private readonly store: Store,
    private readonly logger?: Logger,
    private readonly debounceMs = 100,
  ) {}

  private serialize(): string {
    const snap = this.store.snapshot();
    const data: DataFile = { version: 1, resourceVersion: snap.resourceVersion, objects: snap.objects };
    return JSON.stringify(data);
  }

  schedule(): void {
    this.dirty = true;
    if (this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.writing = this.writing.then(() => this.write()).catch((err: unknown) => this.logger?.error({ err }, 'sandbox API server: persisting state failed'));
    }, this.debounceMs);
    this.timer.unref();
  }

  private async write(): Promise<void> {
    if (!this.dirty) return;
    this.dirty = false;
    const body = this.serialize();
    await mkdir(dirname(this.path), { recursive: true });
    const tmp = `${this.path}.${process.pid}.tmp`;
    await writeFile(tmp, body);
    await rename(tmp, this.path);
  }

  /** Final write on stop: waits for an in-flight write, then writes what is still dirty. */
  async flush(): Promise<void> {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    await this.writing.catch(() => undefined);
    await this.write();
  }
}
