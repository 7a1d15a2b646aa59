// ESLint (flat config) with typescript-eslint, and the architecture's import boundaries
// (/work/shared/notes/DESIGN.md): tools (src/sandbox, src/bench) are never imported by the product, and
// the decision (src/analysis) depends only on src/api and src/core.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const PRODUCT = ['analysis', 'api', 'cli', 'controller', 'core', 'events', 'hooks', 'kube', 'load', 'metrics', 'notify', 'replay', 'report', 'routing'];
const TOOLS = ['sandbox', 'bench'];
const ALL = [...PRODUCT, ...TOOLS];

/** Import patterns naming another src/ folder, as written from a file one level below src/<folder>/. */
const folders = (names) => names.flatMap((n) => [`../${n}`, `../${n}/*`, `../../${n}`, `../../${n}/*`]);

const noTools = {
  group: folders(TOOLS),
  message: 'Product code does not import the sandbox or bench tools (they are not in the controller image).',
};

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', '.jest-cache/', 'coverage/', '.routeshift/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { ecmaVersion: 2023, sourceType: 'module', globals: { process: 'readonly', console: 'readonly', Buffer: 'readonly', URL: 'readonly', setTimeout: 'readonly', clearTimeout: 'readonly', setInterval: 'readonly', clearInterval: 'readonly', setImmediate: 'readonly', AbortController: 'readonly', AbortSignal: 'readonly', fetch: 'readonly', structuredClone: 'readonly', TextEncoder: 'readonly', TextDecoder: 'readonly', performance: 'readonly', queueMicrotask: 'readonly' } },
    rules: {
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
      eqeqeq: ['error', 'always', { null: 'ignore' }],
      'no-restricted-syntax': [
        'error',
        { selector: 'CallExpression[callee.property.name="only"][callee.object.name=/^(describe|it|test)$/]', message: 'No focused tests.' },
        { selector: 'CallExpression[callee.property.name="skip"][callee.object.name=/^(describe|it|test)$/]', message: 'No skipped tests.' },
      ],
    },
  },
  // Tests and their helpers index arbitrary Kubernetes JSON freely.
  {
    files: ['test/**/*.ts', 'src/**/*.test.ts', 'src/**/testing.ts', 'src/**/test-fixtures.ts'],
    rules: { '@typescript-eslint/no-explicit-any': 'off' },
  },
  {
    files: ['**/*.cjs'],
    languageOptions: { sourceType: 'commonjs', globals: { require: 'readonly', module: 'writable', __dirname: 'readonly' } },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
  // Boundaries. Each product folder may not import the tools; analysis may import only api and core;
  // api may not import metrics (nor anything above it).
  ...PRODUCT.filter((f) => f !== 'analysis' && f !== 'api').map((f) => ({
    files: [`src/${f}/**/*.ts`],
    ignores: ['src/**/*.test.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: [noTools] }] },
  })),
  {
    files: ['src/analysis/**/*.ts'],
    ignores: ['src/**/*.test.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        { patterns: [{ group: folders(ALL.filter((f) => f !== 'api' && f !== 'core' && f !== 'analysis')), message: 'src/analysis is the pure decision: it imports only src/api and src/core.' }] },
      ],
    },
  },
  {
    files: ['src/api/**/*.ts'],
    ignores: ['src/**/*.test.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        { patterns: [{ group: folders(ALL.filter((f) => f !== 'core' && f !== 'api')), message: 'src/api holds the types every layer shares: it imports only src/core.' }] },
      ],
    },
  },
  // Dynamic import() is an import too.
  {
    files: PRODUCT.map((f) => `src/${f}/**/*.ts`),
    ignores: ['src/**/*.test.ts'],
    rules: {
      'no-restricted-syntax': [
        'error',
        { selector: 'ImportExpression[source.value=/\\/(sandbox|bench)\\//]', message: noTools.message },
        { selector: 'CallExpression[callee.property.name="only"][callee.object.name=/^(describe|it|test)$/]', message: 'No focused tests.' },
        { selector: 'CallExpression[callee.property.name="skip"][callee.object.name=/^(describe|it|test)$/]', message: 'No skipped tests.' },
      ],
    },
  },
);
