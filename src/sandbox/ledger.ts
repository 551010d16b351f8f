/**
 * The ledger is the sandbox's answer to "what did the outside world actually see?": every side
 * effect a fake downstream accepted, plus every request it received (failed and faulted ones too).
 * Exactly-once checks read it instead of trusting what the client believes happened.
 */
import type { ServiceName } from './faults';

/**
 * Access in every LMS's terms: `active`, `suspended` (kept, no access: Moodle's suspended enrolment,
 * Canvas's inactive one), `revoked` (ended: final in the generic LMS; Moodle's unenrolment, Canvas's
 * deleted or concluded enrollment) or `pending` (Canvas's invited: no access until accepted).
 * `lms_state` keeps each LMS's own word.
 */
export type AccessStatus = 'active' | 'suspended' | 'revoked' | 'pending';

/** The LMS an enrollment went to: the sandbox plays all three, and LMS_PROVIDER picks one. */
export type LmsName = 'generic' | 'moodle' | 'canvas';

/** One change of an enrollment's access: what a "revoked twice" check counts. */
export interface AccessChangeRecord {
  from: AccessStatus;
  to: AccessStatus;
  /** The generic LMS keeps why, the cause and the request's key; Moodle and Canvas keep none of it. */
  reason?: string;
  /** The business event that caused it (a refund or dispute id, as the client sends it). */
  external_ref?: string;
  idempotencyKey?: string;
  /** The LMS's own word for the new state (Moodle `suspended`, Canvas `inactive`...). */
  lms_state?: string;
  at: string;
}

export interface EnrollmentRecord {
  id: string;
  lms: LmsName;
  email: string;
  name: string;
  /** The course as the catalog names it in that LMS (generic course_id, Moodle ID number, Canvas SIS id). */
  course_id: string;
  /** Generic LMS only: the grant's reference. */
  external_ref?: string;
  status: AccessStatus;
  created_at: string;
  /** Generic LMS only: the key of the request that created it; retries must have reused this one. */
  idempotencyKey?: string;
  /** Moodle and Canvas: their user and course ids, and their own word for the state. */
  lms_user_id?: string;
  lms_course_id?: string;
  lms_state?: string;
  /** Moodle: the enrolment method (`manual` when absent: enrollflow's; `self`, `cohort`... set up by a test). */
  lms_method?: string;
  /** Every change of `status`, oldest first. */
  access_changes: AccessChangeRecord[];
}

/** A student account a Moodle or Canvas emulation holds (the generic LMS has none of its own). */
export interface LmsUserRecord {
  lms: Exclude<LmsName, 'generic'>;
  id: string;
  email: string;
  /** Moodle's username, Canvas's login (unique_id). */
  login: string;
  name: string;
  /** Moodle keeps the two names apart. */
  firstname?: string;
  lastname?: string;
  /** Moodle's auth plugin, Canvas's authentication provider. */
  auth?: string;
  sis_user_id?: string;
  suspended?: boolean;
  created_at: string;
}

export interface MessageRecord {
  id: string;
  phoneNumberId: string;
  to: string;
  template: string;
  language: string;
  /** Text parameters of the template's body component, in order. */
  parameters: string[];
  at: string;
}

export interface ContactRecord {
  id: string;
  /** Lower-cased: HubSpot treats emails case-insensitively, so one student is one contact. */
  email: string;
  properties: Record<string, string>;
  /** How many upsert inputs touched this contact (1 = created and never touched again). */
  upserts: number;
  createdAt: string;
  updatedAt: string;
}

/** One row per upsert input, with `call` numbering the HTTP call it arrived in. */
export interface ContactUpsertRecord {
  call: number;
  contactId: string;
  email: string;
  new: boolean;
  properties: Record<string, string>;
  at: string;
}

export interface RequestRecord {
  service: ServiceName;
  method: string;
  path: string;
  status: number;
  idempotencyKey?: string;
  /** The W3C trace context the caller sent (a traced worker does), to check a trace reaches the downstream. */
  traceparent?: string;
  /** Arrival time. */
  at: string;
  ms: number;
  /** The client went away before the answer was written (e.g. its timeout fired during latency). */
  aborted?: true;
  /** The answer was an injected fault, not the service's own. */
  fault?: 'unavailable' | 'rateLimited';
}

export interface LedgerSnapshot {
  enrollments: EnrollmentRecord[];
  lmsUsers: LmsUserRecord[];
  messages: MessageRecord[];
  contacts: ContactRecord[];
  contactUpserts: ContactUpsertRecord[];
  tokensIssued: number;
  requests: RequestRecord[];
}

