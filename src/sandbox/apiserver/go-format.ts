import type { Json } from './json.js';

/**
 * A decoded JSON value as Go's `fmt.Sprintf("%+v", v)` prints it (map keys sorted, `<nil>`, floats
 * as %g), which kube-apiserver puts in the 422 for a strategic merge patch it cannot decode.
 */
export function goValue(v: Json): string {
  if (v === null) return '<nil>';
  if (typeof v === 'string') return v;
  if (typeof v === 'boolean') return String(v);
  if (typeof v === 'number') return goFloat(v);
  if (Array.isArray(v)) return `[${v.map(goValue).join(' ')}]`;
  const keys = Object.keys(v).sort();
  return `map[${keys.map((k) => `${k}:${goValue(v[k] as Json)}`).join(' ')}]`;
}

/** float64 with %v: shortest digits, exponent form when the exponent is < -4 or >= 6 (fewer for short fractions). */
export function goFloat(n: number): string {
  if (n === 0) return '0';
  if (!Number.isFinite(n)) return n > 0 ? '+Inf' : Number.isNaN(n) ? 'NaN' : '-Inf';
  const [mantissa, expText] = Math.abs(n).toExponential().split('e') as [string, string];
  const exp = Number(expText);
  const digits = mantissa.replace('.', '').length;
  const dp = exp + 1;
  let eprec = 6;
  if (eprec > digits && digits >= dp) eprec = digits;
  const sign = n < 0 ? '-' : '';
  if (exp < -4 || exp >= eprec) return `${sign}${mantissa}e${exp < 0 ? '-' : '+'}${String(Math.abs(exp)).padStart(2, '0')}`;
  return `${sign}${String(Math.abs(n))}`;
}
