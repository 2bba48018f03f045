// Lint: workflows stay deterministic (no Node built-ins, activities imported as types only),
// and no promise is left floating anywhere.
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', '.tools/**', '.blackstart/**', 'bench/results/**'] },
  {
    files: ['**/*.ts'],
    extends: [tseslint.configs.base],
    languageOptions: { parserOptions: { project: './tsconfig.check.json', tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: false }],
    },
  },
  {
    // The web console: browser code, checked against its own tsconfig (DOM, JSX for Preact).
    files: ['console/**/*.{ts,tsx}'],
    extends: [tseslint.configs.base],
    languageOptions: { parserOptions: { project: './console/tsconfig.json', tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: false }],
    },
  },
  {
    files: [
      'workflows/**/*.ts',
      'common/messages.ts',
      'common/rules/**/*.ts',
      'common/types.ts',
      'common/states.ts',
      'common/failure-domain.ts',
    ],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['node:*', 'fs', 'path', 'crypto', 'http', 'child_process', 'os', 'net'],
              message: 'Workflows must be deterministic: no Node built-ins.',
            },
            {
              group: ['pg', 'express', 'pino', 'pino-pretty', '@temporalio/client', '@temporalio/worker', '@temporalio/activity'],
              message: 'Workflows run in the sandbox: no I/O libraries.',
            },
          ],
        },
      ],
      '@typescript-eslint/consistent-type-imports': ['error', { prefer: 'type-imports' }],
    },
  },
  {
    files: ['workflows/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['node:*', 'fs', 'path', 'crypto', 'http', 'child_process', 'os', 'net'],
              message: 'Workflows must be deterministic: no Node built-ins.',
            },
            { group: ['../activities/*'], allowTypeImports: true, message: 'Workflows import activities with `import type` only.' },
            {
              group: ['../api/*', 'pg', 'express', '@temporalio/client', '@temporalio/worker', '@temporalio/activity'],
              message: 'Workflows run in the sandbox: no I/O.',
            },
          ],
        },
      ],
    },
  },
);
