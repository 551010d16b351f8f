/**
 * Checks the student data a payment carried before anything downstream is called. Pure and
 * deterministic, so it runs inside the workflow.
 */
import type { PaymentEvent } from '../shared/payment-event';
import type { StudentDataPatch } from './messages';

export interface StudentData {
  email?: string;
  name?: string;
  phone?: string;
  courseId?: string;
}

// Deliberately simple: the LMS and CRM do their own validation; this catches what is clearly unusable.
const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
const E164 = /^\+[1-9]\d{7,14}$/;

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

export const isValidEmail = (email: string | undefined): email is string => !!email && EMAIL.test(email);

/** Strips spaces, dashes and brackets; returns the E.164 number or undefined. */
export function normalisePhone(phone: string | undefined): string | undefined {
  if (!phone) return undefined;
  const compact = phone.replace(/[\s\-().]/g, '');
  return E164.test(compact) ? compact : undefined;
}

/** What stops enrollment; empty when the student can be enrolled. */
export function enrollmentProblems(data: StudentData): string[] {
  const problems: string[] = [];
  if (!data.courseId) problems.push('no course id');
  if (!data.email) problems.push('no student email');
  else if (!isValidEmail(data.email)) problems.push('student email is not valid');
  return problems;
}

export function displayName(data: StudentData): string {
  return data.name?.trim() || data.email?.split('@')[0] || 'Student';
}
