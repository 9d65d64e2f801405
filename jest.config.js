// @nestjs/* 12 is ESM-only: @swc/jest compiles the sources and @nestjs/* to CommonJS.
/** @type {import('jest').Config} */
module.exports = {
  rootDir: '.',
  testEnvironment: 'node',
  testMatch: ['<rootDir>/src/**/*.spec.ts', '<rootDir>/test/**/*.spec.ts'],
  transform: {
    '^.+\\.(t|j)sx?$': [
      '@swc/jest',
      {
        jsc: {
          parser: { syntax: 'typescript', decorators: true },
          transform: { legacyDecorator: true, decoratorMetadata: true },
          keepClassNames: true,
          target: 'es2022',
        },
        module: { type: 'commonjs' },
      },
    ],
    // PGlite's CommonJS build loads Node's built-ins with import(): compiled to require(), it runs without
    // --experimental-vm-modules, under which jest keeps every test file's module registry alive to the end.
    '/node_modules/@electric-sql/pglite/dist/.+\\.cjs$': ['@swc/jest', { jsc: { parser: { syntax: 'ecmascript' }, target: 'es2022' }, module: { type: 'commonjs' } }],
  },
  transformIgnorePatterns: ['/node_modules/(?!@nestjs/|@electric-sql/pglite/)'],
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  globalSetup: '<rootDir>/test/support/global-setup.ts',
  globalTeardown: '<rootDir>/test/support/global-teardown.ts',
  setupFiles: ['<rootDir>/test/support/worker-env.ts'],
  // Every HTTP response a test receives is validated against the app's /openapi.json (test/support/openapi-response-validator.ts).
  setupFilesAfterEnv: ['<rootDir>/test/support/response-validation.setup.ts'],
  // Each worker has its own database (see test/support/global-setup.ts); keep in step with TEST_WORKERS there.
  maxWorkers: 2,
  // A worker keeps what test files leave on its heap (Nest apps' modules, drivers); past this after a file it is
  // replaced, so neither runs into --max-old-space-size nor ends the run in a long collection.
  workerIdleMemoryLimit: '400MB',
  testTimeout: 30000,
};
