import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

/**
 * docs/benchmarks.md is shared: each benchmark owns the text between its own pair of markers and
 * never touches the rest.
 */
export function replaceBetween(doc: string, start: string, end: string, section: string): string {
  const s = doc.indexOf(start);
  const e = doc.indexOf(end);
  const block = `${start}\n${section}\n${end}`;
  if (s >= 0 && e > s) return doc.slice(0, s) + block + doc.slice(e + end.length);
  const sep = doc.length === 0 || doc.endsWith('\n\n') ? '' : doc.endsWith('\n') ? '\n' : '\n\n';
  return `${doc}${sep}${block}\n`;
}

export function writeSection(path: string, start: string, end: string, section: string): void {
  const doc = existsSync(path) ? readFileSync(path, 'utf8') : '# Benchmarks\n\n';
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, replaceBetween(doc, start, end, section));
}
