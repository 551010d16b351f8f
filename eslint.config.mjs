// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import { builtinModules } from 'node:module';

const nodeBuiltins = [...builtinModules, ...builtinModules.map((m) => `node:${m}`)];

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', '.tools/**', '.data/**', 'coverage/**', '*.config.*'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: { arguments: false } }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    // Production code never depends on dev tooling (the dev server launcher, the reliability harness,
    // the bench) or on tests: none of it ships in the image.
    files: ['src/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['**/scripts/*', '**/test/*', '**/bench/*'],
              message: 'dev tooling and tests stay out of src/',
            },
          ],
        },
      ],
    },
  },
  {
    // src/domain is the workflow-safe room: pure rules and shapes that the workflow bundle, the receiver,
    // the activities and the ops CLI share. No Node built-ins, no I/O, nothing from the Node-side rooms.
    files: ['src/domain/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          paths: nodeBuiltins,
          patterns: [
            {
              regex: '^\\.\\./',
              allowTypeImports: true,
              message: 'src/domain imports only src/domain (types excepted)',
            },
            {
              regex: '^(?!\\.{1,2}/|zod$)',
              message: 'src/domain may use zod and nothing else from node_modules',
            },
          ],
        },
      ],
    },
  },
  {
    // Workflow code runs in Temporal's deterministic sandbox: Node built-ins (and anything doing I/O)
    // would break replay, so they are forbidden at lint time rather than discovered at run time. At run
    // time it may import the workflow-safe room (src/domain) and the SDK; other rooms only as types
    // (the activities' signatures, for proxyActivities).
    files: ['src/workflows/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          paths: nodeBuiltins,
          patterns: [
            {
              regex: '^\\.\\./(?!domain(/|$))',
              allowTypeImports: true,
              message: 'workflow code imports only src/domain and src/workflows at run time (types excepted)',
            },
            {
              // Temporal's OpenTelemetry workflow interceptors too, which src/workflows/tracing.ts loads
              // (with a require) only for a traced workflow.
              regex:
                '^(?!\\.{1,2}/|@temporalio/(workflow|common)$|@temporalio/interceptors-opentelemetry/lib/workflow$)',
              message: 'workflow code may use the Temporal SDK and nothing else from node_modules',
            },
          ],
        },
      ],
    },
  },
  {
    // Tests poke at fixtures and JSON responses loosely on purpose (e.g. mutating a payload to make
    // it hostile); production code keeps the strict rules.
    files: ['test/**/*.ts'],
    rules: {
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-non-null-assertion': 'off',
      '@typescript-eslint/require-await': 'off',
    },
  },
);
