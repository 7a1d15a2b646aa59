// ESM TypeScript under jest: swc strips types (fast); `npm run typecheck` does the type checking.
const transform = {
  '^.+\\.ts$': ['@swc/jest', { jsc: { parser: { syntax: 'typescript' }, target: 'es2022' }, module: { type: 'es6' } }],
};
const common = {
  extensionsToTreatAsEsm: ['.ts'],
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  transform,
  testEnvironment: 'node',
  // Per project: a top-level cacheDirectory is ignored when projects are used.
  cacheDirectory: '<rootDir>/.jest-cache',
};
export default {
  testSequencer: '<rootDir>/test/support/sequencer.cjs',
  // Only honoured at the top level; e2e tests start servers and run whole rollouts.
  testTimeout: 180000,
  projects: [
    {
      ...common,
      displayName: 'unit',
      // A module's unit tests sit next to it (src/**/x.test.ts). test/unit holds only tests of the repository's
      // artifacts: deploy/ (manifests, templates, the Grafana dashboard), docs/ and the Dockerfile.
      testMatch: ['<rootDir>/src/**/*.test.ts', '<rootDir>/test/unit/**/*.test.ts'],
    },
    {
      ...common,
      displayName: 'e2e',
      testMatch: ['<rootDir>/test/e2e/**/*.test.ts'],
    },
  ],
};
