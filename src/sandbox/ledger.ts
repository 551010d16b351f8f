/**
 * The ledger is the sandbox's answer to "what did the outside world actually see?": every side
 * effect a fake downstream accepted, plus every request it received (failed and faulted ones too).
 * Exactly-once checks read it instead of trusting what the client believes happened.
 */
import type { ServiceName } from './faults';

/** `revoked` is final; `suspended` can be restored to `active`. */
export type AccessStatus = 'active' | 'suspended' | 'revoked';

/** One change of an enrollment's access: what a "revoked twice" check counts. */
export interface AccessChangeRecord {
  from: AccessStatus;
  to: AccessStatus;
  reason: string;
  /** The business event that caused it (a refund or dispute id, as the client sends it). */
  external_ref: string;
  idempotencyKey: string;
  at: string;
}

export interface EnrollmentRecord {
  id: string;
  email: string;
  name: string;
  course_id: string;
  external_ref: string;
  status: AccessStatus;
  created_at: string;
  /** The key of the request that created it: retries must have reused this one. */
  idempotencyKey: string;
  /** Every change of `status`, oldest first. */
  access_changes: AccessChangeRecord[];
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
  /** Arrival time. */
  at: string;
  ms: number;
  /** The client went away before the answer was written (e.g. its timeout fired during latency). */
  aborted?: true;
}

export interface LedgerSnapshot {
  enrollments: EnrollmentRecord[];
  messages: MessageRecord[];
  contacts: ContactRecord[];
  contactUpserts: ContactUpsertRecord[];
  tokensIssued: number;
  requests: RequestRecord[];
}

export class Ledger {
  private enrollments: EnrollmentRecord[] = [];
  private messages: MessageRecord[] = [];
  private contacts = new Map<string, ContactRecord>();
  private contactUpserts: ContactUpsertRecord[] = [];
  private upsertCalls = 0;
  private tokensIssued = 0;
  private requests: RequestRecord[] = [];

  /** The student's enrollment in the course that still counts: a revoked one is over, and buying again starts a new one. */
  findEnrollment(email: string, courseId: string): EnrollmentRecord | undefined {
    const key = email.toLowerCase();
    return this.enrollments.find(
      (e) => e.email.toLowerCase() === key && e.course_id === courseId && e.status !== 'revoked',
    );
  }

  listEnrollments(filter: (e: EnrollmentRecord) => boolean): EnrollmentRecord[] {
    return structuredClone(this.enrollments.filter(filter));
  }

  recordEnrollment(fields: Omit<EnrollmentRecord, 'id' | 'status' | 'access_changes'>): EnrollmentRecord {
    const record: EnrollmentRecord = {
      id: `enr_${this.enrollments.length + 1}`,
      ...fields,
      status: 'active',
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
    return structuredClone(record);
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
      messages: this.messages,
      contacts: [...this.contacts.values()],
      contactUpserts: this.contactUpserts,
      tokensIssued: this.tokensIssued,
      requests: this.requests,
    });
  }

  clear(): void {
    this.enrollments = [];
    this.messages = [];
    this.contacts.clear();
    this.contactUpserts = [];
    this.upsertCalls = 0;
    this.tokensIssued = 0;
    this.requests = [];
  }
}
