/** What hashicorp/http-echo answers, from its command-line flags. */
export interface EchoArgs {
  /** Response body (http-echo adds a newline). */
  text: string;
  statusCode: number;
  /** Flags the sandbox does not understand or could not parse, for a log line. */
  ignored: string[];
}

/**
 * Parses http-echo's Go-style flags: `-text=hi`, `--text=hi`, `-text hi`, `-status-code=503`.
 * `-listen` is accepted and ignored (the sandbox picks free loopback ports).
 */
export function parseEchoArgs(args: readonly string[] | undefined): EchoArgs {
  const out: EchoArgs = { text: '', statusCode: 200, ignored: [] };
  const list = args ?? [];
  for (let i = 0; i < list.length; i++) {
    const arg = list[i] as string;
    const m = /^--?([A-Za-z][-A-Za-z0-9_]*)(?:=([\s\S]*))?$/.exec(arg);
    if (!m) {
      out.ignored.push(arg);
      continue;
    }
    const name = m[1] as string;
    let value = m[2];
    const takesValue = name === 'text' || name === 'status-code' || name === 'listen';
    if (value === undefined && takesValue && i + 1 < list.length) value = list[++i];
    switch (name) {
      case 'text':
        out.text = value ?? '';
        break;
      case 'status-code': {
        const code = Number(value);
        if (Number.isInteger(code) && code >= 100 && code <= 599) out.statusCode = code;
        else out.ignored.push(arg);
        break;
      }
      case 'listen':
        break;
      default:
        out.ignored.push(arg);
    }
  }
  return out;
}
