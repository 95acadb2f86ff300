// @ts-check
const js = require('@eslint/js');
const tseslint = require('typescript-eslint');

// src/core/ holds the domain rules and must stay free of I/O libraries (STYLE.md, DESIGN.md
// "Code layout"): adapters implement src/ports.ts and are wired only in main.ts and the CLI.
const coreForbidden = ['koa', '@koa/*', 'koa-*', 'ioredis', 'better-sqlite3', 'pg', 'nodemailer', 'fs', 'node:fs', 'fs/promises', 'node:fs/promises', 'http', 'node:http', 'https', 'node:https', 'net', 'node:net'];

module.exports = tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'coverage/**', 'data/**', 'keys/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { require: 'readonly', module: 'writable', process: 'readonly', console: 'readonly', __dirname: 'readonly' } },
    rules: {
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
      'no-restricted-properties': ['error', { object: 'Math', property: 'random', message: 'Use crypto.randomBytes for anything secret or unique.' }],
    },
  },
  {
    files: ['src/core/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': ['error', {
        patterns: [{ group: coreForbidden, message: 'src/core/ must not do I/O: define a port in src/ports.ts and implement it in an adapter.' }],
      }],
    },
  },
  {
    files: ['**/*.js'],
    languageOptions: {
      globals: { Buffer: 'readonly', URL: 'readonly', URLSearchParams: 'readonly', setImmediate: 'readonly', setTimeout: 'readonly', clearTimeout: 'readonly', setInterval: 'readonly', clearInterval: 'readonly', __filename: 'readonly', fetch: 'readonly', AbortController: 'readonly' },
    },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
);
