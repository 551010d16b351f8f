/** PII masking for logs and operator views. Pure: also used by workflow code (no Node built-ins). */

/** `asha.verma@example.com` -> `a***@example.com`: enough to correlate, not enough to identify. */
export function maskEmail(email: string | undefined): string | undefined {
  if (!email) return email;
  const at = email.lastIndexOf('@');
  if (at < 1) return '***';
  return `${email[0]}***${email.slice(at)}`;
}

/** `+919876543210` -> `+91******3210`. */
export function maskPhone(phone: string | undefined): string | undefined {
  if (!phone) return phone;
  if (phone.length <= 6) return '***';
  return `${phone.slice(0, 3)}${'*'.repeat(phone.length - 7)}${phone.slice(-4)}`;
}
