// The peer: oidc-provider, an established OAuth 2.0 / OpenID Connect authorization server for
// Node, serving the client-credentials grant on loopback with its in-memory adapter, as a
// reference for what such a server does per request. bench/lib/peer.ts starts it in its own
// process and drives POST /token at the concurrency Countersign was measured at.
//
//   PORT=4100 PEER_CLIENT_ID=bench PEER_CLIENT_SECRET=… node --import tsx bench/peer/oidc-token-server.ts
import Provider from 'oidc-provider'

const port = Number(process.env.PORT)
const clientId = process.env.PEER_CLIENT_ID
const clientSecret = process.env.PEER_CLIENT_SECRET
if (!Number.isInteger(port) || port <= 0 || !clientId || !clientSecret) {
  process.stderr.write('set PORT, PEER_CLIENT_ID and PEER_CLIENT_SECRET\n')
  process.exit(2)
}

const provider = new Provider(`http://127.0.0.1:${port}`, {
  clients: [
    {
      client_id: clientId,
      client_secret: clientSecret,
      grant_types: ['client_credentials'],
      response_types: [],
      redirect_uris: [],
      token_endpoint_auth_method: 'client_secret_basic',
    },
  ],
  features: { clientCredentials: { enabled: true }, devInteractions: { enabled: false } },
  // Countersign's tokens live 10 minutes by default; so do these.
  ttl: { ClientCredentials: 600 },
})
const server = provider.listen(port, '127.0.0.1', () => process.stderr.write(`oidc-provider listening on 127.0.0.1:${port}\n`))
process.once('SIGTERM', () => server.close(() => process.exit(0)))
