// Type-checked lint with real module boundaries: apps may not import apps; domain libs may not import
// data-access (I/O) libs; util libs import only util; nothing imports the test harness but tests.
import nx from '@nx/eslint-plugin';
import tseslint from 'typescript-eslint';
import prettier from 'eslint-config-prettier/flat';

export default [
  { ignores: ['**/dist/**', '**/node_modules/**', '.tidemark/**', 'tools/**', '**/*.mjs', '**/*.js'] },
  ...nx.configs['flat/base'],
  ...nx.configs['flat/typescript'],
  {
    files: ['**/*.ts'],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': [
        'error',
        { allowForKnownSafeCalls: [{ from: 'package', package: 'node:test', name: ['describe', 'it', 'test', 'before', 'after', 'beforeEach', 'afterEach'] }] },
      ],
      '@typescript-eslint/switch-exhaustiveness-check': ['error', { considerDefaultExhaustiveForUnions: true }],
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
      '@typescript-eslint/no-explicit-any': 'error',
      // Non-null assertions stand where a lookup was just guaranteed (a Map filled a line above).
      '@typescript-eslint/no-non-null-assertion': 'off',
      '@typescript-eslint/no-unused-vars': ['warn', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_' }],
      '@nx/enforce-module-boundaries': [
        'error',
        {
          enforceBuildableLibDependency: false,
          allow: [],
          depConstraints: [
            { sourceTag: 'type:app', onlyDependOnLibsWithTags: ['type:domain', 'type:data-access', 'type:util', 'type:testing'] },
            { sourceTag: 'type:data-access', onlyDependOnLibsWithTags: ['type:data-access', 'type:domain', 'type:util'] },
            { sourceTag: 'type:domain', onlyDependOnLibsWithTags: ['type:domain', 'type:util'] },
            { sourceTag: 'type:util', onlyDependOnLibsWithTags: ['type:util'] },
            { sourceTag: 'type:testing', onlyDependOnLibsWithTags: ['type:data-access', 'type:domain', 'type:util', 'type:app'] },
            { sourceTag: 'type:e2e', onlyDependOnLibsWithTags: ['type:app', 'type:data-access', 'type:domain', 'type:util', 'type:testing'] },
            // Scopes: shared libs depend on shared libs only; a service's or the client's own libs serve it alone.
            { sourceTag: 'scope:shared', onlyDependOnLibsWithTags: ['scope:shared'] },
            { sourceTag: 'scope:gateway', onlyDependOnLibsWithTags: ['scope:shared', 'scope:gateway'] },
            { sourceTag: 'scope:journal', onlyDependOnLibsWithTags: ['scope:shared', 'scope:journal'] },
            { sourceTag: 'scope:merge', onlyDependOnLibsWithTags: ['scope:shared', 'scope:merge'] },
            { sourceTag: 'scope:asset', onlyDependOnLibsWithTags: ['scope:shared', 'scope:asset'] },
            { sourceTag: 'scope:ops', onlyDependOnLibsWithTags: ['scope:shared', 'scope:ops'] },
            { sourceTag: 'scope:cli', onlyDependOnLibsWithTags: ['scope:shared', 'scope:cli'] },
            { sourceTag: 'scope:client', onlyDependOnLibsWithTags: ['scope:shared', 'scope:client', 'scope:asset'] },
          ],
        },
      ],
    },
  },
  {
    // The deployment checks read each app's config spec (the one source of truth for its variables).
    files: ['tests/**/*.ts'],
    rules: { '@nx/enforce-module-boundaries': ['error', { allow: ['@tidemark/*'], depConstraints: [{ sourceTag: 'type:e2e', onlyDependOnLibsWithTags: ['*'] }] }] },
  },
  {
    // The data-access layer over Postgres speaks SQL only: no NATS, no HTTP (publishing lives in @tidemark/messaging).
    files: ['libs/persistence/src/**/*.ts'],
    ignores: ['**/*.spec.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['@tidemark/messaging', '@nats-io/*', '@nestjs/*', 'fastify', '@tidemark/platform'], message: 'libs/persistence holds repositories over Postgres: no NATS or HTTP here' },
          ],
        },
      ],
    },
  },
  {
    // Tests may use loose JSON from HTTP responses.
    files: ['**/*.spec.ts', '**/e2e/**/*.ts', 'libs/testing/**/*.ts'],
    rules: { '@typescript-eslint/no-explicit-any': 'off', '@typescript-eslint/no-non-null-assertion': 'off' },
  },
  {
    // Integration tests of any lib may use the test harness (real servers, fixtures).
    files: ['libs/*/src/**/*.int.spec.ts', 'libs/*/src/**/*.e2e.spec.ts', 'apps/*/src/**/*.spec.ts', 'libs/persistence/src/testing/*.ts'],
    rules: {
      '@nx/enforce-module-boundaries': ['error', { allow: ['@tidemark/testing'], depConstraints: [{ sourceTag: '*', onlyDependOnLibsWithTags: ['*'] }] }],
    },
  },
  // Formatting is Prettier's (`npm run format`), checked with the lint: no lint rule argues with it.
  prettier,
];
