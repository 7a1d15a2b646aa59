import { readFileSync } from 'node:fs';
import { loadTemplates } from '../metrics/templates.js';
import { validateDocuments } from '../metrics/validate.js';

/** `routeshift validate -f FILE...`: every problem of every object, with file, document and path; exit 1 on any. */
export async function runValidate(files: string[], templateDirs: string[], out: NodeJS.WritableStream): Promise<number> {
  const templates = await loadTemplates({ extraPaths: templateDirs });
  let problems = 0;
  for (const file of files) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      out.write(`${file}: cannot read: ${(err as Error).message}\n`);
      problems++;
      continue;
    }
    for (const p of validateDocuments(text, templates)) {
      const where = [file, p.document ? `document ${p.document}` : '', p.object ?? ''].filter(Boolean).join(': ');
      out.write(`${where}: ${p.path ? `${p.path}: ` : ''}${p.message}\n`);
      problems++;
    }
  }
  out.write(problems ? `${problems} problem(s) found\n` : `${files.length} file(s) valid\n`);
  return problems ? 1 : 0;
}
