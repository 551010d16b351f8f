/**
 * Checks the student data a payment carried before anything downstream is called. Pure and
 * deterministic, so it runs inside the workflow.
 */
import type { PaymentEvent } from '../domain/payment-event';
import { isValidEmail, normalisePhone } from '../domain/contact-rules';
import type { StudentDataPatch } from './messages';

export interface StudentData {
  email?: string;
  name?: string;
  phone?: string;
  courseId?: string;
}

export function studentDataOf(payment: PaymentEvent): StudentData {
  return { ...payment.student, courseId: payment.courseId };
}

/** Later data fills gaps and replaces what is unusable; it never overwrites good data. */
export function mergeStudentData(current: StudentData, incoming: StudentData): StudentData {
  const merged = { ...current };
  if (incoming.email && !isValidEmail(current.email)) merged.email = incoming.email;
  if (incoming.name && !current.name) merged.name = incoming.name;
  if (incoming.phone && !normalisePhone(current.phone)) merged.phone = incoming.phone;
  if (incoming.courseId && !current.courseId) merged.courseId = incoming.courseId;
  return merged;
}

/** An operator's correction wins over what the provider sent. */
export function applyPatch(current: StudentData, patch: StudentDataPatch | undefined): StudentData {
  if (!patch) return current;
  const defined = Object.fromEntries(
    Object.entries(patch).filter(([, v]) => typeof v === 'string' && v !== ''),
  );
  return { ...current, ...defined };
}

/** What stops enrollment of a payment started before the catalog (its course came from the webhook). */
export function enrollmentProblems(data: StudentData): string[] {
  return [...(data.courseId ? [] : ['no course id']), ...contactProblems(data)];
}

/** What stops enrollment once the provider confirmed what was bought: the student's login email. */
export function contactProblems(data: StudentData): string[] {
  if (!data.email) return ['no student email'];
  if (!isValidEmail(data.email)) return ['student email is not valid'];
  return [];
}

export function displayName(data: StudentData): string {
  return data.name?.trim() || data.email?.split('@')[0] || 'Student';
}
