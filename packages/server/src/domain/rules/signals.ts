// Building the rule context for an action: what track sent, plus the history signals its
// rules read (and only those), in one database statement.
import { isbot } from 'isbot'
import { distanceKm, type IpLocator } from '../../geo/ip-locations.ts'
import type { Db } from '../../storage/database.ts'
import { readSignals } from '../../storage/signals-repo.ts'
import type { ContextJson, Signal } from './context.ts'

/** Faster than any airliner: two actions this far apart in this little time are not one traveller. */
export const IMPOSSIBLE_TRAVEL_KMH = 1000
/** Below this, country centroids and city databases are too coarse to call travel impossible. */
export const MIN_TRAVEL_KM = 500

export interface ActionFacts {
  userId: string
  actionCode: string
  idempotencyKey: string
  at: Date
  ipAddress: string | null
  userAgent: string | null
  deviceId: string | null
  custom: Record<string, unknown> | null
  transaction: Record<string, unknown> | null
}

export interface BuiltContext {
  context: ContextJson
  lists: Map<string, Array<string | number>>
}

/**
 * The rule context of an action. Signals not in `signals` keep their empty values: a rule set
 * that does not read them does not pay for them.
 */
export async function buildContext(
  db: Db,
  locator: IpLocator,
  tenantId: string,
  facts: ActionFacts,
  signals: ReadonlySet<Signal>,
  listAliases: readonly string[],
): Promise<BuiltContext> {
  const wants = (signal: Signal) => signals.has(signal)
  const historyNeeded =
    ['user', 'ipHistory', 'deviceHistory', 'velocity', 'travel'].some((s) => wants(s as Signal)) || listAliases.length > 0
  const row = historyNeeded
    ? await readSignals(db, tenantId, {
        userId: facts.userId,
        actionCode: facts.actionCode,
        idempotencyKey: facts.idempotencyKey,
        at: facts.at,
        ipAddress: facts.ipAddress,
        deviceId: facts.deviceId,
        user: wants('user'),
        ipHistory: wants('ipHistory'),
        deviceHistory: wants('deviceHistory'),
        velocity: wants('velocity'),
        travel: wants('travel'),
        lists: [...listAliases],
      })
    : null

  const here = facts.ipAddress && (wants('ipCountry') || wants('travel')) ? locator.locate(facts.ipAddress) : null
  const userCreatedAt = row?.userCreatedAt ? new Date(row.userCreatedAt) : facts.at
  const authenticators = row?.authenticatorCount ?? 0
  const context: ContextJson = {
    now: facts.at.toISOString(),
    action: { code: facts.actionCode, custom: facts.custom ?? {}, transaction: facts.transaction ?? {} },
    user: {
      id: facts.userId,
      custom: row?.userCustom ?? {},
      isEnrolled: authenticators > 0,
      authenticatorCount: authenticators,
      createdAt: userCreatedAt.toISOString(),
      ageDays: Math.max(0, (facts.at.getTime() - userCreatedAt.getTime()) / 86_400_000),
    },
    ip: {
      address: facts.ipAddress ?? '',
      // Without an address there is nothing new to see.
      isNew: facts.ipAddress !== null && row?.ipSeen === false,
      country: here?.country ?? '',
    },
    device: {
      id: facts.deviceId ?? '',
      isNew: facts.deviceId !== null && row?.deviceSeen === false,
      count: row?.deviceCount ?? 0,
    },
    userAgent: { value: facts.userAgent ?? '', isBot: facts.userAgent ? isbot(facts.userAgent) : false },
    velocity: {
      actions1h: row?.actions1h ?? 0,
      actions24h: row?.actions24h ?? 0,
      sameAction1h: row?.sameAction1h ?? 0,
      failedChallenges24h: row?.failedChallenges24h ?? 0,
      distinctIps24h: row?.distinctIps24h ?? 0,
    },
    travel: travelFrom(locator, here, row?.previousIp ?? null, row?.previousAt ? new Date(row.previousAt) : null, facts.at),
  }
  return { context, lists: new Map(Object.entries(row?.lists ?? {})) }
}

function travelFrom(
  locator: IpLocator,
  here: ReturnType<IpLocator['locate']>,
  previousIp: string | null,
  previousAt: Date | null,
  at: Date,
): ContextJson {
  const before = previousIp ? locator.locate(previousIp) : null
  if (!here || !before || !previousAt) return { impossible: false, distanceKm: 0, speedKmh: 0, previousCountry: before?.country ?? '' }
  const km = distanceKm(before, here)
  // Two actions in the same instant: any distance at all is too fast.
  const hours = Math.max((at.getTime() - previousAt.getTime()) / 3_600_000, 1 / 3600)
  const speed = km / hours
  return {
    impossible: km > MIN_TRAVEL_KM && speed > IMPOSSIBLE_TRAVEL_KMH,
    distanceKm: Math.round(km * 10) / 10,
    speedKmh: Math.round(speed * 10) / 10,
    previousCountry: before.country,
  }
}
