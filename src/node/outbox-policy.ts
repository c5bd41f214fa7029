/** Moved to src/routing/delivery-policy.ts (issue 5); kept as a re-export for existing importers. */
export { DEFAULT_TTL_MS, MAX_TTL_MS, RETRY_BASE_MS, RETRY_MAX_MS, retryDelay } from '../routing/delivery-policy.ts';
