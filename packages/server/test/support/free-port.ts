// A free TCP port on loopback, for a process whose URL must be known before it listens.
import { once } from 'node:events'
import net from 'node:net'

/** The OS picks a port; it is bound, then released (there is a small window before the caller binds it). */
export async function freePort(): Promise<number> {
  const probe = net.createServer()
  probe.listen(0, '127.0.0.1')
  await once(probe, 'listening')
  const address = probe.address()
  probe.close()
  await once(probe, 'close')
  if (typeof address !== 'object' || address === null) throw new Error('could not find a free port')
  return address.port
}
