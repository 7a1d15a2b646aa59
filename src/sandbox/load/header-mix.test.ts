import { seededRandom } from '../../core/random.js';
import { pickHeaders, validateHeaderMix, type HeaderMixEntry } from './header-mix.js';

describe('header mix', () => {
  const mix: HeaderMixEntry[] = [
    { share: 0.2, headers: { 'x-canary': 'always' } },
    { share: 0.1, headers: { cookie: 'canary=always' } },
  ];

  it('gives each entry its share of the requests and the rest none', () => {
    const random = seededRandom(3);
    const counts = { header: 0, cookie: 0, none: 0 };
    for (let i = 0; i < 10_000; i++) {
      const h = pickHeaders(mix, random);
      if (h?.['x-canary']) counts.header++;
      else if (h?.['cookie']) counts.cookie++;
      else counts.none++;
    }
    const near = (n: number, p: number) => Math.abs(n / 10_000 - p) < 5 * Math.sqrt((p * (1 - p)) / 10_000);
    expect([near(counts.header, 0.2), near(counts.cookie, 0.1), near(counts.none, 0.7)]).toEqual([true, true, true]);
  });

  it('refuses shares outside [0, 1] or summing above 1', () => {
    expect(() => validateHeaderMix(mix)).not.toThrow();
    expect(() => validateHeaderMix([{ share: 1.5, headers: {} }])).toThrow(/not in \[0, 1\]/);
    expect(() => validateHeaderMix([...mix, { share: 0.8, headers: {} }])).toThrow(/sum to/);
  });
});
