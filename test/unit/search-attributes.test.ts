import { temporal } from '@temporalio/proto';
import { SearchAttributesMissingError, ensureSearchAttributes } from '../../src/temporal/search-attributes';
import { searchAttributeRegistrations } from '../../src/workflows/messages';

/** The operator service as a namespace created before PaymentSource existed answers it. */
function namespaceWith(names: string[], addFails?: string) {
  const added: Array<Record<string, unknown>> = [];
  const connection = {
    operatorService: {
      listSearchAttributes: async () => ({
        customAttributes: Object.fromEntries(names.map((n) => [n, 2])),
      }),
      addSearchAttributes: async (req: { searchAttributes: Record<string, unknown> }) => {
        if (addFails) throw new Error(addFails);
        added.push(req.searchAttributes);
        return {};
      },
    },
  } as unknown as Parameters<typeof ensureSearchAttributes>[0];
  return { connection, added };
}

const logger = { info: () => undefined };
const KEYWORD = temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD;

describe('ensureSearchAttributes', () => {
  it('adds only the attributes the namespace lacks, as keywords', async () => {
    const { connection, added } = namespaceWith(['PaymentId', 'PaymentProvider', 'EnrollmentState']);
    await expect(ensureSearchAttributes(connection, 'default', logger)).resolves.toEqual(['PaymentSource']);
    expect(added).toEqual([{ PaymentSource: KEYWORD }]);
  });

  it('changes nothing when every attribute is there', async () => {
    const { connection, added } = namespaceWith(Object.keys(searchAttributeRegistrations));
    await expect(ensureSearchAttributes(connection, 'default', logger)).resolves.toEqual([]);
    expect(added).toEqual([]);
  });

  it('takes another worker registering them at the same moment as done', async () => {
    const { connection } = namespaceWith([], 'search attribute PaymentId already exists');
    await expect(ensureSearchAttributes(connection, 'default', logger)).resolves.toHaveLength(4);
  });

  it('says which commands add them when it may not', async () => {
    const { connection } = namespaceWith(['PaymentId'], 'PermissionDenied: not allowed');
    const failure = ensureSearchAttributes(connection, 'payments', logger);
    await expect(failure).rejects.toBeInstanceOf(SearchAttributesMissingError);
    await expect(failure).rejects.toThrow(
      'temporal operator search-attribute create --namespace payments --name PaymentSource --type Keyword',
    );
  });
});
