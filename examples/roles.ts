// The three roles the push and QR examples play in one process: the tenant's backend (secret
// key), the web page and the phone (tenant ID only), and a log that says who did what.
import { CountersignClient, MemoryKeyStore } from '@countersign/client'
import { Countersign } from '@countersign/node'

export interface RoleOptions {
  apiUrl: string
  secretKey: string
  tenantId: string
  userId?: string
  log?: (line: string) => void
}

export type Role = 'backend' | 'page' | 'phone'

export function exampleRoles(options: RoleOptions) {
  const log = options.log ?? ((line: string) => process.stdout.write(`${line}\n`))
  const step = (who: Role, text: string) => log(`${`[${who}]`.padEnd(9)} ${text}`)
  return {
    log,
    step,
    userId: options.userId ?? `example-user-${Date.now()}`,
    backend: new Countersign({ secretKey: options.secretKey, apiUrl: options.apiUrl }),
    // The page never signs anything; a real page would still pass WebCryptoKeyStore from
    // @countersign/client/browser.
    page: new CountersignClient({ tenantId: options.tenantId, baseUrl: options.apiUrl, keyStore: new MemoryKeyStore() }),
    // A real phone keeps its key in the Secure Enclave or Android Keystore, and the OS asks for
    // Face ID or a passcode before a signature: confirmUser stands in for that prompt. It asks
    // only for the decision itself; fetching or claiming a request proves the key but decides nothing.
    phone: new CountersignClient({
      tenantId: options.tenantId,
      baseUrl: options.apiUrl,
      keyStore: new MemoryKeyStore({
        confirmUser: async ({ reason }) => {
          if (reason === 'approve_challenge' || reason === 'deny_challenge') step('phone', `  (biometric prompt: ${reason})`)
          return true
        },
      }),
    }),
  }
}
