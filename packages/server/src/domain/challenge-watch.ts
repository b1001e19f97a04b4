/**
 * Live updates of push and QR challenges. A state change calls `changed` on the node that made
 * it and, through the database's NOTIFY (see challenges-repo), on every other node, so a
 * browser streaming from any node hears of an approval made on another. Watchers re-read the
 * challenge when told: a notification says only "look again", never what changed.
 */
export class ChallengeWatch {
  readonly #watchers = new Map<string, Set<() => void>>()

  /** Calls `onChange` whenever the challenge may have changed, until the returned function is called. */
  watch(tenantId: string, challengeId: string, onChange: () => void): () => void {
    const key = `${tenantId}:${challengeId}`
    let set = this.#watchers.get(key)
    if (!set) this.#watchers.set(key, (set = new Set()))
    set.add(onChange)
    return () => {
      set.delete(onChange)
      if (set.size === 0 && this.#watchers.get(key) === set) this.#watchers.delete(key)
    }
  }

  changed(tenantId: string, challengeId: string): void {
    this.#notify(`${tenantId}:${challengeId}`)
  }

  /** Handles a CHALLENGE_CHANGED_CHANNEL payload (`<tenantId>:<challengeId>`) from any node. */
  fromNotification(payload: string): void {
    this.#notify(payload)
  }

  /** How many watchers are registered (for tests and metrics). */
  get size(): number {
    let n = 0
    for (const set of this.#watchers.values()) n += set.size
    return n
  }

  #notify(key: string): void {
    for (const onChange of [...(this.#watchers.get(key) ?? [])]) onChange()
  }
}
