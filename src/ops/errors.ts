/**
 * The ops CLI's two kinds of expected failure. Both are printed as one line, without a stack trace:
 * they describe the operator's input or the state of a payment, not a bug in the tool.
 */

/** Exit codes, documented in docs/operations.md. */
export const EXIT_OK = 0;
/** The command ran but could not do what was asked (unknown payment, not in review, a signal failed). */
export const EXIT_FAILURE = 1;
/** The command line itself is wrong (unknown flag, invalid action, unparseable payment id). */
export const EXIT_USAGE = 2;

/** A refusal or failure the operator must read: unknown workflow, wrong state, Temporal unreachable. */
export class OpsError extends Error {
  override name = 'OpsError';
  constructor(
    message: string,
    readonly exitCode: number = EXIT_FAILURE,
  ) {
    super(message);
  }
}

/** Bad arguments, found before anything is sent to Temporal. */
export class UsageError extends OpsError {
  override name = 'UsageError';
  constructor(message: string) {
    super(message, EXIT_USAGE);
  }
}
