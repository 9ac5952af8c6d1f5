/** Exit codes of `kubectl herald`: 0 ok, 1 failure, 64 usage (as sysexits' EX_USAGE). */
export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 64;

/**
 * A failure the operator can act on: the message says what went wrong, `hint` what to do.
 * Thrown anywhere below `main`, printed once there.
 */
export class CliError extends Error {
  constructor(
    message: string,
    readonly hint?: string,
    readonly exitCode: number = EXIT_FAILURE,
  ) {
    super(message);
    this.name = 'CliError';
  }
}

/** Bad arguments: the command line itself must change (exit 64). */
export class UsageError extends CliError {
  constructor(message: string, hint?: string) {
    super(message, hint, EXIT_USAGE);
    this.name = 'UsageError';
  }
}