export class Ledger {
  private enrollments: EnrollmentRecord[] = [];
  private lmsUsers: LmsUserRecord[] = [];
  private messages: MessageRecord[] = [];
  private contacts = new Map<string, ContactRecord>();
  private contactUpserts: ContactUpsertRecord[] = [];
  private upsertCalls = 0;
  private tokensIssued = 0;
  private requests: RequestRecord[] = [];

  /** The student's generic-LMS enrollment in the course that still counts: a revoked one is over, and buying again starts a new one. */
  findEnrollment(email: string, courseId: string): EnrollmentRecord | undefined {
    const key = email.toLowerCase();
    return this.enrollments.find(
      (e) =>
        e.lms === 'generic' &&
        e.email.toLowerCase() === key &&
        e.course_id === courseId &&
        e.status !== 'revoked',
    );
  }

  listEnrollments(filter: (e: EnrollmentRecord) => boolean): EnrollmentRecord[] {
    return structuredClone(this.enrollments.filter(filter));
  }

  recordEnrollment(
    fields: Omit<EnrollmentRecord, 'id' | 'status' | 'access_changes' | 'lms'> &
      Partial<Pick<EnrollmentRecord, 'id' | 'status' | 'lms'>>,
  ): EnrollmentRecord {
    const record: EnrollmentRecord = {
      id: `enr_${this.enrollments.length + 1}`,
      lms: 'generic',
      status: 'active',
      ...fields,
      access_changes: [],
    };
    this.enrollments.push(record);
    return structuredClone(record);
  }

  enrollmentById(id: string): EnrollmentRecord | undefined {
    const found = this.enrollments.find((e) => e.id === id);
    return found && structuredClone(found);
  }

  /** Moves an enrollment's access to `change.to`, recording the change; the caller checked it is allowed. */
  changeAccess(id: string, change: Omit<AccessChangeRecord, 'from'>): EnrollmentRecord | undefined {
    const record = this.enrollments.find((e) => e.id === id);
    if (!record) return undefined;
    record.access_changes.push({ from: record.status, ...change });
    record.status = change.to;
    if (change.lms_state !== undefined) record.lms_state = change.lms_state;
    return structuredClone(record);
  }

  /** An LMS's view of its enrollments (live records: the emulation owning them may read, never keep them). */
  lmsEnrollments(lms: LmsName): readonly Readonly<EnrollmentRecord>[] {
    return this.enrollments.filter((e) => e.lms === lms);
  }

  recordLmsUser(record: LmsUserRecord): LmsUserRecord {
    this.lmsUsers.push(structuredClone(record));
    return structuredClone(record);
  }

  /** An LMS's accounts (live records, as above). */
  lmsUserList(lms: LmsUserRecord['lms']): readonly Readonly<LmsUserRecord>[] {
    return this.lmsUsers.filter((u) => u.lms === lms);
  }

  recordMessage(record: MessageRecord): void {
    this.messages.push(structuredClone(record));
  }

  /** Numbers one batch call; every input of that call is recorded under the same number. */
  nextUpsertCall(): number {
    this.upsertCalls += 1;
    return this.upsertCalls;
  }

  /** Create by email on first sight, otherwise merge properties into the same contact (same id). */
  upsertContact(
    call: number,
    email: string,
    properties: Record<string, string>,
    at: string,
  ): { contact: ContactRecord; created: boolean } {
    const key = email.toLowerCase();
    let contact = this.contacts.get(key);
    const created = contact === undefined;
    if (contact === undefined) {
      // Sequential ids (HubSpot's are numeric strings too) make "same contact" visible at a glance.
      contact = {
        id: String(this.contacts.size + 1),
        email: key,
        properties: {},
        upserts: 0,
        createdAt: at,
        updatedAt: at,
      };
      this.contacts.set(key, contact);
    }
    contact.properties = { ...contact.properties, ...properties, email: key };
    contact.upserts += 1;
    contact.updatedAt = at;
    this.contactUpserts.push({ call, contactId: contact.id, email: key, new: created, properties, at });
    return { contact: structuredClone(contact), created };
  }

  recordTokenIssued(): void {
    this.tokensIssued += 1;
  }

  recordRequest(record: RequestRecord): void {
    this.requests.push(record);
  }

  snapshot(): LedgerSnapshot {
    return structuredClone({
      enrollments: this.enrollments,
      lmsUsers: this.lmsUsers,
      messages: this.messages,
      contacts: [...this.contacts.values()],
      contactUpserts: this.contactUpserts,
      tokensIssued: this.tokensIssued,
      requests: this.requests,
    });
  }

  clear(): void {
    this.enrollments = [];
    this.lmsUsers = [];
    this.messages = [];
    this.contacts.clear();
    this.contactUpserts = [];
    this.upsertCalls = 0;
    this.tokensIssued = 0;
    this.requests = [];
  }
}
