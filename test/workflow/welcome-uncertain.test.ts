/**
 * Which failed welcomes may have reached Meta: those the activity did not describe itself. Their
 * review is outcome-unknown, so no batch retry or step wildcard can send a second message.
 */
import {
  ActivityFailure,
  ApplicationFailure,
  RetryState,
  TimeoutFailure,
  TimeoutType,
} from '@temporalio/common';
import { mayHaveSent } from '../../src/workflows/step-runner';

const failed = (cause: Error) =>
  new ActivityFailure('activity failed', 'sendWelcomeMessage', '3', RetryState.TIMEOUT, 'worker', cause);

describe('mayHaveSent', () => {
  it('says a welcome that timed out, or failed without the activity saying why, may have been sent', () => {
    const timedOut = new TimeoutFailure('activity timed out', undefined, TimeoutType.START_TO_CLOSE);
    expect(mayHaveSent('welcome', failed(timedOut))).toBe(true);
    const scheduleToClose = new TimeoutFailure('budget spent', undefined, TimeoutType.SCHEDULE_TO_CLOSE);
    expect(mayHaveSent('welcome', failed(scheduleToClose))).toBe(true);
  });

  it('trusts the activity when it described the failure, and other steps never send a message', () => {
    const refused = ApplicationFailure.nonRetryable('WhatsApp error 190', 'WhatsAppRejected');
    expect(mayHaveSent('welcome', failed(refused))).toBe(false);
    const timedOut = new TimeoutFailure('activity timed out', undefined, TimeoutType.START_TO_CLOSE);
    expect(mayHaveSent('enroll', failed(timedOut))).toBe(false);
    expect(mayHaveSent('crm', failed(timedOut))).toBe(false);
  });
});
