// Runs before each test file of the `e2e on canvas` jest project (jest.config.js).
process.env.E2E_LMS_PROVIDER = 'canvas';
