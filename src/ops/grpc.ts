/** Small helpers to turn gRPC and SDK errors into one readable line. */

/** gRPC status codes (part of the wire protocol, so stable); @grpc/grpc-js is not our direct dependency. */
const GrpcStatus = { INVALID_ARGUMENT: 3, DEADLINE_EXCEEDED: 4, NOT_FOUND: 5 } as const;

interface ErrorShape {
  code?: unknown;
  details?: unknown;
  message?: unknown;
  cause?: unknown;
}

const shape = (err: unknown): ErrorShape => (typeof err === 'object' && err !== null ? err : {});

export function isGrpcNotFound(err: unknown): boolean {
  return shape(err).code === GrpcStatus.NOT_FOUND || shape(shape(err).cause).code === GrpcStatus.NOT_FOUND;
}

export function isGrpcInvalidArgument(err: unknown): boolean {
  const e = shape(err);
  return e.code === GrpcStatus.INVALID_ARGUMENT || shape(e.cause).code === GrpcStatus.INVALID_ARGUMENT;
}

export function isDeadlineExceeded(err: unknown): boolean {
  const e = shape(err);
  return e.code === GrpcStatus.DEADLINE_EXCEEDED || shape(e.cause).code === GrpcStatus.DEADLINE_EXCEEDED;
}

/** gRPC errors read "3 INVALID_ARGUMENT: <details>"; the details are what a person needs. */
export function grpcMessage(err: unknown): string {
  const e = shape(err);
  if (typeof e.details === 'string' && e.details) return e.details;
  const cause = shape(e.cause);
  if (typeof cause.details === 'string' && cause.details) return cause.details;
  if (typeof e.message === 'string' && e.message) return e.message.replace(/^\d+ [A-Z_]+: /, '');
  return String(err);
}
