import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { builtinMessage, pruneBuiltin } from './builtin-fields.js';
import { startApiServer, type ApiServer } from './index.js';
import type { JsonObject } from './json.js';
import { call } from './testing.js';

describe('unknown fields of built-in kinds', () => {
  it('finds them at any depth, through lists and maps, and drops them', () => {
    const d: JsonObject = {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      bogus: 1,
      metadata: { name: 'web', labels: { any: 'key' } },
      spec: {
        replicas: 1,
        template: { spec: { containers: [{ name: 'c', image: 'x', colour: 'red', resources: { limits: { cpu: '1' } } }] } },
        strategy: { rollingUpdate: { maxSurge: '25%', extra: true } },
      },
    };
    const unknown: string[] = [];
    pruneBuiltin(d, builtinMessage('apps/v1', 'Deployment') as string, unknown);
    expect(unknown).toEqual(['bogus', 'spec.template.spec.containers[0].colour', 'spec.strategy.rollingUpdate.extra']);
    expect(d['bogus']).toBeUndefined();
    expect(d).toMatchObject({ metadata: { labels: { any: 'key' } }, spec: { template: { spec: { containers: [{ name: 'c', resources: { limits: { cpu: '1' } } }] } } } });
  });

  it('knows no table for custom kinds', () => {
    expect(builtinMessage('routeshift.io/v1alpha1', 'Canary')).toBeUndefined();
  });

  describe('over HTTP', () => {
    let server: ApiServer;
    beforeAll(async () => {
      server = await startApiServer();
    });
    afterAll(async () => {
      await server.stop();
    });

    it('refuses them with fieldValidation=Strict as kube-apiserver words it, warns and drops them otherwise', async () => {
      const cm = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'u' }, bogus: 1, data: { a: '1' } };
      const strict = await call(server.url, 'POST', '/api/v1/namespaces/default/configmaps?fieldValidation=Strict', cm);
      expect(strict.status).toBe(400);
      expect(strict.body.message).toBe('ConfigMap in version "v1" cannot be handled as a ConfigMap: strict decoding error: unknown field "bogus"');
      const warned = await call(server.url, 'POST', '/api/v1/namespaces/default/configmaps', cm);
      expect(warned.status).toBe(201);
      expect(warned.headers['warning']).toContain('unknown field \\"bogus\\"');
      expect(warned.body.bogus).toBeUndefined();
    });

    it('answers a strategic merge patch bringing one with the patch handler\'s 422, the patch shown as Go prints a map', async () => {
      const r = await call(server.url, 'PATCH', '/api/v1/namespaces/default/configmaps/u?fieldValidation=Strict', { bogus: 1, data: { b: null } }, {
        'Content-Type': 'application/strategic-merge-patch+json',
      });
      expect(r.status).toBe(422);
      expect(r.body.message).toBe(' "" is invalid: patch: Invalid value: "map[bogus:1 data:map[b:<nil>]]": strict decoding error: unknown field "bogus"');
    });
  });
});
