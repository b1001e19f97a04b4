// URLs the server will call on an operator's say-so (webhooks, action.verify). An API key must
// not become a way into the network the server sits in, so addresses that are not on the
// public internet are refused unless the deployment allows them.
import { BlockList, isIP } from 'node:net'
import type { Config } from '../config.ts'
import { ApiError } from './errors.ts'

const NOT_PUBLIC = new BlockList()
for (const [network, prefix] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['224.0.0.0', 3],
] as const) {
  NOT_PUBLIC.addSubnet(network, prefix, 'ipv4')
}
for (const [network, prefix] of [
  ['::', 127],
  ['::ffff:0:0', 96],
  ['64:ff9b::', 96],
  ['fc00::', 7],
  ['fe80::', 10],
  ['ff00::', 8],
] as const) {
  NOT_PUBLIC.addSubnet(network, prefix, 'ipv6')
}

/**
 * Checks a URL an operator gave: http(s), no credentials in it, and a host that is not
 * loopback, private, link-local or otherwise internal (unless ALLOW_PRIVATE_WEBHOOK_URLS).
 * Host names are checked as written; one that resolves to an internal address is the
 * deployment's egress firewall's to stop.
 */
export function checkOutboundUrl(config: Pick<Config, 'ALLOW_PRIVATE_WEBHOOK_URLS'>, value: string): string {
  let url: URL
  try {
    url = new URL(value)
  } catch {
    throw new ApiError('invalid_request', 'The URL is not a URL')
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new ApiError('invalid_request', 'The URL must be http or https')
  if (url.username || url.password) throw new ApiError('invalid_request', 'The URL must not carry credentials')
  if (!config.ALLOW_PRIVATE_WEBHOOK_URLS && isInternalHost(url.hostname)) {
    throw new ApiError(
      'invalid_request',
      'The URL points at a loopback, private or link-local address; set ALLOW_PRIVATE_WEBHOOK_URLS=true to allow it',
    )
  }
  return url.toString()
}

function isInternalHost(hostname: string): boolean {
  const host = hostname.startsWith('[') ? hostname.slice(1, -1) : hostname
  const family = isIP(host)
  if (family === 0) return host === 'localhost' || host.endsWith('.localhost') || host.endsWith('.internal') || host.endsWith('.local')
  return NOT_PUBLIC.check(host, family === 6 ? 'ipv6' : 'ipv4')
}
