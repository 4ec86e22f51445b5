/**
 * Jest 30 + ts-jest in native ESM mode (openid-client 6 and jose 6 are ESM-only).
 * Run through `npm test`, which sets NODE_OPTIONS=--experimental-vm-modules.
 * @type {import('jest').Config}
 */
export default {
  testEnvironment: 'node',
  roots: ['<rootDir>/__tests__'],
  testMatch: ['**/*.test.ts'],
  extensionsToTreatAsEsm: ['.ts'],
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  transform: {
    '^.+\\.ts$': ['ts-jest', { useESM: true, tsconfig: 'tsconfig.json', diagnostics: { warnOnly: false } }],
  },
  testTimeout: 30000,
  // Tests share one real Redis and start servers on loopback: two workers fit the 2-core machines.
  maxWorkers: 2,
};
