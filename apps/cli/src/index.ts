// Public face of @tidemark/cli: the program (for embedding and tests), its exit codes and the request mapping.
export { run, buildProgram, DEFAULT_URL, DEFAULT_TIMEOUT_MS, type CliIo } from './cli';
export { EXIT, EXIT_CODES_HELP, failureOf, type ExitCode } from './exit-codes';
export { OpsClient, ApiError, UnreachableError } from './client';
export * as requests from './requests';
