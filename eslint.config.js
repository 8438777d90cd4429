// ESLint flat config: typescript-eslint's recommended rules (syntax only, no type information, so a whole-tree
// run stays affordable) over every workspace. `npm run lint`.
import js from '@eslint/js';
import reactHooks from 'eslint-plugin-react-hooks';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['**/node_modules/**', '**/dist/**', 'test-artifacts/**', 'data/**', 'firmware/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { ecmaVersion: 2023, sourceType: 'module' },
    rules: {
      // `_` marks a parameter or binding kept on purpose (callback signatures, destructuring to omit a key).
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none', ignoreRestSiblings: true },
      ],
      // Type-only imports stay type-only (isolatedModules; the web bundle must not pull zod in by accident).
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports', disallowTypeAnnotations: false }],
      eqeqeq: ['error', 'always', { null: 'ignore' }],
      'no-console': 'off',
    },
  },
  {
    files: ['dashboard/web/src/**/*.{ts,tsx}'],
    plugins: { 'react-hooks': reactHooks },
    rules: { 'react-hooks/rules-of-hooks': 'error', 'react-hooks/exhaustive-deps': 'error' },
  },
  {
    // Tests read untyped JSON answers and MQTT payloads; declaration files type untyped third-party modules.
    files: ['**/test/**/*.ts', 'test/**/*.ts', '**/*.d.ts'],
    rules: { '@typescript-eslint/no-explicit-any': 'off' },
  },
  {
    // Owned by the alarm-desk branch, which rewrites these routes into the route table: drop after that merge.
    files: ['dashboard/server/src/alarms/routes.ts', 'dashboard/server/src/alarms/store.ts'],
    rules: { '@typescript-eslint/no-explicit-any': 'off', '@typescript-eslint/no-unused-expressions': 'off' },
  },
  {
    // ChirpStack codec scripts: the network server calls decodeUplink/encodeDownlink by name.
    files: ['lorawan/codecs/**/*.js', 'lorawan/test/codecs/**/*.js'],
    languageOptions: { sourceType: 'script' },
    rules: { '@typescript-eslint/no-unused-vars': ['error', { varsIgnorePattern: '^(decodeUplink|encodeDownlink)$', args: 'none' }] },
  },
  {
    // A codec that never returns, on purpose (the connector must time it out).
    files: ['lorawan/test/codecs/loop-forever.js'],
    rules: { 'no-empty': 'off' },
  },
);
