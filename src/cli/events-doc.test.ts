import { readFileSync } from 'node:fs';
import { Reason } from '../events/reasons.js';

const doc = readFileSync(new URL('../../docs/events.md', import.meta.url), 'utf8');
const headings = new Set([...doc.matchAll(/^### (\w+)\s*$/gm)].map((m) => m[1]));

describe('docs/events.md', () => {
  it.each(Object.values(Reason))('has a section for %s', (reason) => {
    expect(headings).toContain(reason);
  });

  it('documents no reason that does not exist', () => {
    const known = new Set<string>(Object.values(Reason));
    expect([...headings].filter((h) => !known.has(h as string))).toEqual([]);
  });
});
