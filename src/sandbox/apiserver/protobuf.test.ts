import { describe, expect, it } from '@jest/globals';
import { decodeProtobufBody, isProtobuf } from './protobuf.js';
import { type ApiStatusError } from './status.js';

// Bodies kubectl 1.32 sent, captured on the wire: create deployment web --image=nginx --replicas=0 -n demo,
// auth can-i patch httproutes -n demo, create namespace demo.
const [DEPLOYMENT, SSAR, NAMESPACE] = [
  'azhzAAoVCgdhcHBzL3YxEgpEZXBsb3ltZW50Eq8BCiMKA3dlYhIAGgRkZW1vIgAqADIAOABCAFoKCgNhcHASA3dlYhJ6CAASDAoKCgNhcHASA3dlYhpgChwKABIAGgAiACoAMgA4AEIAWgoKA2FwcBIDd2ViEkASIgoFbmdpbngSBW5naW54KgBCAGoAcgCAAQCIAQCQAQCiAQAaADIAQgBKAFIAWABgAGgAggEAigEAmgEAwgEAIgIKACgAOAAaDAgAEAAYACAAKAA4ABoAIgA=',
  'azhzAAoyChdhdXRob3JpemF0aW9uLms4cy5pby92MRIXU2VsZlN1YmplY3RBY2Nlc3NSZXZpZXcSWgoQCgASABoAIgAqADIAOABCABI8CjoKBGRlbW8SBXBhdGNoGhlnYXRld2F5Lm5ldHdvcmtpbmcuazhzLmlvIgAqCmh0dHByb3V0ZXMyADoAGggIABIAGgAgABoAIgA=',
  'azhzAAoPCgJ2MRIJTmFtZXNwYWNlEhwKFAoEZGVtbxIAGgAiACoAMgA4AEIAEgAaAgoAGgAiAA==',
].map((b) => Buffer.from(b, 'base64'));

describe('decodeProtobufBody', () => {
  it('reads a Namespace, leaving out the zero values Go always writes', () => {
    expect(decodeProtobufBody(NAMESPACE as Buffer)).toEqual({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'demo' }, spec: {}, status: {} });
  });

  it('reads a Deployment, keeping the pointer field replicas: 0', () => {
    const d = decodeProtobufBody(DEPLOYMENT as Buffer);
    expect(d).toMatchObject({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'web', namespace: 'demo', labels: { app: 'web' } },
      spec: {
        replicas: 0,
        selector: { matchLabels: { app: 'web' } },
        template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'nginx', image: 'nginx', resources: {} }] } },
        strategy: {},
      },
    });
    expect((d['metadata'] as Record<string, unknown>)['creationTimestamp']).toBeUndefined();
  });

  it('reads a SelfSubjectAccessReview', () => {
    expect(decodeProtobufBody(SSAR as Buffer)).toMatchObject({
      apiVersion: 'authorization.k8s.io/v1',
      kind: 'SelfSubjectAccessReview',
      spec: { resourceAttributes: { namespace: 'demo', verb: 'patch', resource: 'httproutes' } },
    });
  });

  it('answers 415 for a kind it has no protobuf form of, 400 for a body without the prefix', () => {
    const other = Buffer.concat([Buffer.from('k8s\0', 'latin1'), Buffer.from([0x0a, 0x0b, 0x0a, 0x03, 0x61, 0x2f, 0x62, 0x12, 0x04, 0x4b, 0x69, 0x6e, 0x64])]);
    expect(() => decodeProtobufBody(other)).toThrow(expect.objectContaining({ status: 415 }) as unknown as ApiStatusError);
    expect(() => decodeProtobufBody(Buffer.from('{}'))).toThrow(expect.objectContaining({ status: 400 }) as unknown as ApiStatusError);
    expect(() => decodeProtobufBody(Buffer.concat([(NAMESPACE as Buffer).subarray(0, 20)]))).toThrow(/error decoding request body/);
  });

  it('recognises the content type with or without parameters', () => {
    expect(isProtobuf('application/vnd.kubernetes.protobuf')).toBe(true);
    expect(isProtobuf('application/vnd.kubernetes.protobuf; charset=utf-8')).toBe(true);
    expect(isProtobuf('application/json')).toBe(false);
  });
});
