/**
 * Jest 30 + ts-jest in native ESM mode (openid-client 6 and jose 6 are ESM-only).
 * Run through `npm test`, which sets NODE_OPTIONS=--experimental-vm-modules.
 *
 * Three projects: every suite on Express 5 and node-redis 6; the HTTP-facing
 * suites again on Express 4 (the `express4` alias of express@4.22); the Redis
 * suites again on node-redis 5 (the `redis5` alias of redis@5.12).
 * @type {import('jest').Config}
 */
const base = {
  testEnvironment: 'node',
  roots: ['<rootDir>/__tests__'],
  extensionsToTreatAsEsm: ['.ts'],
  transform: {
    '^.+\\.ts$': ['ts-jest', { useESM: true, tsconfig: 'tsconfig.json' }],
  },
};
const stripJs = { '^(\\.{1,2}/.*)\\.js$': '$1' };

export default {
  testTimeout: 60000,
  // Tests share one real Redis and start servers on loopback: two workers fit the 2-core machines.
  maxWorkers: 2,
  projects: [
    { ...base, displayName: 'express5', testMatch: ['**/*.test.ts'], moduleNameMapper: stripJs },
    {
      ...base,
      displayName: 'express4',
      testMatch: ['**/http/**/*.test.ts', '**/e2e/**/*.test.ts'],
      // The example runs in a child process on the real Express 5; once is enough.
      testPathIgnorePatterns: ['/node_modules/', '/e2e/example(-multi)?\\.test\\.ts$'],
      moduleNameMapper: { ...stripJs, '^express$': '<rootDir>/node_modules/express4' },
    },
    {
      ...base,
      displayName: 'redis5',
      // The Redis suites again on node-redis 5 (the `redis5` alias of redis@5.12), since both are supported.
      testMatch: ['**/stores/redis*.test.ts', '**/e2e/redis-outage.test.ts', '**/e2e/multi-instance.test.ts'],
      moduleNameMapper: { ...stripJs, '^redis$': '<rootDir>/node_modules/redis5' },
    },
  ],
};
