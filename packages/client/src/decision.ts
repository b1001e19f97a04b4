// The [ext] v2 signed decision (PROTOCOL.md §4), built on the device from the protocol
// package's zod-free entry point, so the phone signs exactly what the server rebuilds.
// Synchronous and platform-free (canonicalize 4.x, @noble/hashes): it runs in React Native too.
export { signedDecisionMessage, transactionHash, type Decision, type SignedDecisionInput } from '@countersign/protocol/decision'
