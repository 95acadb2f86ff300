/**
 * The lint rule that keeps src/core/ free of I/O libraries (STYLE.md: "enforce with a lint
 * rule, not memory"), exercised through ESLint's own API with the project's configuration.
 */
import { ESLint } from 'eslint';
import path from 'node:path';

// jest cannot run ESLint's dynamic import of the config file, so the same file is required here.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const projectConfig = require('../../eslint.config.js') as ESLint.Options['baseConfig'];
const eslint = new ESLint({ cwd: path.resolve(__dirname, '../..'), overrideConfigFile: true, baseConfig: projectConfig ?? null });

async function messagesFor(code: string, file: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath: path.resolve(__dirname, '../..', file) });
  return result!.messages.map((m) => m.ruleId ?? m.message);
}

describe('src/core import rule', () => {
  it.each(['koa', '@koa/router', 'koa-session', 'ioredis', 'better-sqlite3', 'pg', 'nodemailer', 'fs', 'node:fs', 'node:fs/promises', 'node:http'])(
    'refuses %s in src/core/',
    async (moduleName) => {
      const messages = await messagesFor(`import x from '${moduleName}';\nexport const y = x;\n`, 'src/core/example.ts');
      expect(messages).toContain('@typescript-eslint/no-restricted-imports');
    },
  );

  it('allows node:crypto in src/core/ and I/O libraries outside it', async () => {
    expect(await messagesFor(`import { randomBytes } from 'node:crypto';\nexport const y = randomBytes(1);\n`, 'src/core/example.ts')).toEqual([]);
    expect(await messagesFor(`import Koa from 'koa';\nexport const y = new Koa();\n`, 'src/hub/example.ts')).toEqual([]);
  });
});
