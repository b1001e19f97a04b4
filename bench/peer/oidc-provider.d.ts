// The little of oidc-provider's API the peer uses; the package ships no type declarations.
declare module 'oidc-provider' {
  import type { Server } from 'node:http'

  interface ClientMetadata {
    client_id: string
    client_secret?: string
    grant_types?: string[]
    response_types?: string[]
    redirect_uris?: string[]
    token_endpoint_auth_method?: string
  }

  interface Configuration {
    clients?: ClientMetadata[]
    features?: Record<string, { enabled: boolean }>
    /** Lifetimes in seconds, by artifact (AccessToken, ClientCredentials, …). */
    ttl?: Record<string, number>
  }

  /** A Koa application serving the provider's endpoints. */
  export default class Provider {
    constructor(issuer: string, configuration?: Configuration)
    listen(port: number, host: string, callback?: () => void): Server
  }
}
