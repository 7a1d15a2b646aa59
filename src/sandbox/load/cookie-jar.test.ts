import { CookieJar } from './cookie-jar.js';

describe('CookieJar', () => {
  it('keeps cookies from Set-Cookie lines and sends them back in one Cookie header', () => {
    const jar = new CookieJar();
    expect(jar.header()).toBeUndefined();
    jar.store(['canary=always; Path=/; Max-Age=3600', 'session=abc']);
    expect(jar.header()).toBe('canary=always; session=abc');
    jar.store(['session=def; HttpOnly']);
    expect(jar.header()).toBe('canary=always; session=def');
  });

  it('deletes a cookie set with Max-Age<=0 and ignores lines without a name', () => {
    const jar = new CookieJar();
    jar.store(['canary=always', '=nameless', 'junk']);
    jar.store(['canary=; Max-Age=0']);
    expect(jar.header()).toBeUndefined();
  });
});
