/**
 * The search attributes our workflows are started with must exist in the namespace: a start naming an
 * unknown one is refused, so a receiver would answer every webhook 503. A namespace created before an
 * attribute was added (an upgrade, a dev server's kept database) lacks it, so the worker registers
 * what is missing at start, and says how when it may not (Temporal Cloud registers them through its
 * own API or UI, not the operator service).
 */
import { temporal } from '@temporalio/proto';
import type { NativeConnection } from '@temporalio/worker';
import type { Logger } from '../runtime/logger';
import { searchAttributeRegistrations } from '../workflows/messages';

export class SearchAttributesMissingError extends Error {
  override name = 'SearchAttributesMissingError';
}

type Operator = Pick<NativeConnection, 'operatorService'>;

export async function ensureSearchAttributes(
  connection: Operator,
  namespace: string,
  logger: Pick<Logger, 'info'>,
): Promise<string[]> {
  const { customAttributes } = await connection.operatorService.listSearchAttributes({ namespace });
  const missing = Object.keys(searchAttributeRegistrations).filter(
    (name) => !(name in (customAttributes ?? {})),
  );
  if (missing.length === 0) return [];
  try {
    await connection.operatorService.addSearchAttributes({
      namespace,
      searchAttributes: Object.fromEntries(
        missing.map((name) => [name, temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD]),
      ),
    });
  } catch (err) {
    // Another worker registering the same ones at the same moment is not a failure.
    if (!/already exists/i.test((err as Error).message)) {
      throw new SearchAttributesMissingError(
        `Namespace "${namespace}" lacks the search attributes ${missing.join(', ')} and they could not be added ` +
          `(${(err as Error).message}). Add them, then start the worker again:\n` +
          missing
            .map(
              (name) =>
                `  temporal operator search-attribute create --namespace ${namespace} --name ${name} --type Keyword`,
            )
            .join('\n') +
          "\n(on Temporal Cloud: the namespace's search attributes in the Cloud UI, or tcld).",
      );
    }
  }
  logger.info({ namespace, added: missing }, 'search attributes registered');
  return missing;
}
