/**
 * The failure converter every client, worker and workflow bundle of ours uses: a failure's message and
 * stack trace travel as an encoded payload (so the payload codec seals them) instead of clear text in
 * the history. An error message can quote what a downstream said about a student.
 * Loaded by path (`failureConverterPath`) so the workflow sandbox uses the same one.
 */
import { DefaultFailureConverter } from '@temporalio/common';

export const failureConverter = new DefaultFailureConverter({ encodeCommonAttributes: true });
