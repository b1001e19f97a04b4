// What the built-in push senders (APNs, FCM) share. A sender turns one push request into one
// delivery attempt to one device and reports what happened; it never throws for a refusal
// by the push service, only returns it, so one bad device token does not stop the others.

/** One push notification to one device. */
export interface PushMessage {
  /** The device's push token from enrollment (APNs device token, FCM registration token). */
  pushToken: string
  /** Short text the phone shows. */
  title: string
  body: string
  /** Custom data delivered with the notification: the challenge ID, action code, … */
  data: Record<string, string>
  /** After this the request is worthless; the push service may drop it. */
  expiresAt: Date
}

export type PushProvider = 'apns' | 'fcm'

/** What one delivery attempt did; returned to the initiating browser as `deliveryResults`. */
export interface DeliveryResult {
  provider: PushProvider
  status: 'sent' | 'failed'
  /** The push service's HTTP status, when it answered. */
  statusCode?: number
  /** The push service's reason (e.g. `BadDeviceToken`, `UNREGISTERED`); never a secret. */
  error?: string
  /** True when the service says the token is no longer valid: the device must re-register. */
  invalidToken?: boolean
}

export interface PushSender {
  readonly provider: PushProvider
  send(message: PushMessage): Promise<DeliveryResult>
  /** Releases connections (HTTP/2 sessions). */
  close(): Promise<void>
}
