/**
 * Where the client keeps its current token across reloads, if anywhere. The shape of Web
 * Storage (`sessionStorage`, `localStorage`) and of React Native's AsyncStorage, so either can
 * be passed as is; methods may be synchronous or return promises.
 *
 * @example
 * new CountersignClient({ tenantId, baseUrl, keyStore, storage: window.sessionStorage })
 */
export interface TokenStorage {
  getItem(key: string): string | null | undefined | Promise<string | null | undefined>
  setItem(key: string, value: string): void | Promise<void>
  removeItem(key: string): void | Promise<void>
}
