// One user: who they are, their authenticators (revoke, unlock), the push block, and their
// recent actions.
import { useState } from 'react'
import { Link, useParams } from 'react-router'
import type { Authenticator, ClearPushBlockResponse, ManagedUser } from '@countersign/protocol'
import { api, segment } from '../api.ts'
import { ConfirmDialog, DeleteSection } from '../components/dialog.tsx'
import { DataTable, type Column } from '../components/lists.tsx'
import { Badge, Dash, DateTime, Detail, Empty, JsonView, Notice, PagePending, PageHeader, Section } from '../components/ui.tsx'
import { methodLabel } from '../format.ts'
import { useApi } from '../use-resource.ts'
import { ActionTable } from './action-log.tsx'

type Pending = { kind: 'revoke' | 'unlock'; authenticator: Authenticator } | { kind: 'push-block' }

const confirmText: Record<Pending['kind'], { title: string; confirmLabel: string; danger: boolean }> = {
  revoke: { title: 'Revoke this authenticator?', confirmLabel: 'Revoke authenticator', danger: true },
  unlock: { title: 'Unlock this authenticator?', confirmLabel: 'Unlock', danger: false },
  'push-block': { title: 'Clear the push block?', confirmLabel: 'Clear push block', danger: false },
}

function deviceName(a: Authenticator): string {
  return a.deviceName ?? a.displayName ?? 'Unnamed device'
}

export function UserDetailPage() {
  const { userId = '' } = useParams()
  const path = `/users/${segment(userId)}`
  const user = useApi<ManagedUser>(path)
  const [pending, setPending] = useState<Pending | null>(null)
  const [notice, setNotice] = useState<string | null>(null)
  const back = <Link to="/users">← Users</Link>

  if (!user.data) return <PagePending title={userId} back={back} error={user.error} />
  const u = user.data
  const confirm = async (what: Pending) => {
    if (what.kind === 'revoke') {
      await api<void>('DELETE', `${path}/authenticators/${segment(what.authenticator.userAuthenticatorId)}`)
      setNotice(`${deviceName(what.authenticator)} was revoked.`)
    } else if (what.kind === 'unlock') {
      await api<void>('POST', `${path}/authenticators/${segment(what.authenticator.userAuthenticatorId)}/unlock`)
      setNotice(`${deviceName(what.authenticator)} was unlocked.`)
    } else {
      const result = await api<ClearPushBlockResponse>('POST', `${path}/push-block/clear`)
      setNotice(result.cleared ? 'Push requests can reach this user again.' : 'There was no push block to clear.')
    }
    user.reload()
  }
  const columns: Array<Column<Authenticator>> = [
    {
      header: 'Device',
      cell: (a) => (
        <>
          <div className="strong">{deviceName(a)}</div>
          <div className="muted small mono">{a.userAuthenticatorId}</div>
        </>
      ),
    },
    { header: 'Platform', cell: (a) => a.devicePlatform ?? <Dash /> },
    {
      header: 'Method',
      cell: (a) => (
        <>
          {methodLabel[a.verificationMethod]}
          {a.userAuthenticationRequired ? <div className="muted small">Biometric or passcode</div> : null}
        </>
      ),
    },
    { header: 'Created', cell: (a) => <DateTime value={a.createdAt} /> },
    { header: 'Last used', cell: (a) => <DateTime value={a.lastVerifiedAt} /> },
    {
      header: 'Status',
      cell: (a) =>
        a.isLocked ? (
          <>
            <Badge tone="danger">Locked</Badge>
            <div className="muted small">
              {a.failedAttempts} failed{a.lockedUntil ? <> · until <DateTime value={a.lockedUntil} /></> : null}
            </div>
          </>
        ) : (
          <Badge tone="success">Active</Badge>
        ),
    },
    {
      header: 'Actions',
      hideHeader: true,
      className: 'cell-actions',
      cell: (a) => (
        <>
          {a.isLocked ? (
            <button type="button" className="button button-small" onClick={() => setPending({ kind: 'unlock', authenticator: a })} aria-label={`Unlock ${deviceName(a)}`}>
              Unlock
            </button>
          ) : null}
          <button type="button" className="button button-small button-danger-quiet" onClick={() => setPending({ kind: 'revoke', authenticator: a })} aria-label={`Revoke ${deviceName(a)}`}>
            Revoke
          </button>
        </>
      ),
    },
  ]

  return (
    <>
      <PageHeader title={u.displayName ?? u.userId} back={back} description={u.displayName ? <span className="mono">{u.userId}</span> : undefined} />
      {notice ? <Notice tone="success">{notice}</Notice> : null}
      <Section title="Profile">
        <dl className="details-grid">
          <Detail term="User ID" className="mono break">
            {u.userId}
          </Detail>
          <Detail term="Email">{u.email ?? <Dash />}</Detail>
          <Detail term="Username">{u.username ?? <Dash />}</Detail>
          <Detail term="Phone number">{u.phoneNumber ?? <Dash />}</Detail>
          <Detail term="First seen">
            <DateTime value={u.createdAt} />
          </Detail>
          <Detail term="Push requests">
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
          </Detail>
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
          <DataTable label="Authenticators" columns={columns} rows={u.authenticators} rowKey={(a) => a.userAuthenticatorId} rowProps={(a) => ({ 'data-authenticator-id': a.userAuthenticatorId })} />
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
      <DeleteSection
        title="Delete this user"
        description="Removes the user, their authenticators and their action history from Countersign."
        buttonLabel="Delete user"
        confirmTitle="Delete this user?"
        confirmLabel="Delete user"
        path={path}
        backTo="/users"
      >
        <p>
          <span className="mono">{u.userId}</span>, {u.authenticators.length} authenticator{u.authenticators.length === 1 ? '' : 's'} and the action history will be deleted. This cannot be undone.
        </p>
      </DeleteSection>
      <ConfirmDialog subject={pending} {...confirmText[pending?.kind ?? 'revoke']} onClose={() => setPending(null)} onConfirm={confirm}>
        {(what) =>
          what.kind === 'revoke' ? (
            <p>
              <strong>{deviceName(what.authenticator)}</strong> ({what.authenticator.devicePlatform ?? 'unknown platform'}) will no longer answer challenges for <span className="mono">{u.userId}</span>. The user must enroll it again to use it.
            </p>
          ) : what.kind === 'unlock' ? (
            <p>
              <strong>{deviceName(what.authenticator)}</strong> was locked after {what.authenticator.failedAttempts} failed signatures. Unlock it only if you are sure the user made them.
            </p>
          ) : (
            <p>This user reported a push request as not theirs, so push requests stopped. Clear the block once you have checked their account.</p>
          )
        }
      </ConfirmDialog>
    </>
  )
}
