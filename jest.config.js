/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: {
    '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.json' }],
    // Some dependencies ship only as ES modules: jose (required by jwks-rsa, the destination SDK's
    // JWKS client) and @scure/base and @noble/hashes (required by otplib, two-step sign-in). Node
    // loads them with require(esm), jest 29 cannot, so these alone are compiled to CommonJS.
    '^.+/node_modules/(jose|@scure/base|@noble/hashes)/.+\\.js$': ['ts-jest', { tsconfig: { allowJs: true, module: 'commonjs', target: 'ES2022' }, isolatedModules: true }],
  },
  // Ignored: every file under node_modules but those packages' (wherever they are nested).
  transformIgnorePatterns: ['^(?!.*/node_modules/(jose|@scure/base|@noble/hashes)/).*/node_modules/'],
  // Suites that talk to Redis/PostgreSQL share one server each; keep workers modest on 2 cores.
  globalSetup: '<rootDir>/test/support/global-setup.ts',
  maxWorkers: 2,
  testTimeout: 20000,
};
