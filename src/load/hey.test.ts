import { LoadSpecError } from './errors.js';
import { parseHeyCommand, requestedRate, splitWords } from './hey.js';

describe('parseHeyCommand', () => {
  it("reads Flagger's load-test example", () => {
    const s = parseHeyCommand('hey -z 1m -q 10 -c 2 http://podinfo-canary.test:9898/');
    expect(s).toMatchObject({ url: 'http://podinfo-canary.test:9898/', method: 'GET', durationMs: 60_000, ratePerWorker: 10, workers: 2, keepAlive: true });
    expect(requestedRate(s)).toBe(20);
  });

  it('reads method, headers, body, content type, host, timeout and -flag=value', () => {
    const s = parseHeyCommand(`hey -n 30 -c=3 -m post -H "X-Team: payments" -H 'accept: text/plain' -d '{"a":1}' -T application/json -t 5 -host app.example.com -disable-keepalive http://10.0.0.1/api`);
    expect(s).toMatchObject({ method: 'POST', body: '{"a":1}', host: 'app.example.com', timeoutMs: 5000, requests: 30, workers: 3, keepAlive: false });
    expect(s.durationMs).toBeUndefined();
    expect(s.headers).toEqual({ 'x-team': 'payments', accept: 'text/plain', 'content-type': 'application/json' });
  });

  it("uses hey's defaults: 200 requests, 50 workers, no rate limit, 20s timeout", () => {
    const s = parseHeyCommand('hey http://svc/');
    expect(s).toMatchObject({ requests: 200, workers: 50, timeoutMs: 20_000 });
    expect(requestedRate(s)).toBe(Infinity);
  });

  it.each([
    ['curl -sf http://svc/', /only hey commands run natively \(got "curl"\)/],
    ['hey -z 1m -k http://svc/', /unknown hey flag -k/],
    ['hey -D body.json http://svc/', /-D is not supported/],
    ['hey -x proxy:3128 http://svc/', /-x is not supported/],
    ['hey -z 1m http://svc/ && curl http://x/', /"&" needs a shell/],
    ['hey -z 1m http://svc/ | tee out', /"\|" needs a shell/],
    ['hey -z soon http://svc/', /-z soon is not a duration/],
    ['hey -q 0 http://svc/', /-q 0: a rate above 0/],
    ['hey -c 1.5 http://svc/', /-c 1.5: a whole number above 0/],
    ['hey -m FETCH http://svc/', /-m FETCH is not an HTTP method/],
    ['hey -H nocolon http://svc/', /-H "nocolon" is not "Name: value"/],
    ['hey -z 1m', /needs a URL/],
    ['hey ftp://svc/', /unsupported url scheme "ftp:"/],
    ['hey -z', /-z needs a value/],
    ['hey "http://svc/', /unterminated " quote/],
    ['hey -H "X: $TOKEN" http://svc/', /shell substitution/],
  ])('refuses %s with a LoadSpec error', (cmd, message) => {
    let err: unknown;
    try {
      parseHeyCommand(cmd);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(LoadSpecError);
    expect((err as LoadSpecError).code).toBe('LoadSpec');
    expect((err as Error).message).toMatch(message);
  });
});

describe('splitWords', () => {
  it('keeps quoted words whole and drops the quotes', () => {
    expect(splitWords(`hey -H "A: b c" -d 'x y' a\\ b`)).toEqual(['hey', '-H', 'A: b c', '-d', 'x y', 'a b']);
  });
});
