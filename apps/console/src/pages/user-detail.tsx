// One user: who they are, their authenticators (revoke, unlock), the push block, and their
// recent actions.
import { useState } from 'react'
import { Link, useNavigate, useParams } from 'react-router'
import type { Authenticator, ClearPushBlockResponse, ManagedUser } from '@countersign/protocol'
import { api, describeError, segment } from '../api.ts'
import { ConfirmDialog } from '../components/dialog.tsx'
import { Badge, DateTime, Empty, ErrorBanner, JsonView, Loading, Notice, PageHeader, Section, TableScroll } from '../components/ui.tsx'
import { methodLabel } from '../format.ts'
import { useResource } from '../use-resource.ts'
import { ActionTable } from './action-log.tsx'

type Pending = { kind: 'revoke' | 'unlock'; authenticator: Authenticator } | { kind: 'push-block' } | { kind: 'delete-user' }

function deviceName(a: Authenticator): string {
  return a.deviceName ?? a.displayName ?? 'Unnamed device'
}

export function UserDetailPage() {
  const { userId = '' } = useParams()
  const navigate = useNavigate()
  const path = `/users/${segment(userId)}`
  const user = useResource((signal) => api<ManagedUser>('GET', path, undefined, { signal }), userId)
  const [pending, setPending] = useState<Pending | null>(null)
  const [notice, setNotice] = useState<string | null>(null)
  const back = <Link to="/users">← Users</Link>

  if (!user.data) {
    return (
      <>
        <PageHeader title={userId} back={back} />
        {user.error ? <ErrorBanner message={describeError(user.error)} /> : <Loading />}
      </>
    )
  }
  const u = user.data
  const confirm = async () => {
    if (!pending) return
    if (pending.kind === 'revoke') {
      await api<void>('DELETE', `${path}/authenticators/${segment(pending.authenticator.userAuthenticatorId)}`)
      setNotice(`${deviceName(pending.authenticator)} was revoked.`)
    } else if (pending.kind === 'unlock') {
      await api<void>('POST', `${path}/authenticators/${segment(pending.authenticator.userAuthenticatorId)}/unlock`)
      setNotice(`${deviceName(pending.authenticator)} was unlocked.`)
    } else if (pending.kind === 'push-block') {
      const result = await api<ClearPushBlockResponse>('POST', `${path}/push-block/clear`)
      setNotice(result.cleared ? 'Push requests can reach this user again.' : 'There was no push block to clear.')
    } else {
      await api<void>('DELETE', path)
      void navigate('/users')
      return
    }
    user.reload()
  }

  return (
    <>
      <PageHeader title={u.displayName ?? u.userId} back={back} description={u.displayName ? <span className="mono">{u.userId}</span> : undefined} />
      {notice ? <Notice tone="success">{notice}</Notice> : null}
      <Section title="Profile">
        <dl className="details-grid">
          <div>
            <dt>User ID</dt>
            <dd className="mono break">{u.userId}</dd>
          </div>
          <div>
            <dt>Email</dt>
            <dd>{u.email ?? <span className="muted">—</span>}</dd>
          </div>
          <div>
            <dt>Username</dt>
            <dd>{u.username ?? <span className="muted">—</span>}</dd>
          </div>
          <div>
            <dt>Phone number</dt>
            <dd>{u.phoneNumber ?? <span className="muted">—</span>}</dd>
          </div>
          <div>
            <dt>First seen</dt>
            <dd>
              <DateTime value={u.createdAt} />
            </dd>
          </div>
          <div>
            <dt>Push requests</dt>
            <dd>
              {u.pushBlocked ? (
                <>
                  <Badge tone="danger">Blocked</Badge>{' '}
                  <button type="button" className="button button-small" onClick={() => setPending({ kind: 'push-block' })}>
                    Clear push block
                  </button>
                </>
              ) : (
                <Badge tone="success">Allowed</Badge>
              )}
            </dd>
          </div>
        </dl>
        {u.custom !== undefined && u.custom !== null && Object.keys(u.custom as object).length > 0 ? (
          <details className="disclosure">
            <summary>Custom attributes</summary>
            <JsonView value={u.custom} label="Custom attributes" />
          </details>
        ) : null}
      </Section>
      <Section title="Authenticators" description="Devices enrolled for this user. Revoking one stops it from answering challenges at once.">
        {u.authenticators.length === 0 ? (
          <Empty>No authenticators enrolled.</Empty>
        ) : (
          <TableScroll label="Authenticators">
            <table className="table">
              <thead>
                <tr>
                  <th scope="col">Device</th>
                  <th scope="col">Platform</th>
                  <th scope="col">Method</th>
                  <th scope="col">Created</th>
                  <th scope="col">Last used</th>
                  <th scope="col">Status</th>
                  <th scope="col">
                    <span className="visually-hidden">Actions</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                {u.authenticators.map((a) => (
                  <tr key={a.userAuthenticatorId} data-authenticator-id={a.userAuthenticatorId}>
                    <td>
                      <div className="strong">{deviceName(a)}</div>
                      <div className="muted small mono">{a.userAuthenticatorId}</div>
                    </td>
                    <td>{a.devicePlatform ?? <span className="muted">—</span>}</td>
                    <td>
                      {methodLabel[a.verificationMethod]}
                      {a.userAuthenticationRequired ? <div className="muted small">Biometric or passcode</div> : null}
                    </td>
                    <td>
                      <DateTime value={a.createdAt} />
                    </td>
                    <td>
                      <DateTime value={a.lastVerifiedAt} />
                    </td>
                    <td>
                      {a.isLocked ? (
                        <>
                          <Badge tone="danger">Locked</Badge>
                          <div className="muted small">
                            {a.failedAttempts} failed{a.lockedUntil ? <> · until <DateTime value={a.lockedUntil} /></> : null}
                          </div>
                        </>
                      ) : (
                        <Badge tone="success">Active</Badge>
                      )}
                    </td>
                    <td className="cell-actions">
                      {a.isLocked ? (
                        <button type="button" className="button button-small" onClick={() => setPending({ kind: 'unlock', authenticator: a })} aria-label={`Unlock ${deviceName(a)}`}>
                          Unlock
                        </button>
                      ) : null}
                      <button type="button" className="button button-small button-danger-quiet" onClick={() => setPending({ kind: 'revoke', authenticator: a })} aria-label={`Revoke ${deviceName(a)}`}>
                        Revoke
                      </button>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </TableScroll>
        )}
      </Section>
      <Section
        title="Recent actions"
        actions={
          <Link className="button button-small" to={`/action-log?userId=${encodeURIComponent(u.userId)}`}>
            All of this user’s actions
          </Link>
        }
      >
        {u.recentActions.length === 0 ? <Empty>No actions tracked.</Empty> : <ActionTable items={u.recentActions} label="Recent actions" showUser={false} />}
      </Section>
      <Section title="Delete this user" description="Removes the user, their authenticators and their action history from Countersign.">
        <button type="button" className="button button-danger" onClick={() => setPending({ kind: 'delete-user' })}>
          Delete user
        </button>
      </Section>
      <ConfirmDialog
        open={pending !== null}
        title={
          pending?.kind === 'revoke' ? 'Revoke this authenticator?' : pending?.kind === 'unlock' ? 'Unlock this authenticator?' : pending?.kind === 'push-block' ? 'Clear the push block?' : 'Delete this user?'
        }
        confirmLabel={pending?.kind === 'revoke' ? 'Revoke authenticator' : pending?.kind === 'unlock' ? 'Unlock' : pending?.kind === 'push-block' ? 'Clear push block' : 'Delete user'}
        danger={pending?.kind === 'revoke' || pending?.kind === 'delete-user'}
        onClose={() => setPending(null)}
        onConfirm={confirm}
      >
        {pending?.kind === 'revoke' ? (
          <p>
            <strong>{deviceName(pending.authenticator)}</strong> ({pending.authenticator.devicePlatform ?? 'unknown platform'}) will no longer answer challenges for <span className="mono">{u.userId}</span>. The user must enroll it again to use it.
          </p>
        ) : pending?.kind === 'unlock' ? (
          <p>
            <strong>{deviceName(pending.authenticator)}</strong> was locked after {pending.authenticator.failedAttempts} failed signatures. Unlock it only if you are sure the user made them.
          </p>
        ) : pending?.kind === 'push-block' ? (
          <p>This user reported a push request as not theirs, so push requests stopped. Clear the block once you have checked their account.</p>
        ) : pending?.kind === 'delete-user' ? (
          <p>
            <span className="mono">{u.userId}</span>, {u.authenticators.length} authenticator{u.authenticators.length === 1 ? '' : 's'} and the action history will be deleted. This cannot be undone.
          </p>
        ) : null}
      </ConfirmDialog>
    </>
  )
}
