/** @type {import('jest').Config} */
const base = {
  testEnvironment: 'node',
  transform: { '^.+\\.ts$': ['@swc/jest'] },
  moduleFileExtensions: ['ts', 'js', 'json'],
  // Integration suites start real servers; each file cleans up after itself.
  testTimeout: 60_000,
};

/** The e2e suite runs once more per LMS adapter beside the generic one, against the sandbox's emulation. */
const e2eOn = (lms) => ({
  ...base,
  displayName: `e2e on ${lms}`,
  roots: ['<rootDir>/test/e2e'],
  setupFiles: [`<rootDir>/test/helpers/e2e-lms-${lms}.ts`],
});

module.exports = {
  maxWorkers: 2,
  projects: [
    { ...base, displayName: 'enrollflow', roots: ['<rootDir>/test'] },
    e2eOn('moodle'),
    e2eOn('canvas'),
  ],
};
