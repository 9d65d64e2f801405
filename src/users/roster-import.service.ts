import { ConflictException, ForbiddenException, Injectable } from '@nestjs/common';
import { QueryFailedError } from 'typeorm';
import { RevocationChannel } from '../auth/revocation-channel.js';
import { TenantTransactions } from '../database/tenant-transactions.js';
import { ValidationFailedException } from '../errors/api-errors.js';
import type { FieldError } from '../errors/problem.js';
import { ChangeNotifier } from '../tenancy/change-notifier.js';
import type { ParsedRoster, RosterRow } from './roster-parser.js';
import { RosterRepository } from './roster.repository.js';

export interface RosterImportResult {
  created: number;
  updated: number;
  unchanged: number;
}

@Injectable()
export class RosterImportService {
  constructor(
    private readonly tx: TenantTransactions,
    private readonly roster: RosterRepository,
    private readonly changes: ChangeNotifier,
    private readonly revocations: RevocationChannel,
  ) {}

  /**
   * All or nothing, in one transaction: a bad row (format, a clash with stored users) is named with its field and
   * nothing is written. `byApiKey`: a key may create students and teachers and update people, never set or change a role to admin or change a role.
   */
  async import(organizationId: string, parsed: ParsedRoster, byApiKey: boolean): Promise<RosterImportResult> {
    if (parsed.errors.length > 0) throw invalid(parsed.errors);
    const rows = parsed.rows;
    const outcome = await this.tx
      .run(organizationId, async () => {
        const matches = await this.roster.match(organizationId, rows);
        const errors: FieldError[] = [];
        const refusedForKey: FieldError[] = [];
        for (const match of matches) {
          const row = rows[match.row];
          if (match.sameUserAs !== null) errors.push({ field: `${row.label}.${row.externalId ? 'external_id' : 'email'}`, message: `names the same user as ${rows[match.sameUserAs].label}` });
          if (match.externalIdClash) errors.push({ field: `${row.label}.external_id`, message: 'the user with this email has another external_id' });
          if (byApiKey && match.changesRole) refusedForKey.push({ field: `${row.label}.role`, message: 'an API key may not change a user’s role' });
        }
        if (errors.length > 0) throw invalid(errors);
        if (byApiKey) {
          // The matches listed above are only the rows with a problem; which rows create a user, the roster table knows.
          for (const index of await this.roster.newAdminRows(organizationId)) {
            refusedForKey.push({ field: `${rows[index].label}.role`, message: 'an API key may not create admins' });
          }
        }
        if (refusedForKey.length > 0) throw new ForbiddenException({ message: 'An API key acts on no user’s role; nothing was written', errors: refusedForKey });
        const result = await this.roster.apply(organizationId);
        if (result.activeAdmins === 0) throw new ConflictException('The import would leave the organization without an active admin; nothing was written');
        return result;
      })
      .catch(async (error: unknown) => {
        throw (await this.takenEmails(organizationId, error, rows)) ?? error;
      });
    for (const userId of outcome.revokedUserIds) await this.revocations.principalChanged(organizationId, userId);
    await this.changes.notify(organizationId);
    return { created: outcome.created, updated: outcome.updated, unchanged: outcome.unchanged };
  }

  /**
   * E-mail is unique across the whole service. Row-level security keeps the index from saying whose address
   * clashed, so after the rollback the rows' addresses are looked up through the login path, and each taken one named.
   */
  private async takenEmails(organizationId: string, error: unknown, rows: RosterRow[]): Promise<ValidationFailedException | null> {
    if (!(error instanceof QueryFailedError) || (error.driverError as { constraint?: string }).constraint !== 'users_email_key') return null;
    const taken = await this.roster.takenElsewhere(organizationId, rows.flatMap((row) => (row.email === null ? [] : [row.email])));
    const named = rows.filter((row) => row.email !== null && taken.has(row.email));
    return new ValidationFailedException(
      named.length > 0 ? named.map((row) => ({ field: `${row.label}.email`, message: 'this e-mail belongs to another user of the service' })) : [{ field: 'email', message: 'an e-mail belongs to another user of the service' }],
      'A row’s e-mail is taken; nothing was written',
    );
  }
}

function invalid(errors: FieldError[]): ValidationFailedException {
  const rowsNamed = new Set(errors.map((error) => error.field.split('.')[0])).size;
  return new ValidationFailedException(errors, `${rowsNamed} row(s) of the roster are invalid; nothing was written`);
}

