/**
 * HubSpot OAuth2 access tokens for the whole worker process. One instance is created by
 * createActivities and shared by every activity execution, so:
 * - a valid token is reused until HUBSPOT_TOKEN_REFRESH_MARGIN_SECONDS before it expires;
 * - concurrent activities needing a token share one refresh request (single-flight);
 * - a rotated refresh_token returned by HubSpot replaces the configured one (in memory only: after a
 *   restart the configured token is used again, which HubSpot keeps valid unless the app is uninstalled).
 *
 * Failures are thrown as DownstreamFailure without an attempt number; each waiting activity reports
 * it with its own attempt.
 */
import type { WorkerConfig } from '../config';
import { DownstreamFailure } from './errors';
import {
  failureForStatus,
  pick,
  pickString,
  type ClassifyDeps,
  type HttpDeps,
  idempotentRequest,
} from './http';
import type { PaymentRef } from './types';

export type HubSpotTokenConfig = Pick<
  WorkerConfig,
  | 'HUBSPOT_BASE_URL'
  | 'HUBSPOT_CLIENT_ID'
  | 'HUBSPOT_CLIENT_SECRET'
  | 'HUBSPOT_REFRESH_TOKEN'
  | 'HUBSPOT_TOKEN_REFRESH_MARGIN_SECONDS'
>;

interface CachedToken {
  accessToken: string;
  /** Epoch ms after which we stop using it (expiry minus the refresh margin). */
  refreshAt: number;
}

const hubspotErrorCode = (body: unknown) => pickString(body, 'category') ?? pickString(body, 'status');

export class HubSpotTokenCache {
  private cached?: CachedToken;
  private inflight?: Promise<CachedToken>;
  private refreshToken: string;
  private refreshes = 0;

  constructor(
    private readonly config: HubSpotTokenConfig,
    private readonly deps: HttpDeps & ClassifyDeps,
  ) {
    this.refreshToken = config.HUBSPOT_REFRESH_TOKEN;
  }

  /** How many token requests this cache has made (for metrics and tests). */
  get refreshCount(): number {
    return this.refreshes;
  }

  /** A token valid for at least the refresh margin, refreshing (once for all callers) when needed. */
  async getAccessToken(payment?: PaymentRef): Promise<string> {
    if (this.cached && this.deps.now() < this.cached.refreshAt) return this.cached.accessToken;
    if (!this.inflight) {
      const refresh = this.refresh(payment);
      this.inflight = refresh;
      const clear = () => {
        if (this.inflight === refresh) this.inflight = undefined;
      };
      // Handled both ways so this bookkeeping promise never becomes an unhandled rejection;
      // callers observe the failure through `refresh` itself.
      refresh.then(clear, clear);
    }
    return (await this.inflight).accessToken;
  }

  /**
   * Forget `rejectedToken` after HubSpot refused it. Only that token: when several activities get a
   * 401 for the same token, the first invalidates it and the rest share the resulting refresh.
   */
  invalidate(rejectedToken: string): void {
    if (this.cached?.accessToken === rejectedToken) this.cached = undefined;
  }

  private async refresh(payment?: PaymentRef): Promise<CachedToken> {
    this.refreshes += 1;
    // expires_in counts from when HubSpot issued the token: measure from before we asked.
    const requestedAt = this.deps.now();
    const res = await idempotentRequest(
      this.deps,
      {
        downstream: 'hubspot',
        operation: 'oauth_token',
        method: 'POST',
        url: `${this.config.HUBSPOT_BASE_URL}/oauth/v1/token`,
        form: {
          grant_type: 'refresh_token',
          client_id: this.config.HUBSPOT_CLIENT_ID,
          client_secret: this.config.HUBSPOT_CLIENT_SECRET,
          refresh_token: this.refreshToken,
        },
        payment,
        errorCode: hubspotErrorCode,
      },
      'HubSpot token endpoint',
    );

    const code = hubspotErrorCode(res.body);
    if (res.status < 200 || res.status >= 300) {
      // 400 BAD_REFRESH_TOKEN / BAD_CLIENT_ID ... and 401/403: credentials will not fix themselves.
      if (res.status >= 400 && res.status < 500 && res.status !== 408 && res.status !== 429) {
        throw new DownstreamFailure(
          'HubSpotAuthFailed',
          `HubSpot refused the refresh token (HTTP ${res.status}${code ? `, ${code}` : ''})`,
          { status: res.status, code },
        );
      }
      throw failureForStatus(res, 'HubSpot token endpoint', 'HubSpotAuthFailed', this.deps, code);
    }

    const accessToken = pickString(res.body, 'access_token');
    const expiresIn = pick(res.body, 'expires_in');
    if (!accessToken || typeof expiresIn !== 'number' || !(expiresIn > 0)) {
      throw new DownstreamFailure(
        'DownstreamBadResponse',
        'HubSpot token endpoint answered without a usable token',
        {
          status: res.status,
        },
      );
    }
    const rotated = pickString(res.body, 'refresh_token');
    if (rotated) this.refreshToken = rotated;

    // A margin at least as long as the lifetime would refresh on every call; cap it at half the lifetime.
    const marginMs = Math.min(
      this.config.HUBSPOT_TOKEN_REFRESH_MARGIN_SECONDS * 1000,
      (expiresIn * 1000) / 2,
    );
    const token = { accessToken, refreshAt: requestedAt + expiresIn * 1000 - marginMs };
    this.cached = token;
    return token;
  }
}
