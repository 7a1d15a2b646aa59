import { parseEchoArgs } from './echo-args.js';

describe('parseEchoArgs', () => {
  it('reads -text and -status-code in the forms Go flags accept', () => {
    expect(parseEchoArgs(['-text=hello from backend v1'])).toEqual({ text: 'hello from backend v1', statusCode: 200, ignored: [] });
    expect(parseEchoArgs(['--text=a=b', '-status-code=503'])).toEqual({ text: 'a=b', statusCode: 503, ignored: [] });
    expect(parseEchoArgs(['-text', 'spaced words', '-status-code', '418'])).toEqual({ text: 'spaced words', statusCode: 418, ignored: [] });
  });

  it('defaults to an empty text and 200, and ignores -listen', () => {
    expect(parseEchoArgs(undefined)).toEqual({ text: '', statusCode: 200, ignored: [] });
    expect(parseEchoArgs(['-listen=:5678', '-text=x'])).toEqual({ text: 'x', statusCode: 200, ignored: [] });
  });

  it('reports unknown flags and bad status codes instead of failing', () => {
    const parsed = parseEchoArgs(['-status-code=abc', '-verbose', 'stray', '-status-code=99']);
    expect(parsed.statusCode).toBe(200);
    expect(parsed.ignored).toEqual(['-status-code=abc', '-verbose', 'stray', '-status-code=99']);
  });
});
